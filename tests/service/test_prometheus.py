"""The real /metrics output against the real Prometheus tools: ``promtool check metrics`` and a
Prometheus server that scrapes dqm and answers a query with the run's value.

Both come from the Debian package ``prometheus`` (.ci/run installs it); a missing binary fails
these tests rather than skipping them.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from dqm.service.settings import Settings
from tests.service.data import SCHEMA, drift_monitor, frame, parquet_bytes, records
from tests.service.scrape import scrape_until
from tests.support.receiver import running_receiver
from tests.support.server import free_port, running_server

# promtool and a Prometheus server are processes from outside the virtual environment, which
# `make test` installs and `make test-fast` does not.
pytestmark = pytest.mark.slow
PARQUET = {"content-type": "application/vnd.apache.parquet"}
SHARE = 'dqm_monitor_metric{metric="share_drifted_columns",monitor="churn-drift"}'


def tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/bin")
    if path is None:
        pytest.fail(f"{name} is missing: install the Debian package `prometheus` (.ci/run does)")
    return path


@contextmanager
def served_after_a_run(settings: Settings) -> Iterator[tuple[httpx.Client, float]]:
    """A dqm server that has done a drifted run, fired an alert and delivered its webhooks;
    yields a client and the run's share_drifted_columns."""
    with running_receiver() as receiver, running_server(settings) as client:
        client.post("/v1/datasets", json={"name": "churn", "schema": SCHEMA})
        client.put(
            "/v1/datasets/churn/reference", content=parquet_bytes(frame(1000, 1)), headers=PARQUET
        )
        hook = client.post(
            "/v1/hooks", json={"name": "trainer", "url": receiver.url, "events": ["alert.firing"]}
        )
        receiver.secrets.append(hook.json()["secret"])
        monitor = drift_monitor("churn-drift", "churn", "trainer")
        assert client.post("/v1/monitors", json=monitor).status_code == 201
        drifted = records(frame(300, 3, shift=1.0, prefix="d"))
        client.post("/v1/datasets/churn/batches?batch_id=b1", json=drifted)
        run = client.post("/v1/monitors/churn-drift/run?wait=true").json()
        assert run["status"] == "succeeded", run
        share = next(m["value"] for m in run["metrics"] if m["name"] == "share_drifted_columns")
        assert receiver.wait_for(1, "retrain.requested") and receiver.wait_for(1, "alert.firing")
        # The relay records the delivery after the receiver; the snapshot follows.
        scrape_until(
            client,
            'dqm_deliveries{state="delivered"} 2.0',
            'dqm_runs_total{dataset="churn",monitor="churn-drift",outcome="succeeded"} 1.0',
            'dqm_alert_firing{dataset="churn"',
        )
        yield client, share


def test_promtool_accepts_the_real_metrics(settings: Settings) -> None:
    promtool = tool("promtool")
    with served_after_a_run(settings) as (client, _):
        scrape = client.get("/metrics").text
    for family in ("dqm_runs_total", "dqm_alert_firing", "dqm_delivery_attempts_total", SHARE):
        assert family.split("{")[0] in scrape, family
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=scrape, capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == "" and checked.stderr.strip() == ""


def test_promtool_reports_a_broken_exposition() -> None:
    # The check above can fail: promtool flags a counter without the _total suffix.
    broken = "# HELP dqm_runs Runs.\n# TYPE dqm_runs counter\ndqm_runs 1\n"
    checked = subprocess.run(
        [tool("promtool"), "check", "metrics"], input=broken, capture_output=True, text=True
    )
    assert checked.returncode != 0 and "_total" in checked.stdout + checked.stderr


@contextmanager
def prometheus_scraping(target: str, tmp_path: Path) -> Iterator[httpx.Client]:
    """A real Prometheus on a free loopback port scraping ``target`` every second."""
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: dqm\n    static_configs: [{{targets: ['{target}']}}]\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            tool("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            yield client
    finally:
        proc.kill()
        proc.wait(timeout=10)


def query_until_found(prometheus: httpx.Client, query: str, seconds: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            answer = prometheus.get("/api/v1/query", params={"query": query})
            if answer.status_code == 200 and answer.json()["data"]["result"]:
                result: list[dict[str, Any]] = answer.json()["data"]["result"]
                return result
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.25)
    raise AssertionError(f"Prometheus found no {query} within {seconds} s")


def test_prometheus_scrapes_dqm_and_answers_with_the_run_value(
    settings: Settings, tmp_path: Path
) -> None:
    with served_after_a_run(settings) as (client, share):
        target = str(client.base_url).removeprefix("http://").rstrip("/")
        with prometheus_scraping(target, tmp_path) as prometheus:
            [series] = query_until_found(prometheus, SHARE, seconds=15)
            up = query_until_found(prometheus, 'up{job="dqm"}', seconds=5)
    assert series["metric"]["dataset"] == "churn"
    assert series["metric"]["job"] == "dqm"
    assert float(series["value"][1]) == share and share > 0
    assert up[0]["value"][1] == "1"
