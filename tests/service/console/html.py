"""Reading the console's HTML in tests: tables by id, links and form actions, visible text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

URL_ATTRIBUTES = {"href", "src", "action"}


class _Tables(HTMLParser):
    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.depth = 0  # nesting inside the wanted table (row-data tables sit inside cells)
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            if self.depth or dict(attrs).get("id") == self.table_id:
                self.depth += 1
        elif self.depth == 1 and tag == "tr":
            self.rows.append([])
        elif self.depth == 1 and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth == 1 and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table(html: str, table_id: str) -> list[dict[str, str]]:
    """The rows of ``<table id=table_id>`` as {header: cell text}, headers from its first row."""
    parser = _Tables(table_id)
    parser.feed(html)
    assert parser.rows, f"no table {table_id!r} in the page"
    head, *body = parser.rows
    return [dict(zip(head, row, strict=True)) for row in body]


class _Urls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in URL_ATTRIBUTES and value is not None:
                self.urls.append((tag, name, value))


def urls(html: str) -> list[tuple[str, str, str]]:
    """Every (tag, attribute, URL) of href, src and action attributes."""
    parser = _Urls()
    parser.feed(html)
    return parser.urls


def absolute_urls(html: str) -> list[str]:
    """Every http(s):// URL anywhere in the page (attributes, text, inline JSON)."""
    return re.findall(r"https?://[^\s\"'<>)]+", html)


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)
