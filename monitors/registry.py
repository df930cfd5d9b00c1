"""The registry of monitor kinds: ``@register`` adds a class under its ``kind``.

Lookups go through :mod:`dqm.monitors.kinds`, which imports every built-in kind first.
"""

from __future__ import annotations

from typing import TypeVar

from dqm.monitors.base import Monitor

REGISTRY: dict[str, type[Monitor]] = {}

M = TypeVar("M", bound=type[Monitor])


def register(cls: M) -> M:
    """Class decorator: add a monitor kind to the registry and return the class unchanged."""
    if cls.kind in REGISTRY and REGISTRY[cls.kind] is not cls:
        raise ValueError(f"monitor kind {cls.kind!r} is registered twice")
    REGISTRY[cls.kind] = cls
    return cls
