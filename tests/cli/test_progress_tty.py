"""The progress bar of ``dqm push``, seen on a terminal: the command runs in a pseudo-terminal
(``pty``), as a person would run it, and the bar's frames are read from the terminal."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from dqm_client import Client
from tests.support.pets import rows

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _run_in_pty(command: list[str], env: dict[str, str], seconds: float) -> tuple[int, str]:
    """Run ``command`` with a pseudo-terminal as stdin, stdout and stderr; its exit status and
    everything it wrote to the terminal."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the process closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(leader)
    code = proc.wait(timeout=30)
    return code, b"".join(chunks).decode(errors="replace")


@pytest.mark.slow
def test_push_draws_a_progress_bar_on_a_terminal(
    server_url: str, client: Client, tmp_path: Path
) -> None:
    client.create_dataset("pets")
    client.put_reference("pets", [{k: r[k] for k in ("id", "x")} for r in rows(200, 1, "r")])
    path = tmp_path / "big.parquet"
    pd.DataFrame(rows(40_000, 2, "b"))[["id", "x"]].to_parquet(path, index=False)
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "DQM_URL": server_url}
    env.pop("NO_COLOR", None)
    command = [sys.executable, "-m", "dqm.service.cli", "push", "pets", str(path)]
    code, screen = _run_in_pty(
        [*command, "--chunk-bytes", "1000", "--chunk-rows", "2000"], env, seconds=120
    )
    assert code == 0, screen
    plain = ANSI.sub("", screen)
    percents = [int(p) for p in re.findall(r"(\d{1,3})%", plain)]
    assert 100 in percents and len(set(percents)) >= 5, plain  # frames as the chunks went
    assert percents == sorted(percents), percents  # it only moves forward
    assert "━" in plain and "big.parquet" in plain
    assert "\x1b[" in screen  # redrawn in place with terminal control sequences
    assert "big.parquet -> pets: 20 batches" in plain and "40000 rows" in plain
    assert sum(b.rows for b in client.batches("pets")) == 40_000
