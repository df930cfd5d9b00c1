"""The per-(rule, column) alert state machine: ``ok -> pending -> firing -> ok``.

Semantics follow Prometheus alerting rules, counted in monitor runs instead of seconds:

- a breaching run moves ``ok`` to ``pending``; after ``for_`` consecutive breaching runs the
  alert is ``firing`` (``for_=1`` fires on the first breaching run) and one ``"firing"`` event is
  emitted for the whole episode;
- a clean run while ``pending`` goes back to ``ok`` silently (nothing was ever announced);
- while ``firing``, ``keep_firing_for + 1`` consecutive clean runs resolve it (one
  ``"resolved"`` event); a breaching run in between resets that count;
- with ``repeat_every=N``, every N-th run that stays firing emits a ``"repeat"`` reminder.

>>> now = datetime(2026, 1, 1, tzinfo=UTC)
>>> s0 = AlertState()
>>> s1, event = step(s0, True, now, for_=2)
>>> s1.state, event
('pending', None)
>>> s2, event = step(s1, True, now, for_=2)
>>> s2.state, event
('firing', 'firing')
>>> step(s2, False, now, for_=2)[1]
'resolved'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from dqm.monitors.errors import InvalidInputError

StateName = Literal["ok", "pending", "firing"]
Event = Literal["firing", "resolved", "repeat"]

_STATES: tuple[StateName, ...] = ("ok", "pending", "firing")


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class AlertState:
    """Where one (rule, column) alert stands after a run.

    Attributes
    ----------
    state
        ``"ok"``, ``"pending"`` (breaching, fewer than ``for`` runs so far) or ``"firing"``.
    breaching
        Consecutive breaching runs (reset by a clean run).
    clean
        Consecutive clean runs while firing (counts towards ``keep_firing_for``).
    started_at
        Time of the first breaching run of the current episode (Prometheus' ``activeAt``).
    firing_since
        Time the alert started firing.
    since_notified
        Runs since the last ``"firing"`` or ``"repeat"`` notification, while firing.
    """

    state: StateName = "ok"
    breaching: int = 0
    clean: int = 0
    started_at: datetime | None = None
    firing_since: datetime | None = None
    since_notified: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (datetimes as ISO-8601 strings) for the service's JSON column."""
        return {
            "state": self.state,
            "breaching": self.breaching,
            "clean": self.clean,
            "started_at": _iso(self.started_at),
            "firing_since": _iso(self.firing_since),
            "since_notified": self.since_notified,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AlertState:
        """Inverse of :meth:`to_dict`; missing keys take their defaults.

        >>> t = datetime(2026, 1, 1, tzinfo=UTC)
        >>> s = AlertState("firing", 3, 0, t, t, 1)
        >>> AlertState.from_dict(s.to_dict()) == s
        True
        """
        state = data.get("state", "ok")
        if state not in _STATES:
            raise InvalidInputError(f"unknown alert state {state!r}; known: {list(_STATES)}")
        counts = {k: data.get(k, 0) for k in ("breaching", "clean", "since_notified")}
        for key, count in counts.items():
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise InvalidInputError(f"alert state field {key!r} must be a count, got {count!r}")
        return cls(
            state=state,
            started_at=_parse_iso(data.get("started_at")),
            firing_since=_parse_iso(data.get("firing_since")),
            **counts,
        )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else as_utc(moment).isoformat()


def _parse_iso(text: Any) -> datetime | None:
    if text is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(str(text)))
    except ValueError:
        raise InvalidInputError(f"not an ISO-8601 datetime: {text!r}") from None


def step(
    state: AlertState,
    breach: bool,
    now: datetime,
    *,
    for_: int = 1,
    keep_firing_for: int = 0,
    repeat_every: int | None = None,
) -> tuple[AlertState, Event | None]:
    """The state after one run with data (``breach`` or clean), and the event to notify, if any.

    Parameters
    ----------
    state
        The alert's state before this run.
    breach
        Whether this run's value breaches the rule.
    now
        The run's time; stamps ``started_at`` and ``firing_since``.
    for_, keep_firing_for
        Breaching runs in a row before firing; clean runs in a row a firing alert waits
        before resolving (Prometheus' ``for`` and ``keep_firing_for``, counted in runs).
    repeat_every
        While firing, a ``"repeat"`` event every this many runs; None: never.
    """
    if state.state == "firing":
        return _step_firing(state, breach, now, keep_firing_for, repeat_every)
    if not breach:
        return AlertState(), None
    breaching = state.breaching + 1 if state.state == "pending" else 1
    started = state.started_at if state.state == "pending" and state.started_at else now
    if breaching >= for_:
        return AlertState("firing", breaching, 0, started, now, 0), "firing"
    return AlertState("pending", breaching, 0, started, None, 0), None


def _step_firing(
    state: AlertState,
    breach: bool,
    now: datetime,
    keep_firing_for: int,
    repeat_every: int | None,
) -> tuple[AlertState, Event | None]:
    if breach:
        nxt = replace(state, breaching=state.breaching + 1, clean=0)
    else:
        if state.clean + 1 > keep_firing_for:
            return AlertState(), "resolved"
        nxt = replace(state, breaching=0, clean=state.clean + 1)
    since = state.since_notified + 1
    if repeat_every is not None and since >= repeat_every:
        return replace(nxt, since_notified=0), "repeat"
    return replace(nxt, since_notified=since), None
