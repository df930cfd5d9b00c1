"""``dqm_client.Client`` against a real server: every method, typed results, the error
envelope as exceptions, idempotent batches, paged listings."""

from __future__ import annotations

import io
import time

import httpx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dqm.service.auth import create_key
from dqm.service.clock import utcnow
from dqm.service.db.session import make_engine, make_sessionmaker
from dqm.service.settings import Settings
from dqm_client import (
    Client,
    Conflict,
    ConnectionFailed,
    Forbidden,
    InvalidInput,
    NotFound,
    Retry,
    Unauthorized,
)
from tests.support.pets import SCHEMA, rows
from tests.support.receiver import running_receiver
from tests.support.server import free_port, running_server


def test_datasets_references_batches_and_labels(client: Client) -> None:
    created = client.create_dataset("pets", SCHEMA)
    assert created.name == "pets" and created.schema_inferred is False
    assert created.created_at.tzinfo is not None
    with pytest.raises(Conflict) as conflict:
        client.create_dataset("pets")
    assert conflict.value.status == 409 and "pets" in conflict.value.message

    reference = rows(400, 1, "r")
    first = client.put_reference("pets", reference)
    assert (first.version, first.rows, first.current) == (1, 400, True)
    assert client.put_reference("pets", pd.DataFrame(reference)).version == 2
    assert client.put_reference("pets", pa.Table.from_pylist(reference)).rows == 400
    csv = pd.DataFrame(reference).to_csv(index=False).encode()
    sent: list[int] = []
    assert (
        client.put_reference("pets", csv, content_type="text/csv", progress=sent.append).version
        == 4
    )
    assert sum(sent) == len(csv) and sent  # the upload, reported as it went
    assert [r.version for r in client.references("pets")] == [4, 3, 2, 1]
    assert client.dataset("pets").current_reference_version == 4

    batch = rows(50, 2, "b")
    stored = client.push_batch("pets", batch, batch_id="b1")
    assert (stored.batch_id, stored.rows, stored.created) == ("b1", 50, True)
    replay = client.push_batch("pets", batch, batch_id="b1")
    assert replay.created is False and replay.received_at == stored.received_at
    with pytest.raises(Conflict) as other:
        client.push_batch("pets", batch[:10], batch_id="b1")
    assert other.value.details[0]["batch_id"] == "b1"
    frame = client.push_batch("pets", pd.DataFrame(rows(30, 3, "f")), batch_id="b2")
    table = pa.Table.from_pylist(rows(20, 4, "t"))
    parquet = client.push_batch("pets", table, batch_id="b3", format="parquet")
    generated = client.push_batch("pets", rows(5, 5, "g"))
    assert (frame.rows, parquet.rows, generated.created) == (30, 20, True)
    assert generated.batch_id.startswith("c-")
    listed = {b.batch_id: b for b in client.batches("pets")}
    assert set(listed) == {"b1", "b2", "b3", generated.batch_id}
    assert listed["b1"].rows == 50 and (listed["b1"].bytes or 0) > 0

    with pytest.raises(InvalidInput) as invalid:
        client.push_batch("pets", [{**batch[0], "id": "bad", "x": "not a number"}])
    assert invalid.value.status == 422 and invalid.value.code == "invalid_input"
    assert any(d.get("column") == "x" for d in invalid.value.details), invalid.value.details

    labels = client.push_labels(
        "pets", [{"id": "b0", "label": "dog"}, {"id": "nope", "label": "cat"}]
    )
    assert (labels.matched, labels.unmatched, labels.unmatched_ids) == (1, 1, ["nope"])
    assert client.push_labels("pets", pd.DataFrame([{"id": "b1", "label": "cat"}])).matched == 1


def test_listings_follow_pages_and_limits(server: httpx.Client) -> None:
    with Client(str(server.base_url), page_size=2) as client:
        for i in range(5):
            client.create_dataset(f"d{i}")
        assert sorted(d.name for d in client.datasets()) == [f"d{i}" for i in range(5)]
        assert len(list(client.datasets(limit=3))) == 3
        client.delete_dataset("d0")
        with pytest.raises(NotFound) as missing:
            client.dataset("d0")
        assert missing.value.code == "not_found" and missing.value.details == [{"dataset": "d0"}]
        assert len(list(client.datasets())) == 4


