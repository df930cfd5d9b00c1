"""``dqm keys`` and the start-up rules: the loopback refusal and the bootstrap admin key,
exercised through the real command and real ``dqm serve`` processes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dqm.service.auth import authenticate
from dqm.service.cli import main
from dqm.service.db.session import make_engine, make_sessionmaker
from dqm.service.settings import Settings
from tests.support.process import dqm_process
from tests.support.server import free_port


def _scopes(settings: Settings, token: str) -> tuple[str, ...] | None:
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return authenticate(session, token)
    finally:
        engine.dispose()


def test_keys_create_list_revoke(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DQM_DATABASE_URL", settings.database_url)
    main(["keys", "create", "--name", "ci", "--scope", "read", "--scope", "ingest"])
    token = capsys.readouterr().out.strip()
    assert _scopes(settings, token) == ("ingest", "read")

    main(["keys", "list"])
    listing = capsys.readouterr().out
    assert listing.split("\t")[0] == "ci" and "ingest,read\tactive" in listing
    assert token not in listing and token[13:] not in listing

    with pytest.raises(SystemExit, match="exists"):
        main(["keys", "create", "--name", "ci", "--scope", "admin"])
    main(["keys", "revoke", "ci"])
    main(["keys", "list"])
    assert "\trevoked " in capsys.readouterr().out
    assert _scopes(settings, token) is None
    with pytest.raises(SystemExit, match="no API key named 'nope'"):
        main(["keys", "revoke", "nope"])


@pytest.mark.slow
def test_serve_refuses_a_public_bind_without_any_key(settings: Settings) -> None:
    env = {
        **os.environ,
        "DQM_DATABASE_URL": settings.database_url,
        "DQM_DATA_DIR": settings.data_dir,
    }
    command = [sys.executable, "-m", "dqm.service.cli", "serve", "--no-migrate"]
    done = subprocess.run(
        [*command, "--host", "0.0.0.0", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "refusing to serve on 0.0.0.0: no API key exists" in done.stderr
    assert "dqm keys create" in done.stderr and "DQM_BOOTSTRAP_ADMIN_KEY" in done.stderr


@pytest.mark.slow
def test_bootstrap_key_opens_a_public_bind_and_guards_it(settings: Settings) -> None:
    token = "dqm_admin_key_for_ci_only"
    env = {"DQM_HOST": "0.0.0.0", "DQM_BOOTSTRAP_ADMIN_KEY": token}
    with dqm_process(settings, **env) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/v1/datasets").status_code == 401
        admin = {"Authorization": f"Bearer {token}"}
        assert client.get("/v1/datasets", headers=admin).status_code == 200
        # Revoking the last key on a public bind closes the API instead of opening it.
        main_env = {"DQM_DATABASE_URL": settings.database_url}
        name = next(k for k in _list(main_env) if k.startswith("bootstrap-"))
        subprocess.run(
            [sys.executable, "-m", "dqm.service.cli", "keys", "revoke", name],
            env={**os.environ, **main_env},
            check=True,
            capture_output=True,
        )
        closed = client.get("/v1/datasets", headers=admin)
        assert closed.status_code == 401
        assert "no API key exists" in closed.json()["error"]["message"]


def _list(env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "dqm.service.cli", "keys", "list"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
    )
    return [line.split("\t")[0] for line in done.stdout.splitlines()]
