"""/docs explains every monitor parameter: each Params field is described, and the
``params`` option of the monitor bodies lists them all."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from dqm.monitors.kinds import BUILT_IN
from dqm.service.api.params_doc import json_type, kind_section
from dqm.service.app import create_app
from dqm.service.settings import Settings

FIELDS = [(m.kind, name) for m in BUILT_IN for name in m.Params.model_fields]


@pytest.mark.parametrize(("kind", "name"), FIELDS)
def test_every_parameter_is_described(kind: str, name: str) -> None:
    (monitor,) = [m for m in BUILT_IN if m.kind == kind]
    description = monitor.Params.model_fields[name].description
    assert description is not None and description.strip()


@pytest.mark.parametrize("body", ["MonitorCreate", "MonitorPatch"])
def test_openapi_params_lists_every_kind_and_parameter(settings: Settings, body: str) -> None:
    schemas = create_app(settings).openapi()["components"]["schemas"]
    text = schemas[body]["properties"]["params"]["description"]
    for monitor in BUILT_IN:
        section = text.split(f"#### `{monitor.kind}`\n", 1)[1].split("####", 1)[0]
        for name, field in monitor.Params.model_fields.items():
            assert f"- `{name}` (" in section, (monitor.kind, name)
            assert str(field.description) in section


def test_a_section_gives_type_default_description_and_example() -> None:
    class P(BaseModel):
        mode: str = Field("a", description="How.")
        ranges: dict[str, tuple[float, float]] = Field(
            default_factory=dict, description="Bounds.", examples=[{"x": [0, 1]}]
        )

    assert kind_section("k", P).splitlines() == [
        "#### `k`",
        '- `mode` (string, default `"a"`): How.',
        "- `ranges` (object: string → [number, number], default `{}`): Bounds. "
        'Example: `{"x": [0, 1]}`.',
    ]


def test_a_long_enum_is_listed_once_per_section() -> None:
    names = {"enum": ["a", "b", "c", "d", "e"], "type": "string"}
    seen: dict[str, str] = {}
    first = json_type({"anyOf": [names, {"type": "null"}]}, "x", seen)
    assert first == 'one of `"a"` | `"b"` | `"c"` | `"d"` | `"e"` or null'
    assert json_type(names, "y", seen) == "same choices as `x`"
