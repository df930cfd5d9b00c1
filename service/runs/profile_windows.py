"""Windows read as profiles: which data a run uses, and the merged profile of its batches.

A drift monitor's ``data`` param chooses: ``rows`` (the default, exact), ``profiles`` (the
merge of the batches' profiles), or ``auto``: rows when every batch of the window has rows and
they number at most ``DQM_ROWS_WINDOW_MAX_ROWS``, else profiles. Batches stored before
profiles existed have none: their rows are profiled when a window needs them.

>>> from types import SimpleNamespace as B
>>> rows = [B(path="a", rows=10), B(path="b", rows=10)]
>>> auto = {"data": "auto"}
>>> data_choice("drift", auto, rows, 20), data_choice("drift", auto, rows, 19)
('rows', 'profiles')
>>> data_choice("drift", auto, [B(path=None, rows=1)], 100)
'profiles'
>>> data_choice("drift", {}, rows, 0), data_choice("coverage", {"data": "profiles"}, rows, 0)
('rows', 'rows')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import pyarrow as pa

from dqm.monitors.schema import Schema
from dqm.monitors.sketches.table import profile_table
from dqm.service.context import Context
from dqm.service.db.models import Batch
from dqm.service.ingest.profiles import read_stored_profile
from dqm.service.ingest.schema_change import conform
from dqm.service.runs.windows import Window, read_batch
from dqm_client.profiles import BatchProfile, merge_all

PROFILED_KINDS = ("drift",)  # the monitor kinds that can read a window as profiles


class _Sized(Protocol):
    path: str | None
    rows: int


def data_choice(
    kind: str, params: dict[str, Any] | None, batches: Sequence[_Sized], max_rows: int
) -> str:
    """``rows`` or ``profiles``: what a run of this monitor reads its window as."""
    wanted = str((params or {}).get("data", "rows")) if kind in PROFILED_KINDS else "rows"
    if wanted != "auto":
        return wanted
    all_rows = all(b.path is not None for b in batches)
    return "rows" if all_rows and sum(b.rows for b in batches) <= max_rows else "profiles"


def batch_profile(ctx: Context, schema: Schema, batch: Batch) -> BatchProfile:
    """A batch's stored profile, or the profile of its rows when it has none stored."""
    stored = read_stored_profile(ctx, batch)
    if stored is not None:
        return stored
    assert batch.path is not None  # a batch always has rows, a profile, or both
    return profile_table(conform(read_batch(ctx.storage, batch.path), schema), schema)


def profile_window(ctx: Context, schema: Schema, batches: list[Batch]) -> Window:
    """The window of ``batches`` (oldest first) as the merge of their profiles."""
    merged = merge_all(batch_profile(ctx, schema, b) for b in batches)
    return Window(
        table=pa.table({}),
        batch_keys=[b.batch_key for b in batches],
        row_batch_keys=pa.array([], pa.int32()),
        start=batches[0].received_at,
        end=batches[-1].received_at,
        profile=merged,
    )
