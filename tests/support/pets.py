"""Pets: rows with an id, a numeric feature that drifts on demand, a segment, a cat/dog label
and class probabilities, for label-quality, relabel-queue, drift, client and CLI tests."""

from __future__ import annotations

from typing import Any

import numpy as np

SCHEMA = {
    "columns": [
        {"name": "id", "type": "categorical", "role": "id"},
        {"name": "x", "type": "numerical"},
        {"name": "segment", "type": "categorical"},
        {"name": "label", "type": "categorical", "role": "target"},
        {"name": "p_cat", "type": "numerical", "role": "prediction_probability", "class": "cat"},
        {"name": "p_dog", "type": "numerical", "role": "prediction_probability", "class": "dog"},
    ]
}


def rows(
    n: int, seed: int, prefix: str, shift: float = 0.0, flipped: int = 0
) -> list[dict[str, Any]]:
    """``n`` rows; ``x`` is N(shift, 1); the first ``flipped`` labels contradict confident
    predictions."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        p_cat = float(rng.choice([0.97, 0.9, 0.1, 0.03]))
        label = "cat" if p_cat > 0.5 else "dog"
        if i < flipped:
            label = "dog" if label == "cat" else "cat"
        out.append(
            {
                "id": f"{prefix}{i}",
                "x": float(rng.normal(shift, 1.0)),
                "segment": "a" if i % 4 else "b",
                "label": label,
                "p_cat": p_cat,
                "p_dog": round(1 - p_cat, 10),
            }
        )
    return out
