"""Batches that arrive as a profile (numbers instead of rows), and the stored profiles of
batches.

A profile batch is validated against the dataset's schema (``read_profile``: 422 naming the
column on an unknown column or a wrong type), stored as its binary codec beside the Parquet
files and recorded as a batch row without a data path, with the same idempotency as row
batches: the same key and bytes answer the first upload again, other bytes 409.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from dqm.monitors.errors import NotFoundError, UnsupportedMediaError
from dqm.monitors.sketches.table import read_profile
from dqm.service.context import Context
from dqm.service.dataset_schema import schema_of
from dqm.service.db.models import Batch
from dqm.service.ingest.datasets import (
    Ingested,
    commit_batch,
    discard_files,
    existing_batch,
    get_dataset,
    replay,
)
from dqm.service.storage import new_profile_path
from dqm_client.profiles import BatchProfile, codec

PROFILE_MEDIA_TYPE = "application/vnd.dqm.profile"
# The media types a profile may arrive as: both hash as the first (same bytes, same batch).
PROFILE_MEDIA_TYPES = (PROFILE_MEDIA_TYPE, "application/octet-stream")


def ingest_profile(
    ctx: Context, name: str, body: bytes, content_type: str | None, batch_key: str | None
) -> Ingested:
    """Validate and store a batch sent as a profile; idempotent by ``batch_key``."""
    if (content_type or "").split(";")[0].strip().lower() not in PROFILE_MEDIA_TYPES:
        raise UnsupportedMediaError(
            f"a profile is sent as {PROFILE_MEDIA_TYPE} (or application/octet-stream)",
            [{"content_type": content_type, "accepted": list(PROFILE_MEDIA_TYPES)}],
        )
    digest = hashlib.sha256(b"profile\0" + body).hexdigest()
    key = batch_key or f"p-{uuid.uuid4().hex}"
    with ctx.sessions() as session:
        dataset = get_dataset(session, name)
        schema = schema_of(dataset)
        existing = existing_batch(session, dataset.id, key) if batch_key else None
        if existing is not None:
            return replay(existing, digest)
    profile = read_profile(body, schema)
    path = new_profile_path(dataset.id)
    try:
        ctx.storage.write_bytes(path, body)
    except Exception as exc:
        discard_files(ctx, [path], exc)
        raise
    stored = Batch(
        dataset_id=dataset.id,
        batch_key=key,
        content_hash=digest,
        rows=profile.rows,
        bytes=len(body),
        path=None,
        profile_path=path,
    )
    return commit_batch(ctx, stored, [path])


def read_stored_profile(ctx: Context, batch: Batch) -> BatchProfile | None:
    """The stored profile of a batch, or None for a batch stored without one."""
    if batch.profile_path is None:
        return None
    return codec.decode(ctx.storage.read_bytes(batch.profile_path))


def batch_profile_view(ctx: Context, name: str, batch_key: str) -> dict[str, Any]:
    """The JSON view of a batch's profile (404 when the batch or its profile is missing)."""
    return codec.json_view(codec.decode(stored_profile_bytes(ctx, name, batch_key)))


def stored_profile_bytes(ctx: Context, name: str, batch_key: str) -> bytes:
    """A batch's stored profile in the binary codec (404 when the batch or profile is missing)."""
    with ctx.sessions() as session:
        dataset = get_dataset(session, name)
        batch = existing_batch(session, dataset.id, batch_key)
    if batch is None:
        raise NotFoundError(
            f"batch {batch_key!r} does not exist", [{"dataset": name, "batch_id": batch_key}]
        )
    if batch.profile_path is None:
        raise NotFoundError(
            f"batch {batch_key!r} has no stored profile (received before profiles existed)",
            [{"dataset": name, "batch_id": batch_key}],
        )
    return ctx.storage.read_bytes(batch.profile_path)
