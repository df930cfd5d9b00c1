"""Typed results: frozen dataclasses read from the API's JSON.

Fields the server adds later are ignored, fields it leaves out are ``None`` (or their default),
timestamps become aware ``datetime`` values, nested objects their dataclasses. ``raw`` keeps
the JSON object as received.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, cast

T = TypeVar("T")


@cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_class(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value) if len(inner) == 1 else value
    if hint is datetime and isinstance(value, str):
        return datetime.fromisoformat(value)
    if origin is list and args and isinstance(value, list) and _is_class(args[0]):
        return [from_json(args[0], v) for v in value]
    if _is_class(hint) and isinstance(value, dict):
        return from_json(hint, value)
    return value


def from_json(cls: type[T], data: dict[str, Any]) -> T:
    """An instance of the dataclass ``cls`` from one JSON object."""
    hints = _hints(cast(Any, cls))
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name == "raw":
            values["raw"] = data
        elif field.name in data:
            values[field.name] = _convert(hints[field.name], data[field.name])
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            values[field.name] = None
    return cls(**values)


def _raw() -> Any:
    return dataclasses.field(default_factory=dict, repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class Dataset:
    name: str
    schema: dict[str, Any] | None
    schema_inferred: bool
    current_reference_version: int | None
    created_at: datetime
    raw: dict[str, Any] = _raw()


@dataclasses.dataclass(frozen=True)
class Reference:
    version: int
    rows: int
    bytes: int
    created_at: datetime
    current: bool = False
    schema: dict[str, Any] | None = None
    raw: dict[str, Any] = _raw()


@dataclasses.dataclass(frozen=True)
class Batch:
    batch_id: str
    rows: int
    received_at: datetime
    bytes: int | None = None
    kind: str = "rows"  # "profile": sent as a profile (push_profile), without rows
    # Set by push_batch: False when the server already had this batch id with this content.
    created: bool | None = None
    raw: dict[str, Any] = _raw()


@dataclasses.dataclass(frozen=True)
class LabelsResult:
    matched: int
    unmatched: int
    unmatched_ids: list[str]
    raw: dict[str, Any] = _raw()


@dataclasses.dataclass(frozen=True)
class Monitor:
    name: str
    dataset: str
    kind: str
    params: dict[str, Any]
    schedule: dict[str, Any]
    window: dict[str, Any]
    rules: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    enabled: bool
    next_run_at: datetime | None
    created_at: datetime
    raw: dict[str, Any] = _raw()


@dataclasses.dataclass(frozen=True)
class Metric:
    name: str
    column: str | None
    value: float | None
    method: str | None = None
    threshold: float | None = None
    drifted: bool | None = None
    status: str = "ok"
    details: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class Run:
    id: int
    monitor: str
    status: str
    trigger: str
    scheduled_for: datetime
    started_at: datetime | None
    finished_at: datetime | None
    reference_version: int | None
    window: dict[str, Any] | None
    metrics: list[Metric]
    error: str | None
    raw: dict[str, Any] = _raw()

    @property
    def finished(self) -> bool:
        return self.status not in ("queued", "running")

    def metric(self, name: str, column: str | None = None) -> Metric | None:
        """The metric ``name`` (of ``column``), or None."""
        return next((m for m in self.metrics if m.name == name and m.column == column), None)


@dataclasses.dataclass(frozen=True)
class SeriesPoint:
    run_id: int
    at: datetime
    value: float | None
    drifted: bool | None = None


@dataclasses.dataclass(frozen=True)
class Series:
    monitor: str
    metric: str
    column: str | None
    points: list[SeriesPoint]
    raw: dict[str, Any] = _raw()


@dataclasses.dataclass(frozen=True)
class Alert:
    id: int
    monitor: str
    rule: str
    metric: str
    column: str | None
    severity: str
    state: str
    value: float | None
    threshold: float | None
    started_at: datetime
    firing_at: datetime | None
    resolved_at: datetime | None
    raw: dict[str, Any] = _raw()


@dataclasses.dataclass(frozen=True)
class Hook:
    name: str
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    secret: str | None = None  # only when generated by the server (created or rotated)
    secret_fingerprint: str | None = None  # SHA-256 of the secret's key, first 12 hex digits
    raw: dict[str, Any] = _raw()


@dataclasses.dataclass(frozen=True)
class Attempt:
    attempted_at: datetime
    status_code: int | None
    latency_ms: float | None
    outcome: str
    error: str | None


@dataclasses.dataclass(frozen=True)
class Delivery:
    id: int
    webhook_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    attempt_log: list[Attempt] = dataclasses.field(default_factory=list)
    raw: dict[str, Any] = _raw()


@dataclasses.dataclass(frozen=True)
class RelabelItem:
    row_id: str
    batch_id: str | None
    priority: float
    reasons: list[str]
    label_issue: float
    coverage: float
    uncertainty: float
    found_at: datetime | None
    details: dict[str, Any]
    row: dict[str, Any] | None
    raw: dict[str, Any] = _raw()


@dataclasses.dataclass(frozen=True)
class RetrainRequest:
    id: str
    dataset: str
    monitor: str
    status: str
    run_id: int
    reference_version: int | None
    new_reference_version: int | None
    requested_at: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None
    checked_run_id: int | None
    raw: dict[str, Any] = _raw()
