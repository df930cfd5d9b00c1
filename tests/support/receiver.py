"""A real HTTP webhook receiver for tests: records requests, verifies signatures, answers
with programmable status codes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dqm.alerts.signing import WebhookVerificationError, verify


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int
    secrets: list[str]  # the receiver's list: a secret added after the request still counts

    @property
    def verified(self) -> bool:
        """The signature verifies with one of the receiver's secrets, as they are now (a test
        learns a hook's secret from the API while its first webhook may already be arriving)."""
        for secret in self.secrets:
            try:
                verify(secret, self.headers, self.body, now=int(time.time()))
                return True
            except WebhookVerificationError:
                continue
        return False

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """Answers each POST with the next status of ``script`` (then ``default``)."""

    url: str = ""
    secrets: list[str] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    default: int = 204
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verifies(self, headers: dict[str, str], body: bytes) -> bool:
        """Whether one of this receiver's secrets verifies a request."""
        return Received(headers, body, 0, self.secrets).verified

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            status = self.script.pop(0) if self.script else self.default
            self.received.append(Received(headers, body, status, self.secrets))
            return status

    def delivered(self, event_type: str | None = None) -> list[Received]:
        """Requests answered with 2xx (optionally of one event type), in arrival order."""
        with self.lock:
            ok = [r for r in self.received if 200 <= r.status < 300]
        return [r for r in ok if event_type is None or r.event["type"] == event_type]

    def wait_for(
        self, count: int, event_type: str | None = None, timeout: float = 20
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.delivered(event_type)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(
            f"expected {count} deliveries of {event_type or 'any'} within {timeout}s, "
            f"got {[r.event['type'] for r in self.received]}"
        )


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            status = receiver.handle({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
