"""A real dqm server (uvicorn on a loopback port, in a thread) and a ``dqm_client.Client``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from dqm.service.settings import Settings
from dqm_client import Client, Retry
from tests.support.server import running_server


@pytest.fixture
def server(settings: Settings) -> Iterator[httpx.Client]:
    with running_server(settings) as http:
        yield http


@pytest.fixture
def client(server: httpx.Client) -> Iterator[Client]:
    with Client(str(server.base_url), retry=Retry(attempts=3, backoff=0.05)) as c:
        yield c
