"""The wire format of a batch profile (binary, versioned) and its JSON view for people.

Binary: the 4 bytes ``DQMP``, a format version byte, a little-endian uint32 header length,
the header (UTF-8 JSON: rows, reference version, per column its type, exact counts, moments,
bins and the offset and length of its sketch), then the sketches' own serialized bytes
(Apache DataSketches KLL doubles and frequent strings). docs/profiles.md describes each field.

>>> import numpy as np
>>> from dqm_client.profiles.numeric import NumericProfile
>>> p = BatchProfile(rows=3, columns={"x": NumericProfile.of(np.array([1.0, 2.0, 3.0]))})
>>> back = decode(encode(p))
>>> back.rows, back.columns["x"].count, back.columns["x"].quantile(0.5)
(3, 3, 2.0)
>>> json_view(back)["columns"]["x"]["max"]
3.0
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import datasketches as ds
import numpy as np

from dqm_client.profiles.batch import FORMAT_VERSION, BatchProfile, ColumnProfile
from dqm_client.profiles.categorical import CategoricalProfile
from dqm_client.profiles.numeric import NumericProfile

MAGIC = b"DQMP"
_PREAMBLE = struct.Struct("<4sBI")
VIEW_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
VIEW_TOP_CATEGORIES = 20


class ProfileFormatError(ValueError):
    """The bytes are not a profile this version can read (the server answers 422)."""


def encode(profile: BatchProfile) -> bytes:
    """The binary form of ``profile``."""
    blobs: list[bytes] = []
    offset = 0

    def place(blob: bytes) -> list[int]:
        nonlocal offset
        blobs.append(blob)
        offset += len(blob)
        return [offset - len(blob), len(blob)]

    columns = {name: _column_header(c, place) for name, c in profile.columns.items()}
    header = {"rows": profile.rows, "reference_version": profile.reference_version}
    raw = json.dumps({**header, "columns": columns}, separators=(",", ":")).encode()
    return _PREAMBLE.pack(MAGIC, FORMAT_VERSION, len(raw)) + raw + b"".join(blobs)


def decode(data: bytes) -> BatchProfile:
    """A profile from its binary form; malformed input raises ``ProfileFormatError``."""
    try:
        magic, version, length = _PREAMBLE.unpack_from(data)
    except struct.error as exc:
        raise _bad("it is shorter than the profile preamble") from exc
    if magic != MAGIC:
        raise _bad("it does not start with the profile magic bytes DQMP")
    if version != FORMAT_VERSION:
        raise _bad(f"format version {version} is not supported (this dqm reads {FORMAT_VERSION})")
    body = memoryview(data)[_PREAMBLE.size :]
    if length > len(body):
        raise _bad("its header is cut short")
    try:
        header = json.loads(bytes(body[:length]))
        sketches = bytes(body[length:])
        columns = {str(n): _column(h, sketches) for n, h in header["columns"].items()}
        reference_version = header["reference_version"]
        return BatchProfile(int(header["rows"]), reference_version, columns)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise _bad(f"its header or a sketch is malformed ({exc})") from exc


def json_view(profile: BatchProfile) -> dict[str, Any]:
    """A summary for people: counts, moments, quantiles and top categories per column."""
    return {
        "format": FORMAT_VERSION,
        "rows": profile.rows,
        "reference_version": profile.reference_version,
        "columns": {name: _column_view(c) for name, c in profile.columns.items()},
    }


def _column_header(column: ColumnProfile, place: Any) -> dict[str, Any]:
    if isinstance(column, NumericProfile):
        return {
            "type": "numerical",
            "count": column.count,
            "nulls": column.nulls,
            "min": _finite(column.minimum),
            "max": _finite(column.maximum),
            "mean": column.mean,
            "m2": column.m2,
            "kll": place(column.sketch.serialize()),
            "edges": None if column.edges is None else column.edges.tolist(),
            "bin_counts": None if column.bin_counts is None else column.bin_counts.tolist(),
        }
    return {
        "type": "categorical",
        "count": column.count,
        "nulls": column.nulls,
        "exact": column.exact,
        "frequent": None if column.sketch is None else place(column.sketch.serialize()),
    }


def _column(header: dict[str, Any], sketches: bytes) -> ColumnProfile:
    def blob(span: list[int]) -> bytes:
        start, size = int(span[0]), int(span[1])
        if start < 0 or size < 0 or start + size > len(sketches):
            raise ValueError("a sketch lies outside the profile")
        return sketches[start : start + size]

    if header["type"] == "numerical":
        edges, counts = header["edges"], header["bin_counts"]
        return NumericProfile(
            count=_count(header["count"]),
            nulls=_count(header["nulls"]),
            minimum=math.inf if header["min"] is None else float(header["min"]),
            maximum=-math.inf if header["max"] is None else float(header["max"]),
            mean=float(header["mean"]),
            m2=float(header["m2"]),
            sketch=ds.kll_doubles_sketch.deserialize(blob(header["kll"])),
            edges=None if edges is None else np.asarray(edges, dtype=np.float64),
            bin_counts=None if counts is None else np.asarray(counts, dtype=np.int64),
        )
    if header["type"] == "categorical":
        frequent = header["frequent"]
        exact = header["exact"]
        return CategoricalProfile(
            count=_count(header["count"]),
            nulls=_count(header["nulls"]),
            exact=None if exact is None else {str(k): _count(v) for k, v in exact.items()},
            sketch=None
            if frequent is None
            else ds.frequent_strings_sketch.deserialize(blob(frequent)),
        )
    raise ValueError(f"unknown column type {header['type']!r}")


def _column_view(column: ColumnProfile) -> dict[str, Any]:
    if isinstance(column, NumericProfile):
        empty = column.count == 0
        return {
            "type": "numerical",
            "count": column.count,
            "nulls": column.nulls,
            "min": _finite(column.minimum),
            "max": _finite(column.maximum),
            "mean": None if empty else column.mean,
            "std": _finite(math.sqrt(column.variance)) if column.count > 1 else None,
            "quantiles": {} if empty else {str(q): column.quantile(q) for q in VIEW_QUANTILES},
            "rank_error": column.rank_error,
        }
    top = sorted(column.counts().items(), key=lambda kv: (-kv[1], kv[0]))[:VIEW_TOP_CATEGORIES]
    return {
        "type": "categorical",
        "count": column.count,
        "nulls": column.nulls,
        "exact": column.is_exact,
        "top": dict(top),
        "count_error": column.count_error,
    }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _count(value: Any) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("a count is negative")
    return number


def _bad(reason: str) -> ProfileFormatError:
    return ProfileFormatError(f"the body is not a dqm profile: {reason}")
