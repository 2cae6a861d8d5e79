"""Exact and near-duplicate long thoughts.

Exact: the same text once lower-cased and its whitespace collapsed (a 128-bit BLAKE2 digest).

Near: MinHash over the text's 16-byte windows (``SHINGLE``), by one-permutation hashing (one mixed
64-bit hash a window, 64 bins each keeping its least value), all in numpy (linear in the text). Candidates
are the pairs that agree on every value of one of ``BANDS`` bands (LSH); a candidate pair whose
estimated Jaccard similarity (the share of equal values) is at least the threshold is a duplicate
pair; of each group joined by such pairs the first trace read is kept. With 16 bands of 4 rows a
pair at Jaccard 0.8 is a candidate with probability 1 - (1 - 0.8^4)^16 = 0.9998, one at 0.5 with
0.64 (then kept: its estimate is under the threshold). Memory: 256 bytes a trace.
"""

from __future__ import annotations

import hashlib

import numpy as np

SHINGLE = 16
PERMUTATIONS = 64  # one-permutation hashing: 64 bins of one 64-bit hash
BANDS, ROWS = 16, 4
_K = np.uint64(0x9E3779B97F4A7C15)
_C1, _C2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_EMPTY = np.uint32(2**32 - 1)


def normalized(text: str) -> bytes:
    return " ".join(text.lower().split()).encode("utf-8")


def exact_key(norm: bytes) -> bytes:
    return hashlib.blake2b(norm, digest_size=16).digest()


def _shingles(norm: bytes) -> np.ndarray:
    """A 64-bit value per 16-byte window: its two 8-byte halves, read in place (no copy per window)."""
    padded = norm + b" " * max(0, SHINGLE - len(norm)) + b"\0" * 8
    n = len(padded) - 8 - SHINGLE + 1
    words = np.ndarray(shape=(n + 8,), dtype="<u8", buffer=padded, strides=(1,))  # 8 bytes at each offset
    with np.errstate(over="ignore"):
        return words[:n] * _K + words[8 : 8 + n]


def signature(norm: bytes) -> np.ndarray:
    """The MinHash signature (``PERMUTATIONS`` uint32 values) of a normalized text, by one-permutation
    hashing: each window's mixed 64-bit hash falls in one of 64 bins by its top 6 bits, and a bin
    keeps its least value; a bin no window reached holds the largest value."""
    x = _shingles(norm)
    with np.errstate(over="ignore"):  # the splitmix64 finalizer: uint64 arithmetic wraps, as it means to
        x = (x ^ (x >> np.uint64(30))) * _C1
        x = (x ^ (x >> np.uint64(27))) * _C2
        x = x ^ (x >> np.uint64(31))
    bins = (x >> np.uint64(58)).astype(np.intp)
    values = ((x >> np.uint64(27)) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    sig = np.full(PERMUTATIONS, _EMPTY, dtype=np.uint32)
    np.minimum.at(sig, bins, values)
    return sig


def near_duplicates(signatures: np.ndarray, threshold: float) -> dict[int, int]:
    """Row -> the earlier row it duplicates, for every row of ``signatures`` (one signature a row,
    in reading order) whose estimated Jaccard similarity to an earlier one is at least ``threshold``."""
    count = len(signatures)
    if count < 2:
        return {}
    pairs = []
    order_index = np.arange(count)
    for band in range(BANDS):
        rows = signatures[:, band * ROWS : (band + 1) * ROWS].astype(np.uint64)
        key = np.zeros(count, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for r in range(ROWS):
                key = key * np.uint64(4294967311) + rows[:, r]
        order = np.lexsort((order_index, key))
        sorted_keys = key[order]
        same = sorted_keys[1:] == sorted_keys[:-1]
        if not same.any():
            continue
        # each member of a run of equal keys pairs with the run's first row and with the row before it
        starts = np.flatnonzero(np.concatenate(([True], ~same)))
        head = np.repeat(order[starts], np.diff(np.concatenate((starts, [count]))))
        members = np.flatnonzero(np.concatenate(([False], same)))
        pairs.append(np.stack([head[members], order[members]], axis=1))
        pairs.append(np.stack([order[members - 1], order[members]], axis=1))
    if not pairs:
        return {}
    candidates = np.unique(np.sort(np.concatenate(pairs), axis=1), axis=0)
    candidates = candidates[candidates[:, 0] != candidates[:, 1]]
    similar = (signatures[candidates[:, 0]] == signatures[candidates[:, 1]]).mean(axis=1) >= threshold
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in candidates[similar].tolist():
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)  # the group's root is its first row read
    return {i: root(i) for i in {int(x) for x in candidates[similar].ravel()} if root(i) != i}
