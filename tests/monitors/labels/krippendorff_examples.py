"""Published rating matrices of Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability":
one item per row, one observer per column, None where an observer gave no rating."""

from __future__ import annotations

import numpy as np

_: None = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers,
# 12 units with missing values; alpha is 0.743 nominal, 0.815 ordinal, 0.849 interval.
KRIPPENDORFF_C = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
        [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
    ],
    dtype=np.object_,
).T
# Same paper, section A: two observers, binary data, alpha = 0.095.
KRIPPENDORFF_A = np.array(
    [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]], dtype=np.object_
).T
