"""Mergeable column profiles: a batch can reach dqm as numbers instead of rows.

A profile summarises one batch (or any set of rows) column by column, so that profiles of
many batches merge into the profile of their union without re-reading rows: counts, nulls,
minimum and maximum are exact; mean and variance merge exactly up to rounding (Chan et al.);
numbers carry an Apache DataSketches KLL quantile sketch (``numeric.KLL_K``) and, when the
reference version fixes bin edges, exact counts on those bins; categories carry exact counts
up to ``categorical.EXACT_CATEGORY_CAP`` distinct values, then a frequent-items sketch.

The format is the contract between whoever computes profiles (a service, a Spark job:
``dqm_client.spark``) and the dqm server, so it lives with the client, in the optional extra
``dqm-client[profiles]`` (numpy, pyarrow, datasketches). Wire format: ``codec`` and
docs/profiles.md.
"""

from dqm_client.profiles.batch import BatchProfile, merge_all, profile_arrow, profiled_types
from dqm_client.profiles.categorical import CategoricalProfile
from dqm_client.profiles.codec import decode, encode, json_view
from dqm_client.profiles.numeric import NumericProfile

__all__ = [
    "BatchProfile",
    "CategoricalProfile",
    "NumericProfile",
    "decode",
    "encode",
    "json_view",
    "merge_all",
    "profile_arrow",
    "profiled_types",
]
