"""README.md's configuration table, row by row: each variable is the setting it names, with the
default it states, read from the environment, and does what the table says.

The roles and the run lease are in tests/service/runs/test_roles_and_leases.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

import tests.service.console.test_console_auth as console_auth
import tests.service.console.test_prefix as console_prefix
import tests.service.ingest.test_reconciler as reconciler_tests
import tests.service.ingest.test_upload_limits as upload_limits
import tests.service.profiles.test_drift_on_profiles as drift_on_profiles
import tests.service.runs.test_report_sampling as report_sampling
import tests.service.runs.test_retention as retention_tests
import tests.service.runs.test_roles_and_leases as roles_and_leases
import tests.service.runs.test_shutdown as shutdown_tests
import tests.service.runs.test_worker_pool as worker_pool
from dqm.service.db.models import Dataset
from dqm.service.db.session import make_engine, make_sessionmaker
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, drift_monitor, frame, records
from tests.service.scrape import scrape_until
from tests.support.receiver import running_receiver
from tests.support.server import free_port, running_server

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_table() -> dict[str, str]:
    """``{field name: default as written}`` from the rows of the Configuration table."""
    section = README.read_text(encoding="utf-8").split("## Configuration", 1)[1].split("\n## ")[0]
    table: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        names = re.findall(r"`DQM_(\w+)`", cells[0]) if line.startswith("| `DQM_") else []
        defaults = [d.strip().strip("`") for d in cells[1].split(", ")] if names else []
        if len(defaults) != len(names):
            defaults = [cells[1]] * len(names)
        table.update({n.lower(): d for n, d in zip(names, defaults, strict=True)})
    return table


def test_the_table_names_settings_with_their_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith("DQM_")]:
        monkeypatch.delenv(name)
    table = readme_table()
    assert "role" in table and "run_lease_seconds" in table  # the parser found the table
    defaults = Settings()
    for name, written in table.items():
        assert name in Settings.model_fields, f"DQM_{name.upper()} is not a setting"
        actual = getattr(defaults, name)
        if written.startswith("unset"):
            assert actual is None, name
        elif name == "public_url":
            assert actual is None and written == "http://HOST:PORT"
            assert defaults.base_url() == f"http://{defaults.host}:{defaults.port}"
        elif isinstance(actual, int | float):
            assert float(written) == actual, name
        else:
            assert written == actual, name


ENVIRONMENT = {
    "DQM_DATABASE_URL": ("postgresql://u@db.example.com/dqm", "database_url"),
    "DQM_DATA_DIR": ("s3://bucket/prefix", "data_dir"),
    "DQM_HOST": ("0.0.0.0", "host"),
    "DQM_PORT": ("9000", "port"),
    "DQM_ROLE": ("worker", "role"),
    "DQM_PUBLIC_URL": ("https://dqm.example.com/", "public_url"),
    "DQM_WEBHOOK_ALLOWLIST": ("hooks.example.com,10.0.0.0/8", "webhook_allowlist"),
    "DQM_MAX_BODY_BYTES": ("1024", "max_body_bytes"),
    "DQM_MAX_UPLOAD_ROWS": ("5000", "max_upload_rows"),
    "DQM_MAX_UPLOAD_DECODED_BYTES": ("65536", "max_upload_decoded_bytes"),
    "DQM_REPORT_MAX_ROWS": ("2000", "report_max_rows"),
    "DQM_METRICS_MAX_FEATURES": ("3", "metrics_max_features"),
    "DQM_ROWS_WINDOW_MAX_ROWS": ("1000", "rows_window_max_rows"),
    "DQM_ROOT_PATH": ("/team/dqm", "root_path"),
    "DQM_CONSOLE_SESSION_SECONDS": ("600", "console_session_seconds"),
    "DQM_WORKER_PROCESSES": ("3", "worker_processes"),
    "DQM_WORKER_NICE": ("5", "worker_nice"),
    "DQM_RUN_LEASE_SECONDS": ("12.5", "run_lease_seconds"),
    "DQM_ORPHAN_GRACE_SECONDS": ("7200", "orphan_grace_seconds"),
    "DQM_RECONCILE_INTERVAL_SECONDS": ("30", "reconcile_interval_seconds"),
    "DQM_SHUTDOWN_GRACE_SECONDS": ("20", "shutdown_grace_seconds"),
    "DQM_RETENTION_RUNS_DAYS": ("30", "retention_runs_days"),
    "DQM_RETENTION_FINDINGS_DAYS": ("2.5", "retention_findings_days"),
    "DQM_RETENTION_DELIVERIES_DAYS": ("0", "retention_deliveries_days"),
    "DQM_RETENTION_HISTORY_DAYS": ("730", "retention_history_days"),
    "DQM_RETENTION_INTERVAL_SECONDS": ("15", "retention_interval_seconds"),
    "DQM_RETENTION_BATCH_SIZE": ("50", "retention_batch_size"),
}


def test_each_variable_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = {f"DQM_{n.upper()}" for n in readme_table()}
    assert rows <= set(ENVIRONMENT), (
        f"give these rows a value in ENVIRONMENT: {rows - set(ENVIRONMENT)}"
    )
    assert set(ENVIRONMENT) <= rows, f"not in the README's table: {set(ENVIRONMENT) - rows}"
    for name, (value, _) in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    read = Settings()
    got = {name: getattr(read, field) for name, (_, field) in ENVIRONMENT.items()}
    assert got == {
        "DQM_DATABASE_URL": "postgresql+psycopg://u@db.example.com/dqm",  # the installed driver
        "DQM_DATA_DIR": "s3://bucket/prefix",
        "DQM_HOST": "0.0.0.0",
        "DQM_PORT": 9000,
        "DQM_ROLE": "worker",
        "DQM_PUBLIC_URL": "https://dqm.example.com/",
        "DQM_WEBHOOK_ALLOWLIST": "hooks.example.com,10.0.0.0/8",
        "DQM_MAX_BODY_BYTES": 1024,
        "DQM_MAX_UPLOAD_ROWS": 5000,
        "DQM_MAX_UPLOAD_DECODED_BYTES": 65536,
        "DQM_REPORT_MAX_ROWS": 2000,
        "DQM_METRICS_MAX_FEATURES": 3,
        "DQM_ROWS_WINDOW_MAX_ROWS": 1000,
        "DQM_ROOT_PATH": "/team/dqm",
        "DQM_CONSOLE_SESSION_SECONDS": 600,
        "DQM_WORKER_PROCESSES": 3,
        "DQM_WORKER_NICE": 5,
        "DQM_RUN_LEASE_SECONDS": 12.5,
        "DQM_ORPHAN_GRACE_SECONDS": 7200,
        "DQM_RECONCILE_INTERVAL_SECONDS": 30,
        "DQM_SHUTDOWN_GRACE_SECONDS": 20,
        "DQM_RETENTION_RUNS_DAYS": 30,
        "DQM_RETENTION_FINDINGS_DAYS": 2.5,
        "DQM_RETENTION_DELIVERIES_DAYS": 0,
        "DQM_RETENTION_HISTORY_DAYS": 730,
        "DQM_RETENTION_INTERVAL_SECONDS": 15,
        "DQM_RETENTION_BATCH_SIZE": 50,
    }
    assert read.base_url() == "https://dqm.example.com"


@contextmanager
def serving(cwd: Path, url: str, *args: str, **env: str) -> Iterator[httpx.Client]:
    """``dqm serve *args`` run from ``cwd`` with ``env`` added; a client for ``url``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DQM_")}
    environ |= {"DQM_LOG_LEVEL": "warning", **env}
    command = [sys.executable, "-m", "dqm.service.cli", "serve", *args]
    proc = subprocess.Popen(command, cwd=cwd, env=environ)
    client = httpx.Client(base_url=url, timeout=60)
    try:
        deadline = time.monotonic() + 60
        while not _healthy(client):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dqm serve did not answer on {url} (exit {proc.poll()})")
            time.sleep(0.1)
        yield client
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _healthy(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


def _refused(url: str) -> bool:
    try:
        httpx.get(url, timeout=5)
    except httpx.ConnectError:
        return True
    return False


@pytest.mark.slow
def test_database_url_and_data_dir_say_where_the_service_keeps_its_data(
    settings: Settings, tmp_path: Path
) -> None:
    cwd, data = tmp_path / "cwd", tmp_path / "elsewhere"
    cwd.mkdir()
    port = free_port()
    env = {"DQM_DATABASE_URL": settings.database_url, "DQM_DATA_DIR": str(data)}
    uploaded = frame(300, 1)
    url = f"http://127.0.0.1:{port}"
    with serving(cwd, url, "--port", str(port), "--no-migrate", **env) as client:
        assert client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
        put = client.put("/v1/datasets/d/reference", json=records(uploaded))
        assert put.status_code == 201, put.text
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            assert session.scalars(select(Dataset.name)).all() == ["d"]
    finally:
        engine.dispose()
    [stored] = list(data.rglob("*.parquet"))
    assert pq.read_table(stored).column("id").to_pylist() == uploaded["id"]
    assert list(cwd.iterdir()) == []  # the default ./dqm-data was not used


@pytest.mark.slow
def test_host_and_port_from_the_environment_and_the_flags(
    settings: Settings, tmp_path: Path
) -> None:
    db = {"DQM_DATABASE_URL": settings.database_url, "DQM_DATA_DIR": settings.data_dir}
    env_port, flag_port = free_port(), free_port()
    with serving(
        tmp_path,
        f"http://127.0.0.2:{env_port}",
        "--no-migrate",
        DQM_HOST="127.0.0.2",
        DQM_PORT=str(env_port),
        **db,
    ):
        assert _refused(f"http://127.0.0.1:{env_port}/healthz")  # bound to DQM_HOST only
    with serving(
        tmp_path,
        f"http://127.0.0.1:{flag_port}",
        "--host",
        "127.0.0.1",
        "--port",
        str(flag_port),
        "--no-migrate",
        DQM_HOST="127.0.0.2",
        DQM_PORT=str(env_port),
        **db,
    ):
        assert _refused(f"http://127.0.0.2:{env_port}/healthz")  # the flags win


def test_max_body_bytes_caps_request_bodies_with_a_413(settings: Settings) -> None:
    body = httpx.Request("PUT", "/", json=records(frame(50, 1))).content
    for cap, expected in ((len(body), 201), (len(body) - 1, 413)):
        with running_server(settings.model_copy(update={"max_body_bytes": cap})) as client:
            client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).raise_for_status()
            put = client.put(
                "/v1/datasets/d/reference",
                content=body,
                headers={"content-type": "application/json"},
            )
            assert put.status_code == expected, (cap, put.text)
            if expected == 413:
                assert put.json()["error"]["code"] == "payload_too_large"
            client.delete("/v1/datasets/d").raise_for_status()


