"""Jinja filters of the console: times, numbers, sizes and durations as people read them."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment


def when(value: datetime | None) -> str:
    """A UTC time to the second.

    >>> when(datetime(2026, 11, 29, 21, 30, 5, 123, tzinfo=UTC)), when(None)
    ('2026-11-29 21:30:05 UTC', '—')
    """
    if value is None:
        return "—"
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: datetime | None) -> str:
    """Machine-readable time for ``<time datetime=...>``."""
    if value is None:
        return ""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def num(value: float | int | None, digits: int = 4) -> str:
    """A number with ``digits`` significant digits, as the API's value rounded.

    >>> num(0.636363), num(12345.678), num(3), num(None), num(float("nan")), num(1e-7)
    ('0.6364', '1.235e+04', '3', '—', 'NaN', '1e-07')
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    return f"{value:.{digits}g}"


def size(value: int | None) -> str:
    """Bytes in binary units.

    >>> size(512), size(2048), size(5 * 1024**3), size(None)
    ('512 B', '2.0 KiB', '5.0 GiB', '—')
    """
    if value is None:
        return "—"
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{int(amount)} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} TiB"


def seconds(value: float | None) -> str:
    """A duration.

    >>> seconds(0.25), seconds(75), seconds(7300), seconds(None)
    ('0.25 s', '1 min 15 s', '2 h 1 min', '—')
    """
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.2g} s" if value < 10 else f"{value:.0f} s"
    if value < 3600:
        return f"{int(value // 60)} min {int(value % 60)} s"
    return f"{int(value // 3600)} h {int(value % 3600 // 60)} min"


def pretty(value: Any) -> str:
    """JSON, indented, for configuration blocks."""
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def install(env: Environment) -> None:
    env.filters.update(when=when, iso=iso, num=num, size=size, seconds=seconds, pretty=pretty)
