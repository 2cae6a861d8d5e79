"""pass@k, maj@k and the token-budget curve on hand-computed cases."""

from __future__ import annotations

import pytest

from eval.metrics import majority, pass_at_k, summarize, vote_groups


@pytest.mark.parametrize(
    "n, c, k, expected",
    [(4, 0, 1, 0.0), (4, 4, 2, 1.0), (4, 1, 1, 0.25), (4, 1, 2, 0.5), (4, 2, 2, 1 - 1 / 6), (10, 3, 5, 1 - 21 / 252)],
)
def test_pass_at_k(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


def same_value(pairs):
    """Stands in for the verifier: answers are equal when they denote the same number."""
    from fractions import Fraction

    value = {
        "1/2": Fraction(1, 2),
        "0.5": Fraction(1, 2),
        "\\frac{1}{2}": Fraction(1, 2),
        "2": 2,
        "3": 3,
        "5": 5,
        "6": 6,
    }
    return [value[a] == value[b] for a, b in pairs]


def test_votes_group_equivalent_answers():
    # gold 3: "1/2", "0.5" and "\frac{1}{2}" are one wrong answer, voting together
    answers = ["1/2", "3", "0.5", None, "\\frac{1}{2}", "6"]
    votes = vote_groups(answers, [a == "3" for a in answers], same_value)
    assert votes[0] == votes[2] == votes[4] and votes[1] == 0 and votes[3] is None and votes[5] not in (0, votes[0])
    assert majority(votes, [a == "3" for a in answers]) == 0.0  # the equivalent wrong answer wins 3 to 1


def test_majority():
    assert majority([1, 0, 1], [False, True, False]) == 0.0
    assert majority([0, 1, 0], [True, False, True]) == 1.0
    assert majority([1, 0], [False, True]) == 0.5  # a tie of one right and one wrong group: half
    assert majority([None, None, 0], [False, False, True]) == 1.0  # no answer, no vote
    assert majority([None], [False]) == 0.0


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
                    "vote": 0 if a == gold else int(a),
                    "tokens_out": 100,
                    "subject": subject,
                }
            )
    s = summarize(rows)
    assert s["pass@1"] == pytest.approx((3 / 4 + 1 / 4) / 2)
    assert s["pass@4"] == 1.0
    # j=2, every pair: p1 (5,6,5,5) scores 0.5 on the 3 pairs with the 6 (a tie), 1 on the 3 others: 0.75;
    # p2 (1,2,2,3) scores 0.5 on the 3 pairs that tie the 3 with another answer, 0 otherwise: 0.25
    assert [(c["samples"], c["accuracy"], c["avg_output_tokens"]) for c in s["budget_curve"]] == [
        (1, 0.5, 100),  # pass@1
        (2, pytest.approx(0.5), 200),
        (4, 0.5, 400),  # p1 right by majority, p2 wrong ("2" wins)
    ]
    assert s["budget_curve"][0]["accuracy"] == s["pass@1"]
    assert s["maj@k"] == 0.5
    assert s["by_group"]["subject"]["Algebra"] == {"problems": 1, "pass@1": 0.75}


def test_budget_curve_first_point_is_pass_at_1_with_many_samples():
    # 16 samples each, so j = 4 and 8 draw subsets at random: the curve still starts at pass@1
    rows = [
        {
            "problem_id": f"p{p}",
            "sample": i,
            "extracted": "1",
            "correct": (i + p) % 3 == 0,
            "vote": 0 if (i + p) % 3 == 0 else 1 + i % 2,
            "tokens_out": 10 + i,
        }
        for p in range(5)
        for i in range(16)
    ]
    s = summarize(rows)
    assert s["budget_curve"][0]["accuracy"] == pytest.approx(s["pass@1"])
    assert [c["samples"] for c in s["budget_curve"]] == [1, 2, 4, 8, 16]
    assert s["budget_curve"][1]["avg_output_tokens"] == pytest.approx(2 * 17.5)
