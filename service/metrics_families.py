"""The database-backed /metrics families: their definitions and their text, piece by piece.

The snapshot (``metrics_snapshot``) renders each monitor's samples once, when its runs change,
and joins the pieces under one header per family; the text is prometheus-client's, byte for
byte: headers from ``generate_latest`` on one family at a time, sample lines from each series'
name and labels escaped once as it escapes them (cached) and its number format.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dqm.service.db.models import Alert, Dataset, Delivery, Monitor
from dqm.service.metrics_text import series_prefix

RUNS = "dqm_runs"
LAST_SUCCESS = "dqm_monitor_last_success_timestamp_seconds"
METRIC = "dqm_monitor_metric"
COLUMN_METRIC = "dqm_monitor_column_metric"
ALERTS = "dqm_alerts"
ALERT_FIRING = "dqm_alert_firing"
DELIVERIES = "dqm_deliveries"
OUTBOX_DEPTH = "dqm_outbox_depth"
OUTBOX_AGE = "dqm_outbox_oldest_pending_age_seconds"

#: name -> (counter?, help, labels), in the order of the exposition.
FAMILIES: dict[str, tuple[bool, str, list[str]]] = {
    RUNS: (True, "Finished monitor runs by outcome.", ["dataset", "monitor", "outcome"]),
    LAST_SUCCESS: (False, "Finish time of the latest successful run.", ["dataset", "monitor"]),
    METRIC: (
        False,
        "Latest value of each dataset-level monitor metric.",
        ["dataset", "monitor", "metric"],
    ),
    COLUMN_METRIC: (
        False,
        "Latest value of each per-column monitor metric.",
        ["dataset", "monitor", "metric", "feature"],
    ),
    ALERTS: (False, "Alerts by state and severity.", ["state", "severity"]),
    ALERT_FIRING: (
        False,
        "One series per firing alert.",
        ["dataset", "monitor", "metric", "feature", "severity"],
    ),
    DELIVERIES: (False, "Deliveries by state.", ["state"]),
    OUTBOX_DEPTH: (False, "Deliveries still to send.", []),
    OUTBOX_AGE: (False, "Age of the oldest delivery still to send.", []),
}
DELIVERY_STATES = ("pending", "delivered", "dead")
Sample = tuple[Sequence[str], float]


class _One(Collector):
    def __init__(self, family: Any) -> None:
        self.family = family

    def collect(self) -> Iterator[Any]:
        yield self.family


def _family(name: str) -> Any:
    counter, documentation, labels = FAMILIES[name]
    cls = CounterMetricFamily if counter else GaugeMetricFamily
    return cls(name, documentation, labels=labels)


def _text(name: str, samples: Iterable[Sample]) -> tuple[str, str]:
    """The family's header lines and its sample lines, as prometheus-client writes them."""
    family = _family(name)
    for labels, value in samples:
        family.add_metric(list(labels), value)
    text = generate_latest(_One(family)).decode()
    help_line, type_line, body = text.split("\n", 2)
    return f"{help_line}\n{type_line}\n", body


@cache
def header(name: str) -> str:
    """``# HELP`` and ``# TYPE`` of a family."""
    return _text(name, ())[0]


def lines(name: str, samples: Iterable[Sample]) -> str:
    """The sample lines of a family (no header): one piece of the exposition, byte for byte
    :func:`_text`'s (prometheus-client's), each series' name and labels formatted once: a
    resync writes the same 15,000 series of 100 monitors x 50 columns again, and escaping
    their labels through prometheus-client was 85% of its CPU."""
    return "".join(f"{_series(name, tuple(labels))}{_value(value)}\n" for labels, value in samples)


def _value(value: float) -> str:
    return str(floatToGoString(value))  # type: ignore[no-untyped-call]


@lru_cache(maxsize=1 << 17)
def _series(name: str, labels: tuple[str, ...]) -> str:
    """``name{label="value",...} `` of one series of a family (a counter's sample is _total)."""
    counter, _, names = FAMILIES[name]
    # zip as prometheus-client's add_metric does (labels beyond the family's names ignored).
    return series_prefix(f"{name}_total" if counter else name, dict(zip(names, labels)))  # noqa: B905


def timestamp(at: datetime) -> float:
    """Seconds since the epoch of a stored time (SQLite returns it naive, in UTC)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True)
class Shared:
    """The families that are not per monitor: alerts and the outbox (read every refresh)."""

    text: str  # every such family but the outbox age, which grows between refreshes
    oldest_pending: datetime | None

    def outbox_age(self, now: datetime) -> str:
        age = (
            0.0
            if self.oldest_pending is None
            else max(0.0, now.timestamp() - timestamp(self.oldest_pending))
        )
        return header(OUTBOX_AGE) + lines(OUTBOX_AGE, [((), age)])


def read_shared(session: Session) -> Shared:
    """Alerts by state and severity, firing alerts, deliveries by state, the outbox."""
    counts = session.execute(
        select(Alert.state, Alert.severity, func.count())
        .where(Alert.state.in_(("pending", "firing")))
        .group_by(Alert.state, Alert.severity)
        .order_by(Alert.state, Alert.severity)
    )
    firing = session.execute(
        select(Dataset.name, Monitor.name, Alert.metric, Alert.column, Alert.severity)
        .join(Monitor, Monitor.id == Alert.monitor_id)
        .join(Dataset, Dataset.id == Monitor.dataset_id)
        .where(Alert.state == "firing")
        .order_by(Alert.id)
    )
    states = dict(
        session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    )
    oldest = session.scalar(
        select(func.min(Delivery.created_at)).where(Delivery.status == "pending")
    )
    pending = states.get("pending", 0)
    text = "".join(
        (
            header(ALERTS),
            lines(ALERTS, (((s, v), n) for s, v, n in counts)),
            header(ALERT_FIRING),
            lines(ALERT_FIRING, (((d, m, n, c or "", s), 1) for d, m, n, c, s in firing)),
            header(DELIVERIES),
            lines(DELIVERIES, (((s,), states.get(s, 0)) for s in DELIVERY_STATES)),
            header(OUTBOX_DEPTH),
            lines(OUTBOX_DEPTH, [((), pending)]),
        )
    )
    return Shared(text, oldest)
