"""Deep-kNN out-of-distribution share of a window (Sun et al., ICML 2022).

Features are the reference-standardized numerical feature columns (missing values imputed with
the reference mean, i.e. 0 after standardization), or an embedding column L2-normalized as in
the paper. The reference is subsampled to ``reference_cap`` rows with the seed; a seeded
``holdout_fraction`` of those rows is held out and λ is set so that ``tpr`` of the held-out
rows are within λ of their k-th nearest neighbour among the remaining (index) rows. A seeded
sample of ``sample_size`` current rows is then scored against the same index. The index and λ
depend on the reference alone and are built once per reference profile.

The paper's k: 50 for CIFAR-10 (50k training points), 200 for CIFAR-100, and for ImageNet
k=1000 on the full training set or k=10 when 1% of it is sampled, i.e. k scales with the size
of the index. With the default 20k-row cap, k=10 (the default here) sits in that range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dqm.monitors.columns import FloatArray, IntArray, numeric_values
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.learners.knn import (
    kth_neighbour_distance,
    ood_threshold,
    sample_rows,
    split_reference,
)
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.profile_cache import cached


@dataclass(frozen=True)
class KnnSettings:
    """The knobs of one Deep-kNN run (a slice of the coverage params)."""

    k: int
    tpr: float
    sample_size: int
    reference_cap: int
    holdout_fraction: float
    seed: int
    embedding_column: str | None


@dataclass(frozen=True)
class KnnOutcome:
    """Distances of the sampled current rows, their positions in the window, and λ."""

    share: float
    threshold: float
    positions: IntArray
    distances: FloatArray
    n_index: int
    n_holdout: int


def embedding_matrix(table: pa.Table, column: str) -> tuple[FloatArray, IntArray]:
    """L2-normalized rows of a list-typed embedding column, and the positions of non-null rows."""
    rows = table.column(column).to_pylist()
    keep = np.array([i for i, r in enumerate(rows) if r is not None], dtype=np.int64)
    try:
        matrix = np.array([rows[i] for i in keep], dtype=np.float64).reshape(keep.size, -1)
    except ValueError:
        raise InvalidInputError(
            f"embedding column {column!r} has vectors of different lengths", [{"column": column}]
        ) from None
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0), keep


def standardized_matrix(
    table: pa.Table, profile: ReferenceProfile, columns: list[str]
) -> FloatArray:
    """Columns standardized by the reference mean and (population) std; NaN becomes 0."""
    out = np.empty((table.num_rows, len(columns)), dtype=np.float64)
    for j, name in enumerate(columns):
        ref = profile.numeric(name)
        mean = float(ref.sorted_values.mean()) if ref.n else 0.0
        std = ref.std if ref.n and ref.std > 0 else 1.0
        out[:, j] = (numeric_values(table, name) - mean) / std
    out[np.isnan(out)] = 0.0
    return out


def _features(
    table: pa.Table, profile: ReferenceProfile, columns: list[str], embedding: str | None
) -> tuple[FloatArray, IntArray]:
    if embedding is not None:
        return embedding_matrix(table, embedding)
    return standardized_matrix(table, profile, columns), np.arange(table.num_rows, dtype=np.int64)


def knn_ood(
    profile: ReferenceProfile, current: pa.Table, columns: list[str], s: KnnSettings
) -> KnnOutcome | str:
    """Score a seeded sample of ``current``; a string says why it was skipped.

    Parameters
    ----------
    profile
        The reference: its rows are the neighbour index and the held-out rows that set λ.
    current
        The window whose rows are scored.
    columns
        The numerical feature columns to standardize; unused with ``s.embedding_column``.
    s
        k, tpr, sample sizes, seed and the embedding column (the coverage params).

    >>> import numpy as np
    >>> from dqm.monitors.schema import ColumnSpec, Schema
    >>> schema = Schema(columns=[ColumnSpec(name="x", type="numerical")])
    >>> ref = ReferenceProfile(pa.table({"x": np.arange(100.0)}), schema)
    >>> s = KnnSettings(2, 0.95, 10, 100, 0.2, seed=0, embedding_column=None)
    >>> out = knn_ood(ref, pa.table({"x": [50.5, 500.0]}), ["x"], s)
    >>> out.share, round(out.threshold * ref.numeric("x").std, 6)  # λ = 3 steps of 1.0
    (0.5, 3.0)
    """
    ref = cached(
        profile,
        (
            "deep_knn",
            tuple(columns),
            s.k,
            s.tpr,
            s.reference_cap,
            s.holdout_fraction,
            s.seed,
            s.embedding_column,
        ),
        lambda: _reference_index(profile, columns, s),
    )
    if isinstance(ref, str):
        return ref
    sample = sample_rows(current.num_rows, s.sample_size, s.seed)
    queries, kept = _features(current.take(sample), profile, columns, s.embedding_column)
    if queries.shape[0] == 0:
        return "skipped: no current rows with features"
    distances = kth_neighbour_distance(queries, ref.index, s.k)
    share = float(np.count_nonzero(distances > ref.threshold) / distances.size)
    n_index = ref.index.shape[0]
    return KnnOutcome(share, ref.threshold, sample[kept], distances, n_index, ref.n_holdout)


@dataclass(frozen=True)
class _ReferenceIndex:
    """The neighbour index and λ of one reference: built once per profile and settings."""

    index: FloatArray
    threshold: float
    n_holdout: int


def _reference_index(
    profile: ReferenceProfile, columns: list[str], s: KnnSettings
) -> _ReferenceIndex | str:
    index_rows, held_rows = split_reference(
        profile.num_rows, s.reference_cap, s.holdout_fraction, s.seed
    )
    index, _ = _features(profile.table.take(index_rows), profile, columns, s.embedding_column)
    held, _ = _features(profile.table.take(held_rows), profile, columns, s.embedding_column)
    if index.shape[0] < s.k or held.shape[0] == 0:
        return (
            f"skipped: reference too small for k={s.k} "
            f"({index.shape[0]} index rows, {held.shape[0]} held out)"
        )
    threshold = ood_threshold(kth_neighbour_distance(held, index, s.k), s.tpr)
    return _ReferenceIndex(index, threshold, held.shape[0])
