"""Math grading: extraction and equivalence against a regression table grown from how models write answers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from answers.extract import extract_answer as extract_fast
from answers.verify import Verifier, VerifierError
from eval.math import GradeConfig, Grader, accuracy, extract_answer, grade
from tests.eval.grading_table import ROWS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("so x = 2 and \\boxed{2}, then again \\boxed{3}", "3"),  # the last box wins
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),  # nested braces
        ("\\fbox{7}", "7"),  # fbox counts as a box
        ("\\boxed 5", "5"),  # a box without braces
        ("Thus the final answer is 42.", "42"),  # phrase, trailing period
        ("The final answer is $\\frac{3}{4}$. Done.", "\\frac{3}{4}"),  # phrase with math delimiters
        ("Final Answer: The final answer is $5$. I hope it is correct.", "5"),  # Minerva: the answer, not the phrase
        ("Work...\nAnswer: 17\n", "17"),  # answer line
        ("Natalia sold 72 clips.\n#### 72", "72"),  # GSM8K style
        ("#### 1,200", "1200"),  # GSM8K with a separator
        ("x \\geq 3", "x \\geq 3"),  # a bare answer is its own answer
        ("I am not sure.", None),  # commits to nothing
        ("so $x = \\frac{1}{2}$.", None),  # no explicit answer: math-verify's extraction reads the tail
        ("\\boxed{}", None),  # empty box
    ],
)
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


def test_regression_table():
    """Every row at once (one pool); the failures are listed with what was found."""
    assert len(ROWS) >= 150
    with Grader(GradeConfig(workers=2)) as grader:
        graded = grader.grade_outputs([g for g, _, _ in ROWS], [p for _, p, _ in ROWS])
    wrong = [(g, p, want, found) for (g, p, want), (found, ok) in zip(ROWS, graded, strict=True) if ok is not want]
    assert not wrong, "\n".join(f"gold {g!r} pred {p!r}: want {w}, found {f!r}" for g, p, w, f in wrong)


@pytest.mark.parametrize("gold, pred, expected", ROWS[:12])
def test_grade_one_at_a_time(gold, pred, expected):
    assert grade(gold, pred) is expected


@pytest.mark.timeout(30)  # a hang guard: the quadratic scan took over 100 s on this input
def test_extraction_of_degenerate_outputs_is_linear():
    assert extract_fast("\\boxed{" * 40_000) is None  # 280,000 characters of unclosed boxes
    assert extract_fast("\\boxed{" * 30_000 + "7}") == "7"  # only the innermost closes
    assert extract_fast("the answer is " * 20_000) is None
    assert extract_fast("{" * 100_000 + "\\boxed{3}") == "3"


def test_pathological_prediction_is_wrong_not_a_hang():
    assert grade("2", "\\boxed{5^{5^{5^5}}}") is False
    assert grade("2", "\\boxed{" + "(" * 3000 + "1" + ")" * 3000 + "}") is False


def test_accuracy_scorer_marks_ungradable_as_none():
    assert accuracy(["\\boxed{4}", "\\boxed{5}", "hmm"], answer=["4", "4", "4"]) == [1.0, 0.0, None]


SCRIPT = (
    "from eval.math import grade\nprint(grade('\\\\frac{1}{2}', 'so $x = 0.5$.'), grade('3', 'The answer is 4.'))\n"
)


def test_grade_from_a_script_without_a_main_guard(tmp_path):
    script = tmp_path / "plain.py"
    script.write_text(SCRIPT)
    result = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.split() == ["True", "False"], result.stderr[-2000:]


def test_grade_from_a_script_piped_to_python():
    run = [sys.executable, "-"]
    result = subprocess.run(run, input=SCRIPT, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.split() == ["True", "False"], result.stderr[-2000:]


def test_a_verifier_that_cannot_run_raises_instead_of_answering_false():
    with Verifier(memory_mb=8) as verifier, pytest.raises(VerifierError, match="could not run|canary"):
        verifier.verify("1/3", "0.333")  # needs a worker; 8 MiB cannot even start Python
