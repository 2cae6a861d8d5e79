"""Metrics over K samples per problem: pass@1, unbiased pass@k, maj@k, and the token-budget view.

The paper reports accuracy together with the average number of output tokens (AIME 2024: 13/30 at
8,016 tokens); :func:`budget_curve` extends a model's point to larger budgets with maj@k, as the
report does: k samples cost k times the tokens.
"""

from __future__ import annotations

import statistics
from collections import Counter
from math import comb


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimator (Chen et al. 2021): chance that k of n samples, c correct, hold a correct one."""
    if k > n:
        raise ValueError(f"k={k} > n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def majority(answers: list[str | None], correct: list[bool]) -> bool:
    """maj@k for one problem: is the most frequent extracted answer a correct one?

    Answers are grouped by their text with whitespace removed; a tie goes to the earliest sample.
    Samples without an answer do not vote; if none has one, the vote is wrong.
    """
    keyed = [("".join(a.split()), ok) for a, ok in zip(answers, correct, strict=True) if a is not None]
    if not keyed:
        return False
    counts = Counter(key for key, _ in keyed)
    best = max(counts.values())
    winner = next(key for key, _ in keyed if counts[key] == best)
    return next(ok for key, ok in keyed if key == winner)


def powers_of_two(k: int) -> list[int]:
    ks, i = [], 1
    while i <= k:
        ks.append(i)
        i *= 2
    return ks if ks[-1] == k else [*ks, k]


def summarize(samples: list[dict]) -> dict:
    """samples: dicts with problem_id, sample, extracted, correct, tokens_out (and optional subject, level)."""
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


def budget_curve(by_problem: dict[str, list[dict]], k: int) -> list[dict]:
    """Accuracy (maj@j) against average output tokens per problem (j samples' worth), j = 1, 2, 4, ... k."""
    curve = []
    for j in powers_of_two(k):
        acc = _mean(
            majority([r["extracted"] for r in rows[:j]], [r["correct"] for r in rows[:j]])
            for rows in by_problem.values()
        )
        toks = _mean(sum(r["tokens_out"] for r in rows[:j]) for rows in by_problem.values())
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
