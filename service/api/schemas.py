"""Request and response models of the HTTP API (separate from the tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dqm.alerts.rules import Rule
from dqm.monitors.schema import Schema
from dqm.service.api.params_doc import describe_params
from dqm.service.durations import duration_seconds

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetCreate(Strict):
    name: str = Field(pattern=NAME_PATTERN)
    schema_: Schema | None = Field(default=None, alias="schema")


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


class LabelsIn(Strict):
    labels: list[dict[str, Any]] = Field(min_length=1)


class LabelsOut(BaseModel):
    matched: int
    unmatched: int
    unmatched_ids: list[str]


class Schedule(Strict):
    every: str | None = None
    cron: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Schedule:
        if (self.every is None) == (self.cron is None):
            raise ValueError('give exactly one of "every" (e.g. "10m") or "cron"')
        if self.every is not None:
            duration_seconds(self.every)
        if self.cron is not None:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(self.cron)
            except ValueError as exc:
                raise ValueError(f"invalid cron expression {self.cron!r}: {exc}") from None
        return self


class Window(Strict):
    last_batches: int | None = Field(default=None, ge=1, le=10_000)
    last: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Window:
        if (self.last_batches is None) == (self.last is None):
            raise ValueError('give exactly one of "last_batches" or "last" (e.g. "1h")')
        if self.last is not None:
            duration_seconds(self.last)
        return self


EventType = Literal["alert.firing", "alert.resolved", "retrain.requested", "relabel.requested"]


class Action(Strict):
    """Send ``event`` to ``hook`` when an alert of the monitor fires (or resolves).

    ``cooldown`` (retrain.requested): at most one retrain request per dataset within it,
    however many monitors fire. ``budget`` (relabel.requested): rows listed inline.
    """

    on: Literal["firing", "resolved"] = "firing"
    hook: str
    event: EventType
    cooldown: str | None = None
    budget: int | None = Field(default=None, ge=1, le=10_000)

    @model_validator(mode="after")
    def _fits_event(self) -> Action:
        if self.cooldown is not None:
            if self.event != "retrain.requested":
                raise ValueError("'cooldown' applies to retrain.requested actions only")
            duration_seconds(self.cooldown)
        if self.budget is not None and self.event != "relabel.requested":
            raise ValueError("'budget' applies to relabel.requested actions only")
        if self.on == "resolved" and self.event in ("retrain.requested", "relabel.requested"):
            raise ValueError(f"{self.event} is sent when alerts fire, not when they resolve")
        return self


class MonitorCreate(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=describe_params)

    name: str = Field(pattern=NAME_PATTERN)
    dataset: str
    kind: str
    params: dict[str, Any] = Field(default_factory=dict)
    schedule: Schedule
    window: Window = Field(default_factory=lambda: Window(last_batches=1))
    rules: list[Rule] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    enabled: bool = True


class MonitorPatch(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=describe_params)

    params: dict[str, Any] | None = None
    schedule: Schedule | None = None
    window: Window | None = None
    rules: list[Rule] | None = None
    actions: list[Action] | None = None
    enabled: bool | None = None


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


class HookCreate(Strict):
    name: str = Field(pattern=NAME_PATTERN)
    url: str = Field(max_length=2000)
    events: list[EventType] = Field(min_length=1)

    @field_validator("events")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return sorted(set(value))


class HookOut(BaseModel):
    name: str
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    secret: str | None = None


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
