"""The ``coverage`` monitor: does the window stay where the reference has data?

Metrics (names are what rules are written against):

- ``category_row_coverage`` (per categorical column): share of current non-null rows whose
  category the reference holds at least ``min_reference_support`` times.
- ``reference_category_coverage`` / ``reference_category_mass_coverage`` (per categorical
  column): share of reference categories seen in the window, and their reference probability.
- ``numeric_range_coverage`` (per numerical column): share of current values inside the
  reference ``[q_lo, q_hi]`` quantiles; details hold the expected share and its binomial SE.
- ``slice_uncovered_share``: worst excess, over column pairs, of the share of current rows in
  2-D cells holding fewer than ``min_support`` reference rows over the share expected of data
  drawn from the reference (see ``dqm.monitors.coverage.slice_metric``): about 0 for unshifted
  data at any reference size. Pairs are ``slice_pairs``, else all feature pairs, or a seeded
  sample of ``max_slice_pairs``.
- ``knn_ood_share``: Deep-kNN out-of-distribution share (see ``dqm.monitors.coverage.knn``).

Findings are uncovered rows, best first: kNN outliers (score = distance / λ) and rows with a
category the reference lacks (score = rarity ``1 - reference_count / min_reference_support``,
at most 1, so kNN outliers, which score above 1, come first). A row appears once per finding
source (kNN, each categorical column).

>>> import pyarrow as pa
>>> from dqm.monitors.schema import ColumnSpec, Schema
>>> schema = Schema(columns=[ColumnSpec(name="c", type="categorical")])
>>> ref, cur = pa.table({"c": ["a", "a", "b"]}), pa.table({"c": ["a", "z", "z", None]})
>>> result = CoverageMonitor().run(ref, cur, schema, CoverageMonitor.Params())
>>> result.value("category_row_coverage", "c")
0.3333333333333333
>>> [(f.row_id, f.reason) for f in result.findings]
[('1', 'uncovered'), ('2', 'uncovered')]
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dqm.monitors.base import BaseMonitor, Finding, Metric, MonitorResult
from dqm.monitors.columns import category_counts, numeric_values, string_column
from dqm.monitors.coverage.columns import (
    category_coverage,
    numeric_range_coverage,
    seen_categories,
)
from dqm.monitors.coverage.knn import KnnOutcome, KnnSettings, knn_ood
from dqm.monitors.coverage.slice_metric import slice_metric
from dqm.monitors.coverage.slices import choose_pairs
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.registry import register
from dqm.monitors.schema import ColumnSpec, Schema

Candidate = tuple[float, int, str | None, dict[str, Any]]  # score, row position, column, details


class CoverageParams(BaseModel):
    """Parameters of the ``coverage`` monitor; ``{}`` gives the documented defaults."""

    model_config = ConfigDict(extra="forbid")

    min_reference_support: int = Field(
        1,
        ge=1,
        description="A category counts as covered when the reference holds it at least this "
        "many times (`category_row_coverage`, findings). Default 1: any category seen once.",
        examples=[5],
    )
    q_lo: float = Field(
        0.005,
        ge=0.0,
        le=1.0,
        description="Lower reference quantile bounding `numeric_range_coverage`, a fraction "
        "in [0, 1]; with `q_hi` 0.995 the expected coverage of unshifted data is 0.99.",
        examples=[0.01],
    )
    q_hi: float = Field(
        0.995,
        ge=0.0,
        le=1.0,
        description="Upper reference quantile bounding `numeric_range_coverage`, a fraction "
        "in [0, 1] above `q_lo`.",
        examples=[0.99],
    )
    slice_pairs: list[tuple[str, str]] | None = Field(
        None,
        description="Column pairs whose 2-D cells `slice_uncovered_share` checks. Default "
        "(null): all pairs of numerical and categorical feature columns, or a seeded sample "
        "of `max_slice_pairs` of them.",
        examples=[[["age", "country"], ["age", "income"]]],
    )
    max_slice_pairs: int = Field(
        45,
        ge=0,
        description="Most feature pairs checked when `slice_pairs` is not given (45 = all "
        "pairs of 10 columns); beyond it a sample chosen with `seed`. 0 skips the metric.",
        examples=[100],
    )
    min_support: int = Field(
        5,
        ge=1,
        description="A 2-D cell (reference quantile bin or category of each column) holding "
        "fewer reference rows than this is uncovered (`slice_uncovered_share`). Numerical "
        "columns get as many quantile bins (2 to 10) as keep an average cell at 4 times this "
        "many reference rows.",
        examples=[10],
    )
    k: int = Field(
        10,
        ge=1,
        description="Deep-kNN `knn_ood_share`: the distance to the k-th nearest reference row "
        "scores a current row. 10 suits the default 20,000-row `reference_cap`.",
        examples=[50],
    )
    tpr: float = Field(
        0.95,
        gt=0.0,
        le=1.0,
        description="Deep-kNN: the distance cut-off λ is set so this share of held-out "
        "reference rows is within it; `knn_ood_share` of unshifted data is about 1 - tpr.",
        examples=[0.99],
    )
    sample_size: int = Field(
        2000,
        ge=1,
        description="Deep-kNN: at most this many current rows (a sample chosen with `seed`) "
        "are scored; it bounds the run time.",
        examples=[5000],
    )
    reference_cap: int = Field(
        20_000,
        ge=2,
        description="Deep-kNN: the reference is sampled (with `seed`) down to at most this "
        "many rows before the hold-out split.",
        examples=[50_000],
    )
    holdout_fraction: float = Field(
        0.2,
        gt=0.0,
        lt=1.0,
        description="Deep-kNN: fraction of the sampled reference held out to set λ; the "
        "rest is the neighbour index.",
        examples=[0.1],
    )
    embedding_column: str | None = Field(
        None,
        description="Deep-kNN on this embedding column (L2-normalized vectors) instead of "
        "the reference-standardized numerical feature columns. Default (null): numerical "
        "features.",
        examples=["text_embedding"],
    )
    seed: int = Field(
        0,
        description="Seed of every sample (slice pairs, reference cap, hold-out, scored "
        "rows), so a run on the same data gives the same numbers.",
        examples=[42],
    )
    max_findings: int = Field(
        1000,
        ge=0,
        description="Most uncovered rows reported as findings (most uncovered first); 0 "
        "reports none.",
        examples=[100],
    )

    @model_validator(mode="after")
    def _ordered_quantiles(self) -> CoverageParams:
        if self.q_lo >= self.q_hi:
            raise ValueError(f"q_lo ({self.q_lo}) must be below q_hi ({self.q_hi})")
        return self


def monitored(schema: Schema, kind: str) -> list[ColumnSpec]:
    """Feature and prediction columns of a type: what coverage watches."""
    return [c for c in schema.with_role("feature", "prediction") if c.type == kind]


@register
class CoverageMonitor(BaseMonitor[CoverageParams]):
    """Coverage of the window by the reference: unseen categories, out-of-range values,
    empty slices and Deep-kNN out-of-distribution rows."""

    kind: ClassVar[str] = "coverage"
    Params: ClassVar[type[BaseModel]] = CoverageParams

    def measure(
        self, profile: ReferenceProfile, current: pa.Table, schema: Schema, p: CoverageParams
    ) -> MonitorResult:
        _check_columns(schema, p)
        schema = _shared_columns(schema, profile, current)
        metrics: list[Metric] = []
        candidates: list[Candidate] = []
        for col in monitored(schema, "categorical"):
            metrics += _category_metrics(profile, current, col.name, p)
            candidates += _category_candidates(profile, current, col.name, p)
        for col in monitored(schema, "numerical"):
            metrics.append(_range_metric(profile, current, col.name, p))
        metrics.append(_slice_metric(profile, current, schema, p))
        knn_metric, knn_candidates = _knn(profile, current, schema, p)
        metrics.append(knn_metric)
        candidates += knn_candidates
        return MonitorResult(tuple(metrics), _findings(current, schema, candidates, p))


def _check_columns(schema: Schema, p: CoverageParams) -> None:
    named = [c for pair in p.slice_pairs or [] for c in pair]
    schema.require(named + ([p.embedding_column] if p.embedding_column else []))


def _shared_columns(schema: Schema, profile: ReferenceProfile, current: pa.Table) -> Schema:
    """The schema narrowed to columns both tables hold (data_quality reports absent ones)."""
    both = set(profile.table.column_names) & set(current.column_names)
    kept = [c for c in schema.columns if c.name in both]
    if not kept:
        raise InvalidInputError("reference and window share no schema column", [])
    return Schema(columns=kept)


def _category_metrics(
    profile: ReferenceProfile, current: pa.Table, column: str, p: CoverageParams
) -> list[Metric]:
    cats, counts, _ = category_counts(current, column)
    current_counts = dict(zip(cats.tolist(), counts.tolist(), strict=True))
    cov = category_coverage(profile.categorical(column), current_counts, p.min_reference_support)
    details = {
        "unseen_categories": cov.unseen_categories,
        "top_unseen": [list(t) for t in cov.top_unseen],
    }
    return [
        _share("category_row_coverage", cov.row_coverage, column, details),
        _share("reference_category_coverage", cov.reference_coverage, column),
        _share("reference_category_mass_coverage", cov.reference_mass_coverage, column),
    ]


def _share(
    name: str, value: float | None, column: str | None, details: dict[str, Any] | None = None
) -> Metric:
    status = "ok" if value is not None else "skipped: no values to measure"
    return Metric(name=name, value=value, column=column, status=status, details=details or {})


def _range_metric(
    profile: ReferenceProfile, current: pa.Table, column: str, p: CoverageParams
) -> Metric:
    ref = profile.numeric(column)
    if ref.n == 0:
        return Metric("numeric_range_coverage", None, column, status="skipped: empty reference")
    cov = numeric_range_coverage(ref.sorted_values, numeric_values(current, column), p.q_lo, p.q_hi)
    details = {
        "lo": cov.lo,
        "hi": cov.hi,
        "expected": cov.expected,
        "standard_error": cov.standard_error,
        "n": cov.n,
    }
    return _share("numeric_range_coverage", cov.value, column, details)


def _slice_metric(
    profile: ReferenceProfile, current: pa.Table, schema: Schema, p: CoverageParams
) -> Metric:
    features = [c for c in schema.with_role("feature") if c.type in ("numerical", "categorical")]
    pairs = p.slice_pairs
    if pairs is None:
        pairs = choose_pairs([c.name for c in features], p.max_slice_pairs, p.seed)
    if not pairs:
        return Metric("slice_uncovered_share", None, status="skipped: no column pairs")
    return slice_metric(profile, current, pairs, schema, p.min_support)


def _knn(
    profile: ReferenceProfile, current: pa.Table, schema: Schema, p: CoverageParams
) -> tuple[Metric, list[Candidate]]:
    columns = [c.name for c in schema.with_role("feature") if c.type == "numerical"]
    if p.embedding_column is None and not columns:
        return Metric("knn_ood_share", None, status="skipped: no numerical features"), []
    settings = KnnSettings(
        p.k, p.tpr, p.sample_size, p.reference_cap, p.holdout_fraction, p.seed, p.embedding_column
    )
    outcome = knn_ood(profile, current, columns, settings)
    if isinstance(outcome, str):
        return Metric("knn_ood_share", None, method="deep_knn", status=outcome), []
    return _knn_metric(outcome, p), _knn_candidates(outcome)


def _knn_metric(o: KnnOutcome, p: CoverageParams) -> Metric:
    details = {
        "threshold": o.threshold,
        "k": p.k,
        "tpr": p.tpr,
        "expected": 1.0 - p.tpr,
        "n_sampled": int(o.distances.size),
        "n_reference_index": o.n_index,
        "n_reference_holdout": o.n_holdout,
        "features": f"embedding:{p.embedding_column}" if p.embedding_column else "numerical",
    }
    return Metric("knn_ood_share", o.share, method="deep_knn", details=details)


def _knn_candidates(o: KnnOutcome) -> list[Candidate]:
    out = np.flatnonzero(o.distances > o.threshold)
    # λ = 0 happens when most reference rows are exact duplicates; fall back to raw distance.
    scale = o.threshold if o.threshold > 0 else 1.0
    return [
        (
            float(o.distances[i] / scale),
            int(o.positions[i]),
            None,
            {"metric": "knn_ood_share", "distance": float(o.distances[i])},
        )
        for i in out
    ]


def _category_candidates(
    profile: ReferenceProfile, current: pa.Table, column: str, p: CoverageParams
) -> list[Candidate]:
    ref = profile.categorical(column)
    seen = seen_categories(ref, p.min_reference_support)
    values = string_column(current, column)
    present = pc.unique(values.drop_null()).to_pylist()
    unseen = pa.array([v for v in present if v not in seen], type=pa.string())
    if len(unseen) == 0:
        return []
    ref_counts = dict(zip(map(str, ref.categories), ref.counts.tolist(), strict=True))
    counts = np.array([ref_counts.get(v, 0) for v in unseen.to_pylist()], dtype=np.int64)
    rarity = 1.0 - counts / p.min_reference_support
    code = np.asarray(pc.fill_null(pc.index_in(values, value_set=unseen), -1).to_numpy())
    positions = np.flatnonzero(code >= 0)
    order = np.argsort(-rarity[code[positions]], kind="stable")[: p.max_findings]
    out: list[Candidate] = []
    for pos in positions[order].tolist():
        c = int(code[pos])
        details = {
            "metric": "category_row_coverage",
            "value": unseen[c].as_py(),
            "reference_count": int(counts[c]),
        }
        out.append((float(rarity[c]), pos, column, details))
    return out


def _findings(
    current: pa.Table, schema: Schema, candidates: list[Candidate], p: CoverageParams
) -> tuple[Finding, ...]:
    best = sorted(candidates, key=lambda c: (-c[0], c[1]))[: p.max_findings]
    ids = row_ids(current, schema, [c[1] for c in best])
    return tuple(
        Finding(row_id=rid, score=score, reason="uncovered", column=col, details=details)
        for rid, (score, _, col, details) in zip(ids, best, strict=True)
    )


def row_ids(table: pa.Table, schema: Schema, positions: list[int]) -> list[str]:
    """Ids of rows by position: the id-role column's values, else the position in the window."""
    id_col = schema.role_column("id")
    if id_col is None or id_col.name not in table.column_names or not positions:
        return [str(i) for i in positions]
    values = table.column(id_col.name).take(pa.array(positions, type=pa.int64())).to_pylist()
    return [str(v) if v is not None else str(i) for v, i in zip(values, positions, strict=True)]
