"""Shared fixtures: a fresh database (SQLite file, or PostgreSQL when DQM_TEST_DATABASE_URL
names one) with migrations applied, settings pointing at it, and a data folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from dqm.service.db.migrate import upgrade
from dqm.service.db.session import make_engine
from dqm.service.settings import Settings

POSTGRES_URL = os.environ.get("DQM_TEST_DATABASE_URL")


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A migrated, empty database for this test."""
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
        url = POSTGRES_URL
    else:
        url = f"sqlite:///{tmp_path / 'dqm.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Iterator[Settings]:
    yield Settings(
        database_url=database_url,
        data_dir=str(tmp_path / "data"),
        scheduler_tick_seconds=0.2,
        runner_poll_seconds=0.2,
        relay_poll_seconds=0.2,
        webhook_timeout_seconds=5,
        # Test receivers listen on loopback, which the default policy refuses.
        webhook_allowlist="127.0.0.1/32",
    )
