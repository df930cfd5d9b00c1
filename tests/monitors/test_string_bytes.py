"""Strings read from Arrow buffers: hashes by a pure-Python restatement of their definition,
comparisons by Python string equality, whatever the array's layout."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from dqm.monitors.columns import StringBytes, string_hashes

MASK = (1 << 64) - 1


def _hash(s: str) -> int:
    """The documented hash: length times 0x9E3779B97F4A7C15, then each little-endian 8-byte
    word (zero-filled at the end) xored in and multiplied by 0x100000001B3, then
    MurmurHash3's 64-bit finalizer; all mod 2^64."""
    data = s.encode()
    h = (len(data) * 0x9E3779B97F4A7C15) & MASK
    for i in range(0, len(data), 8):
        h = ((h ^ int.from_bytes(data[i : i + 8].ljust(8, b"\0"), "little")) * 0x100000001B3) & MASK
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & MASK
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & MASK
    return h ^ (h >> 33)


def _strings(seed: int, n: int) -> list[str]:
    rng = np.random.default_rng(seed)
    alphabet = ["a", "b", "\0", "é", "日", "z", " "]
    out = []
    for _ in range(n):
        size = int(rng.integers(0, 30))
        out.append("".join(alphabet[i] for i in rng.integers(0, len(alphabet), size)))
    return out


def _layouts(strings: list[str]) -> list[pa.Array]:
    """The same strings as string, large_string, a slice of a longer array, and an array
    whose data buffer ends where the last string does (no padding to read past)."""
    padded = pa.array(["prefix-junk", *strings, "x" * 50])
    offsets = np.cumsum([0] + [len(s.encode()) for s in strings]).astype(np.int32)
    buffers = [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer("".join(strings).encode())]
    exact = pa.Array.from_buffers(pa.string(), len(strings), buffers)
    return [
        pa.array(strings),
        pa.array(strings, pa.large_string()),
        padded.slice(1, len(strings)),
        exact,
    ]


@pytest.mark.parametrize("seed", range(5))
def test_hashes_follow_the_definition_in_every_layout(seed: int) -> None:
    strings = _strings(seed, 200)
    want = [_hash(s) for s in strings]
    for values in _layouts(strings):
        assert string_hashes(values).tolist() == want
    # One length (reshaped, not gathered) and several lengths hash a string alike.
    for size in (0, 1, 2, 3, 8, 13, 16, 17):
        same_length = [s for s in strings if len(s.encode()) == size] or ["q" * size]
        for values in _layouts(same_length):
            data = StringBytes.of(values)
            assert data.width == -(-size // 8)
            assert data.hashes().tolist() == [_hash(s) for s in same_length]


def test_empty_and_all_empty_arrays() -> None:
    assert string_hashes(pa.array([], pa.string())).tolist() == []
    assert string_hashes(pa.array(["", ""])).tolist() == [_hash("")] * 2


@pytest.mark.parametrize("seed", range(5))
def test_same_is_string_equality(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    base = _strings(seed, 60)
    # Near misses: a trailing NUL, the last byte changed, one byte more or less.
    pool = base + [s + "\0" for s in base[:10]] + [s[:-1] + "y" for s in base[10:20] if s]
    pool += [s + "a" for s in base[20:30]] + [s[:-1] for s in base[30:40] if s]
    uniform = [s for s in pool if len(s.encode()) == 12] or ["abcdefghijkl"]
    for mine in (pool, uniform):
        for theirs in (pool, uniform):
            for a in _layouts(mine)[::2]:
                for b in _layouts(theirs)[::2]:
                    left, right = StringBytes.of(a), StringBytes.of(b)
                    rows = rng.integers(0, len(mine), 300)
                    other = rng.integers(0, len(theirs), 300)
                    # Half the pairs are made equal where the string exists there.
                    where = {s: i for i, s in enumerate(theirs)}
                    pairs = enumerate(zip(rows, other, strict=True))
                    other = np.array([where.get(mine[r], o) if k % 2 else o for k, (r, o) in pairs])
                    want = [mine[r] == theirs[o] for r, o in zip(rows, other, strict=True)]
                    assert left.same(rows, right, other).tolist() == want
                    every = np.arange(len(mine)) % len(theirs)
                    want_all = [mine[i] == theirs[j] for i, j in enumerate(every)]
                    assert left.same(None, right, every).tolist() == want_all


@pytest.mark.parametrize("size", range(1, 18))
def test_one_length_words_up_to_the_buffers_end(size: int) -> None:
    # A data buffer that ends with the last string: the strings whose last word would read
    # past it (up to 7 for 1-byte strings, all when there are few) are read one by one.
    for n in (1, 2, 5, 9, 40):
        strings = ["".join(chr(97 + (i * 7 + j) % 26) for j in range(size)) for i in range(n)]
        for values in _layouts(strings):
            data = StringBytes.of(values)
            assert data.width == -(-size // 8)
            want = [
                int.from_bytes(s.encode().ljust(8 * data.width, b"\0")[8 * k : 8 * k + 8], "little")
                for s in strings
                for k in range(data.width)
            ]
            assert data.packed.tolist() == want
            assert data.first.tolist() == [i * data.width for i in range(n + 1)]
            assert data.hashes().tolist() == [_hash(s) for s in strings]
