"""Data files for ``dqm push`` and ``dqm reference``: CSV, Parquet, Arrow (IPC file or
stream), JSON (records) and JSON lines, read whole or in chunks of rows."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from dqm_client import encoding

SUFFIXES = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".arrows": "arrow",
    ".ipc": "arrow",
    ".feather": "arrow",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
ARROW_FILE_MAGIC = b"ARROW1"


class UnknownFormat(ValueError):
    pass


@dataclass(frozen=True)
class DataFile:
    path: Path
    kind: str  # csv, parquet, arrow, json, jsonl

    @classmethod
    def of(cls, path: Path) -> DataFile:
        kind = SUFFIXES.get(path.suffix.lower())
        if kind is None:
            known = ", ".join(sorted(SUFFIXES))
            raise UnknownFormat(f"{path}: unknown file type {path.suffix!r} (known: {known})")
        return cls(path, kind)

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def digest(self) -> str:
        sha = hashlib.sha256()
        with self.path.open("rb") as f:
            while block := f.read(1 << 20):
                sha.update(block)
        return sha.hexdigest()

    def batch_base(self) -> str:
        """``{stem}-{sha256[:12]}``: the same file gets the same batch ids on every push."""
        stem = re.sub(r"[^\w.:-]", "_", self.path.stem)[:80] or "file"
        return f"{stem}-{self.digest()[:12]}"

    def body(self) -> tuple[bytes, str]:
        """The whole file as one request body and its content type."""
        raw = self.path.read_bytes()
        if self.kind == "csv":
            return raw, encoding.CSV
        if self.kind == "parquet":
            return raw, encoding.PARQUET
        if self.kind == "json":
            return raw, encoding.JSON
        if self.kind == "jsonl":
            return encoding.records_json(_json_lines(raw)), encoding.JSON
        if raw.startswith(ARROW_FILE_MAGIC):  # the IPC file format: sent as a stream
            return encoding.table_bytes(pa.ipc.open_file(pa.BufferReader(raw)).read_all(), "arrow")
        return raw, encoding.ARROW_STREAM

    def rows(self) -> int | None:
        """The row count when the file says it without being read (Parquet, Arrow file)."""
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(self.path).metadata.num_rows)
        return None

    def chunks(
        self, rows: int, read: Callable[[int], None], json_key: str | None = None
    ) -> Iterator[tuple[bytes, str, int]]:
        """Bodies of at most ``rows`` rows each (Arrow streams, or JSON for JSON files: a list,
        or ``{json_key: [...]}``), with their row counts; ``read`` is told the bytes of the
        file consumed so far."""
        if self.kind in ("json", "jsonl"):
            raw = self.path.read_bytes()
            records = _json_lines(raw) if self.kind == "jsonl" else _json_records(raw)
            read(len(raw))
            for start in range(0, len(records), rows):
                part = records[start : start + rows]
                yield encoding.records_json(part, json_key), encoding.JSON, len(part)
            return
        for table in _rechunk(self._batches(read), rows):
            body, kind = encoding.table_bytes(table, "arrow")
            yield body, kind, table.num_rows

    def _batches(self, read: Callable[[int], None]) -> Iterator[pa.RecordBatch]:
        if self.kind == "parquet":  # read by row groups: its progress is counted in rows
            import pyarrow.parquet as pq

            yield from pq.ParquetFile(self.path).iter_batches(batch_size=65536)
            return
        with _Counting(self.path.open("rb", buffering=0), read) as f:
            if self.kind == "csv":
                import pyarrow.csv as pcsv

                # One block at a time, so that the bytes read are the bytes sent (+1 block).
                options = pcsv.ReadOptions(use_threads=False, block_size=1 << 20)
                yield from pcsv.open_csv(f, read_options=options)
            else:
                head = f.peek(len(ARROW_FILE_MAGIC))
                if head.startswith(ARROW_FILE_MAGIC):
                    reader = pa.ipc.open_file(pa.memory_map(str(self.path)))
                    for i in range(reader.num_record_batches):
                        yield reader.get_batch(i)
                else:
                    yield from pa.ipc.open_stream(f)


def _rechunk(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        while count >= rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending)


def _json_records(raw: bytes) -> list[dict[str, Any]]:
    data = json.loads(raw)
    if isinstance(data, dict) and set(data) == {"rows"}:
        data = data["rows"]
    if not isinstance(data, list):
        raise ValueError('JSON files must hold a list of records or {"rows": [...]}')
    return data


def _json_lines(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


class _Counting:
    """A binary file that reports how far it has been read (for the progress bar)."""

    def __init__(self, raw: Any, read: Callable[[int], None]) -> None:
        import io

        self._file = io.BufferedReader(raw)
        self._read = read
        self.closed = False

    def __enter__(self) -> _Counting:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()
        self.closed = True

    def peek(self, n: int) -> bytes:
        return self._file.peek(n)[:n]

    def read(self, n: int = -1) -> bytes:
        data = self._file.read(n)
        self._read(self._file.tell())
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True
