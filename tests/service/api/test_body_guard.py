"""Every route checks the API key before reading the body, and caps the body at
DQM_MAX_BODY_BYTES (declared or streamed), over real HTTP and raw sockets."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from dqm.service.auth import create_key
from dqm.service.clock import utcnow
from dqm.service.db.session import make_engine, make_sessionmaker
from dqm.service.settings import Settings
from tests.support.server import running_server

CAP = 64 * 1024
JSON_ROUTES = [
    ("POST", "/v1/monitors"),
    ("POST", "/v1/hooks"),
    ("POST", "/v1/datasets"),
    ("POST", "/v1/datasets/d/labels"),
    ("POST", "/v1/datasets/d/batches"),
    ("PUT", "/v1/datasets/d/reference"),
]


@dataclass
class Server:
    client: httpx.Client
    admin: str
    reader: str


@pytest.fixture
def server(settings: Settings) -> Iterator[Server]:
    engine = make_engine(settings.database_url)
    sessions: sessionmaker[Session] = make_sessionmaker(engine)
    admin = create_key(sessions, "admin", ("admin",), utcnow())
    reader = create_key(sessions, "reader", ("read",), utcnow())
    engine.dispose()
    with running_server(settings.model_copy(update={"max_body_bytes": CAP})) as client:
        yield Server(client, admin, reader)


def raw_request(client: httpx.Client, head: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
    """Send ``head`` (and ``body``) on a raw socket and read the response head and body.

    A declared Content-Length larger than what is sent makes a server that reads the body
    before answering wait, and this read time out.
    """
    with socket.create_connection((client.base_url.host, client.base_url.port), timeout=10) as s:
        s.sendall(head.encode() + body)
        data = b""
        while b"\r\n\r\n" not in data or not _complete(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1])
    payload = json.loads(data.split(b"\r\n\r\n", 1)[1])
    return status, payload["error"]


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def head(method: str, path: str, length: int, token: str | None = None) -> str:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n{auth}\r\n"
    )


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_401_and_403_come_before_the_body_is_read(server: Server, method: str, path: str) -> None:
    # 100 MB declared, nothing sent: only a server that does not wait for the body answers.
    status, error = raw_request(server.client, head(method, path, 100 * 1024 * 1024))
    assert (status, error["code"]) == (401, "unauthenticated")
    status, error = raw_request(server.client, head(method, path, 10**8, server.reader))
    assert (status, error["code"]) == (403, "forbidden")


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_a_declared_length_past_the_cap_is_413_without_reading(
    server: Server, method: str, path: str
) -> None:
    status, error = raw_request(server.client, head(method, path, CAP + 1, server.admin))
    assert (status, error["code"]) == (413, "payload_too_large")
    assert error["details"][0]["limit"] == "DQM_MAX_BODY_BYTES"


def test_a_chunked_body_past_the_cap_is_413(server: Server) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "m", "dataset": "d", "kind": "drift", "junk": "'
        for _ in range(2 * CAP // 4096):
            yield b"x" * 4096
        yield b'"}'

    response = server.client.post(
        "/v1/monitors",
        content=chunks(),
        headers={"Authorization": f"Bearer {server.admin}", "content-type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_deeply_nested_body_without_a_key_is_401(server: Server) -> None:
    response = server.client.post(
        "/v1/monitors", content=b"[" * 50_000, headers={"content-type": "application/json"}
    )
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_bodies_within_the_cap_reach_the_routes(server: Server) -> None:
    auth = {"Authorization": f"Bearer {server.admin}"}
    created = server.client.post("/v1/datasets", json={"name": "d"}, headers=auth)
    assert created.status_code == 201, created.text
    chunked = server.client.post(
        "/v1/datasets",
        content=iter([b'{"name"', b': "e"}']),
        headers={**auth, "content-type": "application/json"},
    )
    assert chunked.status_code == 201, chunked.text
    assert server.client.get("/healthz").status_code == 200
    assert server.client.get("/openapi.json").status_code == 200
    assert server.client.get("/v1/nowhere", headers=auth).status_code == 404
