"""Client.push_profile against a real server: a profile built from the dataset's schema as
Client.dataset returns it, idempotent by batch id, 422 on a profile the schema refuses."""

from __future__ import annotations

import asyncio

import pyarrow as pa
import pytest

from dqm_client import AsyncClient, Batch, Client
from dqm_client.errors import ApiError
from dqm_client.profiles import codec, profile_arrow, profiled_types
from tests.service.data import SCHEMA, frame, records


def test_push_profile_sends_a_batch_as_numbers(client: Client) -> None:
    client.create_dataset("d", schema=SCHEMA)
    client.put_reference("d", records(frame(200, 1)))
    schema = client.dataset("d").schema
    assert schema is not None
    profile = profile_arrow(pa.table(frame(300, 2)), profiled_types(schema))
    sent = client.push_profile("d", profile, batch_id="p1")
    assert (sent.batch_id, sent.rows, sent.kind, sent.created) == ("p1", 300, "profile", True)
    again = client.push_profile("d", codec.encode(profile), batch_id="p1")  # the same bytes
    assert again.created is False and again.received_at == sent.received_at
    assert [(b.batch_id, b.kind) for b in client.batches("d")] == [("p1", "profile")]
    wrong = profile_arrow(pa.table({"age": ["a"]}), {"age": "categorical"})
    with pytest.raises(ApiError) as refused:
        client.push_profile("d", wrong)
    assert refused.value.status == 422
    assert refused.value.details == [{"column": "age", "expected": "numerical"}]
    with pytest.raises(TypeError):
        client.push_profile("d", {"rows": 1})  # neither a BatchProfile nor bytes


def test_the_async_client_pushes_a_profile(client: Client) -> None:
    client.create_dataset("d", schema=SCHEMA)
    profile = profile_arrow(pa.table(frame(50, 3)), profiled_types(SCHEMA))

    async def push() -> Batch:
        async with AsyncClient(client.url) as aio:
            return await aio.push_profile("d", profile, batch_id="a")

    sent = asyncio.run(push())
    assert (sent.batch_id, sent.rows, sent.kind, sent.created) == ("a", 50, "profile", True)
