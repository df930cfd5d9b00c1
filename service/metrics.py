"""Prometheus metrics: the process's counters and histograms.

The database-backed families (runs, latest monitor values, alerts, outbox) are a snapshot of the
shared database kept by ``metrics_snapshot``, so every replica reports the same numbers. See
docs/metrics.md for the catalogue.
"""

from __future__ import annotations

import platform

from prometheus_client import CollectorRegistry, disable_created_metrics
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from dqm.monitors.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaError,
)
from dqm.service.db.models import Dataset
from dqm.service.metrics_text import ProcessText
from dqm.service.metrics_text import VersionedCounter as Counter
from dqm.service.metrics_text import VersionedGauge as Gauge
from dqm.service.metrics_text import VersionedHistogram as Histogram

# No ``*_created`` series next to every counter and histogram: they double the series count and
# nothing reads them (Prometheus derives resets itself).
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry(auto_describe=True)
VERSION = "0.1.0"

BUILD_INFO = Gauge(
    "dqm_build_info", "The running build.", ["version", "python_version"], registry=REGISTRY
)
BUILD_INFO.labels(VERSION, platform.python_version()).set(1)

INGESTED_BATCHES = Counter(
    "dqm_ingested_batches", "Accepted production batches.", ["dataset"], registry=REGISTRY
)
INGESTED_ROWS = Counter(
    "dqm_ingested_rows", "Rows of accepted batches.", ["dataset"], registry=REGISTRY
)
INGESTED_BYTES = Counter(
    "dqm_ingested_bytes",
    "Request-body bytes of accepted batches.",
    ["dataset"],
    registry=REGISTRY,
)
INGEST_REJECTIONS = Counter(
    "dqm_ingest_rejections",
    "Rejected uploads by outcome.",
    ["dataset", "outcome"],
    registry=REGISTRY,
)
RUN_DURATION = Histogram(
    "dqm_run_duration_seconds",
    "Wall time of a monitor run.",
    ["monitor"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
    registry=REGISTRY,
)
RUN_LAG = Histogram(
    "dqm_run_lag_seconds",
    "Run start minus its scheduled time.",
    ["monitor"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
    registry=REGISTRY,
)
RUNS_SKIPPED = Counter(
    "dqm_runs_skipped",
    "Scheduled fire times that got no run of their own, by reason.",
    ["dataset", "monitor", "reason"],
    registry=REGISTRY,
)
ORPHAN_FILES_REMOVED = Counter(
    "dqm_orphan_files_removed",
    "Files no row references, removed by the reconciler, by kind.",
    ["kind"],
    registry=REGISTRY,
)
ORPHAN_BYTES_REMOVED = Counter(
    "dqm_orphan_bytes_removed",
    "Bytes of the files the reconciler removed, by kind.",
    ["kind"],
    registry=REGISTRY,
)
for _kind in ("unreferenced", "temporary"):  # every series exists from the start, at 0
    ORPHAN_FILES_REMOVED.labels(_kind)
    ORPHAN_BYTES_REMOVED.labels(_kind)
DELIVERY_ATTEMPTS = Counter(
    "dqm_delivery_attempts",
    "Webhook delivery attempts by outcome.",
    ["outcome"],
    registry=REGISTRY,
)


PROCESS_TEXT = ProcessText(REGISTRY)


#: The ``dataset`` label of an upload to a dataset that does not exist. Dataset names start with a
#: letter or digit, so it never collides with one; a URL can never create a series.
UNKNOWN_DATASET = "(unknown)"


def dataset_label(sessions: sessionmaker[Session], name: str) -> str:
    """``name`` when a dataset of that name exists, else :data:`UNKNOWN_DATASET`."""
    try:
        with sessions() as session:
            found = session.scalar(select(Dataset.id).where(Dataset.name == name))
    except SQLAlchemyError:  # an outage, or a name PostgreSQL cannot hold (a NUL byte)
        return UNKNOWN_DATASET
    return name if found is not None else UNKNOWN_DATASET


def count_rejection(sessions: sessionmaker[Session], name: str, exc: Exception) -> None:
    """Count a rejected upload to the dataset the URL names (see :func:`dataset_label`)."""
    INGEST_REJECTIONS.labels(dataset_label(sessions, name), rejection_outcome(exc)).inc()


def rejection_outcome(exc: Exception) -> str:
    """The ``outcome`` label of a rejected upload."""
    for cls, outcome in (
        (UnsupportedMediaError, "unsupported_media_type"),
        (PayloadTooLargeError, "payload_too_large"),
        (ConflictError, "conflict"),
        (NotFoundError, "not_found"),
        (InvalidInputError, "invalid_data"),
    ):
        if isinstance(exc, cls):
            return outcome
    return "error"
