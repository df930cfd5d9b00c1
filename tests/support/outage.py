"""Real outages for tests: an unreachable database, a data folder that takes no writes.

Tests run as root, which ignores file modes, so a read-only data folder is a read-only bind
mount of it (or, where mounting is not permitted, the folder swapped for a regular file).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from tests.support.proxy import TcpRelay
from tests.support.server import free_port


def refused_postgres_url() -> str:
    """A PostgreSQL URL on a loopback port where nothing listens."""
    return f"postgresql+psycopg://dqm:secret@127.0.0.1:{free_port()}/dqm"


def invalid_sqlite_url(folder: Path) -> str:
    """A SQLite URL whose file is not a database."""
    path = folder / "broken.db"
    path.write_bytes(b"this is not a SQLite database\n" * 100)
    return f"sqlite:///{path}"


class DatabaseCut:
    """Cut and restore the test database under a running ``engine``.

    PostgreSQL is reached through a relay that ``cut`` stops (refusing and resetting
    connections); a SQLite file is moved away and replaced by one that is not a database.
    """

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.relay: TcpRelay | None = None
        self.sqlite_path: Path | None = None
        if parsed.get_backend_name() == "postgresql":
            self.relay = TcpRelay(parsed.host or "127.0.0.1", parsed.port or 5432)
            self.relay.start()
            url = parsed.set(host="127.0.0.1", port=self.relay.port).render_as_string(False)
        else:
            self.sqlite_path = Path(parsed.database or "")
        self.url = url

    def cut(self, engine: Engine | None = None) -> None:
        """Take the database away; a SQLite ``engine`` must be given (its pool is emptied)."""
        if self.relay is not None:
            self.relay.cut()
            return
        assert engine is not None and self.sqlite_path is not None
        engine.dispose()  # open SQLite connections would keep using the moved file
        for path in self._sqlite_files():
            path.rename(path.with_name(path.name + ".away"))
        self.sqlite_path.write_bytes(b"this is not a SQLite database\n" * 100)

    def restore(self, engine: Engine | None = None) -> None:
        if self.relay is not None:
            self.relay.start()
            return
        assert engine is not None and self.sqlite_path is not None
        engine.dispose()
        self.sqlite_path.unlink()
        for suffix in ("", "-wal", "-shm"):
            away = self.sqlite_path.with_name(self.sqlite_path.name + suffix + ".away")
            if away.exists():
                away.rename(away.with_name(away.name.removesuffix(".away")))

    def _sqlite_files(self) -> list[Path]:
        assert self.sqlite_path is not None
        names = [self.sqlite_path.name + s for s in ("", "-wal", "-shm")]
        return [p for p in (self.sqlite_path.with_name(n) for n in names) if p.exists()]


@contextmanager
def unwritable(folder: Path) -> Iterator[None]:
    """``folder`` takes no writes (nor deletions) inside the block, then is as before."""
    if _mount("--bind", str(folder), str(folder)):
        try:
            if not _mount("-o", "remount,ro,bind", str(folder)):
                raise RuntimeError(f"cannot remount {folder} read-only")
            yield
        finally:
            subprocess.run(["umount", str(folder)], check=True)
        return
    aside = folder.with_name(folder.name + ".aside")
    folder.rename(aside)
    folder.write_bytes(b"")  # a file where the folder was: nothing can be created under it
    try:
        yield
    finally:
        folder.unlink()
        aside.rename(folder)


def _mount(*args: str) -> bool:
    if shutil.which("mount") is None:
        return False
    done = subprocess.run(["mount", *args], capture_output=True, check=False)
    return done.returncode == 0
