"""``AsyncClient`` against a real server, and retries against a real outage: a server whose
database is gone answers 503 with ``Retry-After``, which the client waits before retrying."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from pathlib import Path

import httpx
import pytest

from dqm.service.settings import Settings
from dqm_client import AsyncClient, Client, NotFound, Retry, Unavailable
from tests.support.outage import DatabaseCut, invalid_sqlite_url
from tests.support.pets import SCHEMA, rows
from tests.support.server import serving_app


def plain(n: int, seed: int, prefix: str, shift: float = 0.0) -> list[dict[str, object]]:
    """Rows with an id, a numeric and a categorical feature (the report's columns)."""
    return [{k: r[k] for k in ("id", "x", "segment")} for r in rows(n, seed, prefix, shift=shift)]


@pytest.mark.slow
def test_async_client_pushes_runs_and_pages(server: httpx.Client) -> None:
    async def scenario() -> None:
        async with AsyncClient(str(server.base_url), page_size=1) as client:
            await client.create_dataset("pets")
            await client.create_dataset("other", SCHEMA)
            assert sorted([d.name async for d in client.datasets()]) == ["other", "pets"]
            await client.put_reference("pets", plain(300, 1, "r"))
            pushed = await asyncio.gather(
                *(client.push_batch("pets", plain(100, s, f"b{s}-", shift=2.0)) for s in range(3))
            )
            assert sorted(b.rows for b in pushed) == [100, 100, 100]
            body, sent = json.dumps(plain(50, 9, "j")).encode(), list[int]()
            streamed = await client.push_batch(
                "pets", body, content_type="application/json", progress=sent.append
            )
            assert streamed.rows == 50 and sum(sent) == len(body)
            await client.create_monitor(
                {
                    "name": "drift",
                    "dataset": "pets",
                    "kind": "drift",
                    "schedule": {"every": "1h"},
                    "window": {"last_batches": 3},
                    "rules": [{"metric": "drift_score", "column": "x", "op": "<", "value": 0.05}],
                }
            )
            run = await client.run_and_wait("drift", timeout=120)
            score = run.metric("drift_score", "x")
            assert run.status == "succeeded" and score is not None and (score.value or 1) < 1e-6
            assert [r.id async for r in client.runs("drift")] == [run.id]
            [alert] = [a async for a in client.alerts(state="firing")]
            assert alert.column == "x"
            with pytest.raises(NotFound):
                await client.monitor("nope")

    asyncio.run(scenario())


def test_sync_run_report_of_a_drift_run(client: Client) -> None:
    client.create_dataset("pets")
    client.put_reference("pets", plain(200, 1, "r"))
    client.push_batch("pets", plain(100, 2, "b"))
    spec = {"name": "d", "dataset": "pets", "kind": "drift", "schedule": {"every": "1h"}}
    client.create_monitor({**spec, "window": {"last_batches": 1}})
    run = client.run_and_wait("d", timeout=120)
    assert "<html" in client.run_report(run.id).lower()


@pytest.mark.slow
def test_retry_after_of_a_503_is_honoured_until_the_database_is_back(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    cut = DatabaseCut(settings.database_url)
    with serving_app(settings.model_copy(update={"database_url": cut.url})) as (url, app):
        engine = app.state.ctx.engine
        with Client(url) as client:
            client.create_dataset("pets")
            cut.cut(engine)
            # Back after 1 s; the server asked for Retry-After: 5, which the client waits.
            threading.Timer(1.0, cut.restore, kwargs={"engine": engine}).start()
            started = time.monotonic()
            with caplog.at_level(logging.INFO, logger="dqm_client"):
                assert client.dataset("pets").name == "pets"
            waited = time.monotonic() - started
    retries = [r.getMessage() for r in caplog.records if r.name == "dqm_client"]
    assert retries == ["GET /v1/datasets/pets: 503, retrying in 5.00s"], retries
    assert 5.0 <= waited < 15.0


def test_a_503_that_lasts_raises_unavailable_with_the_envelope(
    settings: Settings, tmp_path: Path
) -> None:
    broken = settings.model_copy(update={"database_url": invalid_sqlite_url(tmp_path)})
    with serving_app(broken) as (url, _):
        retry = Retry(attempts=2, max_retry_after=0.2)  # Retry-After 5 s, capped to 0.2 s
        started = time.monotonic()
        with Client(url, retry=retry) as client, pytest.raises(Unavailable) as outage:
            client.datasets().__next__()
        assert 0.2 <= time.monotonic() - started < 5.0
    error = outage.value
    assert (error.status, error.code, error.retry_after) == (503, "unavailable", 5.0)
    assert error.details == [{"dependency": "database"}]
