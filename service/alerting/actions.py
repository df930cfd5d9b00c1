"""Actions: which event a monitor sends to which hook when its alerts fire or resolve.

A monitor stores its actions as JSON; :func:`monitor_actions` reads them back as
:class:`Action` so the alerting code works with validated attributes, not raw dicts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dqm.service.db.models import Monitor
from dqm.service.durations import duration_seconds

EventType = Literal["alert.firing", "alert.resolved", "retrain.requested", "relabel.requested"]
DEFAULT_RELABEL_BUDGET = 100


class Action(BaseModel):
    """Send ``event`` to ``hook`` when an alert of the monitor fires (or resolves).

    ``cooldown`` (retrain.requested): at most one retrain request per dataset within it,
    however many monitors fire. ``budget`` (relabel.requested): rows listed inline.
    """

    model_config = ConfigDict(extra="forbid")

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

    @property
    def cooldown_seconds(self) -> int:
        """The retrain cooldown in seconds (0: none)."""
        return duration_seconds(self.cooldown) if self.cooldown else 0

    @property
    def relabel_budget(self) -> int:
        """How many rows a relabel request lists inline."""
        return self.budget or DEFAULT_RELABEL_BUDGET


def monitor_actions(monitor: Monitor) -> list[Action]:
    """The monitor's stored actions, validated."""
    return [Action.model_validate(a) for a in monitor.actions.get("items", [])]
