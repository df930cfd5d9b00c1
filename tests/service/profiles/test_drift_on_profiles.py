"""Drift runs on profiles against a real server: the same verdicts as on rows, the KS
statistic within 0.01 of scipy's on the rows, ``auto`` choosing as documented, and methods
that need rows skipped on profile-only windows."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from dqm.service.settings import Settings
from dqm_client.profiles import codec, profile_arrow
from tests.service.data import parquet_bytes
from tests.support.server import running_server

SCHEMA = {
    "columns": [
        {"name": "moved", "type": "numerical"},
        {"name": "still", "type": "numerical"},
        {"name": "city", "type": "categorical"},
        {"name": "note", "type": "text"},
    ]
}
TYPES: Any = {"moved": "numerical", "still": "numerical", "city": "categorical"}
PARQUET = {"content-type": "application/vnd.apache.parquet"}
PROFILE = {"content-type": "application/vnd.dqm.profile"}
CITIES = ["paris", "lyon", "nice", "lille"]


def rows(n: int, seed: int, shift: float) -> dict[str, Any]:
    """``moved`` shifted by ``shift`` std devs and cities reweighted when shift > 0;
    ``still`` never moves."""
    rng = np.random.default_rng(seed)
    weights = [0.4, 0.3, 0.2, 0.1] if shift == 0 else [0.1, 0.2, 0.3, 0.4]
    return {
        "moved": (rng.normal(0, 1, n) + shift).tolist(),
        "still": rng.exponential(2.0, n).tolist(),
        "city": rng.choice(CITIES, n, p=weights).tolist(),
        "note": ["free text"] * n,
    }


def _setup(client: httpx.Client, reference: dict[str, Any]) -> None:
    assert client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
    put = client.put("/v1/datasets/d/reference", content=parquet_bytes(reference), headers=PARQUET)
    assert put.status_code == 201, put.text


def _monitor(client: httpx.Client, name: str, batches: int, **params: Any) -> None:
    body = {
        "name": name,
        "dataset": "d",
        "kind": "drift",
        "schedule": {"every": "1d"},
        "window": {"last_batches": batches},
        "params": params,
    }
    created = client.post("/v1/monitors", json=body)
    assert created.status_code == 201, created.text


def _run(client: httpx.Client, name: str) -> dict[str, Any]:
    done = client.post(f"/v1/monitors/{name}/run?wait=true")
    assert done.status_code in (200, 201), done.text
    run: dict[str, Any] = client.get(f"/v1/runs/{done.json()['id']}").json()
    assert run["status"] == "succeeded", run
    return run


def _scores(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["column"]: m for m in run["metrics"] if m["name"] == "drift_score"}


def test_profiles_agree_with_rows_within_the_bounds(settings: Settings) -> None:
    reference = rows(20_000, 1, 0.0)
    batches = [rows(30_000, 2, 0.3), rows(30_000, 3, 0.3)]
    with running_server(settings) as client:
        _setup(client, reference)
        for i, batch in enumerate(batches):
            sent = client.post(
                f"/v1/datasets/d/batches?batch_id=b{i}",
                content=parquet_bytes(batch),
                headers=PARQUET,
            )
            assert sent.status_code == 201, sent.text
        for data in ("rows", "profiles"):
            _monitor(client, f"ks-{data}", 2, data=data, num_stattest="ks")
            _monitor(client, f"default-{data}", 2, data=data)
        runs = {name: _run(client, name) for name in ("ks-rows", "ks-profiles")}
        runs |= {name: _run(client, name) for name in ("default-rows", "default-profiles")}
    for kind in ("ks", "default"):
        exact, approx = runs[f"{kind}-rows"], runs[f"{kind}-profiles"]
        assert (exact["window"]["data"], approx["window"]["data"]) == ("rows", "profiles")
        assert exact["window"]["rows"] == approx["window"]["rows"] == 60_000
        got, want = _scores(approx), _scores(exact)
        for column in ("moved", "still", "city"):
            assert got[column]["method"] == want[column]["method"], column
            assert got[column]["drifted"] == want[column]["drifted"], (kind, column)
        assert want["moved"]["drifted"] and want["city"]["drifted"]
        assert not want["still"]["drifted"]
        assert got["note"]["status"] == want["note"]["status"]  # text is never tested
    window = {c: np.concatenate([b[c] for b in batches]) for c in ("moved", "still")}
    ks = _scores(runs["ks-profiles"])
    for column in ("moved", "still"):
        oracle = stats.ks_2samp(reference[column], window[column]).statistic
        assert abs(ks[column]["details"]["statistic"] - oracle) <= 0.01, column
        assert ks[column]["details"]["bound"] <= 0.01
    default = _scores(runs["default-profiles"])
    exact_default = _scores(runs["default-rows"])
    for column in ("moved", "still"):  # normed Wasserstein: within its stated bound
        assert default[column]["method"] == "wasserstein"
        diff = abs(default[column]["value"] - exact_default[column]["value"])
        assert diff <= default[column]["details"]["bound"], column
    assert default["city"]["value"] == pytest.approx(exact_default["city"]["value"], abs=1e-12)
    share = {k: _metric(r, "share_drifted_columns") for k, r in runs.items()}
    assert (
        share["ks-rows"] == share["ks-profiles"]
        and share["default-rows"] == share["default-profiles"]
    )


def _metric(run: dict[str, Any], name: str) -> float:
    return float(
        next(m["value"] for m in run["metrics"] if m["name"] == name and m["column"] is None)
    )


def test_auto_reads_rows_up_to_the_limit_then_profiles(settings: Settings) -> None:
    limited = settings.model_copy(update={"rows_window_max_rows": 1_500})
    with running_server(limited) as client:
        _setup(client, rows(2_000, 1, 0.0))
        _monitor(client, "auto", 2, data="auto")
        client.post("/v1/datasets/d/batches?batch_id=a", json=_records(rows(700, 2, 0.0)))
        client.post("/v1/datasets/d/batches?batch_id=b", json=_records(rows(800, 3, 0.0)))
        first = _run(client, "auto")  # 1,500 rows, all with rows: rows
        client.post("/v1/datasets/d/batches?batch_id=c", json=_records(rows(900, 4, 0.0)))
        second = _run(client, "auto")  # 1,700 rows: profiles
        profile = profile_arrow(pa.table(rows(100, 5, 0.0)), TYPES)
        sent = client.post(
            "/v1/datasets/d/profiles?batch_id=p", content=codec.encode(profile), headers=PROFILE
        )
        assert sent.status_code == 201, sent.text
        third = _run(client, "auto")  # 1,000 rows, one batch without rows: profiles
    assert (first["window"]["data"], first["window"]["rows"]) == ("rows", 1_500)
    assert (second["window"]["data"], second["window"]["rows"]) == ("profiles", 1_700)
    assert (third["window"]["data"], third["window"]["rows"]) == ("profiles", 1_000)
    assert third["window"]["batch_ids"] == ["c", "p"]


def test_a_profile_only_window_skips_what_needs_rows(settings: Settings) -> None:
    with running_server(settings) as client:
        _setup(client, rows(2_000, 1, 0.0))
        profile = profile_arrow(pa.table(rows(3_000, 2, 1.0)), TYPES)
        sent = client.post(
            "/v1/datasets/d/profiles?batch_id=p", content=codec.encode(profile), headers=PROFILE
        )
        assert sent.status_code == 201, sent.text
        _monitor(client, "rows", 1)
        _monitor(client, "needs-rows", 1, data="profiles", per_column_method={"moved": "ed"})
        on_rows = client.post("/v1/monitors/rows/run?wait=true").json()
        run = _run(client, "needs-rows")
        report = client.get(f"/v1/runs/{run['id']}/report")
    assert on_rows["status"] == "skipped"  # a rows monitor has no rows in this window
    assert report.status_code == 409, report.text  # no rows to draw
    assert report.json()["error"]["details"] == [{"run_id": run["id"], "batch_ids": ["p"]}]
    scores = _scores(run)
    assert scores["moved"]["status"] == "skipped: needs rows"
    assert scores["note"]["status"] == "skipped: text columns are not tested"
    assert scores["still"]["status"] == "ok" and scores["city"]["drifted"]
    assert _metric(run, "share_drifted_columns") == 0.5  # city of {still, city}


def _records(columns: dict[str, Any]) -> list[dict[str, Any]]:
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]
