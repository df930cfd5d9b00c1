"""``dqm apply`` against a real server: create, change, prune; ``--dry-run`` changes nothing;
hook secrets come from the environment and a rotated one is seen through its fingerprint;
invalid files are refused before any change."""

from __future__ import annotations

import base64
import hashlib
import secrets
from pathlib import Path

import pytest

import dqm.service.cli.apply_file as apply_file
from dqm_client import Client
from tests.cli.conftest import Cli

DATASETS = """\
datasets:
  - name: churn
    schema:
      columns:
        - {name: id, type: categorical, role: id}
        - {name: age, type: numerical}
        - {name: plan, type: categorical}
        - {name: churned, type: categorical, role: target}
"""

HOOKS_AND_MONITORS = """\
hooks:
  - name: trainer
    url: https://ml.example.com/dqm
    events: [alert.firing, retrain.requested]
    secret_env: H9_TRAINER_SECRET
monitors:
  - name: churn-drift
    dataset: churn
    kind: drift
    schedule: {every: 10m}
    rules:
      - {metric: share_drifted_columns, op: ">=", value: 0.3, severity: critical}
    actions:
      - {on: firing, hook: trainer, event: retrain.requested, cooldown: 1d}
"""

SECOND_MONITOR = """\
  - name: churn-age
    dataset: churn
    kind: drift
    schedule: {every: 1h}
    rules:
      - {metric: drift_score, column: age, op: ">", value: 0.2}
"""


def _secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(base64.b64decode(secret.removeprefix("whsec_"))).hexdigest()[:12]


def _write(folder: Path, datasets: str, rest: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "datasets.yaml").write_text(datasets)
    (folder / "monitors.yml").write_text(rest)
    (folder / "notes.txt").write_text("not read: only *.yaml and *.yml")
    return folder


