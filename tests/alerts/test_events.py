"""Event envelopes and payload builders."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from dqm.alerts.events import (
    AlertFields,
    RelabelRow,
    alert_event,
    alert_fields,
    body_bytes,
    envelope,
    relabel_requested,
    retrain_requested,
)
from dqm.alerts.rules import AlertState, Rule, evaluate, fingerprint
from dqm.monitors.base import Metric, MonitorResult
from dqm.monitors.errors import InvalidInputError

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_envelope_shape_and_utc_z_timestamp() -> None:
    cet = timezone(timedelta(hours=1))
    env = envelope("retrain.requested", datetime(2026, 3, 1, 13, 0, 0, 250000, tzinfo=cet), {})
    assert env == {
        "type": "retrain.requested",
        "timestamp": "2026-03-01T12:00:00.250000Z",
        "data": {},
    }
    with pytest.raises(InvalidInputError):
        envelope("alert.exploded", T0, {})


def test_body_bytes_is_canonical_compact_utf8_json() -> None:
    data = {"b": [1, (2, 3)], "a": "é", "when": T0, "psi": math.inf, "nan": math.nan}
    a = body_bytes(envelope("alert.firing", T0, data))
    b = body_bytes(envelope("alert.firing", T0, dict(reversed(list(data.items())))))
    assert a == b  # key order does not matter
    assert b" " not in a and "é".encode() in a
    assert json.loads(a)["data"] == {
        "a": "é",
        "b": [1, [2, 3]],
        "nan": None,
        "psi": None,
        "when": "2026-03-01T12:00:00Z",
    }
    with pytest.raises(InvalidInputError):
        body_bytes({"x": object()})


def test_alert_events_from_transitions() -> None:
    rule = Rule(metric="drift_score", column="age", op=">", value=0.1, severity="critical")
    result = MonitorResult(metrics=(Metric("drift_score", 0.4, column="age"),))
    [fired] = evaluate("mon", [rule], result, {}, T0)
    fields = alert_fields(fired, T0)
    data = alert_event(
        "firing", dataset="d", monitor="mon", alert=fields, run_id="r1", run_url="http://x/r1"
    )
    assert data == {
        "dataset": "d",
        "monitor": "mon",
        "alert": {
            "id": fingerprint("mon", rule, "age"),
            "rule": "drift_score[age]>0.1",
            "metric": "drift_score",
            "column": "age",
            "severity": "critical",
            "state": "firing",
            "value": 0.4,
            "threshold": 0.1,
            "started_at": "2026-03-01T12:00:00Z",
            "resolved_at": None,
        },
        "run_id": "r1",
        "run_url": "http://x/r1",
    }
    later = T0 + timedelta(hours=1)
    clean = MonitorResult(metrics=(Metric("drift_score", 0.0, column="age"),))
    [resolved] = evaluate("mon", [rule], clean, {fired.fingerprint: fired.current}, later)
    fields = alert_fields(resolved, later)
    assert fields["state"] == "ok" and fields["started_at"] == T0 and fields["resolved_at"] == later


def test_alert_event_checks_its_input() -> None:
    fields = AlertFields(
        id="x",
        rule="r",
        metric="m",
        column=None,
        severity="info",
        state="firing",
        value=1.0,
        threshold=0.5,
        started_at=T0,
        resolved_at=None,
    )
    with pytest.raises(InvalidInputError):
        alert_event("pending", dataset="d", monitor="m", alert=fields, run_id=None, run_url=None)  # type: ignore[arg-type]
    partial = {k: v for k, v in fields.items() if k != "threshold"}
    with pytest.raises(InvalidInputError, match="threshold"):
        alert_event("firing", dataset="d", monitor="m", alert=partial, run_id=None, run_url=None)  # type: ignore[arg-type]


def test_retrain_requested() -> None:
    data = retrain_requested(
        dataset="d",
        reference_version=3,
        breaches=[
            {
                "metric": "share_drifted_columns",
                "column": None,
                "value": 0.5,
                "threshold": 0.3,
                "rule": "share_drifted_columns>=0.3",
                "severity": "warning",
            }
        ],
        window={"batch_ids": ["b1", "b2"], "start": T0, "end": T0 + timedelta(hours=1)},
        run_id="r",
        report_url="http://x/r/report",
        request_id="req-1",
    )
    assert data["window"] == {
        "batch_ids": ["b1", "b2"],
        "start": "2026-03-01T12:00:00Z",
        "end": "2026-03-01T13:00:00Z",
    }
    assert data["breaches"][0]["value"] == 0.5 and data["request_id"] == "req-1"
    assert json.loads(body_bytes(envelope("retrain.requested", T0, data)))["data"] == data
    with pytest.raises(InvalidInputError):
        retrain_requested(
            dataset="d",
            reference_version=3,
            breaches=[],
            window={"batch_ids": [], "start": None, "end": None},
            run_id=None,
            report_url=None,
            request_id="req-2",
        )


def test_relabel_requested_is_bounded_and_best_first() -> None:
    rows = [
        RelabelRow(id=f"r{i}", batch_id="b", score=s, reason="label_issue")
        for i, s in enumerate([0.2, 0.9, 0.5, 0.7])
    ]
    data = relabel_requested(
        dataset="d", count=250, rows=rows, export_url="http://x/q", max_inline=3
    )
    assert [r["id"] for r in data["rows"]] == ["r1", "r3", "r2"]
    assert data["count"] == 250 and data["truncated"] is True
    whole = relabel_requested(dataset="d", count=4, rows=rows, export_url=None)
    assert len(whole["rows"]) == 4 and whole["truncated"] is False
    with pytest.raises(InvalidInputError):
        relabel_requested(dataset="d", count=1, rows=rows, export_url=None)


def test_state_json_column_survives_an_episode() -> None:
    rule = Rule(metric="m", op=">", value=1)
    fp = fingerprint("mon", rule, None)
    stored = {fp: json.loads(json.dumps(AlertState().to_dict()))}
    events = []
    for i, v in enumerate([2.0, 2.0, 0.0]):
        prev = {k: AlertState.from_dict(d) for k, d in stored.items()}
        [t] = evaluate(
            "mon", [rule], MonitorResult(metrics=(Metric("m", v),)), prev, T0 + timedelta(minutes=i)
        )
        stored[fp] = json.loads(json.dumps(t.current.to_dict()))
        events.append(t.event)
    assert events == ["firing", None, "resolved"]
