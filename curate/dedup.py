"""Exact and near-duplicate long thoughts.

Exact: the same text once lower-cased and its whitespace collapsed (a 128-bit BLAKE2 digest).

Near: MinHash over the text's character 16-grams (``SHINGLE``), ``PERMUTATIONS`` multiply-shift
hashes of a 64-bit polynomial hash of each shingle, all in numpy (linear in the text). Candidates
are the pairs that agree on every value of one of ``BANDS`` bands (LSH); a candidate pair whose
estimated Jaccard similarity (the share of equal values) is at least the threshold is a duplicate
pair; of each group joined by such pairs the first trace read is kept. With 8 bands of 4 rows a
pair at Jaccard 0.8 is found with probability 1 - (1 - 0.8^4)^8 = 0.98, one at 0.5 with 0.40 (and
then kept: it is under the threshold).
"""

from __future__ import annotations

import hashlib

import numpy as np

SHINGLE = 16
PERMUTATIONS = 32
BANDS, ROWS = 8, 4
_BASE = np.uint64(1099511628211)  # FNV's 64-bit prime
_rng = np.random.default_rng(20241021)  # fixed: signatures are comparable across runs
_A = _rng.integers(1, 2**63, size=PERMUTATIONS, dtype=np.uint64) | np.uint64(1)
_C = _rng.integers(0, 2**63, size=PERMUTATIONS, dtype=np.uint64)


def normalized(text: str) -> bytes:
    return " ".join(text.lower().split()).encode("utf-8")


def exact_key(norm: bytes) -> bytes:
    return hashlib.blake2b(norm, digest_size=16).digest()


def signature(norm: bytes) -> np.ndarray:
    """The MinHash signature (``PERMUTATIONS`` uint32 values) of a normalized text."""
    chars = np.frombuffer(norm or b" ", dtype=np.uint8).astype(np.uint64)
    n = max(1, len(chars) - SHINGLE + 1)
    shingles = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps, as the hash means it to
        for j in range(min(SHINGLE, len(chars))):
            shingles = shingles * _BASE + chars[j : j + n]
        hashed = (shingles[None, :] * _A[:, None] + _C[:, None]) >> np.uint64(32)
    return hashed.min(axis=1).astype(np.uint32)


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
