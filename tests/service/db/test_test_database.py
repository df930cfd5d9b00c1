"""The per-test database (tests/support/database.py) is as empty as a freshly migrated one even
though it is a copy (SQLite) or an emptied reuse (PostgreSQL) of the session's one migration."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect, text

from dqm.service.db.migrate import is_current
from dqm.service.db.session import make_engine
from tests.support.database import migrated_database

INSERT = text("INSERT INTO datasets (name, schema_inferred, created_at) VALUES (:n, false, :t)")


def _add_datasets(url: str, names: list[str]) -> list[int]:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for name in names:
                conn.execute(INSERT, {"n": name, "t": datetime.now(UTC)})
            return list(conn.execute(text("SELECT id FROM datasets ORDER BY id")).scalars())
    finally:
        engine.dispose()


def test_the_next_database_is_empty_and_numbers_from_one(tmp_path: Path) -> None:
    first = migrated_database(tmp_path / "a")
    assert _add_datasets(first, ["a", "b", "c"]) == [1, 2, 3]
    second = migrated_database(tmp_path / "b")
    # Empty, and a new row takes id 1 again, as in a new database.
    assert _add_datasets(second, ["d"]) == [1]
    engine = make_engine(second)
    try:
        assert is_current(engine)
    finally:
        engine.dispose()


def test_a_changed_schema_is_migrated_again(tmp_path: Path) -> None:
    first = migrated_database(tmp_path / "a")
    engine = make_engine(first)
    try:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE datasets ADD COLUMN stray INTEGER"))
            conn.execute(text("CREATE TABLE stray (x INTEGER)"))
    finally:
        engine.dispose()
    second = migrated_database(tmp_path / "b")
    engine = make_engine(second)
    try:
        names = inspect(engine).get_table_names()
        assert "stray" not in names and "datasets" in names
        columns = {c["name"] for c in inspect(engine).get_columns("datasets")}
        assert "stray" not in columns
    finally:
        engine.dispose()
    assert _add_datasets(second, ["a"]) == [1]
