"""Seeded sorted samples shared by the statistics tests."""

from __future__ import annotations

import numpy as np


def samples(seed: int, n1: int, n2: int, discrete: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if discrete:
        return np.sort(rng.integers(0, 30, n1) * 1.0), np.sort(rng.integers(2, 33, n2) * 1.0)
    return np.sort(rng.normal(0, 1, n1)), np.sort(rng.normal(0.1, 1.3, n2))


def samples_with_ties(seed: int, n1: int, n2: int, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0, 1, n1), rng.normal(0.2, 1.2, n2)
    if ties:
        a, b = np.round(a * 3), np.round(b * 3)
    return np.sort(a), np.sort(b)
