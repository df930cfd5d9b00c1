"""Webhook event payloads: the Standard Webhooks body ``{"type", "timestamp", "data"}``.

Event types on the wire: ``alert.firing``, ``alert.resolved``, ``retrain.requested``,
``relabel.requested``. The builders return the ``data`` object of one event; ``envelope`` wraps
it, and ``body_bytes`` gives the exact bytes that are signed and sent (keep them: a redelivery
must send the same bytes under the same ``webhook-id``).

>>> from datetime import UTC, datetime
>>> env = envelope("alert.firing", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), {"x": 1.5})
>>> body_bytes(env)
b'{"data":{"x":1.5},"timestamp":"2026-01-02T03:04:05Z","type":"alert.firing"}'
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, TypedDict

from dqm.alerts.rules import Transition, rule_name
from dqm.alerts.state import as_utc
from dqm.monitors.errors import InvalidInputError

ALERT_FIRING = "alert.firing"
ALERT_RESOLVED = "alert.resolved"
RETRAIN_REQUESTED = "retrain.requested"
RELABEL_REQUESTED = "relabel.requested"
EVENT_TYPES = (ALERT_FIRING, ALERT_RESOLVED, RETRAIN_REQUESTED, RELABEL_REQUESTED)


class AlertFields(TypedDict):
    """One alert as an ``alert.firing``/``alert.resolved`` event carries it (:func:`alert_event`).

    The rule engine's view of the alert: ``id`` is its fingerprint, the same across the
    episodes of one series, and ``state`` is ``firing`` or ``ok``. The HTTP API lists stored
    episodes instead (row id, monitor, ``pending``/``firing``/``resolved``, ``firing_at``).
    """

    id: str
    rule: str
    metric: str
    column: str | None
    severity: str
    state: str
    value: float | None
    threshold: float | None
    started_at: datetime | str | None
    resolved_at: datetime | str | None


_ALERT_KEYS = tuple(AlertFields.__annotations__)


class Breach(TypedDict):
    """One rule breach behind a retrain request."""

    metric: str
    column: str | None
    value: float | None
    threshold: float | None
    rule: str
    severity: str


class Window(TypedDict):
    """The production data a run looked at: its batches and their time span."""

    batch_ids: list[str]
    start: datetime | str | None
    end: datetime | str | None


class RelabelRow(TypedDict):
    """A row proposed for relabeling: row id, its batch, a score (higher first) and why."""

    id: str
    batch_id: str | None
    score: float
    reason: str


def iso_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z`` suffix (a naive datetime is taken as UTC).

    >>> from datetime import timedelta, timezone
    >>> iso_utc(datetime(2026, 1, 2, 5, 0, tzinfo=timezone(timedelta(hours=2))))
    '2026-01-02T03:00:00Z'
    """
    return as_utc(moment).isoformat().replace("+00:00", "Z")


