"""Servers for the client tests: ``dqm serve`` as a process that a test can stop and start
again on the same port (a restart, not a network cut)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from dqm.service.settings import Settings
from tests.support.server import free_port


class ServeProcess:
    """``dqm serve`` on a fixed loopback port with ``settings``; output appended to ``log``."""

    def __init__(self, settings: Settings, log: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {
            **os.environ,
            "DQM_DATABASE_URL": settings.database_url,
            "DQM_DATA_DIR": settings.data_dir,
            "DQM_LOG_LEVEL": "warning",
            "DQM_SHUTDOWN_GRACE_SECONDS": "2",
            "DQM_WEBHOOK_ALLOWLIST": "127.0.0.1/32",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, deadline_seconds: float = 60) -> None:
        command = [sys.executable, "-m", "dqm.service.cli", "serve", "--no-migrate"]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*command, "--port", str(self.port)], env=self.env, stdout=out, stderr=out
            )
        deadline = time.monotonic() + deadline_seconds
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"dqm serve did not start ({self.proc.poll()}):\n{tail}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
