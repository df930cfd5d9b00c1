"""/docs (Swagger UI) and /redoc (ReDoc) served offline: their scripts and styles come from the
``fastapi-offline`` package's static folder, mounted at ``/docs-assets``, never from a CDN.

Every URL on the pages starts with the request's ``root_path``, so the pages work behind an
ingress that serves dqm under a path prefix. Swagger UI's validator badge (a request to
validator.swagger.io) is turned off, ReDoc loads no Google fonts, and the one image ReDoc's
script always fetches from its CDN (the Redocly logo beside "API docs by Redocly") is replaced,
as the script is served, by an empty inline SVG.

Both pages are made to pass axe-core's checks where dqm's shell can do it: ``<html lang="en">``,
the UI inside a ``<main>`` landmark, a small stylesheet (and ReDoc theme) darkening the vendor
colours that fail WCAG AA contrast, Swagger UI without deep links (its ``<a>`` inside the
operation's ``<button>`` is a nested control), and a name for ReDoc's unlabelled media-type
``<select>`` elements.
"""

from __future__ import annotations

import html
import json
from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")
REDOC_FILE = "redoc.standalone.js"
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_SVG = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"


# WCAG AA (4.5:1) colours for the vendor parts that fail it; same hues, darker
SWAGGER_CSS = """<style>
.swagger-ui .info .title small { background: #555b66; }
.swagger-ui .info .title small.version-stamp { background: #3d6b00; }
.swagger-ui .info .url, .swagger-ui .info a { color: #1f5fa8; }
.swagger-ui .btn.authorize { color: #1d7a4d; border-color: #1d7a4d; }
.swagger-ui .btn.authorize svg { fill: #1d7a4d; }
.swagger-ui .opblock.opblock-get .opblock-summary-method { background: #1a6bbd; }
.swagger-ui .opblock.opblock-post .opblock-summary-method { background: #1d7a4d; }
.swagger-ui .opblock.opblock-patch .opblock-summary-method { background: #137566; }
.swagger-ui .opblock.opblock-put .opblock-summary-method { background: #9c5200; }
.swagger-ui .opblock.opblock-delete .opblock-summary-method { background: #c4201f; }
.swagger-ui .json-schema-2020-12-expand-deep-button { color: #595959; }
</style>
"""
# a response tab's text: light on the dark panel (theme), dark on white once selected (CSS)
REDOC_CSS = """<style>
redoc h5 { color: #5c6266 !important; }
redoc li.tab-error[aria-selected="true"] { color: #b0261f !important; }
redoc li.tab-success[aria-selected="true"] { color: #1d7a4d !important; }
</style>
"""
REDOC_THEME = {
    "typography": {"code": {"color": "#b0261f"}},
    "colors": {
        "responses": {
            "error": {"tabTextColor": "#ff8a87"},
            "success": {"tabTextColor": "#6fdc7a"},
        }
    },
}
# ReDoc renders media-type <select>s without a label (and more as panels open): name them
REDOC_LABEL_SELECTS = """<script>
new MutationObserver(() => {
  for (const s of document.querySelectorAll("redoc select:not([aria-label])")) {
    s.setAttribute("aria-label", "Media type");
  }
}).observe(document.documentElement, {childList: true, subtree: true});
</script>
"""


def _edit(page: HTMLResponse, *changes: tuple[str, str]) -> HTMLResponse:
    """``page`` with each ``(old, new)`` replaced once (an error if ``old`` is missing)."""
    text = bytes(page.body).decode("utf-8")
    for old, new in changes:
        if old not in text:
            raise RuntimeError(f"docs page lacks {old!r}")
        text = text.replace(old, new, 1)
    return HTMLResponse(text)


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


@cache
def redoc_script() -> bytes:
    """ReDoc's standalone script with its CDN logo replaced by an inline empty image."""
    text = (ASSETS_DIR / REDOC_FILE).read_text(encoding="utf-8")
    return text.replace(REDOC_LOGO, EMPTY_SVG).encode("utf-8")


def install_docs(app: FastAPI) -> None:
    """Add /docs, its OAuth2 redirect, /redoc and the assets they load to ``app`` (built with
    ``docs_url=None, redoc_url=None``)."""
    missing = [f for f in (*SWAGGER_FILES, REDOC_FILE) if not (ASSETS_DIR / f).is_file()]
    if missing:
        raise RuntimeError(f"fastapi-offline lacks {missing} in {ASSETS_DIR}")

    @app.get(f"{ASSETS_URL}/{REDOC_FILE}", include_in_schema=False)
    def redoc_js() -> Response:  # before the mount, which would serve the file as it is
        return Response(
            redoc_script(),
            media_type="text/javascript",
            headers={"cache-control": "public, max-age=86400"},
        )

    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        page = get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + redirect_url,
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None, "deepLinking": False},
        )
        return _edit(
            page,
            ("<html>", '<html lang="en">'),
            ("</head>", SWAGGER_CSS + "</head>"),
            ('<div id="swagger-ui">\n    </div>', '<main id="swagger-ui"></main>'),
        )

    @app.get(redirect_url, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        page = get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/{REDOC_FILE}",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
        theme = html.escape(json.dumps(REDOC_THEME))
        return _edit(
            page,
            ("<html>", '<html lang="en">'),
            ("</head>", REDOC_CSS + "</head>"),
            ("<redoc ", "<main><redoc "),
            ("></redoc>", f' theme="{theme}"></redoc></main>'),
            ("</body>", REDOC_LABEL_SELECTS + "</body>"),
        )
