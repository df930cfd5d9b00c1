"""The monitor contract, checked for every registered kind.

Every kind: has a docstring, reports no drift or breach when current equals reference, gives
the same result on the same seeded data, and refuses an empty current window.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import dqm.monitors.registry  # noqa: F401  (registers every built-in kind)
from dqm.monitors.base import Monitor, MonitorResult
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.kinds import BUILT_IN
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.registry import REGISTRY
from dqm.monitors.schema import ColumnSpec, Schema

CLASSES = ["a", "b", "c"]
SCHEMA = Schema(
    columns=[
        ColumnSpec(name="row_id", type="categorical", role="id"),
        ColumnSpec(name="age", type="numerical"),
        ColumnSpec(name="income", type="numerical"),
        ColumnSpec(name="city", type="categorical"),
        ColumnSpec(name="label", type="categorical", role="target"),
        ColumnSpec(name="predicted", type="categorical", role="prediction"),
        *(
            ColumnSpec.model_validate(
                {
                    "name": f"proba_{k}",
                    "type": "numerical",
                    "role": "prediction_probability",
                    "class": k,
                }
            )
            for k in CLASSES
        ),
    ]
)
KINDS = sorted(cls.kind for cls in BUILT_IN)


def _table(seed: int, n: int = 300) -> pa.Table:
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (n, len(CLASSES)))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    predicted = np.array(CLASSES)[proba.argmax(axis=1)]
    label = np.where(rng.random(n) < 0.85, predicted, rng.choice(CLASSES, n))
    columns: dict[str, object] = {
        "row_id": [f"r{seed}-{i}" for i in range(n)],
        "age": rng.normal(40, 10, n).round(),
        "income": rng.lognormal(10, 0.5, n),
        "city": rng.choice(["paris", "lyon", "nice", "lille"], n).tolist(),
        "label": label.tolist(),
        "predicted": predicted.tolist(),
    }
    columns.update({f"proba_{k}": proba[:, i] for i, k in enumerate(CLASSES)})
    return pa.table(columns)


def _run(kind: str, reference: pa.Table, current: pa.Table) -> MonitorResult:
    cls: type[Monitor] = REGISTRY[kind]
    return cls().run(ReferenceProfile(reference, SCHEMA), current, SCHEMA, cls.Params())


def test_drift_is_registered() -> None:
    assert "drift" in KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_has_a_docstring(kind: str) -> None:
    doc = REGISTRY[kind].__doc__
    assert doc is not None and len(doc.strip()) > 20


@pytest.mark.parametrize("kind", KINDS)
def test_identical_windows_report_no_drift_or_breach(kind: str) -> None:
    table = _table(0)
    result = _run(kind, table, table)
    flagged = [(m.name, m.column) for m in result.metrics if m.drifted]
    assert flagged == []
    assert result.metrics, "a monitor reports at least one metric"


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_under_a_seed(kind: str) -> None:
    first = _run(kind, _table(1), _table(2, 250))
    second = _run(kind, _table(1), _table(2, 250))
    # repr compares NaN values equal, which == on floats would not.
    assert repr(first) == repr(second)


@pytest.mark.parametrize("kind", KINDS)
def test_empty_current_window_is_invalid_input(kind: str) -> None:
    table = _table(3)
    with pytest.raises(InvalidInputError):
        _run(kind, table, table.slice(0, 0))
