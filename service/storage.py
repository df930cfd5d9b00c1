"""Parquet files under one root: a local folder or an object store, through ``pyarrow.fs``.

Paths given to ``Storage`` are relative to its root, use "/" and may not leave the root.
On a filesystem, writes go to a temporary name in the same folder and are then moved into place,
so a crash never leaves a half-written file under the final name. On an object store (S3, GCS)
an object appears only when its upload completes, so writes go straight to the final key (a
move there would be a second full copy). A failing filesystem (read-only, full,
gone, unreachable) raises ``DataFolderUnavailableError``; a missing file ``NotFoundError``.

>>> import tempfile
>>> store = Storage.from_uri(tempfile.mkdtemp())
>>> path = new_batch_path(1)
>>> store.write_table(path, pa.table({"x": [1.0, 2.0]})) > 0
True
>>> store.read_table(path).column("x").to_pylist()
[1.0, 2.0]
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from dqm.monitors.errors import InvalidInputError, NotFoundError
from dqm.service.outages import DataFolderUnavailableError

COMPRESSION = "zstd"
TEMPORARY_SUFFIX = ".tmp"
PROBE_PREFIX = ".dqm-probe-"  # the files ``check_writable`` writes (and deletes)
PROFILE_SUFFIX = ".dqmp"


def dataset_prefix(dataset_id: int) -> str:
    """The folder holding every file of a dataset (delete it with ``delete_prefix``)."""
    return f"datasets/{_positive(dataset_id, 'dataset_id')}"


def new_reference_path(dataset_id: int) -> str:
    """A fresh path for one reference upload of a dataset.

    Every upload gets its own file, written before the database row that points to it: a
    losing concurrent upload, or a crash before the commit, never touches a stored file.

    >>> new_reference_path(3).startswith("datasets/3/references/")
    True
    """
    return f"{dataset_prefix(dataset_id)}/references/{uuid.uuid4().hex}.parquet"


def new_batch_path(dataset_id: int) -> str:
    """A fresh path for one batch upload of a dataset (see ``new_reference_path``).

    >>> new_batch_path(3) != new_batch_path(3)
    True
    """
    return f"{dataset_prefix(dataset_id)}/batches/{uuid.uuid4().hex}.parquet"


def new_profile_path(dataset_id: int) -> str:
    """A fresh path for one batch's profile (the binary ``dqm_client.profiles.codec``).

    >>> new_profile_path(3).startswith("datasets/3/profiles/")
    True
    """
    return f"{dataset_prefix(dataset_id)}/profiles/{uuid.uuid4().hex}{PROFILE_SUFFIX}"


def _positive(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(f"{name} must be a non-negative integer, got {value!r}")
    return value


@dataclass(frozen=True)
class StoredFile:
    """One file under the root, as listed by ``Storage.list_files``."""

    relpath: str
    size: int
    modified: datetime | None


@contextmanager
def _data_folder(action: str) -> Iterator[None]:
    """Turn filesystem failures into ``DataFolderUnavailableError``."""
    try:
        yield
    except OSError as exc:
        raise DataFolderUnavailableError(f"cannot {action}: {exc}") from exc


def _object_store_types() -> tuple[type[pafs.FileSystem], ...]:
    """The ``pyarrow.fs`` classes whose uploads are atomic (those this pyarrow build has)."""
    names = ("S3FileSystem", "GcsFileSystem")
    return tuple(t for t in (getattr(pafs, n, None) for n in names) if isinstance(t, type))


class Storage:
    """Parquet tables under ``root`` of a ``pyarrow.fs`` filesystem."""

    def __init__(self, filesystem: pafs.FileSystem, root: str) -> None:
        self.filesystem = filesystem
        self.root = root.rstrip("/")
        self.is_object_store = isinstance(filesystem, _object_store_types())

    @classmethod
    def from_uri(cls, uri: str) -> Storage:
        """Open a local folder ("/data/dqm", "./dqm-data"), "file:///...", or "s3://b/prefix".

        A local folder is created if missing.
        """
        if not uri.strip():
            raise InvalidInputError("the storage location is empty")
        if "://" not in uri:
            path = Path(uri).expanduser().resolve()
            path.mkdir(parents=True, exist_ok=True)
            return cls(pafs.LocalFileSystem(), path.as_posix())
        try:
            filesystem, root = pafs.FileSystem.from_uri(uri)
        except (pa.ArrowException, ValueError) as exc:
            raise InvalidInputError(f"cannot open storage at {uri!r}: {exc}") from exc
        if isinstance(filesystem, pafs.LocalFileSystem):
            filesystem.create_dir(root, recursive=True)
        return cls(filesystem, root)

    def path(self, relpath: str) -> str:
        """The full path of ``relpath``; rejects absolute paths and paths leaving the root.

        >>> Storage(pafs.LocalFileSystem(), "/data").path("a/./b.parquet")
        '/data/a/b.parquet'
        """
        parts = relpath.replace("\\", "/").split("/")
        if not relpath or relpath.startswith("/") or ".." in parts or "\0" in relpath:
            raise InvalidInputError(
                f"storage path {relpath!r} must be relative and stay under the root"
            )
        clean = posixpath.normpath("/".join(parts))
        if clean == ".":
            raise InvalidInputError("a storage path must name something under the root")
        return f"{self.root}/{clean}" if self.root else clean

    def write_table(self, relpath: str, table: pa.Table) -> int:
        """Write ``table`` as zstd Parquet at ``relpath`` (replacing it); return its size."""
        final = self.path(relpath)
        folder, name = posixpath.split(final)
        if self.is_object_store:
            with _data_folder(f"write {relpath!r}"):
                pq.write_table(table, final, filesystem=self.filesystem, compression=COMPRESSION)
                return int(self.filesystem.get_file_info(final).size)
        temporary = f"{folder}/.{name}.{uuid.uuid4().hex}{TEMPORARY_SUFFIX}"
        with _data_folder(f"write {relpath!r}"):
            self.filesystem.create_dir(folder, recursive=True)
            try:
                pq.write_table(
                    table, temporary, filesystem=self.filesystem, compression=COMPRESSION
                )
                self.filesystem.move(temporary, final)
            except BaseException:
                self._discard(temporary)
                raise
            return int(self.filesystem.get_file_info(final).size)

    def read_table(self, relpath: str, columns: list[str] | None = None) -> pa.Table:
        """Read one Parquet file (only ``columns`` if given)."""
        full = self.path(relpath)
        try:
            return pq.read_table(full, filesystem=self.filesystem, columns=columns)
        except FileNotFoundError as exc:
            raise NotFoundError(f"no stored file at {relpath!r}", [{"path": relpath}]) from exc
        except OSError as exc:
            raise DataFolderUnavailableError(f"cannot read {relpath!r}: {exc}") from exc

    def write_bytes(self, relpath: str, data: bytes) -> int:
        """Write ``data`` at ``relpath`` (replacing it), the same way as ``write_table``."""
        final = self.path(relpath)
        folder, name = posixpath.split(final)
        if self.is_object_store:
            with _data_folder(f"write {relpath!r}"):
                self._put(final, data)
            return len(data)
        temporary = f"{folder}/.{name}.{uuid.uuid4().hex}{TEMPORARY_SUFFIX}"
        with _data_folder(f"write {relpath!r}"):
            self.filesystem.create_dir(folder, recursive=True)
            try:
                self._put(temporary, data)
                self.filesystem.move(temporary, final)
            except BaseException:
                self._discard(temporary)
                raise
        return len(data)

    def read_bytes(self, relpath: str) -> bytes:
        """The content of one file."""
        full = self.path(relpath)
        try:
            with self.filesystem.open_input_stream(full) as stream:
                return bytes(stream.read())
        except FileNotFoundError as exc:
            raise NotFoundError(f"no stored file at {relpath!r}", [{"path": relpath}]) from exc
        except OSError as exc:
            raise DataFolderUnavailableError(f"cannot read {relpath!r}: {exc}") from exc

    def read_tables(self, relpaths: Iterable[str], columns: list[str] | None = None) -> pa.Table:
        """Read several files into one table, in order; null-only columns take the others' type."""
        tables = [self.read_table(p, columns) for p in relpaths]
        if not tables:
            raise InvalidInputError("no stored files to read")
        return pa.concat_tables(tables, promote_options="default")

    def exists(self, relpath: str) -> bool:
        full = self.path(relpath)
        with _data_folder(f"look up {relpath!r}"):
            info = self.filesystem.get_file_info(full)
        return bool(info.type == pafs.FileType.File)

    def delete(self, relpath: str) -> bool:
        """Delete one file; False if there was none."""
        full = self.path(relpath)
        with _data_folder(f"delete {relpath!r}"):
            return self._remove(full)

    def delete_prefix(self, prefix: str) -> None:
        """Delete a folder and everything under it (nothing happens if it does not exist)."""
        full = self.path(prefix)
        with _data_folder(f"delete {prefix!r}"):
            if self.filesystem.get_file_info(full).type == pafs.FileType.Directory:
                self.filesystem.delete_dir(full)
            else:
                self._remove(full)

    def check_writable(self) -> None:
        """Write and delete a small file at the root: raises when the folder takes no writes."""
        probe = f"{self.root}/{PROBE_PREFIX}{uuid.uuid4().hex}{TEMPORARY_SUFFIX}"
        with _data_folder("write to the data folder"):
            if not self.is_object_store:  # a bucket is not created on the fly
                self.filesystem.create_dir(self.root, recursive=True)
            with self.filesystem.open_output_stream(probe) as out:
                out.write(b"ok")
            self.filesystem.delete_file(probe)

    def list_files(self, prefix: str = "") -> Iterator[StoredFile]:
        """Every file under ``prefix`` (the whole root by default), with size and mtime."""
        base = self.path(prefix) if prefix else self.root
        selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
        with _data_folder("list the data folder"):
            infos = self.filesystem.get_file_info(selector)
        start = len(self.root) + 1 if self.root else 0
        for info in infos:
            if info.type == pafs.FileType.File:
                yield StoredFile(info.path[start:], int(info.size or 0), info.mtime)

    def _put(self, full: str, data: bytes) -> None:
        with self.filesystem.open_output_stream(full) as out:
            out.write(data)

    def _discard(self, full: str) -> None:
        """Best-effort removal of a temporary file; the reconciler removes what remains."""
        with suppress(OSError):
            self._remove(full)

    def _remove(self, full: str) -> bool:
        if self.filesystem.get_file_info(full).type != pafs.FileType.File:
            return False
        self.filesystem.delete_file(full)
        return True
