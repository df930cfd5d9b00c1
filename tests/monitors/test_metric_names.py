"""The metric-name catalogue is what the kinds report: each kind, run in configurations that
between them produce every metric, reports only declared names at their declared level, and
every declared name is reported by some configuration."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import dqm.monitors.registry  # noqa: F401  (registers every built-in kind)
from dqm.monitors.kinds import parse_params
from dqm.monitors.metric_names import CATALOGUE, metric_names
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.registry import REGISTRY
from dqm.monitors.schema import ColumnSpec, Schema
from tests.monitors.test_contract import SCHEMA, _table


def _embeddings(seed: int, n: int) -> pa.Array:
    vectors = np.random.default_rng(seed).normal(0, 1, (n, 8))
    return pa.array([list(v) for v in vectors], type=pa.list_(pa.float32()))


def _with_embedding(seed: int) -> pa.Table:
    return _table(seed).append_column("e", _embeddings(seed, 300))


EMBEDDING_SCHEMA = Schema(columns=[*SCHEMA.columns, ColumnSpec(name="e", type="embedding")])
REGRESSION_SCHEMA = Schema(
    columns=[
        ColumnSpec(name="y", type="numerical", role="target"),
        ColumnSpec(name="yhat", type="numerical", role="prediction"),
    ]
)


def _regression(seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=300)
    return pa.table({"y": y, "yhat": y + rng.normal(0, 0.3, 300)})


def _raters(seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    table = _table(seed)
    for name in ("a1", "a2"):
        table = table.append_column(name, pa.array(rng.integers(1, 4, 300).astype(float)))
    return table.append_column("lf", pa.array(rng.integers(-1, 2, 300)))


# (kind, params, schema, table maker): together they produce every declared name
CONFIGS: list[tuple[str, dict[str, Any], Schema, Any]] = [
    ("coverage", {}, SCHEMA, _table),
    ("data_quality", {}, SCHEMA, _table),
    ("data_quality", {"ranges": {"age": [0, 45]}}, SCHEMA, _table),
    ("drift", {"domain_classifier": True}, EMBEDDING_SCHEMA, _with_embedding),
    ("label_quality", {"task": "classification"}, SCHEMA, _table),
    ("label_quality", {"task": "regression"}, REGRESSION_SCHEMA, _regression),
    (
        "label_quality",
        {
            "task": "classification",
            "annotator_columns": ["a1", "a2"],
            "agreement_level": "interval",
            "labeling_function_columns": ["lf"],
        },
        SCHEMA,
        _raters,
    ),
]


def _reported(
    kind: str, params: dict[str, Any], schema: Schema, make: Any
) -> set[tuple[str, bool]]:
    cls = REGISTRY[kind]
    p = parse_params(kind, params)
    result = cls().run(ReferenceProfile(make(1), schema), make(2), schema, p)
    return {(m.name, m.column is not None) for m in result.metrics}


@pytest.mark.parametrize(("kind", "params", "schema", "make"), CONFIGS)
def test_reported_names_are_declared_at_their_level(
    kind: str, params: dict[str, Any], schema: Schema, make: Any
) -> None:
    names = metric_names(kind, parse_params(kind, params))
    assert names is not None
    for name, per_column in _reported(kind, params, schema, make):
        assert names.level(name) == ("column" if per_column else "dataset"), name


def test_every_declared_name_is_reported_by_some_configuration() -> None:
    declared: set[tuple[str, str, bool]] = set()
    reported: set[tuple[str, str, bool]] = set()
    for kind, params, schema, make in CONFIGS:
        names = metric_names(kind, parse_params(kind, params))
        assert names is not None
        declared |= {(kind, n, False) for n in names.dataset}
        declared |= {(kind, n, True) for n in names.column}
        reported |= {(kind, n, c) for n, c in _reported(kind, params, schema, make)}
    assert declared - reported == set()
    assert set(CATALOGUE) == set(REGISTRY)
