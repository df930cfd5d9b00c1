"""The migrations build exactly the tables the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from dqm.service.db.migrate import current_revision, head_revision, is_current, upgrade
from dqm.service.db.models import Base
from dqm.service.db.session import make_engine
from tests.support.database import migrated_database


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Migrations run on this very database (other tests get a copy of a migrated one)."""
    return migrated_database(tmp_path, fresh=True)


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        assert current_revision(engine) == head_revision() and is_current(engine)
        upgrade(engine)  # idempotent: a second start changes nothing
        assert is_current(engine)
    finally:
        engine.dispose()
