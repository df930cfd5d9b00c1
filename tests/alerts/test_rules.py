"""Rules and the alert state machine, checked against hand-written Prometheus-like sequences."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from dqm.alerts.rules import AlertState, Rule, Transition, evaluate, fingerprint, parse_rules
from dqm.monitors.base import Metric, MonitorResult
from dqm.monitors.errors import InvalidInputError

Series = dict[tuple[str, str | None], list[float]]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(i: int) -> datetime:
    return T0 + timedelta(minutes=10 * i)


def dataset_result(value: float | None, name: str = "m") -> MonitorResult:
    return MonitorResult(metrics=(Metric(name, value),))


def run_sequence(
    rule: Rule, values: Sequence[float | None]
) -> list[tuple[str, str | None, Transition]]:
    """Evaluate ``rule`` on a dataset-level metric over consecutive runs."""
    states: dict[str, AlertState] = {}
    out: list[tuple[str, str | None, Transition]] = []
    for i, v in enumerate(values):
        [t] = evaluate("mon", [rule], dataset_result(v), states, at(i))
        states[t.fingerprint] = t.current
        out.append((t.current.state, t.event, t))
    return out


def test_for_and_keep_firing_for_follow_prometheus_semantics() -> None:
    rule = Rule.model_validate(
        {"metric": "m", "op": ">", "value": 1, "for": 3, "keep_firing_for": 2}
    )
    values = [2, 2, 0, 2, 2, 2, 2, 0, 0, 2, 0, 0, 0, 0]
    expected = [
        ("pending", None),
        ("pending", None),
        ("ok", None),  # a clean run while pending resets silently
        ("pending", None),
        ("pending", None),
        ("firing", "firing"),  # third consecutive breach
        ("firing", None),
        ("firing", None),  # keep firing: clean 1 of 3
        ("firing", None),  # clean 2 of 3
        ("firing", None),  # breach resets the clean count
        ("firing", None),
        ("firing", None),
        ("ok", "resolved"),  # keep_firing_for + 1 = 3 clean runs
        ("ok", None),
    ]
    got = run_sequence(rule, values)
    assert [(s, e) for s, e, _ in got] == expected
    firing = got[5][2].current
    assert firing.started_at == at(3)  # the episode's first breach
    assert firing.firing_since == at(5)
    resolved = got[12][2]
    assert resolved.previous.started_at == at(3)
    assert resolved.current == AlertState()


def test_for_one_fires_on_first_breach_and_resolves_on_first_clean_run() -> None:
    rule = Rule(metric="m", op=">=", value=0.3)
    got = run_sequence(rule, [0.3, 0.5, 0.1, 0.29, 0.31])
    assert [(s, e) for s, e, _ in got] == [
        ("firing", "firing"),
        ("firing", None),
        ("ok", "resolved"),
        ("ok", None),
        ("firing", "firing"),
    ]
    assert [t.threshold for _, _, t in got] == [0.3] * 5


@pytest.mark.parametrize(
    ("op", "breaching"),
    [(">", [2]), (">=", [1, 2]), ("<", [0]), ("<=", [0, 1]), ("==", [1]), ("!=", [0, 2])],
)
def test_each_operator(op: str, breaching: list[int]) -> None:
    rule = Rule.model_validate({"metric": "m", "op": op, "value": 1})
    for v in (0, 1, 2):
        [t] = evaluate("mon", [rule], dataset_result(v), {}, T0)
        assert (t.event == "firing") == (v in breaching), (op, v)


def test_no_data_neither_fires_nor_resolves_and_keeps_counters() -> None:
    rule = Rule.model_validate({"metric": "m", "op": ">", "value": 1, "for": 2})
    got = run_sequence(rule, [2, None, float("nan"), 2, None, 0])
    assert [(s, e) for s, e, _ in got] == [
        ("pending", None),
        ("pending", None),
        ("pending", None),
        ("firing", "firing"),  # no-data runs did not reset the breach count
        ("firing", None),  # no data does not resolve
        ("ok", "resolved"),
    ]
    assert [t.no_data for _, _, t in got] == [False, True, True, False, True, False]
    assert not got[1][2].changed


def test_missing_metric_is_no_data() -> None:
    rule = Rule(metric="absent", op=">", value=1)
    firing = AlertState("firing", 1, 0, T0, T0, 0)
    fp = fingerprint("mon", rule, None)
    [t] = evaluate("mon", [rule], dataset_result(5.0), {fp: firing}, at(1))
    assert t.no_data and t.event is None and t.current == firing and t.value is None


def test_repeat_every_reminds_every_n_firing_runs() -> None:
    rule = Rule(metric="m", op=">", value=1, repeat_every=2, keep_firing_for=1)
    got = run_sequence(rule, [2, 2, 2, 2, 0, 2, 0, 0])
    assert [e for _, e, _ in got] == [
        "firing",
        None,
        "repeat",
        None,
        "repeat",  # still firing (keep_firing_for) counts as a firing run
        None,
        "repeat",
        "resolved",
    ]


def test_exactly_one_firing_and_one_resolved_per_episode() -> None:
    rng = random.Random(7)
    rule = Rule.model_validate(
        {"metric": "m", "op": ">", "value": 0.5, "for": 2, "keep_firing_for": 1}
    )
    values: list[float | None] = [None if rng.random() < 0.1 else rng.random() for _ in range(2000)]
    events = [e for _, e, _ in run_sequence(rule, values) if e is not None]
    assert events.count("firing") > 50
    # Events alternate firing, resolved, firing, ... : one of each per episode.
    assert all(e == ("firing" if i % 2 == 0 else "resolved") for i, e in enumerate(events))


def test_star_expands_to_columns_having_the_metric() -> None:
    result = MonitorResult(
        metrics=(
            Metric("share_drifted_columns", 0.5),
            Metric("drift_score", 0.2, column="age"),
            Metric("drift_score", 0.05, column="income"),
            Metric("drift_score", None, column="city", status="skipped: constant"),
            Metric("missing_share", 0.9, column="zip"),
        )
    )
    rule = Rule(metric="drift_score", column="*", op=">", value=0.1)
    got = evaluate("mon", [rule], result, {}, T0)
    assert [(t.column, t.event, t.no_data) for t in got] == [
        ("age", "firing", False),
        ("income", None, False),
        ("city", None, True),
    ]
    assert len({t.fingerprint for t in got}) == 3
    assert evaluate("mon", [Rule(metric="share_drifted_columns", column="*", op=">", value=0)],
                    result, {}, T0) == []  # fmt: skip


def test_column_list_and_single_column() -> None:
    result = MonitorResult(
        metrics=(Metric("drift_score", 0.2, column="age"), Metric("drift_score", 0.0, column="x"))
    )
    listed = Rule(metric="drift_score", column=["x", "age", "gone"], op=">", value=0.1)
    got = evaluate("mon", [listed], result, {}, T0)
    assert [(t.column, t.event, t.no_data) for t in got] == [
        ("x", None, False),
        ("age", "firing", False),
        ("gone", None, True),
    ]
    [single] = evaluate("mon", [Rule(metric="drift_score", column="age", op=">", value=0.1)],
                        result, {}, T0)  # fmt: skip
    assert single.column == "age" and single.value == 0.2


def test_history_baseline_uses_hand_computed_mean_and_sample_std() -> None:
    # values 1..5: mean 3, sample std sqrt(2.5) = 1.58114; sigma 2 -> [-0.16228, 6.16228]
    rule = Rule.model_validate({"metric": "m", "baseline": {"baseline": "history", "sigma": 2}})
    assert rule.op == "!="
    history: Series = {("m", None): [1.0, 2.0, 3.0, 4.0, 5.0]}
    [hi] = evaluate("mon", [rule], dataset_result(6.2), {}, T0, history=history)
    [inside] = evaluate("mon", [rule], dataset_result(6.1), {}, T0, history=history)
    [lo] = evaluate("mon", [rule], dataset_result(-0.2), {}, T0, history=history)
    assert hi.event == "firing" and inside.event is None and lo.event == "firing"
    assert hi.bounds == pytest.approx((-0.162278, 6.162278), abs=1e-6)
    assert hi.threshold == pytest.approx(6.162278, abs=1e-6)
    assert lo.threshold == pytest.approx(-0.162278, abs=1e-6)


def test_one_sided_baseline_and_history_window() -> None:
    upper = Rule.model_validate(
        {"metric": "m", "op": ">", "baseline": {"baseline": "history", "runs": 3, "min_runs": 3}}
    )
    # Only the last 3 values count: [10, 11, 12] -> mean 11, std 1, sigma 3 -> [8, 14].
    history: Series = {("m", None): [1000.0, 10.0, 11.0, 12.0]}
    assert [t.event for t in evaluate("mon", [upper], dataset_result(14.5), {}, T0,
                                      history=history)] == ["firing"]  # fmt: skip
    [low] = evaluate("mon", [upper], dataset_result(-50.0), {}, T0, history=history)
    assert low.event is None and low.threshold == pytest.approx(14.0)
    [short] = evaluate("mon", [upper], dataset_result(99.0), {}, T0, history={("m", None): [1, 2]})
    assert short.no_data and short.event is None


def test_reference_baseline_per_column() -> None:
    rule = Rule(
        metric="drift_score", column="*", op="<", baseline={"baseline": "reference", "sigma": 1}
    )
    result = MonitorResult(metrics=(Metric("drift_score", 0.1, column="a"),))
    chunks: Series = {("drift_score", "a"): [0.4, 0.6]}  # mean 0.5, std 0.141421
    [t] = evaluate("mon", [rule], result, {}, T0, reference_bounds=chunks)
    assert t.event == "firing" and t.threshold == pytest.approx(0.5 - 0.1414214)
    [none] = evaluate("mon", [rule], result, {}, T0)  # no reference values passed
    assert none.no_data


def test_rule_round_trips_with_for_alias() -> None:
    data = {"metric": "m", "column": "*", "op": ">", "value": 0.1, "for": 3}
    rule = Rule.model_validate(data)
    dumped = rule.model_dump(by_alias=True)
    assert dumped["for"] == 3 and "for_" not in dumped
    assert Rule.model_validate(json.loads(json.dumps(dumped))) == rule
    assert Rule(metric="m", op=">", value=1, for_=2).for_ == 2
    assert rule.model_dump()["for"] == 3 and '"for":3' in rule.model_dump_json()


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (
            {"metric": "share_drifted_columns", "op": ">=", "value": 0.3},
            "share_drifted_columns>=0.3",
        ),
        ({"metric": "drift_score", "column": "*", "op": ">", "value": 0.1}, "drift_score[*]>0.1"),
        ({"metric": "d", "column": ["a", "b"], "op": "<", "value": 2}, "d[a,b]<2"),
        ({"metric": "d", "baseline": "reference"}, "d!=reference(sigma=3)"),
        ({"metric": "d", "name": "mine", "op": "<", "value": 2}, "mine"),
    ],
)
def test_derived_names(data: dict[str, object], name: str) -> None:
    assert Rule.model_validate(data).name == name


@pytest.mark.parametrize(
    "data",
    [
        {"metric": "m", "op": ">"},  # neither value nor baseline
        {"metric": "m", "op": ">", "value": 1, "baseline": {"baseline": "reference"}},
        {"metric": "m", "op": "==", "baseline": {"baseline": "history"}},
        {"metric": "m", "op": ">", "value": 1, "for": 0},
        {"metric": "m", "op": ">", "value": 1, "keep_firing_for": -1},
        {"metric": "m", "op": ">", "value": 1, "repeat_every": 0},
        {"metric": "m", "op": "~", "value": 1},
        {"metric": "m", "op": ">", "value": 1, "severity": "fatal"},
        {"metric": "m", "op": ">", "value": 1, "unknown": True},
        {"metric": "m", "op": ">", "value": 1, "column": []},
        {"metric": "m", "op": ">", "value": 1, "column": ["a", "a"]},
        {"metric": "m", "op": ">", "value": 1, "column": ["*", "a"]},
        {"metric": "m", "op": ">", "value": float("nan")},
        {"metric": "m", "baseline": {"baseline": "reference", "runs": 5}},
        {"metric": "m", "baseline": {"baseline": "history", "sigma": 0}},
        {"metric": "m", "baseline": {"baseline": "history", "runs": 3, "min_runs": 4}},
    ],
)
def test_invalid_rules_are_rejected(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Rule.model_validate(data)


def test_fingerprint_depends_on_monitor_rule_name_and_column_only() -> None:
    a = Rule(metric="m", op=">", value=1, severity="info")
    b = Rule(metric="m", op=">", value=1, severity="critical", for_=3)
    assert fingerprint("mon", a, None) == fingerprint("mon", b, None)
    assert fingerprint("mon", a, None) != fingerprint("other", a, None)
    assert fingerprint("mon", a, None) != fingerprint("mon", a, "col")
    assert fingerprint("mon", a, None) != fingerprint(
        "mon", Rule(metric="m", op=">", value=2), None
    )
    assert len(fingerprint("mon", a, None)) == 16


def test_alert_state_is_json_safe_and_round_trips() -> None:
    state = AlertState("firing", 4, 1, at(1), at(2), 3)
    text = json.dumps(state.to_dict())
    assert json.loads(text)["started_at"] == "2026-03-01T12:10:00+00:00"
    assert AlertState.from_dict(json.loads(text)) == state
    assert AlertState.from_dict({}) == AlertState()


@pytest.mark.parametrize(
    "data",
    [{"state": "exploded"}, {"breaching": -1}, {"clean": "2"}, {"started_at": "yesterday"}],
)
def test_alert_state_from_dict_rejects_garbage(data: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        AlertState.from_dict(data)


def test_naive_now_is_taken_as_utc() -> None:
    rule = Rule(metric="m", op=">", value=1)
    [t] = evaluate("mon", [rule], dataset_result(2), {}, datetime(2026, 3, 1, 12, 0))
    assert t.current.started_at == T0


def test_parse_rules_names_fields_and_duplicates() -> None:
    ok = parse_rules(
        [{"metric": "m", "op": ">", "value": 1}, {"metric": "m", "op": "<", "value": 0}]
    )
    assert [r.name for r in ok] == ["m>1", "m<0"]
    with pytest.raises(InvalidInputError) as info:
        parse_rules(
            [
                {"metric": "m", "op": ">", "value": 1},
                {"metric": "m", "op": "=>", "value": 1},
                {"metric": "m", "op": ">", "value": 1, "severity": "critical"},
            ]
        )
    fields = [d["field"] for d in info.value.details]
    assert fields == ["rules.1.op", "rules.2.name"]


def test_derived_names_keep_full_precision() -> None:
    a = Rule(metric="m", op=">", value=0.1234567)
    b = Rule(metric="m", op=">", value=0.1234568)
    assert a.name != b.name
    assert Rule(metric="m", op=">", value=1e-7).name == "m>1e-07"
