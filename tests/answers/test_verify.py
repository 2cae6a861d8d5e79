"""Answer verification: equivalence table and pathological input that must not hang the run."""

from __future__ import annotations

import time

import pytest

from answers.verify import Verifier, check


@pytest.fixture(scope="module")
def verifier():
    with Verifier(timeout_s=5) as v:
        yield v


@pytest.mark.parametrize(
    "gold, answer, expected",
    [
        ("7", "7", True),  # identical
        ("5/6", "\\frac{5}{6}", True),  # fraction forms
        ("25", "025", True),  # AIME zero padding
        ("0.5", "1/2", True),  # decimal vs fraction
        ("3", "4", False),  # plainly wrong
        ("180", "180 km", True),  # units after the number
        ("60", "$60", True),  # currency sign
        ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi/2)", True),  # MATH-500 tuple
        ("19", "19,19", False),  # math-verify alone reads this as the set {19} and says equal
        ("19", "19;19", False),  # same with a semicolon
        ("1919", "1,919", True),  # a thousands separator is not a list
        ("\\{1, 2\\}", "\\{2, 1\\}", True),  # sets still compare as sets
        ("1/2^99", "1/2^98", False),  # math-verify alone rounds both to 0 and says equal
        ("\\frac{1}{2^{99}}", "2^{-99}", True),  # exact forms of the same number
        ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}", True),  # exact irrational
        ("7", "", False),  # empty answer
        ("7", None, False),  # no answer at all
    ],
)
def test_equivalence(verifier, gold, answer, expected):
    assert verifier.verify(gold, answer) is expected


@pytest.mark.parametrize(
    "gold, answer",
    [
        ("7", "\\frac{14}{2}"),  # a fraction that reduces to the integer
        ("-3/4", "\\frac{-3}{4}"),  # the sign inside the fraction
        ("-3/4", "-\\frac{3}{4}"),  # the sign in front of it
        ("3/4", "\\dfrac{6}{8}"),  # \dfrac, not reduced
        ("25", "025"),  # AIME zero padding
        ("1/3", " 2 / 6 "),  # spaces
        ("7", "8"),  # wrong
        ("1/2", "-1/2"),  # the sign matters
        ("1/3", "\\frac{1}{3}"),  # the same rational in two notations
        ("100000000000000000001", "100000000000000000000"),  # beyond float precision: exact, not rounded
        ("\\frac{1}{2}", "0.5"),  # a decimal exactly equal to a fraction
        ("3/4", "0.750"),  # trailing zero
        ("2.5", "\\frac{5}{2}"),  # decimal gold
        ("\\frac{\\sqrt{3}}{2}", "\\dfrac{\\sqrt{3}}{2}"),  # only \\dfrac differs
        ("(3, \\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)"),  # only sizing and spaces differ
        ("1000000", "1\\,000\\,000"),  # only thin spaces differ
    ],
)
def test_plain_rationals_are_decided_in_process_as_math_verify_decides_them(gold, answer):
    verifier = Verifier()
    assert verifier.verify(gold, answer) is check(gold, answer)  # math-verify in this process is the reference
    assert verifier._pool is None  # no worker was needed


def test_pathological_answer_returns_within_the_limit(verifier):
    start = time.perf_counter()
    assert verifier.verify("2", "5^{5^{5^{5^{5}}}}") is False
    assert time.perf_counter() - start < 30  # worker killed at 5 s, restarted


def test_overlong_answer_is_rejected_without_parsing(verifier):
    assert verifier.verify("1", "1+" * 5000 + "1") is False


@pytest.mark.parametrize("gold, answer", [("\\frac{1}{3}", "0.333333"), ("1/3", "0.33")])
def test_an_unequal_decimal_goes_to_math_verify_which_rounds(gold, answer):
    verifier = Verifier()
    assert verifier._known(gold, answer) is None  # not decided in process
    assert verifier.verify(gold, answer) is check(gold, answer)
    verifier.close()
