"""The retry policy on real sockets: a small HTTP server that answers 429 with Retry-After,
or reads the request and drops the connection without an answer (the request may have been
applied). Reads and batches (which carry their batch id) are retried; a create is not."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dqm_client import Client, ConnectionFailed, RateLimited, Retry


class Script:
    """What the server does with each request, in order: ``(status, headers)`` or ``"drop"``."""

    def __init__(self, steps: list[Any]) -> None:
        self.steps = steps
        self.seen: list[tuple[str, str, float]] = []


@contextmanager
def scripted(script: Script) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            script.seen.append((self.command, self.path, time.monotonic()))
            step = script.steps.pop(0) if script.steps else (200, {})
            if step == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            status, headers = step
            body = json.dumps(
                {"name": "d", "batch_id": "b", "rows": 1, "received_at": "2026-01-01T00:00:00Z"}
                if status < 400
                else {"error": {"code": "rate_limited", "message": "slow down", "details": []}}
            ).encode()
            self.send_response(status)
            for key, value in {**headers, "content-type": "application/json"}.items():
                self.send_header(key, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _any  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_429_waits_what_retry_after_says() -> None:
    script = Script([(429, {"Retry-After": "1"}), (200, {})])
    with scripted(script) as url, Client(url, retry=Retry(backoff=0.01)) as client:
        assert client.push_batch("d", [{"a": 1}], batch_id="b").rows == 1
    [first, second] = script.seen
    assert second[2] - first[2] >= 1.0
    assert first[1] == second[1] == "/v1/datasets/d/batches?batch_id=b"  # the same batch id


def test_a_429_that_lasts_raises_rate_limited() -> None:
    script = Script([(429, {"Retry-After": "0"})] * 3)
    retry = Retry(attempts=3, backoff=0.01)
    with (
        scripted(script) as url,
        Client(url, retry=retry) as client,
        pytest.raises(RateLimited) as limited,
    ):
        client.dataset("d")
    assert (limited.value.status, limited.value.code, limited.value.retry_after) == (
        429,
        "rate_limited",
        0.0,
    )
    assert len(script.seen) == 3


def test_an_answer_lost_after_the_request_is_retried_only_when_safe() -> None:
    retry = Retry(attempts=4, backoff=0.01)
    script = Script(["drop", "drop", (200, {})])
    with scripted(script) as url, Client(url, retry=retry) as client:
        batch = client.push_batch("d", [{"a": 1}])  # a generated id, reused on each retry
        assert batch.rows == 1
    paths = {path for _, path, _ in script.seen}
    assert len(script.seen) == 3 and len(paths) == 1

    script = Script(["drop", (200, {})])
    with (
        scripted(script) as url,
        Client(url, retry=retry) as client,
        pytest.raises(ConnectionFailed),
    ):
        client.create_dataset("d")  # may have been created: not sent again
    assert len(script.seen) == 1
