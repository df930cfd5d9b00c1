"""The built-in monitor kinds, and lookups of a kind's class and parameters by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from dqm.monitors.base import Monitor, validate_params
from dqm.monitors.coverage.monitor import CoverageMonitor
from dqm.monitors.drift.monitor import DriftMonitor
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.integrity.monitor import DataQualityMonitor
from dqm.monitors.labels.monitor import LabelQualityMonitor
from dqm.monitors.registry import REGISTRY

BUILT_IN: tuple[type[Monitor], ...] = (
    CoverageMonitor,
    DataQualityMonitor,
    DriftMonitor,
    LabelQualityMonitor,
)


def monitor_class(kind: str) -> type[Monitor]:
    """The registered class of ``kind``; an unknown kind names the known ones."""
    try:
        return REGISTRY[kind]
    except KeyError:
        raise InvalidInputError(
            f"unknown monitor kind {kind!r}; known kinds: {sorted(REGISTRY)}",
            [{"field": "kind", "value": kind, "allowed": sorted(REGISTRY)}],
        ) from None


def parse_params(kind: str, params: Mapping[str, Any] | None) -> BaseModel:
    """Validate ``params`` against the kind's ``Params`` model (extra keys are errors)."""
    return validate_params(kind, monitor_class(kind).Params, params)
