"""Shared fixtures: a fresh database (SQLite file, or PostgreSQL when DQM_TEST_DATABASE_URL
names one) with migrations applied, settings pointing at it, and a data folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dqm.service.settings import Settings
from tests.support.database import POSTGRES_URL, migrated_database, settings_for

__all__ = ["POSTGRES_URL"]  # tests.conftest.POSTGRES_URL, imported by some tests


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A migrated, empty database for this test."""
    return migrated_database(tmp_path)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Iterator[Settings]:
    yield settings_for(database_url, tmp_path)