def _drifting_monitor(client: httpx.Client, hook_url: str | None = None) -> tuple[str, int]:
    """A dataset whose batch drifts and a drift monitor (asking a hook at ``hook_url`` to
    retrain, if given), run once. Returns the hook's secret (or "") and the run id."""
    client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).raise_for_status()
    client.put("/v1/datasets/d/reference", json=records(frame(500, 1))).raise_for_status()
    batch = records(frame(300, 2, shift=1.0))
    client.post("/v1/datasets/d/batches", json=batch).raise_for_status()
    monitor = drift_monitor("m", "d", "h")
    secret = ""
    if hook_url is None:
        del monitor["actions"]
    else:
        hook = client.post(
            "/v1/hooks", json={"name": "h", "url": hook_url, "events": ["alert.firing"]}
        )
        assert hook.status_code == 201, hook.text
        secret = hook.json()["secret"]
    client.post("/v1/monitors", json=monitor).raise_for_status()
    run = client.post("/v1/monitors/m/run?wait=true").json()
    assert run["status"] == "succeeded", run
    return secret, int(run["id"])


@pytest.mark.parametrize("public_url", [None, "https://dqm.example.com/monitoring/"])
def test_public_url_is_the_base_of_links_in_webhooks(
    settings: Settings, public_url: str | None
) -> None:
    configured = settings.model_copy(
        update={"public_url": public_url, "webhook_allowlist": "127.0.0.1/32"}
    )
    with running_receiver() as receiver, running_server(configured) as client:
        secret, run_id = _drifting_monitor(client, receiver.url)
        receiver.secrets.append(secret)
        alert = receiver.wait_for(1, "alert.firing")[0].event["data"]
        retrain = receiver.wait_for(1, "retrain.requested")[0].event["data"]
        base = "https://dqm.example.com/monitoring" if public_url else str(client.base_url)
    assert base.startswith("http") and not base.endswith("/")
    assert alert["run_url"] == f"{base}/v1/runs/{run_id}"
    assert retrain["report_url"] == f"{base}/v1/runs/{run_id}/report"


