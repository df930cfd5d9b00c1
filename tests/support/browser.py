"""Debian's Chromium driven by Playwright, for the console's browser tests.

``browser`` is one headless Chromium per test session (``/usr/bin/chromium``, installed by
``.ci/install-chromium``; Playwright's own browser download is never used). ``page`` is a
fresh browser context whose every request is checked: a request to anything but this
machine (loopback addresses, ``data:``/``blob:`` URLs) is aborted and fails the test, and so
does an uncaught JavaScript error. ``axe_violations`` runs axe-core (the ``axe.min.js`` that
the ``axe-playwright-python`` package ships) on the page.
"""

from __future__ import annotations

import importlib.resources
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    Page,
    Request,
    Route,
    WebSocketRoute,
    expect,
    sync_playwright,
)

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_SOURCE = importlib.resources.files("axe_playwright_python") / "axe.min.js"
LOCAL_SCHEMES = {"data", "blob", "about"}
# The machine is shared and loaded: generous deadlines (expect() polls until then).
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)


def is_local(url: str) -> bool:
    """True for URLs that stay on this machine: loopback hosts, data:, blob:, about:.

    >>> is_local("http://127.0.0.1:8000/x"), is_local("http://[::1]/"), is_local("data:,x")
    (True, True, True)
    >>> is_local("https://cdn.jsdelivr.net/x.js"), is_local("http://10.0.0.1/")
    (False, False)
    """
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Guard:
    """What a page did that a test must not allow: requests off the machine, JS errors."""

    remote: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [f"request left the machine: {u}" for u in self.remote] + [
            f"JavaScript error: {e}" for e in self.errors
        ]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Debian Chromium for the whole session."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run .ci/install-chromium (make test does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def guarded_page(browser: Browser, guard: Guard, **context_options: Any) -> Page:
    """A page in a new context that aborts and records every request leaving the machine."""
    context = browser.new_context(service_workers="block", **context_options)
    context.set_default_timeout(TIMEOUT_MS)

    def route(r: Route) -> None:
        if is_local(r.request.url):
            r.continue_()
        else:
            guard.remote.append(r.request.url)
            r.abort("blockedbyclient")

    def socket(ws: WebSocketRoute) -> None:
        if is_local(ws.url):
            ws.connect_to_server()
        else:
            guard.remote.append(ws.url)
            ws.close()

    def seen(request: Request) -> None:  # requests that bypass routing, if any
        if not is_local(request.url) and request.url not in guard.remote:
            guard.remote.append(request.url)

    context.route("**/*", route)
    context.route_web_socket("**/*", socket)
    context.on("request", seen)
    page = context.new_page()
    page.on("pageerror", lambda exc: guard.errors.append(str(exc)))
    return page


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh guarded page; the test fails on any non-local request or JavaScript error."""
    guard = Guard()
    page = guarded_page(browser, guard, viewport={"width": 1280, "height": 900})
    yield page
    page.context.close()
    if guard.problems():
        pytest.fail("\n".join(guard.problems()))


def axe_violations(page: Page, disable: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """axe-core's violations on the current page (all rules of its default run but the rule ids
    in ``disable``), each as ``{"id", "impact", "help", "targets"}``; an empty list means the
    checks passed."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = page.evaluate(
        """async (disable) => {
            const rules = Object.fromEntries(disable.map(id => [id, {enabled: false}]));
            const result = await axe.run(document, {resultTypes: ["violations"], rules});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
            }));
        }""",
        list(disable),
    )
    return found
