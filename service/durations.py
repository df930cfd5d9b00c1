"""Durations written as '30s', '10m', '1h', '7d'.

>>> duration_seconds("10m")
600
"""

from __future__ import annotations

import re

DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(text: str) -> int:
    """Seconds in a duration; raises ValueError naming the accepted forms."""
    match = DURATION.match(text.strip())
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration like '30s', '10m', '1h' or '7d'")
    return int(match.group(1)) * UNIT_SECONDS[match.group(2)]
