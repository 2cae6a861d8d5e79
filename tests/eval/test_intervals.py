"""The interval math against cases worked by hand."""

from __future__ import annotations

import pytest

from eval.intervals import bootstrap, over_items, paired, per_problem, wilson


def test_wilson_matches_the_textbook_case():
    # 8 of 10 at 95% (z = 1.96): centre (0.8 + z^2/20) / (1 + z^2/10) = 0.7168,
    # half-width z * sqrt(0.8 * 0.2 / 10 + z^2 / 400) / (1 + z^2/10) = 0.2266 -> (0.4902, 0.9433)
    lo, hi = wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 20)[0] == pytest.approx(0.0, abs=1e-12) and wilson(20, 20)[1] == pytest.approx(1.0)
    assert wilson(0, 20)[1] == pytest.approx(0.1611, abs=1e-4)  # the rule of three would say 0.15


def test_a_constant_score_has_no_spread_and_a_mix_covers_its_mean():
    assert bootstrap([1.0] * 30) | {} == {"mean": 1.0, "lo": 1.0, "hi": 1.0, "n": 30, "seed": 0, "level": 0.95}
    # 20 problems, half right: the standard error is sqrt(.25/20) = 0.112, so the 95% interval is about +-0.22
    out = bootstrap([1.0, 0.0] * 10, seed=3)
    assert out["mean"] == 0.5 and 0.24 <= out["lo"] <= 0.33 and 0.67 <= out["hi"] <= 0.76
    assert bootstrap([1.0, 0.0] * 10, seed=3) == out  # the seed fixes it


def test_paired_difference_resamples_problems_together():
    a = {f"p{i}": 1.0 for i in range(40)}
    b = {f"p{i}": 1.0 if i % 4 else 0.0 for i in range(40)}  # b misses every fourth problem a solves
    out = paired(a, b)
    assert out["mean"] == 0.25 and out["lo"] > 0 and out["hi"] < 0.5 and out["n"] == 40
    # the same problems solved by both: a difference of exactly zero, with no spread
    assert paired(a, a) | {} == paired(a, a) and paired(a, a)["lo"] == paired(a, a)["hi"] == 0.0
    with pytest.raises(ValueError, match="share no problem"):
        paired({"x": 1.0}, {"y": 1.0})


def test_per_problem_averages_a_problems_samples():
    samples = [
        {"problem_id": "a", "correct": True},
        {"problem_id": "a", "correct": False},
        {"problem_id": "b", "correct": True},
    ]
    assert per_problem(samples) == {"a": 0.5, "b": 1.0}


def test_a_statistic_over_items_is_resampled_by_item_and_matches_the_mean_bootstrap():
    rows = [{"ok": i % 2 == 0, "parsed": i % 5 != 0} for i in range(20)]

    def rate(sample):
        parsed = [r for r in sample if r["parsed"]]
        return {
            "rate": sum(r["ok"] for r in parsed) / len(parsed) if parsed else None,
            "share": len(parsed) / len(sample),
        }

    out = over_items(rows, rate, seed=3)
    # 16 parsed items, 8 of them ok (items 2, 4, 6, 8, 12, 14, 16, 18): 0.5; 16 of 20 parsed: 0.8
    assert out["rate"]["mean"] == 0.5 and out["share"]["mean"] == 0.8 and out["rate"]["n"] == 20
    # a plain mean gives exactly what the mean bootstrap gives under the same seed
    plain = over_items([float(r["ok"]) for r in rows], lambda s: {"m": sum(s) / len(s)}, seed=3)["m"]
    assert {k: plain[k] for k in ("mean", "lo", "hi")} == {
        k: bootstrap([float(r["ok"]) for r in rows], seed=3)[k] for k in ("mean", "lo", "hi")
    }
    assert out["rate"]["lo"] < 0.5 < out["rate"]["hi"] and over_items(rows, rate, seed=3) == out
