"""A fresh migrated test database (SQLite file, or PostgreSQL when DQM_TEST_DATABASE_URL names
one) and the settings tests run a server with.

Running the migrations costs about 0.4 s a test on SQLite and 1 s on PostgreSQL (DDL), for some
260 tests; both backends therefore migrate once per test session and hand each test a database
in the same state as a freshly migrated one:

- SQLite: a byte copy of a template file migrated once (a new file per test, as before);
- PostgreSQL: the one test database's tables emptied and its sequences restarted, when its
  schema is still exactly the one the last full migration built (a fingerprint of the catalogue:
  tables, columns, defaults, constraints, indexes, types, functions, triggers, alembic revision);
  anything else (first use, a test that changed the schema) drops the schema and migrates again.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from dqm.service.db.migrate import upgrade
from dqm.service.db.session import make_engine
from dqm.service.settings import Settings

POSTGRES_URL = os.environ.get("DQM_TEST_DATABASE_URL")

_SCHEMA_FINGERPRINT = text(
    """
SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
  SELECT 'r:' || c.relname || ':' || c.relkind::text || ':' || coalesce((
    SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '
           || a.attnotnull::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), ''),
           ',' ORDER BY a.attnum)
    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') AS x
  FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL SELECT 'k:' || conrelid::regclass::text || ':' || conname || ':'
    || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT 'i:' || pg_get_indexdef(indexrelid) FROM pg_index
    WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)
  UNION ALL SELECT 't:' || typname FROM pg_type WHERE typnamespace = 'public'::regnamespace
  UNION ALL SELECT 'p:' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
  UNION ALL SELECT 'g:' || tgname FROM pg_trigger
    WHERE tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)
  UNION ALL SELECT 'v:' || version_num FROM public.alembic_version
) s
"""
)

# One round trip: every table but alembic_version emptied (foreign-key triggers off, so the
# order does not matter), every sequence back to its start as in a new table.
_EMPTY_TABLES = text(
    """
DO $$
DECLARE r record;
BEGIN
  SET LOCAL session_replication_role = replica;
  FOR r IN SELECT tablename FROM pg_tables
           WHERE schemaname = 'public' AND tablename <> 'alembic_version' LOOP
    EXECUTE format('DELETE FROM public.%I', r.tablename);
  END LOOP;
  FOR r IN SELECT sequencename, start_value FROM pg_sequences WHERE schemaname = 'public' LOOP
    PERFORM setval(format('public.%I', r.sequencename), r.start_value, false);
  END LOOP;
END $$
"""
)

_migrated: dict[str, str] = {}  # PostgreSQL URL -> fingerprint after its last full migration
_sqlite_template: list[Path] = []  # the migrated template file, once made


def _fingerprint(conn: Connection) -> str:
    return str(conn.execute(_SCHEMA_FINGERPRINT).scalar_one())


def reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _emptied_if_unchanged(url: str) -> bool:
    """Empty the tables of ``url`` if its schema is the last full migration's; say whether."""
    expected = _migrated.get(url)
    if expected is None:
        return False
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            if _fingerprint(conn) != expected:
                return False
            conn.execute(_EMPTY_TABLES)
        return True
    except DBAPIError:  # no alembic_version: dropped or never migrated
        return False
    finally:
        engine.dispose()


def migrated_postgres(url: str, fresh: bool = False) -> str:
    """``url`` emptied to a freshly migrated state (``fresh``: dropped and migrated again)."""
    if not fresh and _emptied_if_unchanged(url):
        return url
    reset_postgres(url)
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            _migrated[url] = _fingerprint(conn)
    finally:
        engine.dispose()
    return url


def _migrate_sqlite(path: Path) -> None:
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()  # the last connection's close checkpoints the WAL into the file


def _template() -> Path:
    if not _sqlite_template:
        folder = Path(tempfile.mkdtemp(prefix="dqm-test-template-"))
        atexit.register(shutil.rmtree, folder, True)
        _migrate_sqlite(folder / "dqm.db")
        _sqlite_template.append(folder / "dqm.db")
    return _sqlite_template[0]


def migrated_database(folder: Path, fresh: bool = False) -> str:
    """The URL of an empty migrated database (SQLite in ``folder``); ``fresh`` runs the
    migrations on it instead of reusing the session's first migration."""
    if POSTGRES_URL:
        return migrated_postgres(POSTGRES_URL, fresh)
    path = folder / "dqm.db"
    if fresh:
        _migrate_sqlite(path)
        return f"sqlite:///{path}"
    template = _template()
    leftovers = [Path(f"{template}{suffix}") for suffix in ("-wal", "-shm", "-journal")]
    if any(p.exists() for p in leftovers):  # never expected: copy nothing half-written
        _migrate_sqlite(path)
    else:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, path)
    return f"sqlite:///{path}"


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
