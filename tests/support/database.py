"""A fresh migrated test database (SQLite file, or PostgreSQL when DQM_TEST_DATABASE_URL names
one, its public schema emptied first) and the settings tests run a server with."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text

from dqm.service.db.migrate import upgrade
from dqm.service.db.session import make_engine
from dqm.service.settings import Settings

POSTGRES_URL = os.environ.get("DQM_TEST_DATABASE_URL")


def reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def migrated_database(folder: Path) -> str:
    """The URL of an empty database with migrations applied (SQLite in ``folder``)."""
    if POSTGRES_URL:
        reset_postgres(POSTGRES_URL)
        url = POSTGRES_URL
    else:
        url = f"sqlite:///{folder / 'dqm.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def settings_for(database_url: str, folder: Path) -> Settings:
    """Settings on ``database_url`` with data in ``folder``/data and quick polling."""
    return Settings(
        database_url=database_url,
        data_dir=str(folder / "data"),
        scheduler_tick_seconds=0.2,
        runner_poll_seconds=0.2,
        relay_poll_seconds=0.2,
        webhook_timeout_seconds=5,
        # Test receivers listen on loopback, which the default policy refuses.
        webhook_allowlist="127.0.0.1/32",
    )
