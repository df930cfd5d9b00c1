"""A run stores the params it ran with; a drift run also the per-column distributions it
compared (reference and window, late labels joined), checked against numpy.histogram and a
plain count of the data sent; runs of other kinds store no distributions."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import numpy as np

import dqm.service.runs.records as run_records
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records
from tests.service.helpers import make_context
from tests.support.server import running_server


def _stored(settings: Settings, run_id: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    with make_context(settings, "t").sessions() as session:
        record = run_records.load(session, run_id)
        assert record is not None
        return record.params, record.distributions


def _served(client: httpx.Client, run_id: int) -> tuple[Any, Any]:
    body = client.get(f"/v1/runs/{run_id}/record").json()
    assert body["run_id"] == run_id
    return body["params"], body["distributions"]


def test_drift_run_stores_what_it_compared_with_late_labels(settings: Settings) -> None:
    ref, cur = frame(400, 1), frame(250, 2, shift=1.0, prefix="b")
    cur["label"] = [None] * 250
    late = {f"b{i}": ("yes" if i % 3 else "no") for i in range(0, 250, 2)}
    with running_server(settings) as client:
        client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).raise_for_status()
        client.put("/v1/datasets/d/reference", json=records(ref)).raise_for_status()
        client.post("/v1/datasets/d/batches", json=records(cur)).raise_for_status()
        labels = [{"id": k, "label": v} for k, v in late.items()]
        client.post("/v1/datasets/d/labels", json={"labels": labels}).raise_for_status()
        for kind, params in (("drift", {"stattest": "psi"}), ("data_quality", {})):
            monitor = {"name": kind, "dataset": "d", "kind": kind, "params": params}
            client.post("/v1/monitors", json={**monitor, "schedule": {"every": "1h"}})
        run = client.post("/v1/monitors/drift/run?wait=true").json()
        other = client.post("/v1/monitors/data_quality/run?wait=true").json()
        quality_params = client.get("/v1/monitors/data_quality").json()["params"]
        # The monitor changes after the run: the run's record keeps what it ran with.
        client.patch("/v1/monitors/drift", json={"params": {"stattest": "ks"}}).raise_for_status()
        served = {r["id"]: _served(client, r["id"]) for r in (run, other)}
        missing = client.get("/v1/runs/999/record")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert run["status"] == other["status"] == "succeeded"
    assert _stored(settings, other["id"]) == (quality_params, None) == served[other["id"]]
    assert _stored(settings, run["id"]) == served[run["id"]]
    params, body = _stored(settings, run["id"])
    assert params["stattest"] == "psi" and body is not None
    scored = {m["column"] for m in run["metrics"] if m["name"] == "drift_score"}
    assert set(body["columns"]) == scored == {"age", "income", "city", "label"}

    age = body["columns"]["age"]
    both = np.array(ref["age"] + cur["age"])
    edges = np.histogram_bin_edges(both, bins=body["bins"])
    assert age["reference"] == np.histogram(ref["age"], edges)[0].tolist()
    assert age["current"] == np.histogram(cur["age"], edges)[0].tolist()

    label = body["columns"]["label"]  # the window's labels are the late ones
    got = dict(zip(label["categories"], label["current"], strict=True))
    assert got == dict(Counter(late.values()))
    assert (label["current_n"], label["current_missing"]) == (len(late), 250 - len(late))
    city = body["columns"]["city"]
    assert dict(zip(city["categories"], city["reference"], strict=True)) == Counter(ref["city"])
