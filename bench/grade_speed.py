"""Grading speed: MATH-500 x K samples graded with worker processes and pair de-duplication.

    python bench/grade_speed.py [--samples 64] [--workers N] [--data ../shared/data/math500/test.jsonl]

Model outputs are simulated from the references: each sample is the right answer, one of a few
wrong answers, or no answer, drawn with a fixed seed, which is how K samples look in practice
(many share an answer). Prints pairs/s, distinct pairs, and the total time.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

from corpus.problems import load_problems
from eval.math import GradeConfig, Grader

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "math500" / "test.jsonl"


def outputs_for(answer: str, k: int, rng: random.Random) -> list[str]:
    wrong = [f"{answer} + 1", "0", f"-({answer})", "\\frac{1}{2}"]
    choices = (
        [f"The final answer is \\boxed{{{answer}}}."] * 4 + [f"So \\boxed{{{w}}}." for w in wrong] + ["I give up."]
    )
    return [rng.choice(choices) for _ in range(k)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    problems = load_problems(str(args.data))
    rng = random.Random(0)
    golds, outputs = [], []
    for p in problems:
        for out in outputs_for(p.answer, args.samples, rng):
            golds.append(p.answer)
            outputs.append(out)
    with Grader(GradeConfig(workers=args.workers)) as grader:
        grader.grade_many(golds[:1], outputs[:1])  # start the workers outside the timing
        start = time.perf_counter()
        correct = grader.grade_many(golds, outputs)
        elapsed = time.perf_counter() - start
        distinct = len(grader.verifier._cache)
    print(f"problems {len(problems)} x samples {args.samples} = {len(golds)} pairs, {distinct} distinct")
    print(
        f"workers {args.workers}: {elapsed:.1f} s total, {len(golds) / elapsed:.0f} pairs/s, "
        f"{distinct / elapsed:.0f} distinct pairs/s, timeouts {grader.verifier.timeouts}"
    )
    print(f"accuracy of the simulated outputs: {sum(correct) / len(correct):.3f}")


if __name__ == "__main__":
    main()