def test_webhook_allowlist_lets_webhooks_reach_the_listed_targets(settings: Settings) -> None:
    configured = settings.model_copy(update={"webhook_allowlist": "10.0.0.0/8,127.0.0.1/32"})
    with running_receiver() as receiver, running_server(configured) as client:
        receiver.secrets.append(_drifting_monitor(client, receiver.url)[0])
        received = receiver.wait_for(1, "alert.firing") + receiver.wait_for(1, "retrain.requested")
    assert all(r.verified for r in received)


def test_webhook_allowlist_refuses_hooks_to_other_targets(settings: Settings) -> None:
    configured = settings.model_copy(update={"webhook_allowlist": "hooks.example.com,10.0.0.0/8"})
    with running_receiver() as receiver, running_server(configured) as client:
        hook = {"name": "h", "url": receiver.url, "events": ["alert.firing"]}
        refused = client.post("/v1/hooks", json=hook)
        assert refused.status_code == 422, refused.text
        assert "DQM_WEBHOOK_ALLOWLIST" in refused.json()["error"]["message"]
        assert client.get("/v1/hooks").json()["items"] == []
    assert receiver.received == []


def scraped_features(scrape: str) -> dict[str, set[str]]:
    """``{metric: features}`` of the per-column monitor metrics on a /metrics page."""
    features: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(scrape):
        if family.name == "dqm_monitor_column_metric":
            for sample in family.samples:
                features.setdefault(sample.labels["metric"], set()).add(sample.labels["feature"])
    return features


