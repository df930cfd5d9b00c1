"""``dqm datasets | monitors | runs | alerts | hooks``, ``dqm run MONITOR --wait`` and
``dqm relabel export`` against a real server: tables, ``--json``, exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dqm_client import Client
from tests.cli.conftest import Cli
from tests.support.pets import SCHEMA, rows
from tests.support.receiver import running_receiver


def _setup(client: Client, hook_url: str) -> None:
    client.create_hook("labelers", hook_url, ["relabel.requested"])
    client.create_dataset("pets", SCHEMA)
    client.put_reference("pets", rows(400, 1, "r"))
    client.push_batch("pets", rows(200, 2, "p", shift=3.0, flipped=20), batch_id="b1")
    window = {"schedule": {"every": "1h"}, "window": {"last_batches": 1}}
    client.create_monitor(
        {
            "name": "labels",
            "dataset": "pets",
            "kind": "label_quality",
            **window,
            "rules": [{"metric": "label_issue_share", "op": ">", "value": 0.05}],
        }
    )
    client.create_monitor(
        {
            "name": "drift",
            "dataset": "pets",
            "kind": "drift",
            **window,
            "rules": [
                {
                    "metric": "share_drifted_columns",
                    "op": ">=",
                    "value": 0.1,
                    "severity": "critical",
                }
            ],
        }
    )


@pytest.mark.slow
def test_listings_run_and_relabel_export(dqm: Cli, client: Client, tmp_path: Path) -> None:
    with running_receiver() as receiver:
        _setup(client, receiver.url)
        assert "no runs of drift yet" in dqm("runs", "drift").out

        ran = dqm("run", "drift", "--wait")
        assert ran.code == 0, ran.err
        assert "of drift: succeeded on 200 rows, reference v1" in ran.out
        assert "drift_score" in ran.out and "alert firing: share_drifted_columns" in ran.out, (
            ran.out
        )
        as_json = json.loads(dqm("run", "labels", "--json").out)
        assert as_json["status"] == "succeeded" and as_json["monitor"] == "labels"
        queued = json.loads(dqm("run", "drift", "--no-wait", "--json").out)
        assert isinstance(queued["run_id"], int)
        client.wait_for_run(queued["run_id"], timeout=120)

        datasets = dqm("datasets")
        assert datasets.code == 0 and "pets" in datasets.out and "given" in datasets.out
        assert [d["name"] for d in json.loads(dqm("datasets", "--json").out)] == ["pets"]
        monitors = dqm("monitors")
        assert "label_quality" in monitors.out and "every 1h" in monitors.out
        assert {m["name"] for m in json.loads(dqm("monitors", "--json").out)} == {"drift", "labels"}
        runs = dqm("runs", "drift")
        assert runs.out.count("succeeded") == 2 and "share_drifted_columns" in runs.out
        assert len(json.loads(dqm("runs", "drift", "--json", "--limit", "1").out)) == 1
        alerts = dqm("alerts", "--state", "firing")
        assert (
            "share_drifted_columns" in alerts.out
            and "critical" in alerts.out
            and "label_issue_share" in alerts.out
        )
        only = json.loads(dqm("alerts", "--json", "--monitor", "labels").out)
        assert [a["metric"] for a in only] == ["label_issue_share"]
        hooks = dqm("hooks")
        assert "labelers" in hooks.out and receiver.url in hooks.out
        assert json.loads(dqm("hooks", "--json").out)[0]["events"] == ["relabel.requested"]

        exported = dqm("relabel", "export", "pets", "--limit", "5")
        lines = list(csv.DictReader(io.StringIO(exported.out)))
        assert len(lines) == 5 and all(r["row_id"].startswith("p") for r in lines)
        target = tmp_path / "queue.parquet"
        done = dqm("relabel", "export", "pets", "--format", "parquet", "-o", str(target))
        assert done.code == 0 and f"written to {target}" in done.err
        assert pq.read_table(target).num_rows == len(list(client.relabel_queue("pets", limit=1000)))
        assert dqm("relabel", "export", "pets", "--format", "parquet").code == 1

    missing = dqm("run", "nope")
    assert missing.code == 1 and "404 not_found: monitor 'nope' does not exist" in missing.err
    assert dqm("runs", "nope").code == 1
