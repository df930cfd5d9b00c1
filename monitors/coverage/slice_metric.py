"""``slice_uncovered_share``: 2-D cell coverage in excess of what the reference leaves by chance.

Per column pair, ``share`` is the share of current rows in cells holding fewer than
``min_support`` reference rows and ``chance_share`` the same share expected of data drawn from
the reference (leave-one-out on the reference, ``dqm.monitors.coverage.slices.chance_share``);
the pair scores ``excess = max(0, share - chance_share)``, and the metric is the worst pair's
excess. A pair whose chance share is above ``MAX_CHANCE_SHARE`` cannot tell shifted data from
unshifted (its cells are too thin for the reference: a small reference, or an id-like column)
and is left out with a warning in ``details["warnings"]``; when every pair is, the metric is
skipped.

>>> import pyarrow as pa
>>> from dqm.monitors.profile import ReferenceProfile
>>> from dqm.monitors.schema import ColumnSpec, Schema
>>> schema = Schema(columns=[ColumnSpec(name=n, type="categorical") for n in "ab"])
>>> ref = pa.table({"a": ["p"] * 10 + ["q"] * 10, "b": ["u"] * 10 + ["v"] * 10})
>>> cur = pa.table({"a": ["p", "q", "q", "p"], "b": ["u", "v", "u", "v"]})
>>> m = slice_metric(ReferenceProfile(ref, schema), cur, [("a", "b")], schema, 5)
>>> m.value, m.details["pairs"][0]["chance_share"]
(0.5, 0.0)
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from dqm.monitors.base import Metric
from dqm.monitors.coverage.slices import (
    Codes,
    chance_share,
    column_codes,
    grid_bins,
    uncovered_share,
)
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.profile_cache import cached
from dqm.monitors.schema import Schema

MAX_CHANCE_SHARE = 0.5
METHOD = "quantile_grid"


def slice_metric(
    profile: ReferenceProfile,
    current: pa.Table,
    pairs: list[tuple[str, str]],
    schema: Schema,
    min_support: int,
) -> Metric:
    """The worst pair's excess uncovered share, with every pair's numbers in ``details``.

    Parameters
    ----------
    pairs
        Column pairs to check (non-empty).
    min_support
        A cell holding fewer reference rows than this is uncovered; numerical columns get
        ``grid_bins(reference rows, min_support)`` quantile bins.
    """
    bins = grid_bins(profile.num_rows, min_support)
    codes = {
        name: column_codes(profile, current, name, schema.column(name).type, bins)
        for name in dict.fromkeys(c for pair in pairs for c in pair)
    }
    rows = [_pair_row(profile, (a, b), codes, min_support, bins) for a, b in pairs]
    usable = [r for r in rows if r["chance_share"] <= MAX_CHANCE_SHARE]
    details: dict[str, Any] = {
        "min_support": min_support,
        "bins": bins,
        "reference_rows": profile.num_rows,
        "pairs": rows,
        "warnings": [
            _warning(r, profile.num_rows) for r in rows if r["chance_share"] > MAX_CHANCE_SHARE
        ],
    }
    if not usable:
        status = (
            f"skipped: reference too small for the 2-D cells ({profile.num_rows} rows: on every "
            f"pair over {MAX_CHANCE_SHARE:.0%} of reference rows fall in cells holding fewer "
            f"than min_support={min_support} other rows)"
        )
        return Metric("slice_uncovered_share", None, method=METHOD, status=status, details=details)
    worst = max(usable, key=lambda r: r["excess"])
    details |= {"pair": worst["columns"], "share": worst["share"]}
    details["chance_share"] = worst["chance_share"]
    return Metric("slice_uncovered_share", worst["excess"], method=METHOD, details=details)


def _pair_row(
    profile: ReferenceProfile,
    pair: tuple[str, str],
    codes: dict[str, Codes],
    min_support: int,
    bins: int,
) -> dict[str, Any]:
    a, b = pair
    share = uncovered_share(codes[a], codes[b], min_support)
    # The chance share depends on the reference alone: computed once per profile.
    chance = cached(
        profile,
        ("slice_chance_share", a, b, codes[a].n_codes, codes[b].n_codes, bins, min_support),
        lambda: chance_share(codes[a], codes[b], min_support),
    )
    return {
        "columns": [a, b],
        "share": share,
        "chance_share": chance,
        "excess": max(0.0, share - chance),
    }


def _warning(row: dict[str, Any], n_reference: int) -> str:
    a, b = row["columns"]
    return (
        f"pair ({a}, {b}) left out: {row['chance_share']:.0%} of the {n_reference} reference "
        "rows fall in thin cells by chance (reference too small for these cells, or an "
        "id-like column)"
    )
