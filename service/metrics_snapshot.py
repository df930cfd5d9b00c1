"""The database-backed /metrics families as a snapshot, refreshed in the background.

A scrape serves the snapshot's text: it costs no query and no rendering, however many monitors
and runs there are and whatever the runner is doing. Every replica keeps its own snapshot of
the shared database and converges on the same numbers:

- every ``metrics_refresh_seconds``: the runs that finished since the watermark (the latest
  ``finished_at`` seen, less ``OVERLAP_SECONDS`` for runs committed late or stamped by a slower
  clock; runs already counted are remembered by id), the metric values of each monitor's new
  latest successful run, the monitor names, alerts and the outbox;
- every ``metrics_resync_seconds``: everything again from one consistent read, which brings in
  what a watermark cannot see (runs deleted by retention, a run committed later than the
  overlap).

Only monitors whose runs changed are rendered again. See docs/metrics.md for the bounds.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from dqm.service import metrics_families as fam
from dqm.service import metrics_reads as reads
from dqm.service.clock import utcnow
from dqm.service.outages import UnavailableError, as_unavailable, report_outage

log = logging.getLogger(__name__)
OVERLAP_SECONDS = 30.0
MONITOR_FAMILIES = (fam.RUNS, fam.LAST_SUCCESS, fam.METRIC, fam.COLUMN_METRIC)


@dataclass
class MonitorState:
    """What the snapshot knows of one monitor, and its rendered pieces per family."""

    dataset: str
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    last_success: datetime | None = None
    latest_run: int | None = None
    values: list[reads.Value] = field(default_factory=list)
    pieces: dict[str, str] = field(default_factory=dict)

    def render(self, max_features: int) -> None:
        ds, mon = self.dataset, self.name
        runs = [((ds, mon, status), n) for status, n in sorted(self.counts.items()) if n]
        last = [] if self.last_success is None else [((ds, mon), fam.timestamp(self.last_success))]
        dataset_level, per_column = [], []
        features: dict[str, set[str]] = {}
        for metric, column, value in self.values:
            if column is None:
                dataset_level.append(((ds, mon, metric), value))
                continue
            seen = features.setdefault(metric, set())
            if column not in seen and len(seen) >= max_features:
                continue
            seen.add(column)
            per_column.append(((ds, mon, metric, column), value))
        self.pieces = {
            fam.RUNS: fam.lines(fam.RUNS, runs),
            fam.LAST_SUCCESS: fam.lines(fam.LAST_SUCCESS, last),
            fam.METRIC: fam.lines(fam.METRIC, dataset_level),
            fam.COLUMN_METRIC: fam.lines(fam.COLUMN_METRIC, per_column),
        }


class MetricsSnapshot:
    """The text of the database families, kept current by :meth:`refresh` (see the module)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        max_features: int,
        refresh_seconds: float = 1.0,
        resync_seconds: float = 60.0,
    ) -> None:
        self.sessions, self.max_features = sessions, max_features
        self.refresh_seconds, self.resync_seconds = refresh_seconds, resync_seconds
        self.monitors: dict[int, MonitorState] = {}
        self.counted: dict[int, datetime] = {}  # finished runs within the overlap, by id
        self.watermark: datetime | None = None
        self.shared = fam.Shared("", None)
        self.body: bytes | None = None
        self.error: UnavailableError | None = None
        self.refreshed_at = 0.0  # time.monotonic() of the last successful refresh
        self.resynced_at = 0.0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._failure: str | None = None
        self._gone = False  # a monitor was deleted since the text was assembled

    # -- serving ---------------------------------------------------------------------------

    def current(self) -> bool:
        """Whether :meth:`exposition` answers without reading the database (the text exists
        and a background thread keeps it, or it is fresh), so it may run on the event loop."""
        stale = time.monotonic() - self.refreshed_at >= self.refresh_seconds
        return self.body is not None and (self._thread is not None or not stale)

    def exposition(self) -> bytes:
        """The families' text; refreshed here only when no background thread keeps it."""
        stale = time.monotonic() - self.refreshed_at >= self.refresh_seconds
        if self.body is None or (self._thread is None and stale):
            self.refresh()
        if self.error is not None:
            raise self.error
        assert self.body is not None
        return self.body + self.shared.outbox_age(utcnow()).encode()

    # -- the background thread -------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="dqm-metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        self._thread = None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self.refresh()
            self._stopping.wait(self.refresh_seconds)

    def refresh(self, full: bool | None = None) -> None:
        """One refresh, a full one when due (or when ``full``); an outage is kept and served
        as a 503 until a refresh succeeds."""
        with self._lock:
            if full is None:
                due = time.monotonic() - self.resynced_at >= self.resync_seconds
                full = self.body is None or due
            try:
                with self.sessions() as session:
                    self._resync(session) if full else self._update(session)
            except Exception as exc:
                unavailable = as_unavailable(exc)
                if unavailable is None:  # a bug: logged once per kind, served as a 503
                    if self._failure != repr(exc):
                        log.exception("metrics snapshot: refresh failed")
                    self._failure = repr(exc)
                    unavailable = UnavailableError(type(exc).__name__)
                report_outage(unavailable)
                self.error = unavailable
                self.resynced_at = -math.inf  # a refresh cut short: read everything next
                return
            self._failure = None
            self.error = None
            self.refreshed_at = time.monotonic()
            if full:
                self.resynced_at = self.refreshed_at

    # -- reading ---------------------------------------------------------------------------

    def _resync(self, session: Session) -> None:
        """Everything from one consistent read."""
        reads.consistent(session)
        names = reads.monitor_names(session)
        state = {m: MonitorState(ds, name) for m, (ds, name) in names.items()}
        for monitor, status, count, last in reads.run_counts(session):
            if monitor in state:
                state[monitor].counts[status] = count
                if status == "succeeded":
                    state[monitor].last_success = last
        latest = reads.latest_successes(session)
        values = reads.values_of(session, latest.values())
        for monitor, run_id in latest.items():
            if monitor in state:
                state[monitor].latest_run = run_id
                state[monitor].values = values.get(run_id, [])
        self.watermark = reads.last_finished(session)
        self.counted = reads.finished_ids_since(session, self._since())
        self.shared = fam.read_shared(session)
        for each in state.values():
            each.render(self.max_features)
        self.monitors = state
        self._assemble()

    def _update(self, session: Session) -> None:
        """What changed since the last refresh."""
        changed = self._rename(reads.monitor_names(session))
        since = self._since()
        newest: dict[int, int] = {}
        for run in reads.finished_since(session, since):
            monitor = self.monitors.get(run.monitor_id)
            if run.id in self.counted or monitor is None:
                continue  # counted already, or a monitor the next refresh will know
            self.counted[run.id] = run.finished_at
            self.watermark = max(self.watermark or run.finished_at, run.finished_at)
            monitor.counts[run.status] = monitor.counts.get(run.status, 0) + 1
            changed.add(run.monitor_id)
            if run.status == "succeeded":
                last = monitor.last_success
                monitor.last_success = (
                    run.finished_at if last is None else max(last, run.finished_at)
                )
                if monitor.latest_run is None or run.id > monitor.latest_run:
                    monitor.latest_run = newest[run.monitor_id] = run.id
        values = reads.values_of(session, newest.values())
        for monitor_id, run_id in newest.items():
            self.monitors[monitor_id].values = values.get(run_id, [])
        self._forget_old()
        shared = fam.read_shared(session)
        for monitor_id in changed:
            self.monitors[monitor_id].render(self.max_features)
        if changed or shared.text != self.shared.text or self._gone:
            self.shared, self._gone = shared, False
            self._assemble()  # else the text stands: nothing in it changed
        self.shared = shared

    def _since(self) -> datetime | None:
        """Where the next read of finished runs starts (None: no run had finished)."""
        if self.watermark is None:
            return None
        return self.watermark - timedelta(seconds=OVERLAP_SECONDS)

    def _rename(self, names: dict[int, tuple[str, str]]) -> set[int]:
        """Follow created, deleted and renamed monitors; the ids to render again."""
        for gone in set(self.monitors) - set(names):
            del self.monitors[gone]
            self._gone = True
        changed = set()
        for monitor_id, (dataset, name) in names.items():
            known = self.monitors.get(monitor_id)
            if known is None:
                self.monitors[monitor_id] = MonitorState(dataset, name)
            elif (known.dataset, known.name) != (dataset, name):
                known.dataset, known.name = dataset, name
                changed.add(monitor_id)
        return changed

    def _forget_old(self) -> None:
        since = self._since()
        if since is not None:
            self.counted = {r: at for r, at in self.counted.items() if at >= since}

    def _assemble(self) -> None:
        ordered = sorted(self.monitors.values(), key=lambda m: (m.name, m.dataset))
        parts: list[str] = []
        for name in MONITOR_FAMILIES:
            parts.append(fam.header(name))
            parts.extend(m.pieces.get(name, "") for m in ordered)
        parts.append(self.shared.text)
        self.body = "".join(parts).encode()
