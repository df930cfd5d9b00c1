"""The browser fixture's guard itself: a page that asks for anything off the machine is
recorded (and the request aborted), as is an uncaught JavaScript error; axe-core finds a
known defect. Without this, the other browser tests could pass by seeing nothing."""

from __future__ import annotations

from playwright.sync_api import Browser

from tests.support.browser import Guard, axe_violations, guarded_page


def test_remote_requests_and_script_errors_are_caught(browser: Browser) -> None:
    guard = Guard()
    page = guarded_page(browser, guard)
    try:
        page.set_content(
            '<html lang="en"><head><title>t</title></head><body><main><h1>t</h1>'
            '<img alt="x" src="https://cdn.example.com/x.png">'
            '<img alt="y" src="http://127.0.0.1:9/y.png">'
            "<script>fetch('https://api.example.org/beacon').catch(() => {});</script>"
            "<script>undefined_function();</script></main></body></html>"
        )
        page.wait_for_timeout(200)  # let the fetch start; the guard records synchronously
        problems = guard.problems()
    finally:
        page.context.close()
    assert "request left the machine: https://cdn.example.com/x.png" in problems
    assert "request left the machine: https://api.example.org/beacon" in problems
    assert not any("127.0.0.1" in p for p in problems)
    assert any(p.startswith("JavaScript error:") and "undefined_function" in p for p in problems)


def test_axe_reports_a_missing_alternative_text(browser: Browser) -> None:
    page = guarded_page(browser, Guard())
    try:
        page.set_content(
            '<html lang="en"><head><title>t</title></head><body><main><h1>t</h1>'
            '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></body></html>'
        )
        found = {v["id"] for v in axe_violations(page)}
    finally:
        page.context.close()
    assert found == {"image-alt"}
