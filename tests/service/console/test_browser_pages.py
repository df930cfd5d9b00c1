"""The console in Debian's Chromium against a real ``dqm serve`` with real data: every page
renders with its charts drawn and passes axe-core, the run page's numbers and plots equal the
API's and the run's stored record, a label submitted from the relabel queue closes its entry,
and the console works under a path prefix. The ``page`` fixture fails any test whose page
sends a request off the machine or throws a JavaScript error."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from dqm.service.settings import Settings
from tests.service.console import scenario
from tests.support.browser import axe_violations
from tests.support.process import dqm_process
from tests.support.receiver import running_receiver

pytestmark = pytest.mark.slow
PREFIX = "/team/dqm"


@dataclass
class Served:
    client: httpx.Client
    base: str
    settings: Settings
    runs: dict[str, dict[str, Any]]  # the last run of each kind


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A ``dqm serve`` process with the console scenario plus a coverage and a data-quality
    run on the batch whose labels came late."""
    settings = scenario.module_settings(tmp_path_factory.mktemp("browser"))
    with running_receiver() as receiver, dqm_process(settings) as client:
        built = scenario.build(client, receiver.url)
        runs = {"drift": built.drift_runs[-1], "label_quality": built.label_run}
        for kind in ("coverage", "data_quality"):
            monitor: dict[str, Any] = {"name": f"churn-{kind}", "dataset": "churn", "kind": kind}
            monitor |= {"schedule": {"every": "1h"}, "window": {"last_batches": 1}}
            client.post("/v1/monitors", json=monitor).raise_for_status()
            run = client.post(f"/v1/monitors/churn-{kind}/run?wait=true").json()
            assert run["status"] == "succeeded", run
            runs[kind] = run
        yield Served(client, str(client.base_url).rstrip("/"), settings, runs)


PAGES = [
    ("/", "Overview"),
    ("/datasets/churn", "Dataset churn"),
    ("/monitors/churn-drift", "Monitor churn-drift"),
    ("/alerts", "Alerts"),
    ("/hooks", "Hooks"),
    ("/hooks/trainer", "Hook trainer"),
    ("/retrain", "Retrain requests"),
    ("/relabel", "Relabel queue"),
    ("/relabel/pets", "Relabel queue of pets"),
    ("/sign-in", "Sign in"),
    *[(f"run:{kind}", "Run") for kind in ("drift", "label_quality", "coverage", "data_quality")],
]


def _path(served: Served, target: str) -> str:
    if target.startswith("run:"):
        return f"/runs/{served.runs[target[4:]]['id']}"
    return target


def _open(page: Page, url: str, heading: str) -> None:
    """Load a page and wait until its heading shows and every chart on it is drawn."""
    page.goto(url)
    expect(page.locator("h1")).to_contain_text(heading)
    charts = page.locator(".chart[data-spec]").count()
    expect(page.locator(".chart[data-drawn='true']")).to_have_count(charts)


@pytest.mark.parametrize(("target", "heading"), PAGES, ids=[p[0] for p in PAGES])
def test_page_renders_offline_and_passes_axe(
    served: Served, page: Page, target: str, heading: str
) -> None:
    _open(page, served.base + _path(served, target), heading)
    assert axe_violations(page) == []


def _page_numbers(page: Page) -> dict[str, Any]:
    """The run page's tables as the browser shows them: exact values from data-value."""
    numbers: dict[str, Any] = page.evaluate(
        """() => {
            const value = (cell) =>
                cell && cell.dataset.value !== "" ? Number(cell.dataset.value) : null;
            const out = {dataset: {}, drift: {}, columns: {}, rows: null};
            for (const tr of document.querySelectorAll("#dataset-metrics-table tbody tr")) {
                const cells = tr.querySelectorAll("td");
                out.dataset[tr.dataset.metric] = [value(cells[0]), cells[1].textContent.trim(),
                    value(cells[2]), cells[3].textContent.trim()];
            }
            for (const tr of document.querySelectorAll("#drift-table tbody tr")) {
                const c = tr.querySelectorAll("td");
                out.drift[tr.dataset.column] = [c[0].textContent.trim(), value(c[1]),
                    value(c[2]), c[3].textContent.trim(), value(c[4]), value(c[5])];
            }
            for (const tr of document.querySelectorAll("#column-metrics-table tbody tr")) {
                const c = tr.querySelectorAll("td");
                out.columns[tr.dataset.metric + "|" + tr.dataset.column] = value(c[1]);
            }
            const rows = document.querySelector("#run-facts dd[data-value]");
            out.rows = rows ? Number(rows.dataset.value) : null;
            return out;
        }"""
    )
    return numbers


def _flag(drifted: bool | None) -> str:
    return "—" if drifted is None else ("yes" if drifted else "no")


