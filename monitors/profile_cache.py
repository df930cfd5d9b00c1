"""Reference-side results cached on a reference profile, one entry per key.

The service keeps one :class:`~dqm.monitors.profile.ReferenceProfile` per reference version,
so whatever a run derives from the reference alone (calibration maps, sampling-error
components, realized reference metrics) is computed by the first run and reused by the next.
Entries go away with their profile (weak keys).

>>> import pyarrow as pa
>>> from dqm.monitors.schema import ColumnSpec, Schema
>>> schema = Schema(columns=[ColumnSpec(name="x", type="numerical")])
>>> profile = ReferenceProfile(pa.table({"x": [1.0]}), schema)
>>> calls = []
>>> [cached(profile, ("demo",), lambda: calls.append(1) or len(calls)) for _ in range(2)]
[1, 1]
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from dqm.monitors.profile import ReferenceProfile

T = TypeVar("T")

_ENTRIES: weakref.WeakKeyDictionary[ReferenceProfile, dict[Hashable, Any]]
_ENTRIES = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def cached(profile: ReferenceProfile, key: Hashable, build: Callable[[], T]) -> T:
    """``build()`` the first time ``key`` is asked of ``profile``, the stored value after.

    Built outside the lock, so that runs on other references do not wait; when two runs
    build the same entry at once, the first stored wins.
    """
    with _LOCK:
        entries = _ENTRIES.get(profile)
        if entries is not None and key in entries:
            return entries[key]  # type: ignore[no-any-return]
    value = build()
    with _LOCK:
        return _ENTRIES.setdefault(profile, {}).setdefault(key, value)  # type: ignore[no-any-return]
