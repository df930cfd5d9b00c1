"""Column roles of an inferred schema: what each column is to the model, from names and values.

The first reference of a dataset without a schema defines it (``validate.infer_schema``); a
column given a wrong role there (an id or a target read as a feature) skews every monitor, so
roles follow these rules, names compared case-insensitively:

- **timestamp**: named ``timestamp``, ``ts`` or ``event_time`` and of type datetime.
- **id** (its type becomes categorical): named ``id``, ``uuid`` or ``guid``; or named
  ``*_id``, ``*_uuid``, ``*Id`` with a distinct value in every row; or, whatever its name, with
  a distinct non-null value in every row of at least ``MIN_ROWS_FOR_VALUE_ID`` rows and either
  strings without whitespace or integers counting the rows (consecutive, like 0..n-1).
- **target**: named ``target``, ``label``, ``y`` or ``class``, categorical or numerical.
- **prediction**: named ``prediction``, ``pred``, ``y_pred`` or ``score``, categorical or
  numerical.
- **prediction_probability**: named ``proba`` or ``probability``, optionally followed by
  ``_<class>`` (the class it stands for), numerical.

A role other than feature and prediction_probability is claimed by the first column that fits
(names before values); every other column is a feature.

>>> import pyarrow as pa
>>> t = pa.table({"row": list(range(60)), "y": [0, 1] * 30, "proba_1": [0.5] * 60})
>>> infer_roles(t, {"row": "numerical", "y": "numerical", "proba_1": "numerical"})
[('id', None), ('target', None), ('prediction_probability', '1')]
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dqm.monitors.schema import ColumnRole, ColumnType
from dqm.service.ingest.cast import plain

ROLE_BY_NAME: dict[str, ColumnRole] = {
    "id": "id",
    "uuid": "id",
    "guid": "id",
    "timestamp": "timestamp",
    "ts": "timestamp",
    "event_time": "timestamp",
    "target": "target",
    "label": "target",
    "y": "target",
    "class": "target",
    "prediction": "prediction",
    "pred": "prediction",
    "y_pred": "prediction",
    "score": "prediction",
}
TIMESTAMP_NAMES = frozenset(k for k, v in ROLE_BY_NAME.items() if v == "timestamp")
ID_SUFFIX = re.compile(r"(?i:_id|_uuid)$|[a-z0-9]Id$")
PROBABILITY = re.compile(r"^(?:proba|probability)(?:[_\-](?P<cls>.+))?$", re.IGNORECASE)
MIN_ROWS_FOR_VALUE_ID = 20
VALUE_TYPES: dict[str, tuple[ColumnType, ...]] = {
    "timestamp": ("datetime",),
    "target": ("categorical", "numerical"),
    "prediction": ("categorical", "numerical"),
}

Role = tuple[ColumnRole, str | None]  # the role and, for a probability column, its class


def infer_roles(table: pa.Table, types: Mapping[str, ColumnType]) -> list[Role]:
    """The role (and probability class) of each column of ``types``, in its order."""
    roles: dict[str, Role] = {}
    taken: set[ColumnRole] = set()
    for name, kind in types.items():
        role = _role_by_name(name, kind, table.column(name))
        if role[0] in taken and role[0] not in ("feature", "prediction_probability"):
            role = ("feature", None)
        taken.add(role[0])
        roles[name] = role
    if "id" not in taken:
        for name, kind in types.items():
            if roles[name][0] == "feature" and _values_are_ids(table.column(name), kind):
                roles[name] = ("id", None)
                break
    return [roles[name] for name in types]


def _role_by_name(name: str, kind: ColumnType, data: pa.ChunkedArray) -> Role:
    probability = PROBABILITY.match(name)
    if probability and kind == "numerical":
        return "prediction_probability", probability.group("cls")
    role = ROLE_BY_NAME.get(name.lower())
    if role is None and ID_SUFFIX.search(name) and _all_distinct(data):
        return "id", None
    if role is None or kind not in VALUE_TYPES.get(role, (kind,)):
        return "feature", None
    return role, None


def _all_distinct(data: pa.ChunkedArray) -> bool:
    """No nulls and no repeated value (never true of types Arrow cannot hash, as vectors)."""
    try:
        return data.null_count == 0 and len(pc.unique(plain(data))) == len(data)
    except pa.ArrowNotImplementedError:
        return False


def _values_are_ids(data: pa.ChunkedArray, kind: ColumnType) -> bool:
    """A distinct value per row of enough rows: strings without spaces, or integers counting
    the rows."""
    data = plain(data)
    if kind not in ("categorical", "text", "numerical") or len(data) < MIN_ROWS_FOR_VALUE_ID:
        return False
    if not _all_distinct(data):
        return False
    if kind in ("categorical", "text"):
        if not (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
            return False
        return not pc.any(pc.match_substring_regex(data, r"\s")).as_py()
    try:
        values = np.asarray(pc.cast(data, pa.float64()).to_numpy(), dtype=np.float64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    whole = bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
    return whole and float(values.max() - values.min()) == len(values) - 1
