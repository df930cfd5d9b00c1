"""Uploads that decode to more than they weigh: 413 naming the limit, answered in seconds
with bounded memory, for every format; malformed JSON is a 422, not a 500; wide rejections
stay cheap."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from dqm.monitors.errors import PayloadTooLargeError
from dqm.service.ingest.decode import decode
from dqm.service.ingest.limits import DecodeLimits
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records
from tests.support.server import running_server

PARQUET = "application/vnd.apache.parquet"
ARROW = "application/vnd.apache.arrow.stream"
MB = 1024 * 1024


def constant_parquet(rows: int, names: str = "abcd") -> bytes:
    """A few hundred KB of zstd Parquet holding ``rows`` rows of constant floats, written one
    million rows at a time so the test itself stays small."""
    step = 1_000_000
    batch = pa.table({n: pa.repeat(pa.scalar(1.0), step) for n in names})
    sink = io.BytesIO()
    with pq.ParquetWriter(sink, batch.schema, compression="zstd") as writer:
        for _ in range(rows // step):
            writer.write_table(batch)
    return sink.getvalue()


def peak_rss_reset() -> None:
    """Reset this process's peak RSS (VmHWM), see proc(5) /proc/pid/clear_refs."""
    Path("/proc/self/clear_refs").write_text("5")


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


@pytest.fixture
def client(settings: Settings) -> Iterator[httpx.Client]:
    with running_server(settings) as c:
        assert c.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
        assert c.put("/v1/datasets/d/reference", json=records(frame(100, 1))).status_code == 201
        yield c


def assert_too_large(response: httpx.Response, limit: str) -> None:
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "payload_too_large" and limit in error["message"]
    assert error["details"][0]["limit"] == limit


@pytest.mark.slow
def test_a_40m_row_parquet_of_half_a_megabyte_is_refused_fast_with_bounded_memory(
    client: httpx.Client,
) -> None:
    body = constant_parquet(40_000_000)
    assert len(body) < 2 * MB  # the body cap does not see it
    # The server runs in this process: its peak RSS is this process's.
    peak_rss_reset()
    before = rss_kib("VmRSS")
    started = time.monotonic()
    response = client.post(
        "/v1/datasets/d/batches", content=body, headers={"content-type": PARQUET}
    )
    elapsed = time.monotonic() - started
    growth_mb = (rss_kib("VmHWM") - before) / 1024
    assert_too_large(response, "DQM_MAX_UPLOAD_ROWS")
    assert "40000000 rows" in response.json()["error"]["message"]
    assert elapsed < 10, elapsed
    assert growth_mb < 300, growth_mb
    assert client.get("/v1/datasets/d/batches").json()["items"] == []


def test_the_limits_are_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    small = settings.model_copy(update={"max_upload_rows": 50, "max_upload_decoded_bytes": 10**9})
    with running_server(small) as c:
        c.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).raise_for_status()
        assert c.put("/v1/datasets/d/reference", json=records(frame(50, 1))).status_code == 201
        assert_too_large(
            c.put("/v1/datasets/d/reference", json=records(frame(51, 1))), "DQM_MAX_UPLOAD_ROWS"
        )
    # 5 columns x 100 rows: at least 4,500 bytes decoded.
    narrow = settings.model_copy(update={"max_upload_decoded_bytes": 4_000})
    with running_server(narrow) as c:
        c.post("/v1/datasets", json={"name": "e", "schema": SCHEMA}).raise_for_status()
        assert_too_large(
            c.put("/v1/datasets/e/reference", json=records(frame(100, 1))),
            "DQM_MAX_UPLOAD_DECODED_BYTES",
        )
        assert c.put("/v1/datasets/e/reference", json=records(frame(10, 1))).status_code == 201
    for name, value in (("DQM_MAX_UPLOAD_ROWS", "0"), ("DQM_MAX_UPLOAD_DECODED_BYTES", "-1")):
        with monkeypatch.context() as env:
            env.setenv(name, value)
            with pytest.raises(ValidationError, match=name.removeprefix("DQM_").lower()):
                Settings()


def test_parquet_dictionary_strings_count_at_their_decoded_size() -> None:
    # One 100 KB string referenced by 2,000 rows: ~2 KB of Parquet, 200 MB decoded.
    value = "x" * 100_000
    table = pa.table({"s": pa.array([value] * 2_000)})
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    body = sink.getvalue()
    assert len(body) < 64 * 1024
    with pytest.raises(PayloadTooLargeError, match="DQM_MAX_UPLOAD_DECODED_BYTES") as err:
        decode(body, PARQUET, DecodeLimits(decoded_bytes=50 * MB))
    assert err.value.details[0]["found"] >= 2_000 * 100_000
    assert decode(body, PARQUET, DecodeLimits(decoded_bytes=400 * MB)).column("s")[0].as_py() == (
        value
    )


def ipc_stream(table: pa.Table, batches: int) -> bytes:
    sink = io.BytesIO()
    options = ipc.IpcWriteOptions(compression="zstd")
    with ipc.new_stream(sink, table.schema, options=options) as writer:
        for _ in range(batches):
            writer.write_table(table)
    return sink.getvalue()


