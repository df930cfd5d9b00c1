"""Profiles in an object store: DQM_DATA_DIR=s3://... against a real S3-compatible server
(moto's standalone server on loopback): a row batch's profile and a profile batch land in the
bucket beside the Parquet files, a drift run reads them, deleting the dataset removes them."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest

from dqm.service.settings import Settings
from dqm_client.profiles import codec, profile_arrow, profiled_types
from tests.service.data import SCHEMA, frame, parquet_bytes, records
from tests.support.s3 import S3Server, s3_server
from tests.support.server import running_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


def test_profiles_live_in_the_bucket(
    settings: Settings, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3.environment.items():
        monkeypatch.setenv(name, value)
    bucket = s3.create_bucket()
    on_s3 = settings.model_copy(update={"data_dir": f"s3://{bucket}/dqm", "worker_processes": 0})
    profile = profile_arrow(pa.table(frame(500, 3, shift=1.0)), profiled_types(SCHEMA))
    with running_server(on_s3) as client:
        assert client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).is_success
        assert client.put("/v1/datasets/d/reference", json=records(frame(400, 1))).is_success
        rows = client.post(
            "/v1/datasets/d/batches?batch_id=r",
            content=parquet_bytes(frame(300, 2)),
            headers={"content-type": "application/vnd.apache.parquet"},
        )
        assert rows.status_code == 201, rows.text
        sent = client.post(
            "/v1/datasets/d/profiles?batch_id=p",
            content=codec.encode(profile),
            headers={"content-type": "application/vnd.dqm.profile"},
        )
        assert sent.status_code == 201, sent.text
        keys = s3.keys(bucket, "dqm/datasets/")
        assert len([k for k in keys if "/profiles/" in k and k.endswith(".dqmp")]) == 2
        assert len([k for k in keys if "/batches/" in k]) == 1
        monitor = {
            "name": "m",
            "dataset": "d",
            "kind": "drift",
            "schedule": {"every": "1d"},
            "window": {"last_batches": 2},
            "params": {"data": "profiles"},
        }
        assert client.post("/v1/monitors", json=monitor).status_code == 201
        done = client.post("/v1/monitors/m/run?wait=true").json()
        run = client.get(f"/v1/runs/{done['id']}").json()
        assert run["status"] == "succeeded", run
        assert run["window"]["data"] == "profiles" and run["window"]["rows"] == 800
        assert client.delete("/v1/datasets/d").status_code == 204
    assert s3.keys(bucket, "dqm/datasets/") == []
