"""Console errors are HTML pages in the layout, with the API's status codes: unknown things
404, bad query values 422, a database outage 503 with Retry-After."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from dqm.service.db.models import Label
from dqm.service.db.session import make_engine, make_sessionmaker
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


def test_pages_of_things_without_data_yet(settings: Settings) -> None:
    with running_server(settings) as client:
        for path in ("/", "/alerts", "/hooks", "/retrain", "/relabel"):
            assert client.get(path).status_code == 200, path
        client.post("/v1/datasets", json={"name": "fresh"}).raise_for_status()
        client.post(
            "/v1/monitors",
            json={
                "name": "idle",
                "dataset": "fresh",
                "kind": "drift",
                "schedule": {"every": "1d"},
                "window": {"last_batches": 1},
                "enabled": False,  # never scheduled: it stays without runs
            },
        ).raise_for_status()
        dataset = client.get("/datasets/fresh")
        assert dataset.status_code == 200 and "No reference uploaded yet" in dataset.text
        monitor = client.get("/monitors/idle")
        assert monitor.status_code == 200 and "No successful run yet" in monitor.text
        assert "No run yet." in monitor.text
        # A queue needs the dataset's schema, which the first reference brings.
        assert client.get("/relabel/fresh").status_code == 409


def test_a_label_form_checks_the_value_against_the_target_type(settings: Settings) -> None:
    schema = {
        "columns": [
            {"name": "id", "type": "categorical", "role": "id"},
            {"name": "x", "type": "numerical"},
            {"name": "y", "type": "numerical", "role": "target"},
        ]
    }
    with running_server(settings) as client:
        client.post("/v1/datasets", json={"name": "prices", "schema": schema}).raise_for_status()
        token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text)
        assert token is not None
        form = {"csrf_token": token.group(1), "row_id": "r1"}
        bad = client.post("/relabel/prices/labels", data={**form, "label": "expensive"})
        assert bad.status_code == 422 and "is not a number" in bad.text
        assert client.post("/relabel/prices/labels", data={**form, "label": " "}).status_code == 422
        good = client.post("/relabel/prices/labels", data={**form, "label": "2.5"})
        assert good.status_code == 303
        engine = make_engine(settings.database_url)
        with make_sessionmaker(engine)() as session:
            [stored] = session.scalars(select(Label)).all()
        engine.dispose()
        assert (stored.row_id, stored.value) == ("r1", {"label": 2.5})
