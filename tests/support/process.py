"""dqm as a separate OS process (``dqm serve``), for tests with several replicas."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from dqm.service.settings import Settings
from tests.support.server import free_port


@contextmanager
def dqm_process(settings: Settings, **env: str) -> Iterator[httpx.Client]:
    """Start ``dqm serve`` on a free port with ``settings``; yield a client; SIGTERM at exit."""
    with logged_dqm_process(settings, None, env) as client:
        yield client


@contextmanager
def logged_dqm_process(
    settings: Settings, log: Path | None, env: Mapping[str, str]
) -> Iterator[httpx.Client]:
    """``dqm_process`` whose stdout and stderr go to the file ``log`` (if given)."""
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
    output = log.open("wb") if log is not None else None
    proc = subprocess.Popen(
        [sys.executable, "-m", "dqm.service.cli", "serve", "--port", str(port), "--no-migrate"],
        env=environ,
        stdout=output,
        stderr=output,
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
        if output is not None:
            output.close()
