"""What an Arrow IPC stream decodes to, read from its message headers without decoding it.

Each record batch message declares its row count and the buffers of its body; with buffer
compression (LZ4, ZSTD) each buffer starts with its decompressed length. Summing these
gives the rows and bytes the stream materialises, before any buffer is decompressed.
The headers are FlatBuffers (format/Message.fbs in the Arrow repository); only the few
fields needed here are read.

>>> import io
>>> table = pa.table({"x": [1.0] * 1000})
>>> sink = io.BytesIO()
>>> options = pa.ipc.IpcWriteOptions(compression="zstd")
>>> with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
...     writer.write_table(table)
>>> rows, decoded = scan_stream(sink.getvalue(), DecodeLimits())
>>> rows, decoded >= 8000
(1000, True)
"""

from __future__ import annotations

import struct

import pyarrow as pa

from dqm.service.ingest.limits import DecodeLimits

_DICTIONARY_BATCH, _RECORD_BATCH = 2, 3
_BUFFER = struct.Struct("<qq")  # Buffer {offset: long, length: long}


def scan_stream(body: bytes, limits: DecodeLimits) -> tuple[int, int]:
    """The rows and decoded bytes of an IPC stream, checked against ``limits`` per message.

    Raises ``PayloadTooLargeError`` at the first message past a limit, and the reader's own
    errors (``pa.ArrowException``, ``ValueError``, ``struct.error``) for a malformed stream.
    """
    rows = decoded = 0
    reader = pa.ipc.MessageReader.open_stream(pa.BufferReader(body))
    while True:
        try:
            message = reader.read_next_message()
        except StopIteration:
            return rows, decoded
        header = _Table.root(message.metadata.to_pybytes())
        kind = header.scalar(1, "B", 0)
        if kind == _DICTIONARY_BATCH:
            batch = header.table(2).table(1)
        elif kind == _RECORD_BATCH:
            batch = header.table(2)
            rows += batch.scalar(0, "q", 0)
        else:
            continue
        decoded += _body_bytes(batch, message.body)
        limits.check(rows, decoded)


def _body_bytes(batch: _Table, body: pa.Buffer | None) -> int:
    """The decompressed size of a record batch's buffers."""
    compressed = batch.has(3)
    data = memoryview(body) if compressed and body is not None else memoryview(b"")
    total = 0
    for offset, length in batch.structs(2, _BUFFER):
        if length < 0 or offset < 0:
            raise ValueError("negative buffer offset or length")
        if compressed and length >= 8:
            (uncompressed,) = struct.unpack_from("<q", data, offset)
            total += length if uncompressed == -1 else uncompressed
        else:
            total += length
    return total


class _Table:
    """A FlatBuffers table: typed field access through its vtable."""

    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf, self.pos = buf, pos
        self.vtable = pos - struct.unpack_from("<i", buf, pos)[0]

    @classmethod
    def root(cls, buf: bytes) -> _Table:
        return cls(buf, struct.unpack_from("<I", buf, 0)[0])

    def _field(self, index: int) -> int | None:
        (vtable_size,) = struct.unpack_from("<H", self.buf, self.vtable)
        slot = 4 + 2 * index
        if slot >= vtable_size:
            return None
        (offset,) = struct.unpack_from("<H", self.buf, self.vtable + slot)
        return self.pos + offset if offset else None

    def has(self, index: int) -> bool:
        return self._field(index) is not None

    def scalar(self, index: int, fmt: str, default: int) -> int:
        at = self._field(index)
        return default if at is None else int(struct.unpack_from("<" + fmt, self.buf, at)[0])

    def _target(self, index: int) -> int:
        at = self._field(index)
        if at is None:
            raise ValueError(f"missing field {index} in an IPC message header")
        return at + int(struct.unpack_from("<I", self.buf, at)[0])

    def table(self, index: int) -> _Table:
        return _Table(self.buf, self._target(index))

    def structs(self, index: int, layout: struct.Struct) -> list[tuple[int, ...]]:
        if not self.has(index):
            return []
        start = self._target(index)
        (count,) = struct.unpack_from("<I", self.buf, start)
        return [layout.unpack_from(self.buf, start + 4 + i * layout.size) for i in range(count)]
