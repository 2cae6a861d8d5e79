"""Math grading: the answer a model's output commits to, and whether it equals the reference.

Public API (Math-Verify style, small on purpose):

- ``extract_answer(text) -> str | None``  the answer stated explicitly (see ``answers/extract.py``:
  last box, "the final answer is", "Answer:", "####", a bare answer)
- ``grade(gold, pred) -> bool``            pred is a whole model output, or a bare answer
- ``accuracy(completions, answer, **kw) -> list[float | None]``  a scorer usable as a reward

An output that states no answer explicitly is read by math-verify's own extraction (its tail, in a
worker). Equivalence runs in worker processes with time and memory limits (``answers/verify.py``);
model text never reaches sympy in this process. Each distinct pair is checked once. A grader that
cannot run raises ``VerifierError``: it never answers False.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from answers.extract import clean_gold, extract_answer
from answers.verify import Verifier, VerifierError

__all__ = ["GradeConfig", "Grader", "VerifierError", "accuracy", "clean_gold", "extract_answer", "grade"]


@dataclass(frozen=True)
class GradeConfig:
    workers: int = max(1, os.cpu_count() or 1)
    timeout_s: float = 5.0
    memory_mb: int = 2048
    thinking: str = "after"  # grade what follows a thinking block; "include": the thinking too


class Grader:
    """Grades many (gold, output) pairs across worker processes; use as a context manager."""

    def __init__(self, config: GradeConfig = GradeConfig()):
        self.verifier = Verifier(
            workers=config.workers, timeout_s=config.timeout_s, memory_mb=config.memory_mb, thinking=config.thinking
        )

    def grade_outputs(self, golds: list[str], outputs: list[str]) -> list[tuple[str | None, bool]]:
        """Per output: the answer found (None: none) and whether it equals its gold."""
        return self.verifier.grade_outputs(golds, outputs)

    def grade_many(self, golds: list[str], outputs: list[str]) -> list[bool]:
        return [ok for _, ok in self.grade_outputs(golds, outputs)]

    def grade_answers(self, golds: list[str], answers: list[str | None]) -> list[bool]:
        """For answers already extracted (or bare): whether each equals its gold."""
        return self.verifier.verify_many(list(zip(golds, answers, strict=True)))

    def same(self, pairs: list[tuple[str, str]]) -> list[bool]:
        """Whether two answers are equal (either one taken as the reference): for grouping votes."""
        return self.verifier.verify_many(pairs)

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
    """True if ``pred`` (a whole model output, or a bare answer) commits to an answer equal to ``gold``."""
    return _grader().grade_many([gold], [pred])[0]


def accuracy(completions: list[str], answer: list[str], **kwargs) -> list[float | None]:
    """Scorer / reward: 1.0 correct, 0.0 wrong, None when the completion commits to no answer."""
    graded = _grader().grade_outputs(answer, completions)
    return [None if found is None else float(ok) for found, ok in graded]