def test_arrow_stream_is_checked_per_record_batch_before_decompressing() -> None:
    batch = pa.table({"x": pa.repeat(pa.scalar(1.0), 1_000_000)})
    body = ipc_stream(batch, 30)  # 30M rows, 240 MB decoded, a few KB sent
    assert len(body) < 200 * 1024
    with pytest.raises(PayloadTooLargeError, match="DQM_MAX_UPLOAD_ROWS") as err:
        decode(body, ARROW, DecodeLimits())
    assert err.value.details[0]["found"] == 21_000_000  # stopped at the first batch past 20M
    with pytest.raises(PayloadTooLargeError, match="DQM_MAX_UPLOAD_DECODED_BYTES"):
        decode(body, ARROW, DecodeLimits(rows=10**9, decoded_bytes=20 * MB))
    assert decode(ipc_stream(batch.slice(0, 10), 3), ARROW).num_rows == 30


def test_csv_and_json_rows_are_counted() -> None:
    csv = b"a\n" + b"1\n" * 1000
    with pytest.raises(PayloadTooLargeError, match="DQM_MAX_UPLOAD_ROWS"):
        decode(csv, "text/csv", DecodeLimits(rows=999))
    assert decode(csv, "text/csv", DecodeLimits(rows=1000)).num_rows == 1000
    rows = json.dumps([{"a": 1}] * 1000).encode()
    with pytest.raises(PayloadTooLargeError, match="DQM_MAX_UPLOAD_ROWS"):
        decode(rows, "application/json", DecodeLimits(rows=999))
    assert decode(rows, "application/json", DecodeLimits(rows=1000)).num_rows == 1000


def test_json_rows_times_columns_are_bounded_before_decoding() -> None:
    # One wide record then empty ones: 20 KB of JSON would decode to 2,000 x 5,000 cells.
    body = json.dumps([{f"k{i}": 1 for i in range(2_000)}] + [{}] * 5_000).encode()
    started = time.process_time()
    with pytest.raises(PayloadTooLargeError, match="DQM_MAX_UPLOAD_DECODED_BYTES"):
        decode(body, "application/json", DecodeLimits(decoded_bytes=10 * MB))
    assert time.process_time() - started < 2


@pytest.mark.parametrize(
    "body",
    [
        b'[{"a": "\\ud800"}]',
        b'{"rows": [{"\\udfff": 1}]}',
        b"[" * 100_000,
        b'[{"a": 1}' + b"[" * 100_000,
    ],
)
def test_malformed_json_batches_are_422(client: httpx.Client, body: bytes) -> None:
    response = client.post(
        "/v1/datasets/d/batches", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_input"
    assert "malformed JSON" in response.json()["error"]["message"]


def test_ten_thousand_unknown_columns_are_rejected_cheaply(client: httpx.Client) -> None:
    unknown = {f"u{i}": 1 for i in range(10_000)}
    body = json.dumps([{**row, **unknown} for row in records(frame(5, 2))]).encode()
    started = time.monotonic()
    response = client.post(
        "/v1/datasets/d/batches", content=body, headers={"content-type": "application/json"}
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert "10000 problems, the first 100 listed" in error["message"]
    assert len(error["details"]) == 100
    assert error["details"][0] == {
        "column": "u0",
        "rows": [0, 1, 2, 3, 4],
        "count": 5,
        "problem": "unknown column",
    }
    assert elapsed < 3, elapsed


@pytest.mark.parametrize("key", ["a b", "../x", "k\u00e9\u200b;", "x" * 201])
def test_idempotency_key_follows_the_batch_id_rules(client: httpx.Client, key: str) -> None:
    body = {"rows": records(frame(5, 3))}
    by_query = client.post("/v1/datasets/d/batches", params={"batch_id": key}, json=body)
    by_header = client.post(
        "/v1/datasets/d/batches", headers=[(b"Idempotency-Key", key.encode())], json=body
    )
    assert by_query.status_code == by_header.status_code == 422, by_header.text
    fields = [d["field"] for d in by_header.json()["error"]["details"]]
    assert fields == ["header.idempotency-key"]
    assert client.get("/v1/datasets/d/batches").json()["items"] == []
    ok = client.post("/v1/datasets/d/batches", headers={"Idempotency-Key": "b-1.x:y"}, json=body)
    assert ok.status_code == 201 and ok.json()["batch_id"] == "b-1.x:y"


def test_json_rows_each_bringing_a_new_key_are_bounded_before_decoding() -> None:
    # 30,000 rows, each with a key of its own: 440 KB of JSON, 900M cells once decoded.
    body = json.dumps([{f"k{i}": 1} for i in range(30_000)]).encode()
    started = time.process_time()
    with pytest.raises(PayloadTooLargeError, match="DQM_MAX_UPLOAD_DECODED_BYTES"):
        decode(body, "application/json")
    assert time.process_time() - started < 2
    sparse = json.dumps([{"a": 1}, {"b": 2.5}, {"a": 3, "c": "x"}]).encode()
    assert decode(sparse, "application/json").to_pylist() == [
        {"a": 1, "b": None, "c": None},
        {"a": None, "b": 2.5, "c": None},
        {"a": 3, "b": None, "c": "x"},
    ]
