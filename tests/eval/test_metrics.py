"""pass@k, maj@k and the token-budget curve on hand-computed cases."""

from __future__ import annotations

import pytest

from eval.metrics import majority, pass_at_k, summarize


@pytest.mark.parametrize(
    "n, c, k, expected",
    [(4, 0, 1, 0.0), (4, 4, 2, 1.0), (4, 1, 1, 0.25), (4, 1, 2, 0.5), (4, 2, 2, 1 - 1 / 6), (10, 3, 5, 1 - 21 / 252)],
)
def test_pass_at_k(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


def test_majority():
    assert majority(["5", "6", "5"], [True, False, True]) is True
    assert majority(["6", "6", "5"], [False, False, True]) is False
    assert majority(["6", "5"], [False, True]) is False  # tie: the earliest answer wins
    assert majority([None, None, "5"], [False, False, True]) is True  # no answer, no vote
    assert majority([None], [False]) is False


def test_summarize_budget_curve_and_groups():
    rows = []
    # p1: answers 5, 6, 5, 5 (gold 5); p2: 1, 2, 2, 3 (gold 3)
    for pid, answers, gold, subject in (
        ("p1", ["5", "6", "5", "5"], "5", "Algebra"),
        ("p2", ["1", "2", "2", "3"], "3", "Geometry"),
    ):
        for i, a in enumerate(answers):
            rows.append(
                {
                    "problem_id": pid,
                    "sample": i,
                    "extracted": a,
                    "correct": a == gold,
                    "tokens_out": 100,
                    "subject": subject,
                }
            )
    s = summarize(rows)
    assert s["pass@1"] == pytest.approx((3 / 4 + 1 / 4) / 2)
    assert s["pass@4"] == 1.0
    assert [(c["samples"], c["accuracy"], c["avg_output_tokens"]) for c in s["budget_curve"]] == [
        (1, 0.5, 100),
        (2, 0.5, 200),
        (4, 0.5, 400),  # p1 right by majority, p2 wrong ("2" wins)
    ]
    assert s["maj@k"] == 0.5
    assert s["by_group"]["subject"]["Algebra"] == {"problems": 1, "pass@1": 0.75}