@pytest.mark.parametrize("kind", ["drift", "label_quality", "coverage", "data_quality"])
def test_run_page_numbers_equal_the_apis(served: Served, page: Page, kind: str) -> None:
    run_id = served.runs[kind]["id"]
    api = served.client.get(f"/v1/runs/{run_id}").json()
    _open(page, f"{served.base}/runs/{run_id}", f"Run {run_id}")
    shown = _page_numbers(page)
    assert shown["rows"] == api["window"]["rows"]
    metrics = api["metrics"]
    dataset = {
        m["name"]: [m["value"], m["method"] or "—", m["threshold"], _flag(m["drifted"])]
        for m in metrics
        if m["column"] is None
    }
    assert shown["dataset"] == dataset
    by = {(m["name"], m["column"]): m for m in metrics if m["column"] is not None}
    drift = {
        column: [
            m["method"] or "—",
            m["value"],
            m["threshold"],
            _flag(m["drifted"]),
            by.get(("effect_size", column), {}).get("value"),
            by.get(("missing_share", column), {}).get("value"),
        ]
        for (name, column), m in by.items()
        if name == "drift_score"
    }
    assert shown["drift"] == drift
    assert (kind == "drift") == bool(drift)
    drift_names = {"drift_score", "effect_size", "missing_share"} if drift else set()
    others = {f"{n}|{c}": m["value"] for (n, c), m in by.items() if n not in drift_names}
    assert shown["columns"] == others


def test_run_page_plots_the_stored_distributions_the_api_serves(served: Served, page: Page) -> None:
    run_id = served.runs["drift"]["id"]
    _open(page, f"{served.base}/runs/{run_id}", f"Run {run_id}")
    plotted: dict[str, list[list[int]]] = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll(".dist")].map(s => {
            const chart = s.querySelector(".chart");
            const column = s.getAttribute("aria-label").replace("Distribution of ", "");
            return [column, chart.data.map(trace => trace.customdata)];
        }))"""
    )
    record = served.client.get(f"/v1/runs/{run_id}/record").json()
    stored = record["distributions"]["columns"]
    assert set(plotted) == set(stored) == {"age", "income", "city", "label"}
    for column, summary in stored.items():
        ref, cur = summary["reference"], summary["current"]
        if summary["type"] == "categorical" and (summary["reference_other"] or 0):
            ref, cur = [*ref, summary["reference_other"]], [*cur, summary["current_other"]]
        assert plotted[column] == [ref, cur], column
        assert sum(ref) == summary["reference_n"] or summary["type"] == "categorical"


def test_label_from_the_relabel_queue_closes_its_entry(served: Served, page: Page) -> None:
    queue = served.client.get("/v1/datasets/pets/relabel-queue", params={"limit": 1000})
    before = {i["row_id"] for i in queue.json()["items"]}
    _open(page, f"{served.base}/relabel/pets", "Relabel queue of pets")
    form = page.locator("form[action$='/relabel/pets/labels']").first
    row_id = form.locator("input[name='row_id']").input_value()
    assert row_id in before
    form.locator("input[name='label']").fill("cat")
    with page.expect_navigation():
        form.locator("button[type='submit']").click()
    expect(page.locator("p.notice")).to_be_visible()
    expect(page.locator(f"form input[name='row_id'][value='{row_id}']")).to_have_count(0)
    queue = served.client.get("/v1/datasets/pets/relabel-queue", params={"limit": 1000})
    after = {i["row_id"]: i for i in queue.json()["items"]}
    assert row_id not in after and len(after) == len(before) - 1


def test_console_works_under_a_path_prefix(served: Served, page: Page) -> None:
    """A second replica on the same database with DQM_ROOT_PATH, reached as an ingress that
    keeps the prefix would: every request the pages make stays under the prefix."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    with dqm_process(served.settings, DQM_ROOT_PATH=PREFIX, DQM_ROLE="api") as replica:
        base = str(replica.base_url).rstrip("/") + PREFIX
        run_id = served.runs["drift"]["id"]
        _open(page, f"{base}/", "Overview")
        page.locator(f"a[href='{PREFIX}/monitors/churn-drift']").first.click()
        expect(page.locator("h1")).to_contain_text("Monitor churn-drift")
        _open(page, f"{base}/runs/{run_id}", f"Run {run_id}")
        page.get_by_role("link", name="Evidently's report of this run").click()
        expect(page.locator(".dqm-run-note")).to_contain_text(f"run {run_id}")
        page.locator(".dqm-run-note a").click()  # back to the run page, relatively
        expect(page.locator("h1")).to_contain_text(f"Run {run_id}")
        page.goto(f"{base}/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("dqm")
        origin = str(replica.base_url).rstrip("/")
    assert seen and all(u.startswith(origin + PREFIX + "/") for u in seen), [
        u for u in seen if not u.startswith(origin + PREFIX + "/")
    ]
