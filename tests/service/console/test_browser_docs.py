"""/docs and /redoc render in a browser with no request leaving the machine (the ``page``
fixture fails the test on any), from a real ``dqm serve``."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from dqm.service.settings import Settings
from tests.support.process import dqm_process


@pytest.mark.slow
def test_swagger_ui_and_redoc_render_offline(settings: Settings, page: Page) -> None:
    with dqm_process(settings) as client:
        base = str(client.base_url).rstrip("/")
        page.goto(f"{base}/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("dqm")
        expect(page.locator(".opblock-summary-path").first).to_be_visible()
        assert page.locator(".opblock").count() > 20  # the operations, from /openapi.json
        page.goto(f"{base}/redoc")
        expect(page.locator("h1").first).to_contain_text("dqm")
        expect(page.get_by_text("/v1/monitors").first).to_be_attached()
