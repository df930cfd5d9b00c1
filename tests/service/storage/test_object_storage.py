"""DQM_DATA_DIR=s3://bucket/prefix against a real S3-compatible server (moto's standalone
server on loopback): ingest, runs, reports, deletes, the orphan reconciler, two replicas on one
bucket, credentials from the standard AWS variables, and a clear refusal to start when the
bucket cannot be used."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import dqm.service.ingest.reconciler as reconciler
import dqm.service.runs.reports as reports
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, drift_monitor, frame, parquet_bytes, records
from tests.service.helpers import make_context
from tests.support.process import dqm_process
from tests.support.s3 import S3Server, s3_server
from tests.support.server import free_port, running_server

PARQUET = "application/vnd.apache.parquet"
ON_POSTGRES = os.environ.get("DQM_TEST_DATABASE_URL", "").startswith("postgresql")


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture
def bucket_settings(
    settings: Settings, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> tuple[Settings, str]:
    """Settings whose data folder is a fresh bucket; the AWS variables reach it."""
    for name, value in s3.environment.items():
        monkeypatch.setenv(name, value)
    bucket = s3.create_bucket()
    # Runs in this process: run processes fork from a forkserver that keeps the environment
    # of its start, maybe before these variables were set (a real process has them from its
    # start: the two-replica test runs its runs in worker processes).
    update = {"data_dir": f"s3://{bucket}/dqm", "worker_processes": 0}
    return settings.model_copy(update=update), bucket


def create_dataset(client: httpx.Client, name: str = "d") -> None:
    assert client.post("/v1/datasets", json={"name": name, "schema": SCHEMA}).status_code == 201
    reference = client.put(f"/v1/datasets/{name}/reference", json=records(frame(400, 1)))
    assert reference.status_code == 201, reference.text


def push_batch(
    client: httpx.Client, batch_id: str, shift: float, name: str = "d", status: int = 201
) -> None:
    body = parquet_bytes(frame(300, 2, shift=shift, prefix=batch_id))
    response = client.post(
        f"/v1/datasets/{name}/batches",
        params={"batch_id": batch_id},
        content=body,
        headers={"content-type": PARQUET},
    )
    assert response.status_code == status, response.text


def add_hook(client: httpx.Client) -> None:
    hook = {"name": "h", "url": "http://127.0.0.1:9/x", "events": ["retrain.requested"]}
    response = client.post("/v1/hooks", json=hook)
    assert response.status_code == 201, response.text


def data_keys(s3: S3Server, bucket: str) -> list[str]:
    return s3.keys(bucket, "dqm/datasets/")


def test_ingest_run_report_and_delete_keep_their_files_in_the_bucket(
    bucket_settings: tuple[Settings, str], s3: S3Server
) -> None:
    settings, bucket = bucket_settings
    with running_server(settings) as client:
        create_dataset(client)
        push_batch(client, "b1", shift=2.0)
        keys = data_keys(s3, bucket)
        assert len([k for k in keys if "/references/" in k]) == 1, keys
        assert len([k for k in keys if "/batches/" in k]) == 1, keys
        assert not [k for k in s3.keys(bucket) if k.endswith(".tmp")]  # nothing left behind

        add_hook(client)
        created = client.post("/v1/monitors", json=drift_monitor("m", "d", "h"))
        assert created.status_code == 201, created.text
        run = client.post("/v1/monitors/m/run", params={"wait": "true"}).json()
        assert run["status"] == "succeeded", run
        drifted = {m["column"]: m["drifted"] for m in run["metrics"] if m["name"] == "drift_score"}
        assert drifted["age"] is True and drifted["income"] is True, drifted

        report = client.get(f"/v1/runs/{run['id']}/report")
        assert report.status_code == 200
        assert "age" in report.text
        stored_reports = [k for k in data_keys(s3, bucket) if "/reports/" in k]
        assert stored_reports == [f"dqm/{reports.cache_path(1, run['id'])}"]

        # An idempotent replay writes nothing new into the bucket.
        push_batch(client, "b1", shift=2.0, status=200)
        assert len(data_keys(s3, bucket)) == len(keys) + 1

        assert client.delete("/v1/datasets/d").status_code == 204
        assert data_keys(s3, bucket) == []


def test_reconciler_removes_orphan_objects_and_keeps_referenced_ones(
    bucket_settings: tuple[Settings, str], s3: S3Server
) -> None:
    settings, bucket = bucket_settings
    settings = settings.model_copy(update={"orphan_grace_seconds": 0})
    with running_server(settings) as client:
        create_dataset(client)
        push_batch(client, "b1", shift=0.0)
    kept = data_keys(s3, bucket)
    dataset_folder = kept[0].split("/references/")[0].split("/batches/")[0]
    orphans = [
        f"{dataset_folder}/batches/0123456789abcdef0123456789abcdef.parquet",
        f"{dataset_folder}/batches/.a.parquet.1f2e.tmp",
        "dqm/datasets/999/references/0123456789abcdef0123456789abcdef.parquet",
    ]
    for key in orphans:
        s3.put(bucket, key, b"not parquet")
    s3.put(bucket, "dqm/notes.txt", b"someone else's file")

    ctx = make_context(settings, "s3-reconciler")
    try:
        removed = reconciler.reconcile(ctx)
    finally:
        ctx.engine.dispose()

    assert sum(removed.values()) == len(orphans), removed
    assert data_keys(s3, bucket) == kept
    assert "dqm/notes.txt" in s3.keys(bucket)  # files dqm did not write stay


@pytest.mark.slow
@pytest.mark.skipif(
    not ON_POSTGRES, reason="two replicas on one database need PostgreSQL (DQM_TEST_DATABASE_URL)"
)
def test_two_replicas_share_one_bucket(bucket_settings: tuple[Settings, str], s3: S3Server) -> None:
    settings, bucket = bucket_settings
    with (
        dqm_process(settings, **s3.environment) as first,
        dqm_process(settings, **s3.environment) as second,
    ):
        create_dataset(first)  # the reference file is written by one replica
        push_batch(second, "b1", shift=2.0)  # the batch by the other
        add_hook(first)
        assert first.post("/v1/monitors", json=drift_monitor("m", "d", "h")).status_code == 201
        for replica in (first, second):  # each reads what the other wrote
            run = replica.post("/v1/monitors/m/run", params={"wait": "true"}).json()
            assert run["status"] == "succeeded", run
            assert run["metrics"], run
        keys = data_keys(s3, bucket)
        assert len([k for k in keys if "/references/" in k or "/batches/" in k]) == 2, keys


def start_failure(settings: Settings, environment: dict[str, str], tmp_path: Path) -> str:
    """Run ``dqm serve`` expecting it to refuse to start; return what it logged."""
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        **environment,
        "DQM_DATABASE_URL": settings.database_url,
        "DQM_DATA_DIR": settings.data_dir,
    }
    with log.open("wb") as out:
        proc = subprocess.run(
            [sys.executable, "-m", "dqm.service.cli", "serve", "--port", str(free_port())],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=120,
        )
    text = log.read_text()
    assert proc.returncode != 0, text
    return text


@pytest.mark.slow
def test_a_missing_bucket_stops_the_start_with_the_reason(
    settings: Settings, s3: S3Server, tmp_path: Path
) -> None:
    missing = settings.model_copy(update={"data_dir": "s3://no-such-bucket-dqm/prefix"})
    text = start_failure(missing, s3.environment, tmp_path)
    assert "DQM_DATA_DIR=s3://no-such-bucket-dqm/prefix is not usable" in text, text
    assert "bucket does not exist" in text, text


@pytest.mark.slow  # the S3 client retries for about 6 s before it gives up
def test_an_unreachable_endpoint_stops_the_start_with_the_reason(
    settings: Settings, s3: S3Server, tmp_path: Path
) -> None:
    bucket = s3.create_bucket()
    unreachable = {**s3.environment, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    text = start_failure(
        settings.model_copy(update={"data_dir": f"s3://{bucket}/p"}), unreachable, tmp_path
    )
    assert f"DQM_DATA_DIR=s3://{bucket}/p is not usable" in text, text
    assert "AWS_ENDPOINT_URL" in text