@pytest.mark.parametrize("cap", [0, 2, 50])
def test_metrics_max_features_caps_per_column_series(settings: Settings, cap: int) -> None:
    configured = settings.model_copy(update={"metrics_max_features": cap})
    with running_server(configured) as client:
        _, run_id = _drifting_monitor(client)
        run = client.get(f"/v1/runs/{run_id}").json()
        columns: dict[str, list[str]] = {}
        for m in run["metrics"]:
            if m["column"] is not None and m["value"] is not None:
                columns.setdefault(m["name"], []).append(m["column"])
        assert max(map(len, columns.values())) > 2  # the cap of 2 has something to cut
        expected = {name: set(cols[:cap]) for name, cols in columns.items() if cols[:cap]}
        dataset_level = {m["name"] for m in run["metrics"] if m["column"] is None}
        # Once the snapshot holds the run (its dataset-level values), the cap applies.
        scrape = scrape_until(client, *(f'metric="{name}"' for name in dataset_level))
    assert scraped_features(scrape) == expected


BEHAVIOUR = {
    "database_url": test_database_url_and_data_dir_say_where_the_service_keeps_its_data,
    "data_dir": test_database_url_and_data_dir_say_where_the_service_keeps_its_data,
    "host": test_host_and_port_from_the_environment_and_the_flags,
    "port": test_host_and_port_from_the_environment_and_the_flags,
    "role": roles_and_leases.test_api_role_serves_http_and_leaves_runs_to_a_worker,
    "public_url": test_public_url_is_the_base_of_links_in_webhooks,
    "webhook_allowlist": test_webhook_allowlist_refuses_hooks_to_other_targets,
    "max_body_bytes": test_max_body_bytes_caps_request_bodies_with_a_413,
    "max_upload_rows": upload_limits.test_the_limits_are_settings,
    "max_upload_decoded_bytes": upload_limits.test_the_limits_are_settings,
    "report_max_rows": report_sampling.test_a_window_past_the_limit_is_sampled_and_the_page_says_so,
    "metrics_max_features": test_metrics_max_features_caps_per_column_series,
    "rows_window_max_rows": drift_on_profiles.test_auto_reads_rows_up_to_the_limit_then_profiles,
    "worker_processes": worker_pool.test_runs_execute_in_parallel_each_exactly_once,
    "worker_nice": worker_pool.test_worker_processes_run_at_the_configured_lower_priority,
    "run_lease_seconds": roles_and_leases.test_an_abandoned_run_is_taken_again_after_the_lease,
    "orphan_grace_seconds": reconciler_tests.test_old_orphans_go_fresh_and_referenced_files_stay,
    "reconcile_interval_seconds": reconciler_tests.test_the_worker_reconciles_periodically,
    "shutdown_grace_seconds": shutdown_tests.test_sigterm_exits_within_the_grace_period,
    "retention_runs_days": retention_tests.test_old_runs_become_hourly_points_in_batches,
    "retention_findings_days": retention_tests.test_each_kind_goes_after_its_own_age,
    "retention_deliveries_days": retention_tests.test_each_kind_goes_after_its_own_age,
    "retention_history_days": retention_tests.test_each_kind_goes_after_its_own_age,
    "retention_interval_seconds": retention_tests.test_the_worker_runs_retention,
    "retention_batch_size": retention_tests.test_old_runs_become_hourly_points_in_batches,
    "root_path": console_prefix.test_dqm_root_path_serves_both_stripped_and_prefixed_paths,
    "console_session_seconds": (
        console_auth.test_sign_in_sets_an_http_only_strict_cookie_and_returns_to_a_local_page
    ),
}


def test_every_row_of_the_table_has_a_behaviour_test() -> None:
    rows = set(readme_table())
    untested = sorted(f"DQM_{n.upper()}" for n in rows - set(BEHAVIOUR))
    assert not untested, f"README rows without a test registered in BEHAVIOUR: {untested}"
    assert set(BEHAVIOUR) <= rows, f"not in the README's table: {set(BEHAVIOUR) - rows}"
