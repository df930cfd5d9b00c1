"""Request and response models of the HTTP API (separate from the tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dqm.alerts.signing import PREFIX, secret_key
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.schema import ColumnSpec, Schema
from dqm.service.alerting.actions import EventType
from dqm.service.api.params_doc import describe_params
from dqm.service.names import NAME_PATTERN
from dqm.service.runs.definition import MonitorChanges, MonitorSpec

T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """The one shape of every list: a page of items and the cursor of the next page."""

    items: list[T]
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null on the last page"
    )


class DatasetCreate(Strict):
    name: str = Field(pattern=NAME_PATTERN)
    schema_: Schema | None = Field(default=None, alias="schema")


class DatasetPatch(Strict):
    """Column specs: a known name replaces that column's spec (role, type, class), a new name
    adds a column. Columns are never removed."""

    columns: list[ColumnSpec] = Field(min_length=1)


class DatasetOut(BaseModel):
    name: str
    schema_: Schema | None = Field(serialization_alias="schema")
    schema_inferred: bool
    current_reference_version: int | None
    created_at: datetime


class ReferenceOut(BaseModel):
    version: int
    rows: int
    bytes: int
    created_at: datetime
    current: bool = False
    schema_: Schema | None = Field(default=None, serialization_alias="schema")


class BatchOut(BaseModel):
    batch_id: str
    rows: int
    received_at: datetime
    bytes: int | None = None
    kind: str = "rows"  # "profile": the batch arrived as a profile, without rows


class LabelsIn(Strict):
    labels: list[dict[str, Any]] = Field(min_length=1)


class LabelsOut(BaseModel):
    matched: int
    unmatched: int
    unmatched_ids: list[str]


# The monitor bodies are the core's definition models (their parts Schedule, Window and Action
# are the same OpenAPI components); the subclasses give the components their HTTP names.
class MonitorCreate(MonitorSpec):
    model_config = ConfigDict(json_schema_extra=describe_params)


class MonitorPatch(MonitorChanges):
    model_config = ConfigDict(json_schema_extra=describe_params)


class MonitorOut(BaseModel):
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


class MetricOut(BaseModel):
    name: str
    column: str | None
    value: float | None
    method: str | None = None
    threshold: float | None = None
    drifted: bool | None = None
    status: str = "ok"
    details: dict[str, Any] | None = None


class RunOut(BaseModel):
    id: int
    monitor: str
    status: str
    trigger: str
    scheduled_for: datetime
    started_at: datetime | None
    finished_at: datetime | None
    reference_version: int | None
    window: dict[str, Any] | None
    metrics: list[MetricOut]
    error: str | None


class RunRecordOut(BaseModel):
    """What a run ran with, as recorded when it ran (null for runs from before records)."""

    run_id: int
    params: dict[str, Any] | None = Field(
        description="The monitor's params as the run read them (defaults filled in)."
    )
    distributions: dict[str, Any] | None = Field(
        description="Drift runs: per tested column, the reference and window counts the run "
        "compared: `numerical` columns over `bins` equal-width bins from `min` to `max` (both "
        "sides' finite values; the last bin closed), `categorical` ones for the `top` most "
        "frequent `categories` plus `reference_other`/`current_other`; with `reference_n`, "
        "`current_n` and the `*_missing` counts. Null for other kinds."
    )


class RunAccepted(BaseModel):
    run_id: int


class SeriesPoint(BaseModel):
    run_id: int
    at: datetime
    value: float | None
    drifted: bool | None = None


class SeriesOut(BaseModel):
    monitor: str
    metric: str
    column: str | None
    points: list[SeriesPoint]


class AlertOut(BaseModel):
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


def _whsec(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.startswith(PREFIX):
        raise ValueError(f"a webhook secret starts with {PREFIX!r}")
    try:
        secret_key(value)
    except InvalidInputError as exc:
        raise ValueError(exc.message) from None
    return value


_SECRET_DOC = (
    "a signing secret of your own, 'whsec_' + base64 of 24-64 bytes (e.g. from a secret "
    "store); generated by the server when omitted"
)


class HookCreate(Strict):
    name: str = Field(pattern=NAME_PATTERN)
    url: str = Field(max_length=2000)
    events: list[EventType] = Field(min_length=1)
    secret: str | None = Field(default=None, max_length=200, description=_SECRET_DOC)

    @field_validator("events")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return sorted(set(value))

    _secret = field_validator("secret")(_whsec)


class HookPatch(Strict):
    """Changes to a hook: each field given replaces the stored one. A new ``secret`` signs
    first; the previous one keeps signing until the next change (as rotate-secret)."""

    url: str | None = Field(default=None, max_length=2000)
    events: list[EventType] | None = Field(default=None, min_length=1)
    secret: str | None = Field(default=None, max_length=200, description=_SECRET_DOC)

    @field_validator("events")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else sorted(set(value))

    _secret = field_validator("secret")(_whsec)


class HookOut(BaseModel):
    name: str
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    secret: str | None = None
    secret_fingerprint: str = Field(
        description="first 12 hex digits of SHA-256 of the current secret's key: tells whether "
        "a copy of the secret is the current one without revealing it"
    )


class AttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: float | None
    outcome: str
    error: str | None


class DeliveryOut(BaseModel):
    id: int
    webhook_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    attempt_log: list[AttemptOut]


class DatasetPage(Page[DatasetOut]):
    pass


class ReferencePage(Page[ReferenceOut]):
    pass


class BatchPage(Page[BatchOut]):
    pass


class MonitorPage(Page[MonitorOut]):
    pass


class RunPage(Page[RunOut]):
    pass


class AlertPage(Page[AlertOut]):
    pass


class HookPage(Page[HookOut]):
    pass


class DeliveryPage(Page[DeliveryOut]):
    pass
