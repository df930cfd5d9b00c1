"""The string index finds exactly the equal strings: against a dict of the reference's
strings, whatever the lengths (empty, up to 16 bytes in a row, longer ones confirmed word by
word), layouts (sliced, large, unpadded buffers), hashes (forged collisions, crowded
buckets) and windows (unknown categories, near misses)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from dqm.monitors.columns import StringBytes, string_hashes
from dqm.monitors.string_index import HASH, META, WORD0, WORD1, StringIndex, lead_words

ALPHABET = ["a", "b", "\0", "é", "日", "z", " ", "_"]


def _strings(rng: np.random.Generator, n: int, most: int = 40) -> list[str]:
    return [
        "".join(ALPHABET[i] for i in rng.integers(0, len(ALPHABET), int(rng.integers(0, most))))
        for _ in range(n)
    ]


def _near_misses(strings: list[str]) -> list[str]:
    """Strings that differ from ``strings`` by one byte, a trailing NUL or one more / fewer
    character (at the 8- and 16-byte word boundaries too)."""
    out = []
    for s in strings:
        out += [s + "\0", s + "a", s[:-1], s[:-1] + ("y" if s[-1:] != "y" else "x")]
        if len(s) > 17:
            out.append(s[:16] + ("Q" if s[16] != "Q" else "R") + s[17:])
    return out


def _layouts(strings: list[str]) -> list[pa.Array]:
    """The strings as string and large_string arrays, sliced out of a longer array, and with
    a data buffer that ends where the last string does (no padding to read past)."""
    padded = pa.array(["prefix-junk", *strings, "x" * 50])
    data = "".join(strings).encode()
    offsets = np.cumsum([0] + [len(s.encode()) for s in strings]).astype(np.int32)
    exact = pa.Array.from_buffers(
        pa.string(), len(strings), [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)]
    )
    assert exact.to_pylist() == strings
    return [
        pa.array(strings, pa.string()),
        pa.array(strings, pa.large_string()),
        padded.slice(1, len(strings)),
        exact,
    ]


def _check(reference: list[str], window: list[str], index: StringIndex | None = None) -> None:
    where = {s: i for i, s in enumerate(reference)}
    want = [where.get(s, -1) for s in window]
    for ref in _layouts(reference)[::2] if index is None else [None]:
        found = index if ref is None else StringIndex.of(ref)
        assert found is not None
        for values in _layouts(window):
            assert found.find(values).tolist() == want
            assert found.find(StringBytes.of(values)).tolist() == want


@pytest.mark.parametrize("seed", range(6))
def test_find_is_a_dict_lookup_of_variable_length_strings(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = list(dict.fromkeys(_strings(rng, 300)))
    unknown = [s for s in _near_misses(reference[:60]) if s not in set(reference)]
    window = [reference[i] for i in rng.integers(0, len(reference), 400)] + unknown
    window = [window[i] for i in rng.permutation(len(window))]
    _check(reference, window)


@pytest.mark.parametrize("size", [0, 1, 7, 8, 9, 12, 15, 16, 17, 23, 24, 25, 40])
def test_find_with_one_length_on_either_side(size: int) -> None:
    rng = np.random.default_rng(size)
    ascii_ = ["a", "b", "\0", "_"]  # one byte each: every string has ``size`` bytes
    pool = list(
        dict.fromkeys("".join(ascii_[i] for i in rng.integers(0, 4, size)) for _ in range(60))
    )
    reference = pool[: max(1, len(pool) // 2)]
    window = [pool[i] for i in rng.integers(0, len(pool), 100)]
    _check(reference, window)  # one length in both
    other = list(dict.fromkeys(_strings(rng, 50) + reference))
    _check(other, window)  # several lengths in the reference, one in the window
    _check(reference, [*window, *_strings(rng, 30)])  # and the other way round


def test_strings_longer_than_a_row_are_confirmed_past_their_first_16_bytes() -> None:
    # Same length, same first 16 bytes, the difference in word 3 or at the last byte.
    stem = "0123456789abcdef"
    reference = [stem + "tail-one-xx", stem + "tail-two-xx", stem + "z" * 9, stem]
    window = [stem + "tail-one-xy", stem + "tail-two-xx", stem + "tail-thr-xx", stem + "z" * 9]
    window += [stem + "tail-one-xx", stem + "\0", stem[:-1], "é" * 12]
    _check(reference, window)


def test_a_forged_hash_collision_is_not_a_match() -> None:
    # Each reference string is indexed under the hash of a window string it does not equal
    # (same length and first 16 bytes for the long ones): the lookup lands on it and the
    # bytes decide.
    reference = pa.array(["b", "0123456789abcdefXYZ", "long-string-number-1", "ab"])
    window = pa.array(["q", "0123456789abcdefXYW", "long-string-number-2", "ba"])
    index = StringIndex.of_hashes(string_hashes(window), reference)
    assert index is not None
    assert index.find(window).tolist() == [-1, -1, -1, -1]
    # The strings themselves, hashed for real, land elsewhere: not found either.
    assert index.find(reference).tolist() == [-1, -1, -1, -1]
    real = StringIndex.of(reference)
    assert real is not None and real.find(window).tolist() == [-1, -1, -1, -1]
    assert real.find(reference).tolist() == [0, 1, 2, 3]


def test_strings_sharing_a_hash_are_not_indexed() -> None:
    strings = pa.array(["a", "b", "c"])
    hashes = string_hashes(strings)
    hashes[2] = hashes[0]
    assert StringIndex.of_hashes(hashes, strings) is None


@pytest.mark.parametrize("bits", [1, 2, 3])
def test_crowded_buckets_are_walked(bits: int) -> None:
    # 2 to 8 buckets for 500 strings: most lookups walk many rows, and the last bucket's
    # walk ends at the sentinel row.
    rng = np.random.default_rng(bits)
    pool = list(dict.fromkeys(_strings(rng, 700)))
    reference, window = pool[:500], [pool[i] for i in rng.integers(0, len(pool), 900)]
    strings = pa.array(reference)
    index = StringIndex.of_hashes(string_hashes(strings), strings, bits=bits)
    assert index is not None and index.starts.size == (1 << bits) + 1
    _check(reference, window, index)


def test_a_lookup_past_every_hash_reads_the_sentinel() -> None:
    # Forged hashes 0..63 (bucket 0): every window string's real hash is larger than all of
    # them, so its lookup starts at or walks to the sentinel row and finds nothing; a
    # string whose forged hash is its real one is still found.
    strings = pa.array([f"s{i}" for i in range(64)])
    forged = np.arange(64, dtype=np.uint64)
    forged[5] = string_hashes(pa.array(["s5"]))[0]
    index = StringIndex.of_hashes(forged, strings)
    assert index is not None
    got = index.find(pa.array(["s3", "s5", "s63", "nope", ""])).tolist()
    assert got == [-1, 5, -1, -1, -1]
    last = index.rows[-1]
    assert int(last[HASH]) == (1 << 64) - 1 and int(last[META]) >> 32 == (1 << 32) - 1


def test_rows_hold_hash_length_position_and_first_words() -> None:
    strings = pa.array(["", "ab", "abcdefgh", "abcdefghi", "日本語のテキストです", "x" * 30])
    index = StringIndex.of(strings)
    assert index is not None and index.size == len(strings)
    rows = index.rows[:-1]
    assert bool(np.all(rows[1:, HASH] > rows[:-1, HASH]))
    position = (rows[:, META] & np.uint64(0xFFFFFFFF)).astype(np.int64)
    length = (rows[:, META] >> np.uint64(32)).astype(np.int64)
    data = StringBytes.of(strings)
    first, second = lead_words(data)
    assert sorted(position.tolist()) == list(range(len(strings)))
    assert rows[:, HASH].tolist() == string_hashes(strings)[position].tolist()
    assert length.tolist() == [len(strings[int(i)].as_py().encode()) for i in position]
    assert rows[:, WORD0].tolist() == first[position].tolist()
    assert rows[:, WORD1].tolist() == second[position].tolist()


def test_lead_words_are_the_first_two_packed_words() -> None:
    rng = np.random.default_rng(7)
    strings = _strings(rng, 200)
    for values in _layouts(strings):
        first, second = lead_words(StringBytes.of(values))
        for s, a, b in zip(strings, first.tolist(), second.tolist(), strict=True):
            raw = s.encode().ljust(16, b"\0")
            assert (a, b) == (
                int.from_bytes(raw[:8], "little"),
                int.from_bytes(raw[8:16], "little"),
            )


def test_empty_reference_window_and_single_strings() -> None:
    empty = StringIndex.of(pa.array([], pa.string()))
    assert empty is not None and empty.size == 0
    assert empty.find(pa.array(["a", ""])).tolist() == [-1, -1]
    one = StringIndex.of(pa.array([""]))
    assert one is not None
    assert one.find(pa.array(["", "a", "\0", ""])).tolist() == [0, -1, -1, 0]
    assert one.find(pa.array([], pa.string())).tolist() == []
    _check(["only"], ["only", "onl", "only\0", "x"])
    _check(["a" * 17], ["a" * 17, "a" * 16, "a" * 18])
