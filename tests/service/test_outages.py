"""Outages of the database and of the data folder: 503 + Retry-After naming the dependency on
every route, a readiness body without internals, and a bounded log."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records
from tests.support.outage import (
    DatabaseCut,
    invalid_sqlite_url,
    refused_postgres_url,
    unwritable,
)
from tests.support.process import logged_dqm_process
from tests.support.server import running_server

# Every kind of route: the auth dependency, plain reads, writes, uploads and the scrape.
ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/v1/datasets", {}),
    ("GET", "/v1/datasets/d", {}),
    ("POST", "/v1/datasets", {"json": {"name": "x"}}),
    ("DELETE", "/v1/datasets/d", {}),
    ("POST", "/v1/datasets/d/batches", {"json": {"rows": [{"a": 1}]}}),
    ("PUT", "/v1/datasets/d/reference", {"json": [{"a": 1}]}),
    ("GET", "/v1/monitors", {}),
    ("GET", "/v1/alerts", {}),
    ("GET", "/v1/hooks", {}),
    ("GET", "/metrics", {}),
]
INTERNALS = ("127.0.0.1", "5432", "psycopg", "sqlite", "refused", "connection", ".db", "/tmp")


def assert_unavailable(response: httpx.Response, dependency: str) -> None:
    assert response.status_code == 503, (response.request.url, response.text)
    assert int(response.headers["retry-after"]) > 0
    error = response.json()["error"]
    assert error["code"] == "unavailable"
    assert error["details"] == [{"dependency": dependency}]
    assert not any(word in response.text.lower() for word in INTERNALS), response.text


def wait_for_status(client: httpx.Client, path: str, status: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (response := client.get(path)).status_code != status:
        assert time.monotonic() < deadline, (path, response.status_code, response.text[:200])
        time.sleep(0.2)


def assert_readyz(client: httpx.Client, **expected: str) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 503 and int(ready.headers["retry-after"]) > 0
    checks = {"database": "ok", "migrations": "ok", "data_folder": "ok", **expected}
    assert ready.json() == {"status": "unavailable", **checks}
    assert not any(word in ready.text.lower() for word in INTERNALS), ready.text


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_database_outage_is_503_everywhere_with_a_bounded_log(
    backend: str, settings: Settings, tmp_path: Path
) -> None:
    url = refused_postgres_url() if backend == "postgresql" else invalid_sqlite_url(tmp_path)
    down = settings.model_copy(update={"database_url": url})
    log = tmp_path / "serve.log"
    requests = 0
    with logged_dqm_process(down, log, {}) as client:  # one keep-alive connection throughout
        for _ in range(20):
            for method, path, kwargs in ROUTES:
                assert_unavailable(client.request(method, path, **kwargs), "database")
                requests += 1
        assert_readyz(client, database="unavailable", migrations="unknown")
        time.sleep(1.0)  # let the worker's jobs fail a few more ticks as well
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert requests == 200
    assert "Traceback" not in log.read_text()
    # One line per failure kind per 10 s (the test lasts a few seconds), plus start/stop lines.
    warnings = [line for line in lines if "database:" in line]
    assert 1 <= len(warnings) <= 3, lines
    assert len(lines) <= 15, lines


def test_postgres_going_away_and_back(settings: Settings) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("needs DQM_TEST_DATABASE_URL (a real PostgreSQL behind a relay)")
    cut = DatabaseCut(settings.database_url)
    with running_server(settings.model_copy(update={"database_url": cut.url})) as client:
        assert client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
        cut.cut()
        for method, path, kwargs in ROUTES:
            if path == "/metrics":  # a snapshot, whose next refresh (1 s) meets the outage
                wait_for_status(client, path, 503, timeout=15)
            assert_unavailable(client.request(method, path, **kwargs), "database")
        assert_readyz(client, database="unavailable", migrations="unknown")
        cut.restore()
        assert client.get("/readyz").json() == {"status": "ready"}
        assert client.get("/v1/datasets/d").status_code == 200


def test_read_only_data_folder(settings: Settings) -> None:
    data = Path(settings.data_dir)
    with running_server(settings) as client:
        assert client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
        reference = records(frame(50, 1))
        assert client.put("/v1/datasets/d/reference", json=reference).status_code == 201
        batch = {"rows": records(frame(20, 2))}
        assert client.post("/v1/datasets/d/batches?batch_id=b1", json=batch).status_code == 201
        stored = sorted(p for p in data.rglob("*") if p.is_file())
        with unwritable(data):
            assert_unavailable(
                client.post("/v1/datasets/d/batches?batch_id=b2", json=batch), "data folder"
            )
            assert_readyz(client, data_folder="not writable")
            assert_unavailable(client.delete("/v1/datasets/d"), "data folder")
            # Nothing was deleted: the dataset and its files are intact, the call retryable.
            assert client.get("/v1/datasets/d").status_code == 200
            assert [
                b["batch_id"] for b in client.get("/v1/datasets/d/batches").json()["items"]
            ] == ["b1"]
        assert sorted(p for p in data.rglob("*") if p.is_file()) == stored
        assert client.get("/readyz").json() == {"status": "ready"}
        assert client.delete("/v1/datasets/d").status_code == 204
        assert client.get("/v1/datasets/d").status_code == 404
        assert [p for p in data.rglob("*") if p.is_file()] == []


def test_a_database_that_stops_answering_fails_requests_within_seconds(settings: Settings) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        port = silent.getsockname()[1]
        url = f"postgresql+psycopg://dqm:secret@127.0.0.1:{port}/dqm"
        with running_server(settings.model_copy(update={"database_url": url})) as client:
            started = time.monotonic()
            assert_unavailable(client.get("/v1/datasets"), "database")
            assert time.monotonic() - started < 20
