"""The dqm command: settings are validated at start-up; migrate brings a database to head."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dqm.service.db.migrate import is_current
from dqm.service.db.session import make_engine


def _dqm(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dqm.service.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_invalid_settings_stop_the_start_with_the_variable_named(tmp_path: Path) -> None:
    done = _dqm("serve", DQM_PORT="eighty", DQM_DATA_DIR=str(tmp_path))
    assert done.returncode != 0
    assert "DQM_PORT" in done.stderr
    done = _dqm("migrate", DQM_DATABASE_URL="mysql://x/y")
    assert done.returncode != 0 and "DQM_DATABASE_URL" in done.stderr


def test_migrate_creates_a_current_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    done = _dqm("migrate", DQM_DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    engine = make_engine(url)
    assert is_current(engine)
    engine.dispose()
