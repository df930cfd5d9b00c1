"""SQLAlchemy 2 tables. Request/response models live in ``dqm.service.api.schemas``, not here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dqm.service.db.types import JsonType, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JsonType}


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    schema_json: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    schema_inferred: Mapped[bool] = mapped_column(Boolean, default=False)
    current_reference_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]


class ReferenceVersion(Base):
    __tablename__ = "reference_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Batch(Base):
    __tablename__ = "batches"
    __table_args__ = (
        UniqueConstraint("dataset_id", "batch_key"),
        Index("ix_batches_dataset_received", "dataset_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    batch_key: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)
    path: Mapped[str | None] = mapped_column(String(500))  # None: the batch came as a profile
    profile_path: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime]

    @property
    def kind(self) -> str:
        """``rows`` (a Parquet file, and usually its profile) or ``profile`` (numbers only)."""
        return "rows" if self.path is not None else "profile"


class Label(Base):
    """A late label for one row, keyed by the row's id; the newest upload wins."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("dataset_id", "row_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    row_id: Mapped[str] = mapped_column(String(200))
    value: Mapped[dict[str, Any]] = mapped_column(JsonType)
    received_at: Mapped[datetime]


class Monitor(Base):
    __tablename__ = "monitors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(50))
    params: Mapped[dict[str, Any]] = mapped_column(JsonType)
    schedule: Mapped[dict[str, Any]] = mapped_column(JsonType)
    window: Mapped[dict[str, Any]] = mapped_column(JsonType)
    rules: Mapped[dict[str, Any]] = mapped_column(JsonType)  # {"items": [...]}
    actions: Mapped[dict[str, Any]] = mapped_column(JsonType)  # {"items": [...]}
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("monitor_id", "scheduled_for"),
        Index("ix_runs_status_scheduled", "status", "scheduled_for"),
        # What finished since a watermark: the /metrics snapshot's refresh (service/metrics).
        Index("ix_runs_finished_at", "finished_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    scheduled_for: Mapped[datetime]
    trigger: Mapped[str] = mapped_column(String(20))  # schedule | manual
    status: Mapped[str] = mapped_column(String(20))  # queued | running | succeeded | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    reference_version: Mapped[int | None] = mapped_column(Integer)
    window: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class MetricValue(Base):
    __tablename__ = "metric_values"
    __table_args__ = (Index("ix_metric_values_series", "monitor_id", "name", "column", "run_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    column: Mapped[str | None] = mapped_column(String(200))
    value: Mapped[float | None] = mapped_column(Float)
    method: Mapped[str | None] = mapped_column(String(50))
    threshold: Mapped[float | None] = mapped_column(Float)
    drifted: Mapped[bool | None] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(200), default="ok")
    details: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    measured_at: Mapped[datetime]


class RunMetricsJson(Base):
    """A finished run's metric values as the JSON array the API returns (``MetricOut``
    objects, in the order they were stored), written with them: listing a thousand runs then
    reads a thousand rows instead of every value (service/runs/listing.py)."""

    __tablename__ = "run_metrics_json"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    body: Mapped[bytes] = mapped_column(LargeBinary)


class RunRecord(Base):
    """What a finished run was run with: the monitor's params as the run read them and, for a
    drift run, the per-column distributions it compared in a compact form (binned counts of
    numbers, top-category counts: dqm.monitors.distribution_summary), for the run's page."""

    __tablename__ = "run_records"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    params: Mapped[dict[str, Any]] = mapped_column(JsonType)
    distributions: Mapped[dict[str, Any] | None] = mapped_column(JsonType)


class Finding(Base):
    """A row a monitor flagged (label issue, uncovered, integrity); feeds the relabel queue."""

    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_dataset_row", "dataset_id", "row_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    row_id: Mapped[str] = mapped_column(String(200))
    batch_key: Mapped[str | None] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(50))
    column: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    created_at: Mapped[datetime]


class RetrainRequest(Base):
    """A retrain request sent to a hook, followed until the alerts behind it resolve.

    Status: ``requested`` → ``acknowledged`` (delivered, or acknowledged over the API) →
    ``resolved`` (a run after a new reference version found the alerts resolved) or
    ``still_firing`` (a run after a new reference version found them still firing).
    """

    __tablename__ = "retrain_requests"
    __table_args__ = (Index("ix_retrain_requests_dataset", "dataset_id", "requested_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    hook_id: Mapped[int | None] = mapped_column(ForeignKey("hooks.id", ondelete="SET NULL"))
    run_id: Mapped[int] = mapped_column(Integer)
    delivery_id: Mapped[int | None] = mapped_column(Integer)
    fingerprints: Mapped[dict[str, Any]] = mapped_column(JsonType)  # {"items": [...]}
    reference_version: Mapped[int | None] = mapped_column(Integer)
    new_reference_version: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    requested_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    checked_run_id: Mapped[int | None] = mapped_column(Integer)


class ReferenceBaseline(Base):
    """A monitor's metric values over chunks of one reference version (NannyML-style bounds)."""

    __tablename__ = "reference_baselines"
    __table_args__ = (UniqueConstraint("monitor_id", "reference_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    reference_version: Mapped[int] = mapped_column(Integer)
    chunks: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict[str, Any]] = mapped_column(
        JsonType
    )  # {"items": [[metric, column, [v...]]]}
    created_at: Mapped[datetime]


class AlertStateRow(Base):
    """The rule engine's state per alert fingerprint (pending counters, firing since, ...)."""

    __tablename__ = "alert_states"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    state: Mapped[dict[str, Any]] = mapped_column(JsonType)
    updated_at: Mapped[datetime]


class Alert(Base):
    """One alert episode: pending → firing → resolved. History is kept."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_state", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(300))
    metric: Mapped[str] = mapped_column(String(100))
    column: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))  # pending | firing | resolved
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime]
    firing_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    last_run_id: Mapped[int | None] = mapped_column(Integer)


class Hook(Base):
    __tablename__ = "hooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[dict[str, Any]] = mapped_column(JsonType)  # {"items": [...]}
    secrets: Mapped[dict[str, Any]] = mapped_column(JsonType)  # {"items": ["whsec_..."]}
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]


class Delivery(Base):
    """Outbox row: one event to one hook, sent by the relay until delivered or dead."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hook_id: Mapped[int] = mapped_column(ForeignKey("hooks.id", ondelete="CASCADE"), index=True)
    webhook_id: Mapped[str] = mapped_column(String(100), unique=True)
    event_type: Mapped[str] = mapped_column(String(50))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)


class ApiKey(Base):
    """An API key: only its SHA-256 is stored; ``prefix`` identifies it in listings and logs."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    prefix: Mapped[str] = mapped_column(String(20), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(100))  # space-separated: "ingest read"
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ConsoleSession(Base):
    """A browser's sign-in to the console: the cookie's SHA-256, the key it was made with.

    The session ends at ``expires_at``, at sign-out (row deleted) or when its key is revoked
    (checked on every request). ``csrf_token`` is the synchronizer token of its forms.
    """

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class MetricRollup(Base):
    """Hourly aggregate of one metric series, kept after its runs are deleted (retention).

    ``points`` counts the runs in the hour, ``count`` those with a value; the mean is
    ``total / count``. Buckets merge exactly: sums, counts, minima and maxima combine.
    """

    __tablename__ = "metric_rollups"
    __table_args__ = (
        Index("ix_metric_rollups_series", "monitor_id", "name", "column", "bucket_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    column: Mapped[str | None] = mapped_column(String(200))
    bucket_start: Mapped[datetime]
    points: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float)
    minimum: Mapped[float | None] = mapped_column(Float)
    maximum: Mapped[float | None] = mapped_column(Float)
    drifted: Mapped[int] = mapped_column(Integer)


# Ids are never reused on SQLite either (its default reuses the highest id after a delete):
# run, delivery and retrain-request ids leave the service in URLs, caches and webhooks.
for _table in Base.metadata.tables.values():
    if "id" in _table.c and _table.c.id.primary_key:
        _table.dialect_options["sqlite"]["autoincrement"] = True
