"""Prometheus metrics: process counters plus a collector that reads the database at scrape time.

The database-backed families (latest monitor values, alerts, outbox) come from the shared
database, so every replica reports the same numbers. See docs/metrics.md for the catalogue.
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
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from dqm.monitors.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaError,
)
from dqm.service.clock import utcnow
from dqm.service.db.models import Alert, Dataset, Delivery, MetricValue, Monitor, Run

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


class DatabaseCollector(Collector):
    """Families read from the database at scrape time (one query each, bounded labels)."""

    def __init__(self, sessions: sessionmaker[Session], max_features: int) -> None:
        self.sessions = sessions
        self.max_features = max_features

    def describe(self) -> list[Any]:
        return []  # scraped lazily: no database access at registration

    def collect(self) -> Iterator[Any]:
        with self.sessions() as session:
            yield from self._runs(session)
            yield from self._latest(session)
            yield from self._alerts(session)
            yield from self._outbox(session)

    def _runs(self, session: Session) -> Iterator[Any]:
        runs = CounterMetricFamily(
            "dqm_runs",
            "Finished monitor runs by outcome.",
            labels=["dataset", "monitor", "outcome"],
        )
        last = GaugeMetricFamily(
            "dqm_monitor_last_success_timestamp_seconds",
            "Finish time of the latest successful run.",
            labels=["dataset", "monitor"],
        )
        query = (
            select(Dataset.name, Monitor.name, Run.status, func.count(), func.max(Run.finished_at))
            .join(Monitor, Monitor.id == Run.monitor_id)
            .join(Dataset, Dataset.id == Monitor.dataset_id)
            .where(Run.status.in_(("succeeded", "failed")))
            .group_by(Dataset.name, Monitor.name, Run.status)
        )
        for dataset, monitor, status, count, finished in session.execute(query):
            runs.add_metric([dataset, monitor, status], count)
            if status == "succeeded" and finished is not None:
                ts = finished if finished.tzinfo else finished.replace(tzinfo=utcnow().tzinfo)
                last.add_metric([dataset, monitor], ts.timestamp())
        yield runs
        yield last

    def _latest(self, session: Session) -> Iterator[Any]:
        dataset_level = GaugeMetricFamily(
            "dqm_monitor_metric",
            "Latest value of each dataset-level monitor metric.",
            labels=["dataset", "monitor", "metric"],
        )
        per_column = GaugeMetricFamily(
            "dqm_monitor_column_metric",
            "Latest value of each per-column monitor metric.",
            labels=["dataset", "monitor", "metric", "feature"],
        )
        latest = (
            select(Run.monitor_id, func.max(Run.id).label("run_id"))
            .where(Run.status == "succeeded")
            .group_by(Run.monitor_id)
            .subquery()
        )
        query = (
            select(
                Dataset.name, Monitor.name, MetricValue.name, MetricValue.column, MetricValue.value
            )
            .join(latest, latest.c.run_id == MetricValue.run_id)
            .join(Monitor, Monitor.id == MetricValue.monitor_id)
            .join(Dataset, Dataset.id == Monitor.dataset_id)
            .where(MetricValue.value.is_not(None))
            .order_by(Monitor.name, MetricValue.name, MetricValue.id)
        )
        features: dict[tuple[str, str], set[str]] = {}
        for dataset, monitor, metric, column, value in session.execute(query):
            if value is None:  # excluded by the query; narrows the type
                continue
            if column is None:
                dataset_level.add_metric([dataset, monitor, metric], value)
                continue
            seen = features.setdefault((monitor, metric), set())
            if column not in seen and len(seen) >= self.max_features:
                continue
            seen.add(column)
            per_column.add_metric([dataset, monitor, metric, column], value)
        yield dataset_level
        yield per_column

    def _alerts(self, session: Session) -> Iterator[Any]:
        counts = GaugeMetricFamily(
            "dqm_alerts", "Alerts by state and severity.", labels=["state", "severity"]
        )
        for state, severity, n in session.execute(
            select(Alert.state, Alert.severity, func.count())
            .where(Alert.state.in_(("pending", "firing")))
            .group_by(Alert.state, Alert.severity)
        ):
            counts.add_metric([state, severity], n)
        yield counts
        firing = GaugeMetricFamily(
            "dqm_alert_firing",
            "One series per firing alert.",
            labels=["dataset", "monitor", "metric", "feature", "severity"],
        )
        query = (
            select(Dataset.name, Monitor.name, Alert.metric, Alert.column, Alert.severity)
            .join(Monitor, Monitor.id == Alert.monitor_id)
            .join(Dataset, Dataset.id == Monitor.dataset_id)
            .where(Alert.state == "firing")
        )
        for dataset, monitor, metric, column, severity in session.execute(query):
            firing.add_metric([dataset, monitor, metric, column or "", severity], 1)
        yield firing

    def _outbox(self, session: Session) -> Iterator[Any]:
        by_state = GaugeMetricFamily("dqm_deliveries", "Deliveries by state.", labels=["state"])
        query = select(Delivery.status, func.count()).group_by(Delivery.status)
        states: dict[str, int] = {row[0]: row[1] for row in session.execute(query)}
        for state in ("pending", "delivered", "dead"):
            by_state.add_metric([state], states.get(state, 0))
        yield by_state
        yield GaugeMetricFamily(
            "dqm_outbox_depth", "Deliveries still to send.", value=states.get("pending", 0)
        )
        oldest = session.scalar(
            select(func.min(Delivery.created_at)).where(Delivery.status == "pending")
        )
        age = 0.0
        if oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=utcnow().tzinfo)
            age = max(0.0, (utcnow() - oldest).total_seconds())
        yield GaugeMetricFamily(
            "dqm_outbox_oldest_pending_age_seconds",
            "Age of the oldest delivery still to send.",
            value=age,
        )


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
