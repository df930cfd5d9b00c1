"""Apply and inspect Alembic migrations programmatically (``dqm migrate``, start-up, /readyz)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from dqm.service.db.session import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision (idempotent; safe to run on every start)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Serialize concurrent start-ups of several replicas.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(704231)")
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def upgrade_url(database_url: str) -> None:
    """:func:`upgrade` the database at ``database_url`` (``dqm migrate``, ``dqm serve``)."""
    engine = make_engine(database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    # Readiness probes ask this every few seconds: keep alembic's INFO lines out of the log.
    alembic_log = logging.getLogger("alembic.runtime.migration")
    level = alembic_log.level
    alembic_log.setLevel(logging.WARNING)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        alembic_log.setLevel(level)


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
