"""Screenshots of the console's pages for docs/screenshots/, light and dark.

``python -m tests.support.screenshots [--out docs/screenshots]`` starts a throwaway
``dqm serve`` on a temporary SQLite database, fills it with the console tests' scenario (two
datasets, drift, label-quality, coverage and data-quality runs, an alert, webhooks to a local
receiver, a relabel queue) and photographs each page in Debian's Chromium with the same guard
as the browser tests (nothing may leave the machine). Each picture is the top of the page at
1280 px wide and 700-1500 px tall, so each PNG stays small (it fails above 300 KB).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from playwright.sync_api import Browser, sync_playwright

from tests.service.console import scenario
from tests.support.browser import CHROMIUM, FLAGS, Guard, guarded_page
from tests.support.process import dqm_process
from tests.support.receiver import running_receiver

MAX_BYTES = 300_000


def _runs(client: Any) -> dict[str, int]:
    """Build the scenario plus a coverage and a data-quality run; the run id of each kind."""
    runs = {}
    for kind in ("coverage", "data_quality"):
        monitor: dict[str, Any] = {"name": f"churn-{kind}", "dataset": "churn", "kind": kind}
        monitor |= {"schedule": {"every": "1h"}, "window": {"last_batches": 1}}
        client.post("/v1/monitors", json=monitor).raise_for_status()
        runs[kind] = client.post(f"/v1/monitors/churn-{kind}/run?wait=true").json()["id"]
    return runs


def pages(drift_run: int, label_run: int, others: dict[str, int]) -> dict[str, tuple[str, int]]:
    """Picture name → (console path, height in px)."""
    return {
        "overview": ("/", 900),
        "dataset": ("/datasets/churn", 900),
        "monitor": ("/monitors/churn-drift", 1100),
        "run-drift": (f"/runs/{drift_run}", 1500),
        "run-label-quality": (f"/runs/{label_run}", 1100),
        "run-coverage": (f"/runs/{others['coverage']}", 1100),
        "alerts": ("/alerts", 700),
        "hooks": ("/hooks", 700),
        "retrain": ("/retrain", 700),
        "relabel": ("/relabel/pets", 900),
    }


def shoot(browser: Browser, base: str, targets: dict[str, tuple[str, int]], out: Path) -> None:
    themes: tuple[Literal["light"], Literal["dark"]] = ("light", "dark")
    for theme in themes:
        guard = Guard()
        page = guarded_page(browser, guard, viewport={"width": 1280, "height": 900})
        page.emulate_media(color_scheme=theme)
        for name, (path, height) in targets.items():
            page.set_viewport_size({"width": 1280, "height": height})
            page.goto(base + path)
            charts = page.locator(".chart[data-spec]").count()
            deadline = time.monotonic() + 30
            while page.locator(".chart[data-drawn='true']").count() < charts:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{path}: charts not drawn")
                page.wait_for_timeout(100)
            page.wait_for_timeout(300)  # Plotly's transitions
            file = out / f"{name}-{theme}.png"
            page.screenshot(path=str(file))
            size = file.stat().st_size
            print(f"{file} {size:,} bytes")
            if size > MAX_BYTES:
                raise RuntimeError(f"{file} is {size:,} bytes, over {MAX_BYTES:,}")
        page.context.close()
        if guard.problems():
            raise RuntimeError("\n".join(guard.problems()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        settings = scenario.module_settings(Path(folder))
        with running_receiver() as receiver, dqm_process(settings) as client:
            built = scenario.build(client, receiver.url)
            targets = pages(built.drift_runs[-1]["id"], built.label_run["id"], _runs(client))
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                shoot(browser, str(client.base_url).rstrip("/"), targets, args.out)
                browser.close()


if __name__ == "__main__":
    main()