def test_apply_change_and_prune_round_trip(
    dqm: Cli, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _secret()
    monkeypatch.setenv("H9_TRAINER_SECRET", first)
    conf = _write(tmp_path / "conf", DATASETS, HOOKS_AND_MONITORS)

    planned = dqm("apply", "-f", str(conf), "--dry-run", "--exit-code")
    assert planned.code == 2, planned
    for line in ("+ create datasets/churn", "+ create hooks/trainer (secret from",
                 "+ create monitors/churn-drift", "3 change(s) to apply (dry run"):  # fmt: skip
        assert line in planned.out, planned.out
    assert first not in planned.out + planned.err
    assert list(client.datasets()) == [] and list(client.hooks()) == []

    done = dqm("apply", "-f", str(conf))
    assert done.code == 0, done
    assert "3 change(s) applied: 3 to create." in done.out, done.out
    schema = client.dataset("churn").schema or {}
    assert [c["name"] for c in schema["columns"]] == ["id", "age", "plan", "churned"]
    hook = client.hook("trainer")
    assert (hook.url, hook.events) == (
        "https://ml.example.com/dqm",
        ["alert.firing", "retrain.requested"],
    )
    assert hook.secret_fingerprint == _fingerprint(first)
    monitor = client.monitor("churn-drift")
    assert monitor.rules[0]["value"] == 0.3 and monitor.actions[0]["cooldown"] == "1d"

    for args in (
        ("apply", "-f", str(conf)),
        ("apply", "-f", str(conf), "--dry-run", "--exit-code"),
    ):
        again = dqm(*args)
        assert again.code == 0, again
        assert "No changes: the server matches the files." in again.out, again.out
    assert client.monitor("churn-drift").created_at == monitor.created_at

    # a threshold, a hook URL, a new monitor, an added column, a rotated secret
    second = _secret()
    monkeypatch.setenv("H9_TRAINER_SECRET", second)
    changed = (HOOKS_AND_MONITORS.replace("value: 0.3", "value: 0.25")
               .replace("ml.example.com/dqm", "ml.example.com/v2") + SECOND_MONITOR)  # fmt: skip
    datasets = DATASETS.replace(
        "{name: plan, type: categorical}", "{name: plan, type: categorical, role: prediction}"
    )
    _write(conf, datasets + "        - {name: income, type: numerical}\n", changed)
    planned = dqm("apply", "-f", str(conf), "--dry-run")
    assert planned.code == 0, planned
    out = planned.out
    assert "~ update datasets/churn" in out and "schema.columns.income: null ->" in out, out
    assert '"role": "feature"' in out and '"role": "prediction"' in out, out  # plan's role
    assert "~ update hooks/trainer" in out
    assert 'url: "https://ml.example.com/dqm" -> "https://ml.example.com/v2"' in out, out
    fingerprints = f'secret_fingerprint: "{_fingerprint(first)}" -> "{_fingerprint(second)}"'
    assert fingerprints in out, out
    assert "~ update monitors/churn-drift" in out and "rules[0].value: 0.3 -> 0.25" in out, out
    assert "rules[0].name" in out  # the derived rule name follows the threshold
    assert "+ create monitors/churn-age" in out
    assert "4 change(s) to apply (dry run: nothing changed): 1 to create, 3 to update." in out
    assert second not in out + planned.err
    assert client.hook("trainer").secret_fingerprint == _fingerprint(first)

    done = dqm("apply", "-f", str(conf))
    assert done.code == 0 and "4 change(s) applied" in done.out, done
    assert client.monitor("churn-drift").rules[0]["value"] == 0.25
    assert client.monitor("churn-drift").created_at == monitor.created_at  # patched, not replaced
    assert client.hook("trainer").url == "https://ml.example.com/v2"
    assert client.hook("trainer").secret_fingerprint == _fingerprint(second)
    columns = {c["name"]: c for c in (client.dataset("churn").schema or {})["columns"]}
    assert columns["income"]["type"] == "numerical" and columns["plan"]["role"] == "prediction"
    assert client.monitor("churn-age").schedule == {"every": "1h"}

    # a monitor and the hook leave the files: kept without --prune, deleted with it
    _write(conf, datasets + "        - {name: income, type: numerical}\n",
           "monitors:\n" + SECOND_MONITOR)  # fmt: skip
    kept = dqm("apply", "-f", str(conf))
    assert kept.code == 0, kept
    assert "kept monitors/churn-drift: not in the files (--prune deletes it)" in kept.out
    assert "kept hooks/trainer" in kept.out and "No changes" in kept.out, kept.out
    assert {m.name for m in client.monitors()} == {"churn-drift", "churn-age"}

    pruned = dqm("apply", "-f", str(conf), "--prune")
    assert pruned.code == 0, pruned
    assert "- delete monitors/churn-drift" in pruned.out and "- delete hooks/trainer" in pruned.out
    assert pruned.out.index("delete monitors/churn-drift") < pruned.out.index("delete hooks/")
    assert {m.name for m in client.monitors()} == {"churn-age"}
    assert list(client.hooks()) == [] and client.dataset("churn").name == "churn"

    (conf / "datasets.yaml").write_text("datasets: []\n")
    (conf / "monitors.yml").write_text("{}\n")
    data = dqm("apply", "-f", str(conf), "--prune", "--prune-datasets")
    assert data.code == 0 and "- delete datasets/churn" in data.out, data
    assert list(client.datasets()) == []


def test_invalid_files_and_missing_secrets_change_nothing(
    dqm: Cli, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("H9_TRAINER_SECRET", raising=False)
    bad = tmp_path / "bad.yaml"
    colour = HOOKS_AND_MONITORS.replace("    kind: drift\n", "    kind: drift\n    colour: red\n")
    twice = (
        "  - name: churn-drift\n    dataset: churn\n    kind: drift\n    schedule: {every: 1h}\n"
    )
    bad.write_text(DATASETS + colour + twice)
    refused = dqm("apply", "-f", str(bad))
    assert refused.code == 1, refused
    assert "invalid apply files, nothing changed" in refused.err
    assert f"{bad}:18: monitors[0].colour: Extra inputs are not permitted" in refused.err
    assert f"{bad}:24: monitors[1]: duplicate monitor 'churn-drift' (first: {bad}:15)" in (
        refused.err.replace("\n", "")
    ), refused.err

    good = tmp_path / "good.yaml"
    good.write_text(DATASETS + HOOKS_AND_MONITORS)
    no_secret = dqm("apply", "-f", str(good))
    assert no_secret.code == 1, no_secret
    assert f"{good}:13: hooks[0].secret_env: environment variable H9_TRAINER_SECRET is not set" in (
        no_secret.err
    ), no_secret.err
    monkeypatch.setenv("H9_TRAINER_SECRET", "whsec_dG9vIHNob3J0")
    short = dqm("apply", "-f", str(good))
    assert short.code == 1 and "H9_TRAINER_SECRET is not a webhook secret" in short.err, short
    assert "dG9vIHNob3J0" not in short.err + short.out

    monkeypatch.setenv("H9_TRAINER_SECRET", _secret())
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text(HOOKS_AND_MONITORS.replace("hook: trainer", "hook: pager"))
    unknown = dqm("apply", "-f", str(elsewhere))
    assert unknown.code == 1, unknown
    err = " ".join(unknown.err.split())
    assert "the files do not fit the server, nothing changed" in err
    assert "monitors[0].dataset: no dataset 'churn' in the files or on the server" in err, err
    assert "monitors[0].actions[0].hook: no hook 'pager' in the files or on the server" in err

    typo = tmp_path / "typo.yaml"
    typo.write_text(
        DATASETS + HOOKS_AND_MONITORS.replace("share_drifted_columns", "share_drifted_column")
    )
    wrong = dqm("apply", "-f", str(typo))
    assert wrong.code == 1, wrong
    assert (
        "monitors[0].rules[0].metric: drift monitors report no metric 'share_drifted_column'"
        in (" ".join(wrong.err.split()))
    ), wrong.err
    assert list(client.datasets()) == [] and list(client.hooks()) == []
    assert list(client.monitors()) == []


def test_the_documented_example_applies_once(
    dqm: Cli, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = Path(__file__).parents[2] / "examples" / "dqm.yaml"
    secret = _secret()
    monkeypatch.setenv("DQM_TRAINER_SECRET", secret)
    done = dqm("apply", "-f", str(example))
    assert done.code == 0 and "3 change(s) applied: 3 to create." in done.out, done
    assert client.hook("trainer").secret_fingerprint == _fingerprint(secret)
    assert [m.name for m in client.monitors()] == ["churn-drift"]
    again = dqm("apply", "-f", str(example), "--dry-run", "--exit-code")
    assert again.code == 0 and "No changes" in again.out, again


def test_a_folder_laid_out_as_a_mounted_config_map_yields_its_yaml_files(tmp_path: Path) -> None:
    # kubelet's layout: the files in a timestamped folder, ..data -> it, each name -> ..data/name
    stamped = tmp_path / "..2026_11_29_22_00_00.123456789"
    stamped.mkdir()
    (stamped / "b.yml").write_text("hooks: []\n")
    (stamped / "a.yaml").write_text(DATASETS)
    (tmp_path / "..data").symlink_to(stamped.name)
    for name in ("a.yaml", "b.yml"):
        (tmp_path / name).symlink_to(f"..data/{name}")
    assert [p.name for p in apply_file.files_of([tmp_path])] == ["a.yaml", "b.yml"]
    assert list(apply_file.load([tmp_path]).datasets) == ["churn"]


def test_a_call_the_server_refuses_stops_the_apply_saying_what_was_done(
    dqm: Cli, client: Client, tmp_path: Path
) -> None:
    refused = tmp_path / "metadata.yaml"
    hook = (
        "hooks:\n  - {name: sneaky, url: 'http://169.254.169.254/latest', events: [alert.firing]}\n"
    )
    refused.write_text(DATASETS + hook)
    done = dqm("apply", "-f", str(refused))
    assert done.code == 1, done
    assert "+ create datasets/churn" in done.out and "1 change(s) applied" in done.out, done
    assert "failed at create hooks/sneaky" in done.err and "169.254.169.254" in done.err, done
    assert [d.name for d in client.datasets()] == ["churn"] and list(client.hooks()) == []
