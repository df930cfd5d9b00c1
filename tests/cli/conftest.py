"""A real dqm server for the CLI tests, and ``dqm`` run in this process with its output."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from dqm.service.cli import main
from dqm.service.settings import Settings
from dqm_client import Client
from tests.support.server import running_server


@dataclass
class Done:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    url: str
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *args: str) -> Done:
        """``dqm ARGS --url URL``; the exit status and what it printed."""
        self.capsys.readouterr()
        code = 0
        try:
            main([*args, "--url", self.url])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = self.capsys.readouterr()
        return Done(code, captured.out, captured.err)


@pytest.fixture
def server_url(settings: Settings) -> Iterator[str]:
    with running_server(settings) as http:
        yield str(http.base_url).rstrip("/")


@pytest.fixture
def dqm(
    server_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("DQM_URL", raising=False)
    monkeypatch.delenv("DQM_API_KEY", raising=False)
    return Cli(server_url, capsys)


@pytest.fixture
def client(server_url: str) -> Iterator[Client]:
    with Client(server_url) as c:
        yield c
