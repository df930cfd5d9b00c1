"""Expectations learned from the reference, for columns the user gave no range for.

As TFDV's and Great Expectations' profilers do, the reference says what values to expect:

- numerical range: ``[min - t * IQR, max + t * IQR]`` of the reference (``t`` is
  ``range_tolerance``; when the IQR is 0, ``max - min`` stands in for it). Data drawn from the
  reference falls outside ``[min, max]`` with probability at most ``2 / (n + 1)`` for an
  ``n``-row reference, and the tolerance lowers that further; a scaled or shifted column
  crosses it.
- missing share: at most the reference share plus ``max(missing_tolerance, 3 * SE)``, with
  ``SE = sqrt(p (1 - p) / m)`` the binomial standard error of a share ``p`` over ``m`` window
  rows, so that sampling noise alone does not breach it.

Categorical domains are the reference categories (``out_of_domain_share`` in the monitor).
The summaries come from the ``ReferenceProfile``, computed once per reference version.

>>> import numpy as np
>>> from dqm.monitors.profile import numeric_bounds
>>> learned_range(numeric_bounds(np.arange(1.0, 10.0)), tolerance=0.5)
(-1.0, 11.0)
>>> round(missing_bound(0.1, 100, tolerance=0.01), 3)  # 0.1 + 3 * sqrt(0.1 * 0.9 / 100)
0.19
"""

from __future__ import annotations

import math

from dqm.monitors.profile import NumericBounds


def learned_range(bounds: NumericBounds, tolerance: float) -> tuple[float, float]:
    """``[min - t * IQR, max + t * IQR]``; with an IQR of 0, ``max - min`` stands in."""
    spread = bounds.iqr if bounds.iqr > 0 else bounds.max - bounds.min
    return bounds.min - tolerance * spread, bounds.max + tolerance * spread


def missing_bound(reference_share: float, n_current: int, tolerance: float) -> float:
    """Highest missing share expected of a window of ``n_current`` rows."""
    p = reference_share
    se = math.sqrt(p * (1.0 - p) / n_current) if n_current else 0.0
    return p + max(tolerance, 3.0 * se)
