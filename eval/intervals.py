"""Intervals for the numbers eval reports: a percentile bootstrap over problems, the paired bootstrap
for a difference between two runs on the same problems, and Wilson's interval for a proportion.

Every function is deterministic under its ``seed`` (stated in what it returns). The unit resampled is
the problem: a problem's K samples stay together, since they are not independent draws of the test
set.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence

LEVEL = 0.95
RESAMPLES = 2000


def _percentiles(values: list[float], level: float) -> tuple[float, float]:
    ordered = sorted(values)
    tail = (1 - level) / 2
    lo = ordered[max(0, math.floor(tail * len(ordered)))]
    hi = ordered[min(len(ordered) - 1, math.ceil((1 - tail) * len(ordered)) - 1)]
    return lo, hi


def bootstrap(
    scores: Sequence[float], *, seed: int = 0, resamples: int = RESAMPLES, level: float = LEVEL
) -> dict[str, float | int]:
    """The mean of per-problem scores and its percentile-bootstrap interval over problems."""
    if not scores:
        raise ValueError("no problems to take an interval over")
    rng = random.Random(seed)
    n = len(scores)
    means = [statistics.fmean(rng.choices(scores, k=n)) for _ in range(resamples)]
    lo, hi = _percentiles(means, level)
    return {"mean": statistics.fmean(scores), "lo": lo, "hi": hi, "n": n, "seed": seed, "level": level}


def over_items(
    rows: Sequence, statistics_of, *, seed: int = 0, resamples: int = RESAMPLES, level: float = LEVEL
) -> dict[str, dict[str, float | int]]:
    """Intervals for statistics that are not plain means (a rate among parsed items, an F-score):
    ``statistics_of(rows) -> {name: value}`` on the rows, then on each resample of the rows (the
    item is the unit); a statistic a resample cannot compute (None) is left out of that resample's
    values. Each name gets its value on all rows and the percentile interval."""
    if not rows:
        raise ValueError("no items to take an interval over")
    rng = random.Random(seed)
    whole = {k: v for k, v in statistics_of(list(rows)).items() if v is not None}
    draws: dict[str, list[float]] = {k: [] for k in whole}
    for _ in range(resamples):
        for k, v in statistics_of(rng.choices(rows, k=len(rows))).items():
            if k in draws and v is not None:
                draws[k].append(v)
    out = {}
    for k, v in whole.items():
        lo, hi = _percentiles(draws[k], level) if draws[k] else (v, v)
        out[k] = {"mean": v, "lo": lo, "hi": hi, "n": len(rows), "seed": seed, "level": level}
    return out


def paired(
    a: dict[str, float], b: dict[str, float], *, seed: int = 0, resamples: int = RESAMPLES, level: float = LEVEL
) -> dict[str, float | int]:
    """``mean(a - b)`` over the problems both scored, with the paired-bootstrap interval (the same
    resampled problems for both sides); a refusal when they share none."""
    common = sorted(set(a) & set(b))
    if not common:
        raise ValueError("the two runs share no problem: a paired difference needs the same problems")
    out = bootstrap([a[p] - b[p] for p in common], seed=seed, resamples=resamples, level=level)
    return out | {"only_a": len(set(a) - set(b)), "only_b": len(set(b) - set(a))}


def wilson(correct: int, n: int, *, level: float = LEVEL) -> tuple[float, float]:
    """Wilson's score interval for ``correct`` of ``n`` (exact enough where one sample per problem)."""
    if n <= 0:
        raise ValueError("no trials")
    z = statistics.NormalDist().inv_cdf(1 - (1 - level) / 2)
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def per_problem(samples: list[dict], field: str = "correct") -> dict[str, float]:
    """Each problem's mean of ``field`` over its samples (pass@1 per problem)."""
    groups: dict[str, list[float]] = {}
    for s in samples:
        groups.setdefault(str(s["problem_id"]), []).append(float(bool(s[field])))
    return {pid: statistics.fmean(v) for pid, v in groups.items()}
