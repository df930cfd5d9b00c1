"""dqm as a separate OS process (``dqm serve``), for tests with several replicas."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from dqm.service.settings import Settings
from tests.support.server import free_port


@contextmanager
def dqm_process(settings: Settings, **env: str) -> Iterator[httpx.Client]:
    """Start ``dqm serve`` on a free port with ``settings``; yield a client; SIGTERM at exit."""
    port = free_port()
    environ = {
        **os.environ,
        "DQM_DATABASE_URL": settings.database_url,
        "DQM_DATA_DIR": settings.data_dir,
        "DQM_SCHEDULER_TICK_SECONDS": str(settings.scheduler_tick_seconds),
        "DQM_RUNNER_POLL_SECONDS": str(settings.runner_poll_seconds),
        "DQM_RELAY_POLL_SECONDS": str(settings.relay_poll_seconds),
        "DQM_LOG_LEVEL": "warning",
        **(
            {"DQM_WEBHOOK_ALLOWLIST": settings.webhook_allowlist}
            if settings.webhook_allowlist
            else {}
        ),
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "dqm.service.cli", "serve", "--port", str(port), "--no-migrate"],
        env=environ,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dqm serve did not start (exit code {proc.poll()})")
            time.sleep(0.1)
        yield client
    finally:
        client.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
