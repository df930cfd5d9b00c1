"""OpenAPI examples of monitor definitions: one per beyond-Evidently option and per kind."""

from __future__ import annotations

from typing import Any

from fastapi.openapi.models import Example

_BASE: dict[str, Any] = {
    "dataset": "churn",
    "schedule": {"every": "10m"},
    "window": {"last_batches": 1},
}
_SHARE_RULE = {"metric": "share_drifted_columns", "op": ">=", "value": 0.3, "severity": "critical"}


def _monitor(name: str, kind: str, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": kind, **_BASE, "params": params, **extra}


MONITOR_EXAMPLES: dict[str, Example] = {
    "evidently_defaults": Example(
        summary="Drift with Evidently's defaults, retrain on firing",
        value=_monitor(
            "churn-drift",
            "drift",
            {},
            rules=[_SHARE_RULE],
            actions=[
                {"on": "firing", "hook": "trainer", "event": "retrain.requested", "cooldown": "6h"}
            ],
        ),
    ),
    "effect_size_floor": Example(
        summary="No alarms on trivial shifts of big batches",
        description="A p-value test (KS, chi-square, Z) counts as drift only when the effect "
        "size (normed Wasserstein for numerical, Jensen-Shannon for categorical columns) is at "
        "least the floor: a 1M-row batch shifted by 0.01 standard deviations stays quiet.",
        value=_monitor(
            "churn-drift-floor",
            "drift",
            {"stattest": "ks", "cat_stattest": "chisquare", "effect_size_floor": 0.1},
        ),
    ),
    "calibrated_policy": Example(
        summary="Calibrated two-sample tests; alert on the effect size of any column",
        description="`policy: calibrated` uses two-sample tests (contingency chi-square, KS) "
        "with an effect-size floor, so columns with nothing drifting are flagged at most at the "
        "nominal 5% at any window size (docs/drift-methods.md). `effect_size` grows with drift "
        "for every method, so one rule fits every column.",
        value=_monitor(
            "churn-drift-calibrated",
            "drift",
            {"policy": "calibrated", "multiple_testing": "bh"},
            rules=[
                _SHARE_RULE,
                {"metric": "effect_size", "column": "*", "op": ">=", "value": 0.2},
            ],
        ),
    ),
    "multiple_testing": Example(
        summary="Benjamini-Hochberg across columns",
        description="Adjusts the p-values of all tested columns together (`bh` or "
        "`bonferroni`); run details report raw and adjusted p-values.",
        value=_monitor(
            "churn-drift-fdr", "drift", {"num_stattest": "ks", "multiple_testing": "bh"}
        ),
    ),
    "column_weights": Example(
        summary="Important features weigh more in the drifted share",
        value=_monitor(
            "churn-drift-weighted",
            "drift",
            {"column_weights": {"income": 3, "age": 2}, "drift_share": 0.4},
        ),
    ),
    "per_column_methods": Example(
        summary="Choose the method and threshold per column",
        value=_monitor(
            "churn-drift-custom",
            "drift",
            {
                "per_column_method": {"income": "psi", "plan": "jensenshannon"},
                "per_column_threshold": {"income": 0.2},
            },
        ),
    ),
    "multivariate": Example(
        summary="Multivariate drift with a domain classifier",
        description="Reports `domain_classifier_auc`: out-of-fold ROC AUC of a classifier "
        "telling reference from current rows (0.5 = indistinguishable).",
        value=_monitor(
            "churn-drift-mv",
            "drift",
            {"domain_classifier": True},
            rules=[{"metric": "domain_classifier_auc", "op": ">", "value": 0.6}],
        ),
    ),
    "coverage": Example(
        summary="Is production inside what the reference covered?",
        value=_monitor(
            "churn-coverage",
            "coverage",
            {"min_reference_support": 5},
            rules=[{"metric": "knn_ood_share", "op": ">", "value": 0.15}],
        ),
    ),
    "label_quality": Example(
        summary="Label issues feed the relabel queue",
        value=_monitor(
            "churn-labels",
            "label_quality",
            {},
            rules=[{"metric": "label_issue_share", "op": ">", "value": 0.05}],
            actions=[
                {"on": "firing", "hook": "labelers", "event": "relabel.requested", "budget": 200}
            ],
        ),
    ),
    "history_baseline": Example(
        summary="Alert when a metric leaves its own recent range",
        value=_monitor(
            "churn-quality",
            "data_quality",
            {},
            rules=[
                {
                    "metric": "missing_share",
                    "column": "*",
                    "op": ">",
                    "baseline": {"baseline": "history", "runs": 20, "sigma": 3},
                    "for": 2,
                },
            ],
        ),
    ),
}
