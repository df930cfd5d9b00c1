"""A URL cannot create /metrics series: uploads to datasets that do not exist all count under one
label value, and no byte of the URL (a NUL, a quote, a newline) reaches the exposition."""

from __future__ import annotations

import random
import string
from urllib.parse import quote

import httpx

import dqm.service.metrics as metrics
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records
from tests.support.server import running_server

ROWS = records(frame(5, 1))


def series(client: httpx.Client) -> list[str]:
    return [line for line in client.get("/metrics").text.splitlines() if not line.startswith("#")]


def value(lines: list[str], series_name: str) -> float:
    [found] = [float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(series_name)]
    return found


def random_name(rng: random.Random) -> str:
    body = "".join(rng.choices(string.ascii_letters + string.digits + "_.-", k=rng.randint(1, 30)))
    return body + rng.choice(["", "\x00", "\x00x", '"', "\n", "é", "%00", "\\"])


def upload(client: httpx.Client, dataset: str, **kwargs: object) -> httpx.Response:
    return client.post(f"/v1/datasets/{quote(dataset, safe='')}/batches", **kwargs)  # type: ignore[arg-type]


def test_uploads_to_unknown_datasets_leave_the_series_unchanged(settings: Settings) -> None:
    rng = random.Random(20261129)
    with running_server(settings) as client:
        client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).raise_for_status()
        for rejected in (upload(client, "warm-up", json=ROWS), upload(client, "d", json=[{}])):
            assert rejected.status_code in (404, 422)
        before = series(client)
        names = [random_name(rng) for _ in range(100)]
        answers = [upload(client, name, json=ROWS).status_code for name in names]
        after = series(client)
        text = client.get("/metrics").content
    assert set(answers) == {404}
    assert len(after) == len(before)
    assert [line.rsplit(" ", 1)[0] for line in after] == [line.rsplit(" ", 1)[0] for line in before]
    unknown = (
        f'dqm_ingest_rejections_total{{dataset="{metrics.UNKNOWN_DATASET}",outcome="not_found"}}'
    )
    assert value(after, unknown) - value(before, unknown) == 100
    assert value(after, 'dqm_ingest_rejections_total{dataset="d",outcome="invalid_data"}') >= 1
    assert b"\x00" not in text and all(
        name not in text.decode() for name in names if "\x00" in name
    )
