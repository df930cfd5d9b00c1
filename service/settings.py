"""Service settings: one ``Settings`` object read from ``DQM_*`` environment variables.

Validated at start-up, so a typo in a URL or a role fails before the service binds a port.
A ``DQM_`` variable that is no setting (``DQM_DATABSE_URL``) fails too, naming the closest
setting: ignoring it would silently run on the default (e.g. a SQLite file instead of the
PostgreSQL database meant). Variables of dqm's other tools (``NOT_SETTINGS``) and the ones
Kubernetes adds for a Service named ``dqm...`` are left alone.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

Role = Literal["all", "api", "worker"]

# DQM_ variables that are not settings of the service: the client and CLI's server and key,
# the test suite's database, the benchmarks' outputs, the example receiver's secret.
NOT_SETTINGS = frozenset(
    {
        "DQM_URL",
        "DQM_API_KEY",
        "DQM_TEST_DATABASE_URL",
        "DQM_BENCH_RESULTS",
        "DQM_BENCH_POSTGRES_URL",
        "DQM_WEBHOOK_SECRET",
    }
)
# Kubernetes service links of a Service named dqm or dqm-...: DQM_SERVICE_HOST, DQM_PORT_8000_TCP...
SERVICE_LINK = re.compile(
    r"^DQM_(?:[A-Z0-9_]+_)?(?:SERVICE_HOST|SERVICE_PORT(?:_[A-Z0-9_]+)?"
    r"|PORT_\d+_(?:TCP|UDP|SCTP)(?:_PROTO|_PORT|_ADDR)?)$"
)


class Settings(BaseSettings):
    """Everything configurable about a dqm process."""

    model_config = SettingsConfigDict(env_prefix="DQM_", extra="ignore")

    def __init__(self, **values: Any) -> None:
        problems = unknown_variables(os.environ)
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        super().__init__(**values)

    database_url: str = Field(
        default="sqlite:///./dqm-data/dqm.db",
        description="SQLAlchemy URL: SQLite by default, postgresql+psycopg://... in production.",
    )
    data_dir: str = Field(default="./dqm-data", description="Folder or URI for Parquet files.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    role: Role = Field(default="all", description="api: HTTP only; worker: scheduler+runner+relay.")
    public_url: str | None = Field(
        default=None, description="Base URL used in links inside webhook payloads."
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # Scheduler and runner.
    scheduler_tick_seconds: float = Field(default=5.0, gt=0)
    run_lease_seconds: float = Field(default=300.0, gt=0)
    runner_poll_seconds: float = Field(default=1.0, gt=0)
    worker_processes: int | None = Field(
        default=None,
        ge=0,
        description="Processes that execute runs in parallel, one run each (unset: the cores "
        "available to the process; 0: one run at a time in a thread of the serving process, "
        "whose Arrow buffers then come from jemalloc, as a worker process's do).",
    )
    worker_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="How much lower the worker processes' CPU priority is than the serving "
        "process's (a Unix nice increment): runs are batch work, so when both want the cores "
        "HTTP and /metrics go first; 0: the same priority (no effect with worker_processes 0).",
    )
    shutdown_grace_seconds: float = Field(
        default=10.0,
        ge=0,
        description="On SIGTERM: how long in-flight requests, and then the run in progress, may "
        "take; a run still going is handed back to the queue for another replica.",
    )

    # Retention (0: keep forever); the README gives the database sizes involved.
    retention_runs_days: float = Field(
        default=7.0,
        ge=0,
        description="Finished runs, their metric values and findings are deleted after this; "
        "their metric values stay as hourly points.",
    )
    retention_findings_days: float = Field(
        default=7.0, ge=0, description="Findings (relabel candidates) are deleted after this."
    )
    retention_deliveries_days: float = Field(
        default=7.0, ge=0, description="Delivered and dead webhook deliveries go after this."
    )
    retention_history_days: float = Field(
        default=400.0, ge=0, description="Hourly points of deleted runs' metrics stay this long."
    )
    retention_interval_seconds: float = Field(default=60.0, gt=0)
    retention_batch_size: int = Field(default=200, ge=1, description="Rows per delete.")

    # Webhook relay.
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    webhook_timeout_seconds: float = Field(default=15.0, gt=0)
    webhook_allowlist: str | None = None
    delivery_lease_seconds: float = Field(default=60.0, gt=0)
    webhook_disable_after_seconds: float = Field(
        default=5 * 86400, gt=0, description="A hook with no success for this long is disabled."
    )

    # Files no row references (a crash between writing a file and committing its row).
    orphan_grace_seconds: float = Field(
        default=3600.0, ge=0, description="An unreferenced file is removed once this old."
    )
    reconcile_interval_seconds: float = Field(
        default=600.0, gt=0, description="How often the worker looks for unreferenced files."
    )

    # Limits and metrics.
    max_body_bytes: int = Field(
        default=256 * 1024 * 1024, gt=0, description="Largest request body, in bytes (413)."
    )
    max_upload_rows: int = Field(
        default=20_000_000, gt=0, description="Most rows one upload may decode to (413)."
    )
    max_upload_decoded_bytes: int = Field(
        default=1024**3, gt=0, description="Most bytes one upload may decode to in memory (413)."
    )
    report_max_rows: int = Field(
        default=50_000,
        ge=100,
        description="Rows sampled from the reference and from the window for a run's HTML report.",
    )
    metrics_max_features: int = Field(default=50, ge=0)
    metrics_refresh_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often /metrics' snapshot reads the runs finished since its last read, "
        "alerts and the outbox (docs/metrics.md).",
    )
    metrics_resync_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often /metrics' snapshot reads everything again (deleted runs).",
    )
    profile_cache_size: int = Field(default=8, ge=1)
    rows_window_max_rows: int = Field(
        default=5_000_000,
        ge=0,
        description="A drift monitor with data 'auto' reads its window's rows up to this many; "
        "beyond (or when a batch came as a profile) it merges the batches' profiles.",
    )

    # Access control (see docs/security.md).
    bootstrap_admin_key: SecretStr | None = Field(
        default=None, description="At start-up, ensure an admin API key with this token exists."
    )
    metrics_auth: bool = Field(default=False, description="/metrics needs a read-scoped key.")
    console_session_seconds: float = Field(
        default=8 * 3600,
        gt=0,
        description="How long a console sign-in lasts (it ends sooner with sign-out or when "
        "its key is revoked).",
    )
    root_path: str | None = Field(
        default=None,
        pattern=r"^(/[A-Za-z0-9._~-]+)*$",
        description="Path prefix the service is reached under behind an ingress (e.g. /dqm); "
        "an X-Forwarded-Prefix header overrides it per request.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("DQM_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        if value.startswith("postgresql://"):
            # psycopg 3 is the installed driver; plain postgresql:// would ask for psycopg2.
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def run_processes(self) -> int:
        """``worker_processes``, the cores available when unset."""
        if self.worker_processes is not None:
            return self.worker_processes
        return len(os.sched_getaffinity(0))

    @property
    def runs_worker(self) -> bool:
        return self.role in ("all", "worker")

    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


def _is_service_link(name: str, value: str) -> bool:
    return bool(SERVICE_LINK.match(name)) or (
        name.endswith("_PORT") and value.startswith(("tcp://", "udp://", "sctp://"))
    )


def unknown_variables(environ: Mapping[str, str]) -> list[InitErrorDetails]:
    """One error per ``DQM_`` variable that is not a setting, naming the closest one."""
    known = sorted(f"DQM_{name.upper()}" for name in Settings.model_fields)
    errors: list[InitErrorDetails] = []
    for raw, value in sorted(environ.items()):
        name = raw.upper()
        if not name.startswith("DQM_") or name in known or name in NOT_SETTINGS:
            continue
        if _is_service_link(name, value):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else "see the README's settings table"
        message = "not a dqm setting ({hint}); unset it or fix its name"
        errors.append(
            InitErrorDetails(
                type=PydanticCustomError("unknown_setting", message, {"hint": hint}),
                loc=(name.removeprefix("DQM_").lower(),),
                input="<set>",
            )
        )
    return errors


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
