"""docs/metrics.md against the real /metrics: one test per documented family (type, labels, the
label values it lists), after a server has ingested, rejected uploads, run a monitor, delivered a
webhook and blocked one."""

from __future__ import annotations

import re
import time
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

import dqm.service.metrics as metrics
from dqm.alerts.retry import Outcome
from dqm.alerts.signing import generate_secret
from dqm.monitors.errors import DqmError
from dqm.service.db.migrate import upgrade
from dqm.service.db.session import make_engine
from dqm.service.settings import Settings
from tests.conftest import POSTGRES_URL
from tests.service.data import SCHEMA, drift_monitor, frame, parquet_bytes, records
from tests.service.helpers import add_hook, make_context
from tests.support.receiver import running_receiver
from tests.support.server import running_server

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
PARQUET = {"content-type": "application/vnd.apache.parquet"}


@dataclass(frozen=True)
class Documented:
    family: str
    type: str
    labels: frozenset[str]
    values: dict[str, frozenset[str]]


def _ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def documented() -> list[Documented]:
    """The rows of the table in docs/metrics.md."""
    rows = []
    for line in DOC.read_text().splitlines():
        if not line.startswith("| `dqm_"):
            continue
        family, kind, labels, _source, values, _meaning = (
            c.strip() for c in line.strip().strip("|").split("|")
        )
        closed = {}
        for part in filter(None, values.split(";")):
            label, listed = part.split(":")
            closed[_ticked(label)[0]] = frozenset(_ticked(listed))
        rows.append(Documented(_ticked(family)[0], kind, frozenset(_ticked(labels)), closed))
    return rows


DOCUMENTED = documented()


@dataclass(frozen=True)
class Scraped:
    type: str
    labels: frozenset[str]
    values: dict[str, frozenset[str]]


def _exposed_name(name: str, kind: str) -> str:
    return f"{name}_total" if kind == "counter" else name


def parse(scrape: str) -> dict[str, Scraped]:
    found = {}
    for family in text_string_to_metric_families(scrape):
        values: dict[str, set[str]] = {}
        for sample in family.samples:
            for label, value in sample.labels.items():
                if label != "le":
                    values.setdefault(label, set()).add(value)
        labels = frozenset(values) or _registered_labels(family.name)
        found[_exposed_name(family.name, family.type)] = Scraped(
            family.type, labels, {k: frozenset(v) for k, v in values.items()}
        )
    return found


def _registered_labels(name: str) -> frozenset[str]:
    """Label names of a process family that has no sample yet (from its registration)."""
    for metric in vars(metrics).values():
        if isinstance(metric, MetricWrapperBase) and metric._name == name:
            return frozenset(metric._labelnames)
    return frozenset()


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Scraped]]:
    folder = tmp_path_factory.mktemp("metrics")
    url = POSTGRES_URL or f"sqlite:///{folder / 'dqm.db'}"
    engine = make_engine(url)
    if POSTGRES_URL:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    engine.dispose()
    settings = Settings(
        database_url=url,
        data_dir=str(folder / "data"),
        runner_poll_seconds=0.2,
        relay_poll_seconds=0.2,
        webhook_allowlist="127.0.0.1/32",
    )
    with running_receiver() as receiver, running_server(settings) as client:
        client.post("/v1/datasets", json={"name": "churn", "schema": SCHEMA}).raise_for_status()
        reference = parquet_bytes(frame(1000, 1))
        client.put("/v1/datasets/churn/reference", content=reference, headers=PARQUET)
        hook = {"name": "trainer", "url": receiver.url, "events": ["alert.firing"]}
        receiver.secrets.append(client.post("/v1/hooks", json=hook).json()["secret"])
        # A hook stored before the allowlist refused it: its delivery is blocked.
        add_hook(make_context(settings, "test"), "http://10.0.0.1/hook", generate_secret(), "old")
        client.post("/v1/monitors", json=drift_monitor("m", "churn", "trainer")).raise_for_status()
        drifted = records(frame(300, 3, shift=1.0, prefix="d"))
        assert client.post("/v1/datasets/churn/batches?batch_id=b1", json=drifted).is_success
        rejected = {
            "not_found": client.post("/v1/datasets/nope/batches", json=drifted),
            "invalid_data": client.post("/v1/datasets/churn/batches", json=[{"x": "?"}]),
            "unsupported_media_type": client.post(
                "/v1/datasets/churn/batches", content=b"x", headers={"content-type": "text/x"}
            ),
            "conflict": client.post("/v1/datasets/churn/batches?batch_id=b1", json=drifted[:5]),
        }
        assert [r.status_code for r in rejected.values()] == [404, 422, 415, 409]
        assert client.post("/v1/monitors/m/run?wait=true").json()["status"] == "succeeded"
        deadline = time.monotonic() + 20
        while not all(
            s in client.get("/metrics").text
            for s in ('dqm_deliveries{state="delivered"} 2.0', 'dqm_deliveries{state="dead"} 1.0')
        ):
            assert time.monotonic() < deadline, "the deliveries were not all settled"
            time.sleep(0.1)
        yield parse(client.get("/metrics").text)


def test_every_exposed_family_is_documented(scraped: dict[str, Scraped]) -> None:
    assert sorted(d.family for d in DOCUMENTED) == sorted(scraped)


@pytest.mark.parametrize("doc", DOCUMENTED, ids=[d.family for d in DOCUMENTED])
def test_the_documented_family_is_what_the_scrape_exposes(
    doc: Documented, scraped: dict[str, Scraped]
) -> None:
    found = scraped[doc.family]
    assert (found.type, found.labels) == (doc.type, doc.labels)
    for label, listed in doc.values.items():
        assert found.values.get(label, frozenset()) <= listed, label


def _closed(family: str, label: str) -> frozenset[str]:
    [row] = [d for d in DOCUMENTED if d.family == family]
    return row.values[label]


def test_rejection_outcomes_are_every_outcome_the_code_can_name(
    scraped: dict[str, Scraped],
) -> None:
    def subclasses(cls: type[Exception]) -> Iterator[type[Exception]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    named = {metrics.rejection_outcome(cls("x")) for cls in subclasses(DqmError)}
    named |= {metrics.rejection_outcome(DqmError("x")), metrics.rejection_outcome(OSError())}
    assert _closed("dqm_ingest_rejections_total", "outcome") == named
    found = scraped["dqm_ingest_rejections_total"].values
    assert {"not_found", "invalid_data", "unsupported_media_type", "conflict"} <= found["outcome"]
    assert {"churn", metrics.UNKNOWN_DATASET} <= found["dataset"]
    assert "nope" not in found["dataset"]  # the unknown name the upload gave


def test_delivery_outcomes_are_the_classified_ones_and_blocked(
    scraped: dict[str, Scraped],
) -> None:
    results = set(typing.get_args(typing.get_type_hints(Outcome)["result"]))
    assert _closed("dqm_delivery_attempts_total", "outcome") == results | {"blocked"}
    assert {"success", "blocked"} <= scraped["dqm_delivery_attempts_total"].values["outcome"]


def test_state_families_list_every_state(scraped: dict[str, Scraped]) -> None:
    assert scraped["dqm_deliveries"].values["state"] == _closed("dqm_deliveries", "state")
    assert scraped["dqm_alerts"].values["state"] <= _closed("dqm_alerts", "state")
    assert scraped["dqm_runs_total"].values["outcome"] == {"succeeded"}
