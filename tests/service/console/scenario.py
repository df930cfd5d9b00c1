"""A dqm with something on every console page, built over the real HTTP API.

- dataset ``churn`` (reference, a clean batch ``b1`` and a drifted one ``b2``) with drift
  monitor ``churn-drift`` (run after each batch: the second fires ``share_drifted_columns >=
  0.3``, which asks hook ``trainer`` to retrain), then batch ``b3`` without its target column,
  10 of whose labels arrive later (label coverage 5%);
- dataset ``pets`` (probabilities, 20 wrong labels in batch ``p1``) with label-quality
  monitor ``pets-labels``, whose findings fill the relabel queue;
- webhook deliveries to a real receiver (``trainer``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from dqm.service.settings import Settings
from tests.service.data import SCHEMA, drift_monitor, frame, records
from tests.support.database import migrated_database, settings_for
from tests.support.pets import SCHEMA as PETS_SCHEMA
from tests.support.pets import rows as pets


def module_settings(folder: Path) -> Settings:
    """Settings on a fresh migrated database, as the ``settings`` fixture makes, for a
    module-scoped server (PostgreSQL when DQM_TEST_DATABASE_URL names one)."""
    return settings_for(migrated_database(folder), folder)


@dataclass
class Scenario:
    drift_runs: list[dict[str, Any]]
    label_run: dict[str, Any]
    hook_secret: str


def items(response: httpx.Response) -> list[dict[str, Any]]:
    """The rows of a list answer (a page ``{"items": [...]}`` or a bare list)."""
    response.raise_for_status()
    body = response.json()
    found: list[dict[str, Any]] = body["items"] if isinstance(body, dict) else body
    return found


def _run(client: httpx.Client, monitor: str) -> dict[str, Any]:
    run: dict[str, Any] = client.post(f"/v1/monitors/{monitor}/run?wait=true").json()
    assert run["status"] == "succeeded", run
    return run


def build(client: httpx.Client, hook_url: str) -> Scenario:
    """Create the scenario through ``client`` (a server whose worker is running)."""
    client.post("/v1/datasets", json={"name": "churn", "schema": SCHEMA}).raise_for_status()
    client.put("/v1/datasets/churn/reference", json=records(frame(300, 1))).raise_for_status()
    hook = client.post(
        "/v1/hooks",
        json={"name": "trainer", "url": hook_url, "events": ["alert.firing", "retrain.requested"]},
    )
    hook.raise_for_status()
    client.post("/v1/monitors", json=drift_monitor("churn-drift", "churn", "trainer"))
    runs = []
    for key, shift in (("b1", 0.0), ("b2", 1.5)):
        batch = records(frame(200, 2 if shift == 0 else 3, shift=shift, prefix=key))
        client.post(f"/v1/datasets/churn/batches?batch_id={key}", json=batch).raise_for_status()
        runs.append(_run(client, "churn-drift"))
    unlabeled = frame(200, 4, prefix="b3")
    del unlabeled["label"]  # a batch sent before its labels: 10 of them arrive later
    sent = client.post("/v1/datasets/churn/batches?batch_id=b3", json=records(unlabeled))
    sent.raise_for_status()
    late = [{"id": f"b3{i}", "label": "yes"} for i in range(10)]
    client.post("/v1/datasets/churn/labels", json={"labels": late}).raise_for_status()

    client.post("/v1/datasets", json={"name": "pets", "schema": PETS_SCHEMA}).raise_for_status()
    client.put("/v1/datasets/pets/reference", json=pets(400, 1, "r")).raise_for_status()
    client.post(
        "/v1/monitors",
        json={
            "name": "pets-labels",
            "dataset": "pets",
            "kind": "label_quality",
            "schedule": {"every": "1h"},
            "window": {"last_batches": 1},
            "rules": [{"metric": "label_issue_share", "op": ">", "value": 0.05}],
        },
    ).raise_for_status()
    batch = pets(200, 2, "p", flipped=20)
    client.post("/v1/datasets/pets/batches?batch_id=p1", json=batch).raise_for_status()
    label_run = _run(client, "pets-labels")
    return Scenario(runs, label_run, hook.json()["secret"])
