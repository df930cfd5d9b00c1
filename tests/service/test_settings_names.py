"""A DQM_ variable that is not a setting stops dqm at start-up, naming the closest setting;
the other tools' DQM_ variables and Kubernetes service links are left alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from dqm.service.settings import NOT_SETTINGS, Settings


def test_a_misspelt_variable_names_the_setting_meant(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DQM_DATABSE_URL", f"sqlite:///{tmp_path}/meant.db")
    monkeypatch.setenv("dqm_max_body_byte", "10")
    with pytest.raises(ValidationError) as raised:
        Settings()
    errors = {e["loc"][0]: e["msg"] for e in raised.value.errors()}
    assert set(errors) == {"databse_url", "max_body_byte"}
    assert "did you mean DQM_DATABASE_URL?" in errors["databse_url"]
    assert "did you mean DQM_MAX_BODY_BYTES?" in errors["max_body_byte"]
    monkeypatch.setenv("DQM_ZZZZ", "1")
    with pytest.raises(ValidationError, match="see the README's settings table"):
        Settings()


def test_other_tools_variables_and_service_links_are_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in NOT_SETTINGS:
        monkeypatch.setenv(name, "x")
    links = {
        "DQM_SERVICE_HOST": "10.0.0.7",
        "DQM_SERVICE_PORT": "8000",
        "DQM_SERVICE_PORT_HTTP": "8000",
        "DQM_PORT_8000_TCP": "tcp://10.0.0.7:8000",
        "DQM_PORT_8000_TCP_ADDR": "10.0.0.7",
        "DQM_API_PORT": "tcp://10.0.0.8:8000",
    }
    for name, value in links.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DQM_LOG_LEVEL", "debug")
    assert Settings().log_level == "debug"
    # the allow-list never hides a real setting
    assert not {f"DQM_{n.upper()}" for n in Settings.model_fields} & NOT_SETTINGS


@pytest.mark.slow
def test_dqm_serve_refuses_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DQM_")}
    env |= {"DQM_DATABSE_URL": f"sqlite:///{tmp_path}/meant.db", "DQM_DATA_DIR": str(tmp_path)}
    dqm = Path(sys.executable).parent / "dqm"
    done = subprocess.run(
        [str(dqm), "serve", "--port", "1"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "DQM_DATABSE_URL" in done.stderr and "did you mean DQM_DATABASE_URL?" in done.stderr
    assert not (tmp_path / "meant.db").exists()
