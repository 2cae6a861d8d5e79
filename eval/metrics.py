"""Metrics over K samples per problem: pass@1, unbiased pass@k, maj@k, and the token-budget view.

The paper reports accuracy together with the average number of output tokens (AIME 2024: 13/30 at
8,016 tokens); :func:`budget_curve` extends a model's point to larger budgets with maj@j, as the
report does: j samples cost j times the tokens.

Votes are by equivalence, not by string: each sample carries a ``vote``, the group of samples whose
answers the verifier judged equal (:func:`vote_groups`), so ``1/2``, ``0.5`` and ``\\frac{1}{2}``
vote together. A sample with no answer does not vote. Ties are split: when t groups tie for the
most votes and c of them are correct, the problem scores c/t (the expected score of a fair coin
between them).

The curve's point for j samples is the expected maj@j over j-subsets of a problem's K samples:
exact (every subset) when there are at most 1,000 subsets, else the mean over 200 random subsets
drawn with a fixed seed per problem. Its first point (j = 1) is pass@1 exactly.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from collections.abc import Callable
from itertools import combinations
from math import comb

EXACT_SUBSETS = 1_000
DRAWN_SUBSETS = 200


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimator (Chen et al. 2021): chance that k of n samples, c correct, hold a correct one."""
    if k > n:
        raise ValueError(f"k={k} > n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def vote_groups(
    answers: list[str | None],
    correct: list[bool],
    equal: Callable[[list[tuple[str, str]]], list[bool]],
) -> list[int | None]:
    """Each sample's vote: group 0 for the correct answers (each equals the gold), another number per
    group of wrong answers that ``equal`` (the verifier, on pairs) judges the same; None: no answer."""
    wrong = list(dict.fromkeys(" ".join(a.split()) for a, ok in zip(answers, correct, strict=True) if a and not ok))
    parent = list(range(len(wrong)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    pairs = list(combinations(range(len(wrong)), 2))
    for (i, j), same in zip(pairs, equal([(wrong[i], wrong[j]) for i, j in pairs]) if pairs else [], strict=True):
        if same:
            parent[root(j)] = root(i)
    label = {a: 1 + root(i) for i, a in enumerate(wrong)}
    return [None if not a else 0 if ok else label[" ".join(a.split())] for a, ok in zip(answers, correct, strict=True)]


def majority(votes: list[int | None], correct: list[bool]) -> float:
    """maj@k for one problem: 1 if the group with the most votes is correct, c/t when t groups tie
    and c of them are correct; 0 when nobody votes."""
    counts = Counter(v for v in votes if v is not None)
    if not counts:
        return 0.0
    right = {v for v, ok in zip(votes, correct, strict=True) if ok and v is not None}
    best = max(counts.values())
    tied = [v for v, n in counts.items() if n == best]
    return sum(v in right for v in tied) / len(tied)


def powers_of_two(k: int) -> list[int]:
    ks, i = [], 1
    while i <= k:
        ks.append(i)
        i *= 2
    return ks if ks[-1] == k else [*ks, k]


def summarize(samples: list[dict]) -> dict:
    """samples: dicts with problem_id, sample, extracted, correct, vote (see :func:`vote_groups`),
    tokens_out (and optional subject, level)."""
    by_problem: dict[str, list[dict]] = {}
    for s in samples:
        by_problem.setdefault(s["problem_id"], []).append(s)
    for rows in by_problem.values():
        rows.sort(key=lambda r: r["sample"])
    k = min(len(rows) for rows in by_problem.values())
    n_problems = len(by_problem)
    tokens = [s["tokens_out"] for s in samples]
    out: dict = {
        "problems": n_problems,
        "samples_per_problem": k,
        "pass@1": _mean(sum(r["correct"] for r in rows[:k]) / k for rows in by_problem.values()),
        "answered": _mean(s["extracted"] is not None for s in samples),
        "tokens_out_mean": _mean(tokens),
        "tokens_out_median": statistics.median(tokens) if tokens else 0.0,
    }
    for j in powers_of_two(k)[1:]:
        out[f"pass@{j}"] = _mean(pass_at_k(k, sum(r["correct"] for r in rows[:k]), j) for rows in by_problem.values())
    out["budget_curve"] = budget_curve(by_problem, k)
    out["maj@k"] = out["budget_curve"][-1]["accuracy"]
    out["by_group"] = _groups(by_problem, k)
    return out


def expected_majority(rows: list[dict], j: int, seed: str) -> float:
    """The expected maj@j over j-subsets of a problem's samples (exact, or sampled with ``seed``)."""
    votes = [r["vote"] for r in rows]
    correct = [r["correct"] for r in rows]
    n = len(rows)
    if j == 1:
        return sum(correct) / n
    if comb(n, j) <= EXACT_SUBSETS:
        subsets = list(combinations(range(n), j))
    else:
        rng = random.Random(seed)
        subsets = [sorted(rng.sample(range(n), j)) for _ in range(DRAWN_SUBSETS)]
    return _mean(majority([votes[i] for i in s], [correct[i] for i in s]) for s in subsets)


def budget_curve(by_problem: dict[str, list[dict]], k: int) -> list[dict]:
    """Accuracy (expected maj@j) against average output tokens per problem (j samples' worth), j = 1, 2, 4, ... k."""
    curve = []
    for j in powers_of_two(k):
        acc = _mean(expected_majority(rows[:k], j, f"{pid}:{j}") for pid, rows in by_problem.items())
        toks = _mean(j * _mean(r["tokens_out"] for r in rows[:k]) for rows in by_problem.values())
        curve.append({"samples": j, "accuracy": acc, "avg_output_tokens": toks})
    return curve


def _groups(by_problem: dict[str, list[dict]], k: int) -> dict[str, dict[str, dict]]:
    groups: dict[str, dict[str, list[float]]] = {}
    for rows in by_problem.values():
        for field in ("subject", "level"):
            value = rows[0].get(field)
            if value is not None:
                groups.setdefault(field, {}).setdefault(str(value), []).append(sum(r["correct"] for r in rows[:k]) / k)
    return {
        field: {value: {"problems": len(accs), "pass@1": _mean(accs)} for value, accs in sorted(values.items())}
        for field, values in groups.items()
    }


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0
