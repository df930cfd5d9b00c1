"""Scraping /metrics in tests: its database families are a snapshot refreshed in the background
(``DQM_METRICS_REFRESH_SECONDS``), so a test waits for what it expects to appear."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

DEADLINE_SECONDS = 20.0


def scrape_until(
    client: httpx.Client, *expected: str, until: Callable[[str], bool] | None = None
) -> str:
    """The first /metrics page holding every ``expected`` string (and satisfying ``until``);
    fails with the last page after ``DEADLINE_SECONDS``."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        response = client.get("/metrics")
        assert response.status_code == 200, response.text
        page = response.text
        if all(s in page for s in expected) and (until is None or until(page)):
            return page
        missing = [s for s in expected if s not in page]
        assert time.monotonic() < deadline, f"/metrics never showed {missing or until}: {page}"
        time.sleep(0.05)
