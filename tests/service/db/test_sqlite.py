"""SQLite specifics: write transactions lock at begin, reads never wait, ids are never reused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from dqm.service.clock import utcnow
from dqm.service.db.migrate import upgrade
from dqm.service.db.models import Dataset
from dqm.service.db.session import make_engine, make_sessionmaker, transaction


def test_writer_locks_at_begin_and_readers_do_not_block(tmp_path: Path) -> None:
    path = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    other = sqlite3.connect(path, timeout=0)
    try:
        with transaction(sessions) as writer:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")  # the writer already holds the lock
            writer.add(Dataset(name="d", schema_inferred=False, created_at=utcnow()))
            writer.flush()
            with sessions() as reader:  # a read during the write: its snapshot, no waiting
                assert reader.scalars(select(Dataset.name)).all() == []
        with sessions() as reader:
            assert reader.scalars(select(Dataset.name)).all() == ["d"]
            other.execute("BEGIN IMMEDIATE")  # a reader holds no write lock
            other.execute("ROLLBACK")
    finally:
        other.close()
        engine.dispose()


def test_ids_are_not_reused_after_the_newest_row_is_deleted(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ids.db'}")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    try:
        with transaction(sessions) as session:
            first = Dataset(name="a", schema_inferred=False, created_at=utcnow())
            session.add(first)
            session.flush()
            first_id = first.id
            session.delete(first)
        with transaction(sessions) as session:
            second = Dataset(name="b", schema_inferred=False, created_at=utcnow())
            session.add(second)
            session.flush()
            assert second.id > first_id
    finally:
        engine.dispose()
