"""/docs and /redoc load only dqm's own assets (no CDN), which dqm serves, also under a path
prefix. The browser test (tests/service/console/test_browser_docs.py) renders them offline."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient

from dqm.service.app import create_app
from dqm.service.settings import Settings
from tests.support.server import running_server

# src="...", href="...", spec-url="..." and Swagger UI's `url: '...'`
REFERENCE = re.compile(r"""(?:src|href|spec-url)="([^"]+)"|\burl: '([^']+)'""")
EXPECTED = {
    "/docs": {
        "/docs-assets/swagger-ui.css": "text/css",
        "/docs-assets/swagger-ui-bundle.js": "javascript",
        "/docs-assets/favicon.png": "image/png",
        "/openapi.json": "application/json",
    },
    "/redoc": {
        "/docs-assets/redoc.standalone.js": "javascript",
        "/docs-assets/favicon.png": "image/png",
        "/openapi.json": "application/json",
    },
}


def _check(client: httpx.Client | TestClient, prefix: str) -> None:
    for page, assets in EXPECTED.items():
        response = client.get(prefix + page)
        assert response.status_code == 200, page
        assert "://" not in response.text, f"{page} names another host"
        found = {a or b for a, b in REFERENCE.findall(response.text)}
        assert found == {prefix + path for path in assets}, page
        for path, content_type in assets.items():
            asset = client.get(prefix + path)
            assert asset.status_code == 200, path
            assert content_type in asset.headers["content-type"], path
            assert len(asset.content) > 1000, path


def test_docs_and_redoc_reference_only_assets_dqm_serves(settings: Settings) -> None:
    with running_server(settings) as client:
        _check(client, "")
        bundle = client.get("/docs-assets/swagger-ui-bundle.js").text
        assert "SwaggerUIBundle" in bundle
        redoc = client.get("/docs-assets/redoc.standalone.js").text
        assert "Redoc" in redoc and "cdn.redoc.ly" not in redoc  # its logo, fetched always


@pytest.mark.parametrize("prefix", ["/dqm", "/team/a/dqm"])
def test_docs_and_redoc_work_under_a_path_prefix(settings: Settings, prefix: str) -> None:
    with TestClient(create_app(settings), root_path=prefix) as client:
        _check(client, prefix)
