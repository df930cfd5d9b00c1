"""Mergeable column profiles of batches: a batch can arrive as numbers instead of rows.

A profile summarises one batch (or any set of rows) column by column so that profiles of
many batches merge into the profile of their union without re-reading rows: counts, nulls,
minimum and maximum are exact; mean and variance merge exactly up to rounding (Chan et al.);
numbers carry an Apache DataSketches KLL quantile sketch (``numeric.KLL_K``) and, when the
reference version fixes bin edges, exact counts on those bins; categories carry exact counts
up to ``categorical.EXACT_CATEGORY_CAP`` distinct values, then a frequent-items sketch.

Distinct from ``dqm.monitors.profile``, which is what a run derives from the reference rows
once per reference version. The wire format is in ``codec`` and docs/profiles.md.
"""
