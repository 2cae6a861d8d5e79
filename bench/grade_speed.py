"""Grading speed on outputs written the way models write them: MATH-500 golds x 64 simulated outputs.

    python bench/grade_speed.py [--samples 64] [--workers 2] [--data ../shared/data/math500/test.jsonl]

Each output is drawn (fixed seed) from forms a model really uses, so that most pairs reach
math-verify rather than an identical string:
- the gold in an equivalent form: ``\\dfrac``, a decimal for a fraction, ``\\left( \\right)``, extra
  spaces, ``$...$`` after "The answer is", the Minerva sentence, "so $x = ...$." with no phrase
  (math-verify's own extraction), a box after 4,000 characters of reasoning;
- a wrong answer (the gold plus one, negated, another number);
- no answer at all.

Prints the pairs graded, the wall time, pairs/s, and which share reached math-verify (a worker
check, or the cache of one) versus the in-process shortcuts (see answers/verify.py). Also times extraction of degenerate 200,000-character outputs (linear time).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import time
from pathlib import Path

from answers.extract import extract_answer
from answers.verify import Verifier, rational
from corpus.problems import load_problems
from eval.math import GradeConfig, Grader

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "math500" / "test.jsonl"
NOISE = "Let me think about this step by step. We expand and collect the terms, then check each case. " * 45


def equivalent_forms(gold: str) -> list[str]:
    spaced = re.sub(r"\s*([,+=])\s*", r" \1 ", gold)  # spaces around commas and operators
    forms = [gold, spaced, gold.replace("\\frac", "\\dfrac"), f"\\left({gold}\\right)"]
    value = rational(gold)
    if value is not None and value.denominator != 1 and 10**6 % value.denominator == 0:
        forms.append(str(float(value)))  # a terminating decimal for a fraction
    return forms


def outputs_for(gold: str, k: int, rng: random.Random) -> list[str]:
    forms = equivalent_forms(gold)
    wrong = [f"{gold}+1", f"-({gold})", str(rng.randint(2, 999))]

    def right() -> str:
        form = rng.choice(forms)
        return rng.choice(
            [
                f"The final answer is \\boxed{{{form}}}.",
                f"Final Answer: The final answer is ${form}$. I hope it is correct.",
                f"Putting it together, the answer is ${form}$.",
                f"so $x = {form}$.",
                f"{NOISE}Therefore \\boxed{{{form}}}.",
            ]
        )

    def wrong_one() -> str:
        return rng.choice([f"So \\boxed{{{rng.choice(wrong)}}}.", f"The answer is ${rng.choice(wrong)}$."])

    return [
        rng.choice([right, right, right, wrong_one, wrong_one, lambda: "I could not finish this."])() for _ in range(k)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    problems = load_problems(str(args.data))
    rng = random.Random(0)
    golds, outputs = [], []
    for p in problems:
        for output in outputs_for(p.answer, args.samples, rng):
            golds.append(p.answer)
            outputs.append(output)
    probe = Verifier()  # no pool is started: _known decides in process or says "ask math-verify"
    shortcut = sum(
        (answer := extract_answer(output)) is not None and probe._known(gold, answer) is not None
        for gold, output in zip(golds, outputs, strict=True)
    )
    print(f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}")
    with Grader(GradeConfig(workers=args.workers)) as grader:
        start = time.perf_counter()
        graded = grader.grade_outputs(golds, outputs)
        elapsed = time.perf_counter() - start
        checked, timeouts = grader.verifier.checked, grader.verifier.timeouts
    correct = sum(ok for _, ok in graded)
    no_answer = sum(found is None for found, _ in graded)
    print(
        f"{len(golds)} pairs ({len(problems)} golds x {args.samples}) graded in {elapsed:.1f}s with {args.workers} "
        f"workers: {len(golds) / elapsed:,.0f} pairs/s; {correct} correct, {no_answer} without an answer"
    )
    print(
        f"reached math-verify: {1 - shortcut / len(golds):.1%} of pairs ({checked} distinct worker checks, "
        f"{timeouts} timed out); in-process shortcuts: {shortcut / len(golds):.1%}"
    )
    for name, text in (
        ("unclosed boxes", "\\boxed{" * 28_600),
        ("nested boxes", "\\boxed{" * 20_000 + "7" + "}" * 20_000),
        ("repeated phrases", "the final answer is " * 10_000),
    ):
        start = time.perf_counter()
        extract_answer(text[:200_000])
        print(f"extraction of {len(text[:200_000]):,} characters of {name}: {time.perf_counter() - start:.3f}s")


if __name__ == "__main__":
    main()
