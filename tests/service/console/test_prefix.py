"""The console behind an ingress: every link, asset and form under the path prefix (from
``X-Forwarded-Prefix`` or ``DQM_ROOT_PATH``), every link resolving, and no URL of another host
on any page."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from dqm.service.auth import create_key
from dqm.service.clock import utcnow
from dqm.service.db.session import make_engine, make_sessionmaker
from tests.service.console import scenario
from tests.service.console.html import absolute_urls, urls
from tests.support.receiver import running_receiver
from tests.support.server import running_server

PREFIX = "/team/dqm"
# The API's routes (the footer's /docs and /metrics, a run's /v1/.../report), checked to be
# under the prefix but not crawled: their pages are tested with the API.
OUTSIDE = ("/docs", "/metrics", "/v1/")


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    settings = scenario.module_settings(tmp_path_factory.mktemp("prefix"))
    with running_receiver() as receiver, running_server(settings) as client:
        scenario.build(client, receiver.url)
        yield client


def crawl(client: httpx.Client, prefix: str, headers: dict[str, str], strip: bool) -> set[str]:
    """Follow every console link from the overview; each must start with ``prefix`` and
    answer 200 when the ingress sends it on (``strip``: without the prefix, as most do)."""
    seen: set[str] = set()
    todo = [prefix + "/"]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        path = url.removeprefix(prefix) if strip else url
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (url, response.status_code)
        if not response.headers["content-type"].startswith("text/html"):
            continue
        for tag, attribute, found in urls(response.text):
            if found.startswith("#"):
                continue
            link = urljoin(url, found)  # a relative link resolves against the page
            assert urlsplit(link).netloc == "", (url, tag, attribute, found)
            assert link.startswith(prefix + "/"), (url, tag, attribute, found)
            target = link.split("#")[0]
            local = target.removeprefix(prefix)
            if attribute != "action" and not local.startswith(OUTSIDE):
                todo.append(target)
        for found in absolute_urls(response.text):
            host = urlsplit(found).hostname or ""
            assert ipaddress.ip_address(host).is_loopback, (url, found)
    return seen


def test_every_link_and_asset_resolves_under_a_forwarded_prefix(console: httpx.Client) -> None:
    seen = crawl(console, PREFIX, {"X-Forwarded-Prefix": PREFIX}, strip=True)
    pages = {urlsplit(u).path.removeprefix(PREFIX) for u in seen}
    for expected in (
        "/",
        "/static/console.css",
        "/static/console.js",
        "/static/plotly.min.js",
        "/datasets/churn",
        "/monitors/churn-drift",
        "/alerts",
        "/hooks/trainer",
        "/retrain",
        "/relabel/pets",
        "/relabel/pets/export.csv",
    ):
        assert expected in pages, expected
    assert any(p.startswith("/runs/") for p in pages)
    plotly = console.get("/static/plotly.min.js")
    assert len(plotly.content) > 1_000_000 and b"plotly.js" in plotly.content[:200]


def test_without_a_prefix_links_start_at_the_root(console: httpx.Client) -> None:
    crawl(console, "", {}, strip=True)


@pytest.mark.parametrize("bad", ["//evil.example", "/a b", "https://evil.example/x", "/x/../y"])
def test_a_prefix_that_is_not_a_plain_path_is_ignored(console: httpx.Client, bad: str) -> None:
    html = console.get("/", headers={"X-Forwarded-Prefix": bad}).text
    assert all(link.startswith(("/static/", "/", "#")) for _, _, link in urls(html))
    assert 'href="/static/console.css"' in html


def test_dqm_root_path_serves_both_stripped_and_prefixed_paths(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings = scenario.module_settings(tmp_path_factory.mktemp("root_path"))
    settings = settings.model_copy(update={"root_path": "/dqm"})
    engine = make_engine(settings.database_url)
    reader = create_key(make_sessionmaker(engine), "reader", ("read",), utcnow())
    engine.dispose()
    with running_server(settings) as client:
        for path in ("/alerts", "/dqm/alerts"):  # an ingress that strips it, one that does not
            away = client.get(path)
            assert away.status_code == 303
            assert away.headers["location"] == "/dqm/sign-in?next=%2Falerts"
        done = client.post("/dqm/sign-in", data={"key": reader, "next": "/alerts"})
        client.cookies.clear()
        assert done.headers["location"] == "/dqm/alerts"
        assert "path=/dqm" in done.headers["set-cookie"].lower()
        cookie = {"Cookie": done.headers["set-cookie"].split(";")[0]}
        crawl(client, "/dqm", cookie, strip=False)
