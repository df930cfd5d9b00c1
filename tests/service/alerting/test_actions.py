"""Actions as the alerting code reads them back from a monitor row, and the monitor bodies'
OpenAPI components, which are the core's definition models under their HTTP names."""

from __future__ import annotations

import pydantic
import pytest

from dqm.service.alerting.actions import Action, monitor_actions
from dqm.service.api.schemas import MonitorCreate, MonitorPatch
from dqm.service.app import create_app
from dqm.service.db.models import Monitor
from dqm.service.runs.definition import MonitorChanges, MonitorSpec
from dqm.service.settings import Settings


def stored(*items: dict[str, object]) -> Monitor:
    return Monitor(name="m", kind="drift", actions={"items": list(items)})


def test_stored_actions_come_back_typed() -> None:
    actions = monitor_actions(
        stored(
            {"on": "firing", "hook": "trainer", "event": "retrain.requested", "cooldown": "2h"},
            {"on": "firing", "hook": "labelers", "event": "relabel.requested", "budget": 7},
            {"on": "resolved", "hook": "pager", "event": "alert.resolved"},
            {"hook": "labelers", "event": "relabel.requested"},
        )
    )
    retrain, relabel, resolved, default = actions
    assert (retrain.hook, retrain.event, retrain.cooldown_seconds) == (
        "trainer",
        "retrain.requested",
        2 * 60 * 60,
    )
    assert (relabel.relabel_budget, default.relabel_budget) == (7, 100)
    assert (resolved.on, default.on) == ("resolved", "firing")
    assert resolved.cooldown_seconds == 0
    assert monitor_actions(Monitor(name="m", kind="drift", actions={})) == []


def test_an_action_survives_the_way_a_monitor_stores_it() -> None:
    action = Action(hook="trainer", event="retrain.requested", cooldown="30m")
    row = action.model_dump(by_alias=True, exclude_none=True)
    assert row == {
        "on": "firing",
        "hook": "trainer",
        "event": "retrain.requested",
        "cooldown": "30m",
    }
    assert monitor_actions(stored(row)) == [action]


def test_a_stored_action_that_breaks_the_rules_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="budget"):
        monitor_actions(stored({"hook": "h", "event": "retrain.requested", "budget": 5}))


def test_the_monitor_bodies_are_the_core_models_under_their_http_names(
    settings: Settings,
) -> None:
    assert issubclass(MonitorCreate, MonitorSpec) and issubclass(MonitorPatch, MonitorChanges)
    components = create_app(settings).openapi()["components"]["schemas"]
    for name in ("MonitorCreate", "MonitorPatch", "Schedule", "Window", "Action", "Rule"):
        assert name in components, name
    assert not {"MonitorSpec", "MonitorChanges", "_Strict"} & set(components)
    actions = components["MonitorCreate"]["properties"]["actions"]["items"]
    assert actions == {"$ref": "#/components/schemas/Action"}
