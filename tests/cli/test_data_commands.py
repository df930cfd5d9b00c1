"""``dqm push`` and ``dqm reference`` against a real server: every file type, batch ids from
the file's hash (pushing again stores nothing twice), chunks of a large file, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dqm_client import Client
from tests.cli.conftest import Cli
from tests.support.pets import SCHEMA, rows


def frame(n: int, seed: int, prefix: str, shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(rows(n, seed, prefix, shift=shift))[["id", "x", "segment"]]


def write_all(folder: Path, df: pd.DataFrame) -> dict[str, Path]:
    """``df`` as CSV, Parquet, an Arrow IPC file and stream, JSON records and JSON lines."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    paths = {
        k: folder / f"data.{k}" for k in ("csv", "parquet", "arrow", "arrows", "json", "jsonl")
    }
    df.to_csv(paths["csv"], index=False)
    pq.write_table(table, paths["parquet"])
    with pa.ipc.new_file(str(paths["arrow"]), table.schema) as writer:
        writer.write_table(table)
    with pa.ipc.new_stream(str(paths["arrows"]), table.schema) as writer:
        writer.write_table(table)
    df.to_json(paths["json"], orient="records")
    df.to_json(paths["jsonl"], orient="records", lines=True)
    return paths


def test_reference_and_push_of_every_file_type(dqm: Cli, client: Client, tmp_path: Path) -> None:
    reference = tmp_path / "reference.csv"
    frame(300, 1, "r").to_csv(reference, index=False)
    assert dqm("reference", "pets", str(reference)).code == 1  # no such dataset
    done = dqm("reference", "pets", str(reference), "--create")
    assert done.code == 0, done.err
    assert "dataset pets created" in done.err
    assert "reference.csv -> pets: reference v1, 300 rows" in done.out
    assert "segment" in done.out and "categorical" in done.out  # the inferred schema

    paths = write_all(tmp_path, frame(40, 2, "b"))
    for kind, path in paths.items():
        path.rename(path.with_name(f"{kind}-batch{path.suffix}"))
    files = sorted(str(p) for p in tmp_path.glob("*-batch.*"))
    done = dqm("push", "pets", *files)
    assert done.code == 0, done.err
    assert done.out.count(" -> pets: 1 batch (") == 6 and "already stored" not in done.out
    batches = {b.batch_id: b.rows for b in client.batches("pets")}
    assert len(batches) == 6 and set(batches.values()) == {40}
    assert all(any(key.startswith(f"{k}-batch-") for key in batches) for k in paths)

    again = dqm("push", "pets", *files)  # the same files: the same ids, nothing stored twice
    assert again.code == 0 and again.out.count("1 already stored (not stored again)") == 6
    assert len(list(client.batches("pets"))) == 6

    named = dqm("push", "pets", files[0], "--batch-id", "2026-11-28T10")
    assert named.code == 0 and "(2026-11-28T10), 40 rows" in named.out
    two = dqm("push", "pets", files[1], files[2], "--batch-id", "pair")
    assert two.code == 0 and "(pair-1)" in two.out and "(pair-2)" in two.out


def test_labels_from_files(dqm: Cli, client: Client, tmp_path: Path) -> None:
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    pd.DataFrame(rows(100, 1, "r")).to_csv(tmp_path / "ref.csv", index=False)
    made = dqm(
        "reference",
        "pets",
        str(tmp_path / "ref.csv"),
        "--create",
        "--schema",
        str(tmp_path / "schema.json"),
    )
    assert made.code == 0 and client.dataset("pets").schema_inferred is False, made.err
    client.push_batch("pets", rows(30, 2, "b"))
    labels = pd.DataFrame({"id": [f"b{i}" for i in range(30)] + ["nope"], "label": ["dog"] * 31})
    labels.to_csv(tmp_path / "labels.csv", index=False)
    done = dqm("labels", "pets", str(tmp_path / "labels.csv"))
    assert done.code == 0, done.err
    assert "labels.csv -> pets: 30 labels matched, 1 unmatched" in done.out
    labels.iloc[:5].to_json(tmp_path / "labels.json", orient="records")
    again = dqm("labels", "pets", str(tmp_path / "labels.json"))
    assert "5 labels matched, 0 unmatched" in again.out


def test_a_large_file_goes_in_chunks_with_ids_from_its_hash(
    dqm: Cli, client: Client, tmp_path: Path
) -> None:
    client.create_dataset("pets")
    client.put_reference("pets", frame(200, 1, "r"))
    big = frame(5000, 3, "c")
    for suffix in ("csv", "parquet"):
        path = write_all(tmp_path, big)[suffix]
        done = dqm("push", "pets", str(path), "--chunk-bytes", "1000", "--chunk-rows", "1200")
        assert done.code == 0, done.err
        assert "5 batches" in done.out and "5000 rows" in done.out
    stored = {b.batch_id: b.rows for b in client.batches("pets")}
    assert len(stored) == 10 and sum(stored.values()) == 10_000
    chunk_rows = sorted(r for key, r in stored.items() if key.startswith("data-"))
    assert chunk_rows == sorted([1200] * 4 + [200] * 1 + [1200] * 4 + [200])
    parquet_ids = sorted(k for k in stored if k.endswith(tuple(f"-0000{i}" for i in range(1, 6))))
    assert len(parquet_ids) == 10
    # The same file again: each chunk keeps its id, the server already has them all.
    again = dqm(
        "push",
        "pets",
        str(tmp_path / "data.parquet"),
        "--chunk-bytes",
        "1000",
        "--chunk-rows",
        "1200",
    )
    assert "5 already stored" in again.out and len(list(client.batches("pets"))) == 10


def test_errors_are_one_line_with_the_envelope_and_exit_1(
    dqm: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps([{"id": "a", "x": 1.0}]))
    missing = dqm("push", "nope", str(path))
    assert (
        missing.code == 1 and "error: 404 not_found: dataset 'nope' does not exist" in missing.err
    )
    unknown = dqm("push", "nope", str(tmp_path / "b.txt"))
    assert unknown.code == 1 and "no such file" in unknown.err
    (tmp_path / "b.txt").write_text("x")
    assert "unknown file type '.txt'" in dqm("push", "nope", str(tmp_path / "b.txt")).err

    from dqm.service.cli import main

    with pytest.raises(SystemExit) as no_url:
        main(["datasets"])
    assert no_url.value.code == 1
    monkeypatch.setenv("DQM_URL", dqm.url)
    main(["datasets", "--json"])  # the URL from the environment
