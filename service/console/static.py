"""The console's own files and Plotly.js, from the installed packages (no CDN)."""

from __future__ import annotations

from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path

from fastapi import Request
from fastapi.responses import FileResponse

from dqm.monitors.errors import NotFoundError
from dqm.service.console.web import page_router

router = page_router()
OWN = files("dqm.service.console") / "static"
ASSETS = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
# Plotly's browser bundle ships inside the Python package Evidently already installs.
# Found without importing plotly (find_spec reads no module of a top-level package).
_PLOTLY = find_spec("plotly")
if _PLOTLY is None or _PLOTLY.origin is None:
    raise RuntimeError("the plotly package (installed with evidently) is missing")
PLOTLY_JS = Path(_PLOTLY.origin).parent / "package_data" / "plotly.min.js"
CACHE = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}


@router.get("/static/plotly.min.js")
def plotly_js(request: Request) -> FileResponse:
    return FileResponse(PLOTLY_JS, media_type="text/javascript; charset=utf-8", headers=CACHE)


@router.get("/static/{name}")
def asset(name: str, request: Request) -> FileResponse:
    if name not in ASSETS:
        raise NotFoundError(f"no console asset named {name!r}")
    return FileResponse(Path(str(OWN / name)), media_type=ASSETS[name], headers=CACHE)
