"""Console errors are HTML pages in the layout, with the API's status codes: unknown things
404, bad query values 422, a database outage 503 with Retry-After."""

from __future__ import annotations

from pathlib import Path

from dqm.service.settings import Settings
from tests.support.outage import invalid_sqlite_url
from tests.support.server import running_server


def test_unknown_things_and_bad_values_are_html_pages(settings: Settings) -> None:
    with running_server(settings) as client:
        for path, status in (
            ("/datasets/nope", 404),
            ("/monitors/nope", 404),
            ("/hooks/nope", 404),
            ("/relabel/nope", 404),
            ("/static/nope.js", 404),
            ("/alerts?severity=apocalyptic", 422),
            ("/retrain?status=maybe", 422),
        ):
            page = client.get(path)
            assert page.status_code == status, path
            assert page.headers["content-type"].startswith("text/html"), path
            assert '<html lang="en">' in page.text and "<h1>" in page.text, path
        assert "dataset &#39;nope&#39; does not exist" in client.get("/datasets/nope").text
        # The API keeps its JSON envelope.
        assert client.get("/v1/datasets/nope").json()["error"]["code"] == "not_found"


def test_a_database_outage_is_a_503_page(settings: Settings, tmp_path: Path) -> None:
    down = settings.model_copy(update={"database_url": invalid_sqlite_url(tmp_path), "role": "api"})
    with running_server(down) as client:
        page = client.get("/")
        assert page.status_code == 503 and page.headers["retry-after"]
        assert "text/html" in page.headers["content-type"] and "Unavailable" in page.text
        assert "broken.db" not in page.text  # no internals
