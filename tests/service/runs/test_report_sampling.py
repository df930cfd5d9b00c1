"""A run report over a window larger than DQM_REPORT_MAX_ROWS is drawn from uniform samples
of both sides, says so on the page, and stays small."""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa

from dqm.monitors.report import sample_rows
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records
from tests.support.server import running_server


def unique_cities(n: int, seed: int, prefix: str) -> list[dict[str, Any]]:
    """Rows whose categorical column has a distinct value per row: Evidently lists each
    category on the page, so the page grows with the rows."""
    columns = frame(n, seed, prefix=prefix)
    columns["city"] = [f"{prefix}-city-{i}" for i in range(n)]
    return records(columns)


def test_a_window_past_the_limit_is_sampled_and_the_page_says_so(settings: Settings) -> None:
    with running_server(settings.model_copy(update={"report_max_rows": 500})) as client:
        client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).raise_for_status()
        client.put("/v1/datasets/d/reference", json=unique_cities(300, 1, "r")).raise_for_status()
        client.post(
            "/v1/monitors",
            json={"name": "m", "dataset": "d", "kind": "drift", "schedule": {"every": "1h"}},
        ).raise_for_status()
        batch = unique_cities(4000, 2, "b")
        client.post("/v1/datasets/d/batches", json=batch).raise_for_status()
        run = client.post("/v1/monitors/m/run?wait=true").json()
        assert run["status"] == "succeeded", run
        report = client.get(f"/v1/runs/{run['id']}/report")
    assert report.status_code == 200
    page = report.text
    note = re.search(r'<div class="dqm-run-note"[^>]*>(.*?)</div>', page)
    assert note is not None
    assert "reference 300 of 300 rows" in note.group(1)
    assert "current window 500 of 4,000 rows" in note.group(1)
    assert "computed on the samples" in note.group(1)
    assert re.search(r'<body[^>]*><div class="dqm-run-note"', page)  # first on the page
    # Each distinct category costs ~160 bytes of page: 4,000 would add ~640 KB to the ~3.8 MB
    # of Evidently's scripts, 500 add ~80 KB.
    assert len(report.content) < 4_100_000, len(report.content)


def test_samples_are_uniform_seeded_and_keep_row_order() -> None:
    table = pa.table({"x": list(range(100_000))})
    sample = sample_rows(table, 1_000, seed=7)
    values = sample.column("x").to_pylist()
    assert len(set(values)) == 1_000 and values == sorted(values)
    assert sample_rows(table, 1_000, seed=7).equals(sample)
    # Uniform: the sample's mean and deciles match those of 0..99,999 (a uniform draw of
    # 1,000 has a standard error of the mean of ~913).
    assert abs(sum(values) / 1_000 - 49_999.5) < 4 * 913
    deciles = [sum(1 for v in values if d * 10_000 <= v < (d + 1) * 10_000) for d in range(10)]
    assert all(60 <= count <= 140 for count in deciles), deciles
    assert sample_rows(table, 200_000, seed=7) is table
