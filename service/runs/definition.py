"""The validated definition of a monitor: what it measures, when, on which data, and what its
alerts do. The monitor functions take these; the HTTP layer reuses them as request bodies.

``Window`` here is the definition (``last_batches`` or ``last``); the data a run loads for it
is :class:`dqm.service.runs.windows.Window`.
"""

from __future__ import annotations

from typing import Any

from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dqm.alerts.rules import Rule
from dqm.service.alerting.actions import Action
from dqm.service.durations import duration_seconds
from dqm.service.names import NAME_PATTERN


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Schedule(_Strict):
    every: str | None = None
    cron: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Schedule:
        if (self.every is None) == (self.cron is None):
            raise ValueError('give exactly one of "every" (e.g. "10m") or "cron"')
        if self.every is not None:
            duration_seconds(self.every)
        if self.cron is not None:
            try:
                CronTrigger.from_crontab(self.cron)
            except ValueError as exc:
                raise ValueError(f"invalid cron expression {self.cron!r}: {exc}") from None
        return self


class Window(_Strict):
    last_batches: int | None = Field(default=None, ge=1, le=10_000)
    last: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Window:
        if (self.last_batches is None) == (self.last is None):
            raise ValueError('give exactly one of "last_batches" or "last" (e.g. "1h")')
        if self.last is not None:
            duration_seconds(self.last)
        return self


class MonitorSpec(_Strict):
    """A new monitor: its name, dataset, kind and parameters, schedule, window, rules, actions."""

    name: str = Field(pattern=NAME_PATTERN)
    dataset: str
    kind: str
    params: dict[str, Any] = Field(default_factory=dict)
    schedule: Schedule
    window: Window = Field(default_factory=lambda: Window(last_batches=1))
    rules: list[Rule] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    enabled: bool = True


class MonitorChanges(_Strict):
    """Changes to a monitor: each field given replaces the stored one."""

    params: dict[str, Any] | None = None
    schedule: Schedule | None = None
    window: Window | None = None
    rules: list[Rule] | None = None
    actions: list[Action] | None = None
    enabled: bool | None = None
