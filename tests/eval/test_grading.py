"""Math grading: extraction and equivalence, as a regression table grown from observed failures."""

from __future__ import annotations

import time

import pytest

from eval.math import accuracy, extract_answer, grade


@pytest.mark.parametrize(
    "text, expected",
    [
        ("so x = 2 and \\boxed{2}, then again \\boxed{3}", "3"),  # the last box wins
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),  # nested braces
        ("\\fbox{7}", "7"),  # fbox counts as a box
        ("Thus the final answer is 42.", "42"),  # phrase, trailing period
        ("The final answer is $\\frac{3}{4}$. Done.", "\\frac{3}{4}"),  # phrase with math delimiters
        ("Work...\nAnswer: 17\n", "17"),  # answer line
        ("Natalia sold 72 clips.\n#### 72", "72"),  # GSM8K style
        ("I am not sure.", None),  # commits to nothing
        ("\\boxed{}", None),  # empty box
    ],
)
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize(
    "gold, pred, expected",
    [
        ("18", "She earns 9 * 2 = 18 dollars. The final answer is \\boxed{18}.", True),  # GSM8K, boxed
        ("025", "The answer is \\boxed{25}", True),  # AIME gold is zero padded
        ("\\frac{14}{3}", "\\boxed{\\dfrac{14}{3}}", True),  # dfrac vs frac
        ("\\left( 3, \\frac{\\pi}{2} \\right)", "\\boxed{(3, \\frac{\\pi}{2})}", True),  # MATH-500 polar point
        ("1/2^99", "\\boxed{1/2^98}", False),  # math-verify's rounding false positive, guarded
        ("19", "\\boxed{19,19}", False),  # a list is not a single answer (embedded model's output)
        ("5", "\\boxed{5} ... wait, actually \\boxed{6}", False),  # the last commitment counts
        ("x^2+2x+1", "\\boxed{(x+1)^2}", True),  # symbolic equivalence
        ("10", "The final answer is 10 apples.", True),  # units after a phrase answer
        ("7", "no answer here", False),  # nothing extracted is wrong
    ],
)
def test_grade_table(gold, pred, expected):
    assert grade(gold, pred) is expected


def test_pathological_prediction_finishes_in_time():
    start = time.perf_counter()
    assert grade("2", "\\boxed{5^{5^{5^5}}}") is False
    assert grade("2", "\\boxed{" + "(" * 3000 + "1" + ")" * 3000 + "}") is False
    assert time.perf_counter() - start < 60


def test_accuracy_scorer_marks_ungradable_as_none():
    assert accuracy(["\\boxed{4}", "\\boxed{5}", "hmm"], answer=["4", "4", "4"]) == [1.0, 0.0, None]
