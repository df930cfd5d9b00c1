"""Profile a Spark DataFrame where it lives (the extra ``dqm-client[spark]``).

Each partition profiles its rows from Arrow record batches (``mapInArrow``), and the
partitions' profiles are merged in a tree (``treeAggregate``) as serialized bytes, so no row
reaches the driver: only one profile per partition crosses the network, each a few KB per
column. The profile holds the dataset's monitored numerical and categorical columns
(``dqm_client.profiles.profiled_types``); columns the DataFrame lacks are left out.

Usage, in a scheduled job::

    client = Client(url, api_key=key)
    schema = client.get_dataset("churn").schema
    profile = profile_dataframe(spark.table("prod.churn_scoring").where(...), schema)
    client.push_profile("churn", profile, batch_id="2026-11-29")
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from dqm_client.profiles import BatchProfile, codec, profile_arrow, profiled_types
from dqm_client.profiles.types import FloatArray

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

PROFILE_COLUMN = "profile"


def profile_dataframe(
    df: DataFrame,
    schema: Mapping[str, Any],
    edges: Mapping[str, FloatArray] | None = None,
    reference_version: int | None = None,
    depth: int = 2,
) -> BatchProfile:
    """The profile of every row of ``df``, computed in Spark (one pass, no collect of rows).

    ``schema`` is the dataset's schema as the API returns it (``{"columns": [...]}``).
    ``depth`` is the depth of the merge tree over the partitions' profiles.
    """
    types = {n: t for n, t in profiled_types(schema).items() if n in df.columns}
    selected = df.select(*types) if types else df.select()
    output = pa.schema([(PROFILE_COLUMN, pa.binary())])

    def per_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        profile = BatchProfile(reference_version=reference_version)
        for batch in batches:
            part = profile_arrow(pa.Table.from_batches([batch]), types, edges, reference_version)
            profile = profile.merge(part)
        yield pa.RecordBatch.from_pydict({PROFILE_COLUMN: [codec.encode(profile)]}, output)

    encoded = selected.mapInArrow(per_partition, f"{PROFILE_COLUMN} binary").rdd.map(
        lambda row: bytes(row[0])
    )
    empty = codec.encode(BatchProfile(reference_version=reference_version))
    return codec.decode(encoded.treeAggregate(empty, _merge, _merge, depth=depth))


def _merge(left: bytes, right: bytes) -> bytes:
    return codec.encode(codec.decode(left).merge(codec.decode(right)))
