"""The README's walk-through works as pasted: its bash block runs, command by command, in one
shell, against a real ``dqm serve`` on a free port with a fresh database, from an empty folder
(holding only the virtual environment, as ``make serve`` leaves it)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port

README = Path(__file__).resolve().parents[1] / "README.md"
SENTINEL = "@@exit="


def walkthrough() -> str:
    """The first bash block of the README's "Five minutes with the API" section."""
    text = README.read_text()
    section = text[text.index("## Five minutes with the API") :]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match is not None, "no bash block in the walk-through"
    return match.group(1)


def commands(block: str) -> list[str]:
    """Shell commands, split where a line ends outside quotes and without a backslash;
    comment lines dropped."""
    found: list[str] = []
    current, quote = "", ""
    for line in block.splitlines(keepends=True):
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line
        for char in line:
            if quote and char == quote:
                quote = ""
            elif not quote and char in "'\"":
                quote = char
        if not quote and not current.rstrip("\n").endswith("\\"):
            found.append(current.strip())
            current = ""
    assert not current, f"unterminated command: {current!r}"
    return found


def test_commands_split_on_quotes_and_continuations() -> None:
    block = "# note\na 'x\ny' \\\n  z\n\nb \"q\"  # done\n"
    assert commands(block) == ["a 'x\ny' \\\n  z", 'b "q"  # done']


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DQM_")}
    env |= {
        "DQM_PORT": str(port),
        "DQM_DATABASE_URL": f"sqlite:///{tmp_path}/server/dqm.db",
        "DQM_DATA_DIR": str(tmp_path / "server"),
    }
    dqm = Path(sys.executable).parent / "dqm"
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen([str(dqm), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{url}/v1/datasets", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "dqm serve did not answer within 60 s"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


class Shell:
    """One bash process; each command's output and exit status, as a person at a terminal."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.run("set -o pipefail")

    def run(self, command: str) -> tuple[int, str]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f'{command}\necho; echo "{SENTINEL}$?"\n')
        self.process.stdin.flush()
        lines: list[str] = []
        while True:
            line = self.process.stdout.readline()
            assert line, f"bash ended during {command!r}: {''.join(lines)}"
            if line.startswith(SENTINEL):
                return int(line[len(SENTINEL) :]), "".join(lines)
            lines.append(line)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.mark.slow
def test_the_walkthrough_runs_as_pasted(server: str, tmp_path: Path) -> None:
    folder = tmp_path / "user"
    folder.mkdir()
    (folder / ".venv").symlink_to(Path(sys.executable).parent.parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DQM_", "VIRTUAL_ENV"))}
    env["DQM"] = server
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"  # dqm comes from the README's activate line
    shell = Shell(folder, env)
    outputs: list[str] = []
    try:
        for command in commands(walkthrough()):
            started = time.monotonic()
            status, output = shell.run(command)
            print(f"{time.monotonic() - started:6.1f} s  {command[:60]!r}")
            assert status == 0, f"{command}\nexited {status}:\n{output}"
            outputs.append(output)
    finally:
        shell.close()
    run = json.loads((folder / "run.json").read_text())
    assert run["status"] == "succeeded"
    drifted = next(m for m in run["metrics"] if m["name"] == "share_drifted_columns")
    assert drifted["value"] >= 0.3  # the example batch really drifted
    firing = json.loads(next(o for o in outputs if '"state":"firing"' in o))["items"]
    assert [a["metric"] for a in firing] == ["share_drifted_columns"]
    assert "<html" in (folder / "report.html").read_text().lower()
    labels = next(o for o in outputs if '"matched"' in o)
    assert json.loads(labels)["matched"] == 1000
