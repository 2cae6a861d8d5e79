"""How often `grade` and plain math-verify agree with the hand labels of the regression table.

    python bench/grading_agreement.py

For every row of ``tests/eval/grading_table.py`` (gold, a model's whole output, whether a careful
grader calls it correct): ``eval.math`` (this project's grader) and plain math-verify (``parse`` of
the gold between dollars, as its README writes golds, and of the output with its default
extraction, then ``verify``, each with a 5 s timeout),
both against the label; prints the agreement overall and per section of the table.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.math import GradeConfig, Grader  # noqa: E402


def sections() -> list[str]:
    """Each row's section: the ``# ---`` comment above it in the table file."""
    out, current = [], "(start)"
    for line in (ROOT / "tests" / "eval" / "grading_table.py").read_text().splitlines():
        if line.strip().startswith("# ---"):
            current = line.strip()[5:].strip()
        elif line.startswith('    ("'):
            out.append(current)
    return out


def plain_math_verify(gold: str, output: str) -> bool:
    from math_verify import parse, verify

    try:
        # the gold as math-verify's README writes one: LaTeX between dollars
        parsed_gold = parse(gold if "$" in gold else f"${gold}$", parsing_timeout=5) or parse(gold, parsing_timeout=5)
        return bool(verify(parsed_gold, parse(output, parsing_timeout=5), timeout_seconds=5))
    except Exception:  # what a caller of plain math-verify gets from an error: not correct
        return False


def main() -> None:
    from tests.eval.grading_table import ROWS

    names = sections()
    assert len(names) == len(ROWS), (len(names), len(ROWS))
    with Grader(GradeConfig(workers=2)) as grader:
        ours = grader.grade_many([g for g, _, _ in ROWS], [p for _, p, _ in ROWS])
    theirs = [plain_math_verify(g, p) for g, p, _ in ROWS]
    by: dict[str, list[int]] = {}
    for name, (_, _, want), a, b in zip(names, ROWS, ours, theirs, strict=True):
        counts = by.setdefault(name, [0, 0, 0])
        counts[0] += a is want
        counts[1] += b is want
        counts[2] += 1
    for name, (a, b, n) in by.items():
        print(f"{name[:70]:<72} grade {a:>3}/{n:<3}  math-verify {b:>3}/{n}")
    a, b, n = (sum(c[i] for c in by.values()) for i in range(3))
    print(f"overall: grade {a}/{n} ({a / n:.1%}), plain math-verify {b}/{n} ({b / n:.1%})")


if __name__ == "__main__":
    main()
