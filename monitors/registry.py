"""Imports every built-in monitor kind so that ``@register`` has run for each."""

from monitors import (
    coverage,  # noqa: F401
    data_quality,  # noqa: F401
    drift,  # noqa: F401
    label_quality,  # noqa: F401
)
