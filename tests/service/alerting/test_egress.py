"""The relay's HTTP client against real local servers: one lookup per connection, the socket
goes to the checked address, and Host, SNI and certificate checks stay those of the name."""

from __future__ import annotations

import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from dqm.alerts.allowlist import parse_allowlist
from dqm.service.alerting.egress import DestinationRefused, checked_client

LOOPBACK = parse_allowlist("127.0.0.1/32")


@dataclass
class Seen:
    hosts: list[str] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)


@dataclass
class RebindingResolver:
    """A DNS stand-in for names that exist nowhere: answers in turn, counting lookups."""

    answers: list[list[str]]
    lookups: list[str] = field(default_factory=list)

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]


@contextmanager
def local_server(tls: ssl.SSLContext | None = None) -> Iterator[tuple[int, Seen]]:
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            self.rfile.read(int(self.headers.get("content-length", "0")))
            seen.hosts.append(self.headers["host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        tls.sni_callback = lambda sock, name, ctx: seen.sni.append(name)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), seen
    finally:
        server.shutdown()
        server.server_close()


def self_signed(folder: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for ``name`` and a client context trusting only it."""
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}"]
        + ["-addext", f"subjectAltName=DNS:{name}"],
        check=True,
        capture_output=True,
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    return server, ssl.create_default_context(cafile=str(cert))


def test_the_name_is_resolved_once_and_the_checked_address_is_used() -> None:
    # The second answer would be refused; a client that looked the name up again (or let the
    # socket layer do it) would see it, or fail on a name no real DNS knows.
    resolver = RebindingResolver([["127.0.0.1"], ["169.254.169.254"]])
    with local_server() as (port, seen), checked_client(LOOPBACK, 5, resolver) as client:
        response = client.post(f"http://hooks.test:{port}/hook", content=b"{}")
    assert response.status_code == 204
    assert resolver.lookups == ["hooks.test"]
    assert seen.hosts == [f"hooks.test:{port}"]


def test_a_refused_answer_makes_no_connection() -> None:
    resolver = RebindingResolver([["127.0.0.1", "10.0.0.1"]])
    refused = "10.0.0.1 is not in DQM_WEBHOOK_ALLOWLIST"
    with (
        local_server() as (port, seen),
        checked_client(LOOPBACK, 5, resolver) as client,
        pytest.raises(DestinationRefused, match=refused),
    ):
        client.post(f"http://hooks.test:{port}/hook", content=b"{}")
    assert seen.hosts == []


def test_every_checked_address_is_tried_in_turn() -> None:
    allow = parse_allowlist("127.0.0.0/8")
    resolver = RebindingResolver([["127.0.0.7", "127.0.0.1"]])  # nothing listens on .7
    with local_server() as (port, seen), checked_client(allow, 5, resolver) as client:
        assert client.post(f"http://hooks.test:{port}/", content=b"{}").status_code == 204
    assert seen.hosts == [f"hooks.test:{port}"]


def test_https_sends_the_name_as_sni_and_verifies_the_certificate_for_it(tmp_path: Path) -> None:
    server_tls, trusting = self_signed(tmp_path, "hooks.test")
    resolver = RebindingResolver([["127.0.0.1"]])
    with (
        local_server(server_tls) as (port, seen),
        checked_client(LOOPBACK, 5, resolver, trusting) as client,
    ):
        assert client.post(f"https://hooks.test:{port}/", content=b"{}").status_code == 204
        assert seen.sni == ["hooks.test"] and seen.hosts == [f"hooks.test:{port}"]
        other = RebindingResolver([["127.0.0.1"]])
        with (
            checked_client(parse_allowlist("127.0.0.1, other.test"), 5, other, trusting) as c2,
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            c2.post(f"https://other.test:{port}/", content=b"{}")  # cert is for hooks.test
    assert seen.hosts == [f"hooks.test:{port}"]
