"""The run page, /runs/{run_id}: the report of record of one run, whatever its kind.

It shows what the run measured with what the run ran with: its params as recorded when it ran,
its window (batches, rows, late labels), its reference version, every metric value, for drift
runs per column the method, score, threshold and verdict beside a plot of the reference
against the window drawn from the distributions the run stored, and the findings of the kinds
that flag rows. Drift runs link Evidently's view of the same run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Path, Request
from fastapi.responses import HTMLResponse

from dqm.service.console.filters import num
from dqm.service.console.run_charts import bin_edges, category_labels, distribution_chart
from dqm.service.console.web import ReaderDep, ctx_of, page_router, render
from dqm.service.db.models import MetricValue
from dqm.service.runs.run_detail import RunDetail, run_detail
from dqm.service.runs.summary import duration_of, lag_of

router = page_router()


@dataclass(frozen=True)
class DriftRow:
    """One tested column of a drift run, as the page lists it."""

    column: str
    score: MetricValue  # drift_score
    effect_size: MetricValue | None
    missing_share: MetricValue | None
    chart_id: str | None
    summary: dict[str, Any] | None


def drift_rows(detail: RunDetail) -> list[DriftRow]:
    """The drift_score columns in stored order, with their effect size, missing share and
    stored distribution (if any)."""
    effects = detail.per_column("effect_size")
    missing = detail.per_column("missing_share")
    stored = (detail.distributions or {}).get("columns", {})
    rows = []
    for i, (column, score) in enumerate(detail.per_column("drift_score").items()):
        summary = stored.get(column)
        drawable = summary is not None and (summary["type"] == "categorical" or "min" in summary)
        rows.append(
            DriftRow(
                column=column,
                score=score,
                effect_size=effects.get(column),
                missing_share=missing.get(column),
                chart_id=f"dist-{i}" if drawable else None,
                summary=summary if drawable else None,
            )
        )
    return rows


def _subtitle(row: DriftRow) -> str:
    m = row.score
    if m.method is None:
        return m.status
    verdict = "drifted" if m.drifted else "not drifted"
    return f"{m.method} {num(m.value)} (threshold {num(m.threshold)}): {verdict}"


def summary_rows(summary: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(bin or category, reference count, window count) for the counts table under a chart."""
    if summary["type"] == "categorical":
        labels, ref, cur = category_labels(summary)
        return list(zip(labels, ref, cur, strict=True))
    edges = bin_edges(summary)
    bins = [
        f"[{num(a)}, {num(b)}{']' if i == len(edges) - 2 else ')'}"
        for i, (a, b) in enumerate(zip(edges, edges[1:], strict=False))
    ]
    return list(zip(bins, summary["reference"], summary["current"], strict=True))


@router.get("/runs/{run_id}")
def run_page(
    request: Request, viewer: ReaderDep, run_id: int = Path(ge=1, le=2**31 - 1)
) -> HTMLResponse:
    detail = run_detail(ctx_of(request).sessions, run_id)
    rows = drift_rows(detail) if detail.monitor.kind == "drift" else []
    specs = {
        r.chart_id: distribution_chart(r.column, r.summary, _subtitle(r))
        for r in rows
        if r.chart_id and r.summary
    }
    drift_names = {"drift_score", "effect_size", "missing_share"} if rows else set()
    return render(
        request,
        viewer,
        "run.html",
        title=f"Run {detail.run.id} of {detail.monitor.name}",
        nav="overview",
        d=detail,
        run=detail.run,
        monitor=detail.monitor,
        drift=rows,
        other_column_metrics=[m for m in detail.column_metrics if m.name not in drift_names],
        specs=specs,
        summary_rows=summary_rows,
        lag=lag_of(detail.run),
        duration=duration_of(detail.run),
        report_url=detail.monitor.kind == "drift" and detail.run.status == "succeeded",
        charts=bool(specs),
        breadcrumbs=[
            ("Overview", ()),
            (detail.monitor.name, ("monitors", detail.monitor.name)),
            (f"Run {detail.run.id}", None),
        ],
    )
