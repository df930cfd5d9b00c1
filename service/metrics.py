"""Prometheus metrics: the process's counters and histograms.

The database-backed families (runs, latest monitor values, alerts, outbox) are a snapshot of the
shared database kept by ``metrics_snapshot``, so every replica reports the same numbers. See
docs/metrics.md for the catalogue.
"""

from __future__ import annotations

import platform
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
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


class ProcessText:
    """``generate_latest(REGISTRY)``, byte for byte, with each family's header and each
    series' name and labels formatted once: a scrape formats only the values. With a run
    duration and lag histogram per monitor that is 3,000 lines for 100 monitors, which
    prometheus-client formats in ~10 ms (escaping and validating every label every time)."""

    FORMATTED = {"counter", "gauge", "histogram"}

    def __init__(self, registry: Collector) -> None:
        self.registry = registry
        self._headers: dict[str, str] = {}
        self._prefixes: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}

    def render(self) -> bytes:
        out: list[str] = []
        for metric in self.registry.collect():
            if metric.type not in self.FORMATTED:
                out.append(generate_latest(_Single(metric)).decode())
                continue
            out.append(self._header(metric))
            for sample in metric.samples:
                key = (sample.name, tuple(sample.labels.items()))
                prefix = self._prefixes.get(key)
                if prefix is None:
                    prefix = self._prefixes[key] = _prefix(sample.name, sample.labels)
                value = floatToGoString(sample.value)  # type: ignore[no-untyped-call]
                out.append(prefix + value + "\n")
        return "".join(out).encode()

    def _header(self, metric: Any) -> str:
        header = self._headers.get(metric.name)
        if header is None:
            text = generate_latest(_Single(Metric(metric.name, metric.documentation, metric.type)))
            header = self._headers[metric.name] = text.decode()
        return header


class _Single(Collector):
    def __init__(self, metric: Any) -> None:
        self.metric = metric

    def collect(self) -> Iterator[Any]:
        yield self.metric


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _prefix(name: str, labels: dict[str, str]) -> str:
    if not labels:
        return f"{name} "
    pairs = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{name}{{{pairs}}} "


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