def test_monitors_runs_alerts_hooks_relabel_and_retrain(client: Client) -> None:
    with running_receiver() as receiver:
        hook = client.create_hook(
            "labelers", receiver.url, ["relabel.requested", "retrain.requested"]
        )
        assert hook.secret and hook.enabled
        receiver.secrets.append(hook.secret)
        assert client.hook("labelers").secret is None
        assert [h.name for h in client.hooks()] == ["labelers"]

        client.create_dataset("pets", SCHEMA)
        client.put_reference("pets", rows(400, 1, "r"))
        monitor = client.create_monitor(
            {
                "name": "labels",
                "dataset": "pets",
                "kind": "label_quality",
                "schedule": {"every": "1h"},
                "window": {"last_batches": 1},
                "rules": [{"metric": "label_issue_share", "op": ">", "value": 0.05}],
                "actions": [
                    {"on": "firing", "hook": "labelers", "event": "relabel.requested", "budget": 5},
                    {"on": "firing", "hook": "labelers", "event": "retrain.requested"},
                ],
            }
        )
        assert monitor.kind == "label_quality" and len(monitor.actions) == 2
        client.push_batch("pets", rows(200, 2, "p", flipped=20), batch_id="b1")

        run = client.run_and_wait("labels", timeout=120)
        share = run.metric("label_issue_share")
        assert run.status == "succeeded" and share is not None and (share.value or 0) > 0.05
        assert client.run(run.id) == run
        assert [r.id for r in client.runs("labels")] == [run.id]
        series = client.series("labels", "label_issue_share")
        assert [(p.run_id, p.value) for p in series.points] == [(run.id, share.value)]

        [alert] = client.alerts(state="firing")
        assert (alert.monitor, alert.metric, alert.state) == (
            "labels",
            "label_issue_share",
            "firing",
        )
        assert list(client.alerts(state="resolved")) == []

        queue = list(client.relabel_queue("pets", limit=1000))
        flipped = {f"p{i}" for i in range(20)}
        assert queue and {i.row_id for i in queue} <= flipped
        assert queue[0].row is not None and queue[0].row["id"] == queue[0].row_id
        csv = client.export_relabel_queue("pets", format="csv").decode()
        assert csv.splitlines()[0].startswith("row_id,") and queue[0].row_id in csv
        parquet = pq.read_table(io.BytesIO(client.export_relabel_queue("pets", format="parquet")))
        assert parquet.column("row_id").to_pylist() == [i.row_id for i in queue][:1000]

        [request] = client.retrain_requests(dataset="pets")
        assert request.monitor == "labels" and request.run_id == run.id
        assert client.acknowledge_retrain_request(request.id).status == "acknowledged"

        receiver.wait_for(2)
        deliveries = list(client.deliveries("labelers"))
        assert {d.event_type for d in deliveries} == {"relabel.requested", "retrain.requested"}
        again = client.redeliver(deliveries[0].id)
        assert again.webhook_id == deliveries[0].webhook_id
        rotated = client.rotate_hook_secret("labelers")
        assert rotated.secret and rotated.secret != hook.secret
        assert client.enable_hook("labelers").enabled

    paused = client.update_monitor("labels", {"enabled": False})
    assert paused.enabled is False and client.monitor("labels").enabled is False
    assert [m.name for m in client.monitors()] == ["labels"]
    client.delete_monitor("labels")
    client.delete_hook("labelers")
    with pytest.raises(NotFound):
        client.monitor("labels")
    with pytest.raises(NotFound):
        client.hook("labelers")


def test_api_keys_unauthorized_and_forbidden(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    try:
        reader = create_key(make_sessionmaker(engine), "reader", ("read",), utcnow())
    finally:
        engine.dispose()
    with running_server(settings) as server:
        url = str(server.base_url)
        with Client(url, api_key="") as anonymous, pytest.raises(Unauthorized) as denied:
            list(anonymous.datasets())
        assert denied.value.status == 401 and denied.value.code
        with Client(url, api_key=reader) as client:
            assert list(client.datasets()) == []
            with pytest.raises(Forbidden) as forbidden:
                client.create_dataset("pets")
            assert forbidden.value.status == 403


def test_url_and_key_from_the_environment(
    server: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DQM_URL", str(server.base_url))
    with Client() as client:
        assert client.url == str(server.base_url).rstrip("/")
        assert client.ready()["status"] == "ready"
    monkeypatch.delenv("DQM_URL")
    with pytest.raises(ValueError, match="DQM_URL"):
        Client()


def test_an_unreachable_server_raises_connection_failed_after_the_retries() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    client = Client(url, retry=Retry(attempts=3, backoff=0.01))
    with client, pytest.raises(ConnectionFailed, match="ConnectError"):
        client.dataset("pets")
    assert time.monotonic() - started < 10
