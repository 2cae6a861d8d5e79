"""Math grading: answer extraction from long outputs, equivalence with math-verify, scorers.

Public API (Math-Verify style, small on purpose):

- ``extract_answer(text) -> str | None``  the last \\boxed{}, else "final answer is X", "Answer: X", "#### X"
- ``grade(gold, pred) -> bool``            pred is the full model output
- ``accuracy(completions, answer, **kw) -> list[float | None]``  a scorer usable as a reward

Equivalence runs in worker processes with time and memory limits (answers/verify.py); model text
never reaches sympy in this process. Each distinct (gold, extracted answer) pair is checked once.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from answers.extract import last_boxed
from answers.verify import Verifier

_FINAL = re.compile(
    r"(?:final answer|the answer)\s*(?:is|:)\s*:?\s*(.+?)(?:\s*$|\.\s|\.$)", re.IGNORECASE | re.MULTILINE
)
_ANSWER_LINE = re.compile(r"^\s*\**answer\**\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_HASHES = re.compile(r"####\s*(.+?)\s*$", re.MULTILINE)
MAX_OUTPUT_CHARS = 200_000


def extract_answer(text: str) -> str | None:
    """The answer a long output commits to, or None when it commits to none."""
    text = text[-MAX_OUTPUT_CHARS:]
    if (boxed := last_boxed(text.replace("\\fbox{", "\\boxed{"))) is not None:
        return boxed or None
    for pattern in (_FINAL, _ANSWER_LINE, _HASHES):
        matches = pattern.findall(text)
        if matches:
            answer = matches[-1].strip().strip("$").strip()
            return answer.rstrip(".") or None
    return None


@dataclass(frozen=True)
class GradeConfig:
    workers: int = max(1, os.cpu_count() or 1)
    timeout_s: float = 5.0
    memory_mb: int = 2048


class Grader:
    """Grades many (gold, output) pairs across worker processes; use as a context manager."""

    def __init__(self, config: GradeConfig = GradeConfig()):
        self.verifier = Verifier(workers=config.workers, timeout_s=config.timeout_s, memory_mb=config.memory_mb)

    def grade_many(self, golds: list[str], outputs: list[str]) -> list[bool]:
        return self.grade_answers(golds, [extract_answer(o) for o in outputs])

    def grade_answers(self, golds: list[str], answers: list[str | None]) -> list[bool]:
        """Like grade_many, for answers already extracted (callers that also keep the answer)."""
        return self.verifier.verify_many(list(zip(golds, answers, strict=True)))

    def close(self) -> None:
        self.verifier.close()

    def __enter__(self) -> Grader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


_default: Grader | None = None


def _grader() -> Grader:
    global _default
    if _default is None:
        _default = Grader(GradeConfig(workers=1))
    return _default


def grade(gold: str, pred: str) -> bool:
    """True if the full model output ``pred`` ends on an answer equal to ``gold``."""
    return _grader().grade_many([gold], [pred])[0]


def accuracy(completions: list[str], answer: list[str], **kwargs) -> list[float | None]:
    """Scorer / reward: 1.0 correct, 0.0 wrong, None when the completion commits to no answer."""
    extracted = [extract_answer(c) for c in completions]
    correct = _grader().grade_answers(answer, extracted)
    return [None if a is None else float(ok) for a, ok in zip(extracted, correct, strict=True)]