def jsonable(value: Any) -> Any:
    """``value`` with datetimes as :func:`iso_utc` strings, tuples as lists, NaN/±inf as None.

    JSON has no NaN or infinity; a non-finite metric value is sent as ``null``.
    """
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _json_object(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = jsonable(data)
    return out


def envelope(event_type: str, timestamp: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    """The body of one event: ``{"type", "timestamp" (ISO-8601 UTC, "Z"), "data"}``."""
    if event_type not in EVENT_TYPES:
        raise InvalidInputError(f"unknown event type {event_type!r}; known: {list(EVENT_TYPES)}")
    return {"type": event_type, "timestamp": iso_utc(timestamp), "data": _json_object(data)}


def body_bytes(env: Mapping[str, Any]) -> bytes:
    """Canonical compact JSON (sorted keys, UTF-8): the exact bytes signed and sent."""
    try:
        text = json.dumps(
            jsonable(env),
            separators=(",", ":"),
            sort_keys=True,
            ensure_ascii=False,
            allow_nan=False,
        )
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"event body is not JSON-serializable: {exc}") from None
    return text.encode("utf-8")


def alert_fields(transition: Transition, now: datetime) -> AlertFields:
    """The alert a transition describes, for :func:`alert_event` (``now`` = the run's time).

    A resolved alert keeps the ``started_at`` of its episode and gets ``resolved_at = now``.
    """
    resolved = transition.event == "resolved"
    state = transition.previous if resolved else transition.current
    rule = transition.rule
    return AlertFields(
        id=transition.fingerprint,
        rule=rule_name(rule),
        metric=rule.metric,
        column=transition.column,
        severity=rule.severity,
        state=transition.current.state,
        value=transition.value,
        threshold=transition.threshold,
        started_at=state.started_at,
        resolved_at=now if resolved else None,
    )


def alert_event(
    kind: Literal["firing", "resolved"],
    *,
    dataset: str,
    monitor: str,
    alert: AlertFields,
    run_id: str | None,
    run_url: str | None,
) -> dict[str, Any]:
    """``data`` of an ``alert.firing`` / ``alert.resolved`` event (type: ``"alert." + kind``).

    Fields: ``dataset`` and ``monitor`` names; ``alert`` — ``id`` (the fingerprint), ``rule``
    name, ``metric``, ``column`` (null for dataset-level), ``severity``, ``state``
    (``firing``/``ok``), ``value`` and ``threshold`` of the run that triggered the event,
    ``started_at``, ``resolved_at`` (null while firing); ``run_id`` and ``run_url`` of that run.
    A ``"repeat"`` transition (reminder) is sent as another ``alert.firing`` with the same id.
    """
    if kind not in ("firing", "resolved"):
        raise InvalidInputError(f"alert event kind must be 'firing' or 'resolved', got {kind!r}")
    missing = [k for k in _ALERT_KEYS if k not in alert]
    if missing:
        raise InvalidInputError(f"alert fields missing: {missing}")
    fields = {k: v for k, v in alert.items() if k in _ALERT_KEYS}
    return _json_object(
        {
            "dataset": dataset,
            "monitor": monitor,
            "alert": fields,
            "run_id": run_id,
            "run_url": run_url,
        }
    )


def retrain_requested(
    *,
    dataset: str,
    reference_version: int | str | None,
    breaches: Sequence[Breach],
    window: Window,
    run_id: str | None,
    report_url: str | None,
    request_id: str,
) -> dict[str, Any]:
    """``data`` of a ``retrain.requested`` event: the model of ``dataset`` should be retrained.

    Fields: ``request_id`` (stable id of this request, for the receiver to dedupe);
    ``dataset``; ``reference_version`` the model was compared against; ``breaches`` — the rule
    breaches that triggered the request (``metric``, ``column``, ``value``, ``threshold``,
    ``rule``, ``severity``); ``window`` — ``batch_ids``, ``start``, ``end`` of the production
    data that breached (candidate training data); ``run_id`` and ``report_url`` (HTML report).
    """
    if not breaches:
        raise InvalidInputError("a retrain request needs at least one breach")
    return _json_object(
        {
            "request_id": request_id,
            "dataset": dataset,
            "reference_version": reference_version,
            "breaches": [dict(b) for b in breaches],
            "window": dict(window),
            "run_id": run_id,
            "report_url": report_url,
        }
    )


def relabel_requested(
    *,
    dataset: str,
    count: int,
    rows: Sequence[RelabelRow],
    export_url: str | None,
    max_inline: int = 100,
) -> dict[str, Any]:
    """``data`` of a ``relabel.requested`` event: rows a person should relabel.

    Fields: ``dataset``; ``count`` — rows in the relabel queue; ``rows`` — at most
    ``max_inline`` of them, highest ``score`` first (``id``, ``batch_id``, ``score``,
    ``reason``); ``truncated`` — whether rows were left out; ``export_url`` — where to fetch
    all of them.

    >>> rows = [{"id": str(i), "batch_id": "b", "score": i / 10, "reason": "r"} for i in range(5)]
    >>> d = relabel_requested(dataset="d", count=5, rows=rows, export_url=None, max_inline=2)
    >>> [r["id"] for r in d["rows"]], d["truncated"]
    (['4', '3'], True)
    """
    if max_inline < 0 or count < len(rows):
        raise InvalidInputError("need max_inline >= 0 and count >= the number of rows given")
    best = sorted(rows, key=lambda r: -r["score"])[:max_inline]
    return _json_object(
        {
            "dataset": dataset,
            "count": count,
            "rows": [dict(r) for r in best],
            "truncated": count > len(best),
            "export_url": export_url,
        }
    )
