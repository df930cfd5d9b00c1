"""What the commands that talk to a server share: ``--url`` / ``--api-key`` (or ``DQM_URL``,
``DQM_API_KEY``), a client built from them, API errors as one readable message and exit
code 1, tables and ``--json`` output."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from dqm_client import Client

Url = Annotated[
    str | None,
    typer.Option("--url", envvar="DQM_URL", help="the dqm server, e.g. http://127.0.0.1:8000"),
]
ApiKey = Annotated[
    str | None,
    typer.Option("--api-key", envvar="DQM_API_KEY", help="an API key (Authorization: Bearer)"),
]
Json = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
Limit = Annotated[int | None, typer.Option("--limit", min=1, help="at most this many")]


def console(stderr: bool = False) -> Console:
    """Rich output; when not a terminal (a pipe, a CI log), 160 columns unless ``COLUMNS``
    says otherwise, so tables keep their rows on one line."""
    from rich.console import Console

    out = Console(stderr=stderr, highlight=False)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out = Console(stderr=stderr, highlight=False, width=160)
    return out


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; the ``typer.Exit(1)`` to raise."""
    console(stderr=True).print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(1)


@contextmanager
def connected(url: str | None, api_key: str | None) -> Iterator[Client]:
    """A client for ``url``; API errors and connection failures end the command with a
    message (the error envelope's code, message and details) and exit code 1."""
    from dqm_client import ApiError, Client, ConnectionFailed

    if not url:
        raise fail("no server given: pass --url URL or set DQM_URL (e.g. http://127.0.0.1:8000)")
    retries = logging.getLogger("dqm_client")
    if not retries.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("dqm: %(message)s"))
        retries.addHandler(handler)
        retries.setLevel(logging.INFO)
    try:
        with Client(url, api_key) as client:
            yield client
    except ApiError as exc:
        compact = json.dumps(exc.details, default=str)
        wide = json.dumps(exc.details, indent=2, default=str)
        details = f"\n{compact if len(compact) <= 200 else wide}" if exc.details else ""
        raise fail(f"{exc.status} {exc.code}: {exc.message}{details}") from None
    except ConnectionFailed as exc:
        raise fail(f"cannot reach {url}: {exc}") from None


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def print_json(items: Any) -> None:
    sys.stdout.write(json.dumps(items, indent=2, default=str) + "\n")


def print_table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], empty: str
) -> None:
    from rich.table import Table

    out = console()
    if not rows:
        out.print(empty)
        return
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    out.print(table)


def listing(
    items: Sequence[Any],
    as_json: bool,
    title: str,
    columns: Sequence[str],
    row: Callable[[Any], Sequence[str]],
    empty: str,
) -> None:
    """Print typed results as a table, or their JSON (``raw``) with ``--json``."""
    if as_json:
        print_json([i.raw for i in items])
    else:
        print_table(title, columns, [row(i) for i in items], empty)
