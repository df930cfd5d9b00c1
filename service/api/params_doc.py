"""The ``params`` option of each monitor kind, as markdown for the OpenAPI page.

``params`` is a free-form object in the API (each kind validates its own), so its description
lists every kind's parameters from the kind's ``Params`` model: name, type, default and the
field's description and first example.

>>> from pydantic import BaseModel, Field
>>> class P(BaseModel):
...     k: int = Field(10, description="Neighbours.", examples=[50])
...     tags: list[str] | None = Field(None, description="Labels.")
>>> print(kind_section("demo", P))
#### `demo`
- `k` (integer, default `10`): Neighbours. Example: `50`.
- `tags` (array of string or null, default `null`): Labels.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.config import JsonDict

from dqm.monitors.base import Monitor
from dqm.monitors.kinds import BUILT_IN

INTRO = (
    "Parameters of the monitor's `kind`, checked against that kind; `{}` gives every default "
    "and unknown keys are rejected. See docs/monitors.md for the metrics."
)
MAX_INLINE_CHOICES = 4


def json_type(schema: dict[str, Any], field: str = "", seen: dict[str, str] | None = None) -> str:
    """A short reading of a JSON schema's type.

    A long enum is listed in full the first time and named by that ``field`` after, when
    ``seen`` (choices to the first field listing them) is shared between calls.
    """
    seen = {} if seen is None else seen
    if "anyOf" in schema:
        return " or ".join(json_type(s, field, seen) for s in schema["anyOf"])
    if "enum" in schema:
        choices = " | ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
        if len(schema["enum"]) <= MAX_INLINE_CHOICES:
            return choices
        first = seen.setdefault(choices, field)
        return f"one of {choices}" if first == field else f"same choices as `{first}`"
    kind = schema.get("type", "any")
    if kind == "array" and "prefixItems" in schema:
        return "[" + ", ".join(json_type(s, field, seen) for s in schema["prefixItems"]) + "]"
    if kind == "array":
        return f"array of {json_type(schema.get('items', {}), field, seen)}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object: string → {json_type(schema['additionalProperties'], field, seen)}"
    return str(kind)


def _default(model: type[BaseModel], name: str) -> str:
    field = model.model_fields[name]
    value = field.get_default(call_default_factory=True)
    return f"`{json.dumps(value)}`"


def _example(model: type[BaseModel], name: str) -> str:
    examples = model.model_fields[name].examples
    return f" Example: `{json.dumps(examples[0])}`." if examples else ""


def kind_section(kind: str, model: type[BaseModel]) -> str:
    """One kind's parameters as a markdown list under a heading."""
    properties = model.model_json_schema()["properties"]
    seen: dict[str, str] = {}
    lines = [f"#### `{kind}`"]
    for name, field in model.model_fields.items():
        kind_of = json_type(properties[name], name, seen)
        default = _default(model, name)
        text = (field.description or "") + _example(model, name)
        lines.append(f"- `{name}` ({kind_of}, default {default}): {text}")
    return "\n".join(lines)


def params_description(monitors: Iterable[type[Monitor]] = BUILT_IN) -> str:
    """Markdown describing ``params``: one section per monitor kind."""
    sections = [kind_section(m.kind, m.Params) for m in sorted(monitors, key=lambda m: m.kind)]
    return "\n\n".join([INTRO, *sections])


@cache
def _built_in_description() -> str:
    return params_description()


def describe_params(schema: JsonDict) -> None:
    """``json_schema_extra`` of a request body: its ``params`` property gets the description."""
    properties = schema["properties"]
    assert isinstance(properties, dict)
    params = properties["params"]
    assert isinstance(params, dict)
    params["description"] = _built_in_description()
