"""Storage: round trips, atomic writes (real write failures and a real crash), path safety."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dqm.monitors.errors import InvalidInputError, NotFoundError
from dqm.service.storage import Storage, dataset_prefix, new_batch_path, new_reference_path

TABLE = pa.table({"x": [1.0, None, 3.0], "s": ["a", "b", None]})


@pytest.fixture
def store(tmp_path: Path) -> Storage:
    return Storage.from_uri(str(tmp_path / "dqm-data"))


def test_round_trip_and_size(store: Storage, tmp_path: Path) -> None:
    size = store.write_table("datasets/1/batches/5.parquet", TABLE)
    on_disk = tmp_path / "dqm-data" / "datasets" / "1" / "batches" / "5.parquet"
    assert size == on_disk.stat().st_size
    assert pq.ParquetFile(on_disk).metadata.row_group(0).column(0).compression == "ZSTD"
    assert store.read_table("datasets/1/batches/5.parquet").equals(TABLE)
    assert store.read_table("datasets/1/batches/5.parquet", columns=["s"]).column_names == ["s"]
    assert sorted(os.listdir(on_disk.parent)) == ["5.parquet"]  # no temporary left behind


def test_file_uri_and_mock_filesystem(tmp_path: Path) -> None:
    by_uri = Storage.from_uri((tmp_path / "via-uri").as_uri())
    by_uri.write_table("a.parquet", TABLE)
    assert (tmp_path / "via-uri" / "a.parquet").is_file()
    memory = Storage.from_uri("mock://")  # pyarrow's in-memory filesystem, root ""
    memory.write_table("d/b.parquet", TABLE)
    assert memory.exists("d/b.parquet")
    assert memory.read_table("d/b.parquet").equals(TABLE)


@pytest.mark.parametrize("uri", ["", "  ", "nosuchscheme://x"])
def test_bad_locations_are_refused(uri: str) -> None:
    with pytest.raises(InvalidInputError):
        Storage.from_uri(uri)


def test_overwrite_replaces(store: Storage) -> None:
    store.write_table("t.parquet", TABLE)
    store.write_table("t.parquet", TABLE.slice(0, 1))
    assert store.read_table("t.parquet").num_rows == 1


def test_read_tables_concatenates_and_promotes_null_columns(store: Storage) -> None:
    store.write_table("a.parquet", pa.table({"x": [1.0], "y": pa.nulls(1)}))
    store.write_table("b.parquet", pa.table({"x": [2.0], "y": ["b"]}))
    both = store.read_tables(["a.parquet", "b.parquet"])
    assert both.schema == pa.schema([("x", pa.float64()), ("y", pa.string())])
    assert both.to_pylist() == [{"x": 1.0, "y": None}, {"x": 2.0, "y": "b"}]
    assert store.read_tables(["b.parquet"], columns=["y"]).to_pylist() == [{"y": "b"}]
    with pytest.raises(InvalidInputError):
        store.read_tables([])


def test_missing_file_is_not_found(store: Storage) -> None:
    with pytest.raises(NotFoundError):
        store.read_table("nope.parquet")


def test_exists_delete_and_delete_prefix(store: Storage) -> None:
    first, second = new_batch_path(1), new_batch_path(1)
    other = new_reference_path(2)
    store.write_table(first, TABLE)
    store.write_table(second, TABLE)
    store.write_table(other, TABLE)
    assert store.exists(first)
    assert not store.exists("datasets/1/batches")  # a folder is not a file
    assert store.delete(first) is True
    assert store.delete(first) is False
    assert not store.exists(first)
    store.delete_prefix(dataset_prefix(1))
    assert not store.exists(second)
    assert store.exists(other)
    store.delete_prefix(dataset_prefix(9))  # nothing there: no error


def test_path_helpers() -> None:
    assert new_reference_path(3).startswith("datasets/3/references/")
    assert new_batch_path(3).startswith("datasets/3/batches/")
    assert new_batch_path(3) != new_batch_path(3)
    for bad in (-1, True, 1.5):
        with pytest.raises(InvalidInputError):
            new_batch_path(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "relpath", ["../x.parquet", "a/../../x.parquet", "/etc/passwd", "", ".", "a\\..\\..\\x"]
)
def test_paths_escaping_the_root_are_rejected(store: Storage, relpath: str) -> None:
    for call in (store.exists, store.delete, store.delete_prefix, store.read_table):
        with pytest.raises(InvalidInputError):
            call(relpath)
    with pytest.raises(InvalidInputError):
        store.write_table(relpath, TABLE)


def run_limited_write(root: Path, die: bool) -> subprocess.CompletedProcess[str]:
    """Write ~2 MB of incompressible data with the file size capped at 64 kB.

    With ``die`` the process is killed by SIGXFSZ mid-write (a crash); otherwise the write
    fails with EFBIG and the process checks it surfaced as DataFolderUnavailableError.
    """
    script = f"""
        import resource, signal
        import numpy as np, pyarrow as pa
        from dqm.service.outages import DataFolderUnavailableError
        from dqm.service.storage import Storage
        store = Storage.from_uri({str(root)!r})
        table = pa.table({{"x": np.random.default_rng(0).random(250_000)}})
        # CPython ignores SIGXFSZ, so an oversized write fails with EFBIG; restored to the
        # default action, the signal kills the process mid-write like a crash.
        if {die!r}:
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65_536, 65_536))
        try:
            store.write_table("t.parquet", table)
        except DataFolderUnavailableError:
            print("failed")
    """
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_failed_write_leaves_old_file_and_no_temporary(store: Storage) -> None:
    store.write_table("t.parquet", TABLE)
    result = run_limited_write(Path(store.root), die=False)
    assert result.stdout.strip() == "failed", result.stderr
    assert store.read_table("t.parquet").equals(TABLE)
    assert os.listdir(store.root) == ["t.parquet"]


def test_crash_mid_write_never_shows_a_partial_file(store: Storage) -> None:
    result = run_limited_write(Path(store.root), die=True)
    assert result.returncode < 0  # killed by a signal, mid-write
    assert not store.exists("t.parquet")
    leftovers = os.listdir(store.root)
    assert len(leftovers) == 1 and leftovers[0].startswith(".t.parquet.")
