"""A real dqm server on a free loopback port (uvicorn in a thread), for integration tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI

from dqm.service.app import create_app
from dqm.service.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving_app(settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    """Serve ``settings`` (migrations must be applied); yield the base URL and the application
    (its context holds the engine)."""
    port = free_port()
    settings = settings.model_copy(update={"host": "127.0.0.1", "port": port})
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("dqm test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@contextmanager
def running_server(settings: Settings) -> Iterator[httpx.Client]:
    """Serve ``settings`` (migrations must be applied) and yield a client bound to it."""
    with serving_app(settings) as (base, _), httpx.Client(base_url=base, timeout=60) as client:
        yield client
