"""Roles of an inferred schema: ids, targets, predictions and probabilities by name and values."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dqm.service.ingest.validate import infer_schema

N = 40  # above MIN_ROWS_FOR_VALUE_ID, so values can make an id


def roles(table: pa.Table) -> dict[str, tuple[str, str, str | None]]:
    return {c.name: (c.type, c.role, c.class_) for c in infer_schema(table).columns}


def test_targets_predictions_and_probabilities_by_name() -> None:
    rng = np.random.default_rng(0)
    table = pa.table(
        {
            "y": rng.integers(0, 2, N),
            "pred": rng.integers(0, 2, N),
            "proba_0": rng.random(N),
            "Probability_1": rng.random(N),
            "proba": rng.random(N),
            "class": rng.choice(["a", "b"], N),  # a second target stays a feature
            "score": rng.random(N),  # a second prediction stays a feature
        }
    )
    assert roles(table) == {
        "y": ("numerical", "target", None),
        "pred": ("numerical", "prediction", None),
        "proba_0": ("numerical", "prediction_probability", "0"),
        "Probability_1": ("numerical", "prediction_probability", "1"),
        "proba": ("numerical", "prediction_probability", None),
        "class": ("categorical", "feature", None),
        "score": ("numerical", "feature", None),
    }


def test_roles_need_a_fitting_type() -> None:
    texts = [f"a long free-text answer number {i} with words" for i in range(N)]
    table = pa.table({"label": texts, "proba_x": ["high"] * N, "y_pred": [[0.1, 0.2]] * N})
    assert {n: r for n, (_, r, _) in roles(table).items()} == {
        "label": "feature",
        "proba_x": "feature",
        "y_pred": "feature",
    }


def test_ids_by_suffix_need_a_distinct_value_per_row() -> None:
    table = pa.table(
        {
            "customer_id": [f"c{i % 5}" for i in range(N)],  # repeats: a grouping, not an id
            "orderId": list(range(1000, 1000 + 2 * N, 2)),
            "x": np.arange(N) * 0.5,
        }
    )
    assert roles(table) == {
        "customer_id": ("categorical", "feature", None),
        "orderId": ("categorical", "id", None),
        "x": ("numerical", "feature", None),
    }


def test_ids_by_values_strings_or_row_counters() -> None:
    rng = np.random.default_rng(1)
    counter = pa.table({"row": np.arange(N)[::-1], "v": rng.normal(size=N)})
    assert roles(counter)["row"] == ("categorical", "id", None)
    keys = pa.table({"v": rng.normal(size=N), "key": [f"k-{i:04x}" for i in range(N)]})
    assert roles(keys)["key"] == ("categorical", "id", None)
    # Distinct integers that do not count rows, distinct floats, short tables: features.
    sparse = pa.table({"amount": rng.permutation(10 * N)[:N], "v": rng.normal(size=N)})
    assert roles(sparse)["amount"] == ("numerical", "feature", None)
    assert roles(sparse)["v"] == ("numerical", "feature", None)
    short = pa.table({"row": np.arange(5), "word": ["a", "b", "c", "d", "e"]})
    assert {r for _, r, _ in roles(short).values()} == {"feature"}


def test_a_named_id_wins_over_an_earlier_value_id() -> None:
    table = pa.table({"row": np.arange(N), "uuid": [f"u{i}" for i in range(N)]})
    assert roles(table) == {
        "row": ("numerical", "feature", None),
        "uuid": ("categorical", "id", None),
    }
