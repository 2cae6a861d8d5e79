"""The reformat method: reference solutions rewritten into the long-thought format (Part 2, stage 1).

rewrite -> verify -> end. Problems need a reference solution (a ``solution`` field: MATH-style
files, the demo set); the rewrite must end in a ``\\boxed{}`` answer that verifies against the
reference answer, so a rewrite that changed the result is marked unverified.
"""

from __future__ import annotations

from typing import Any

from agents import rewriter
from graphs.distill import VerifyContext, initial_state, one_pass
from graphs.verify import Verifier

NAME = "reformat"
SOURCE = "synthesized"
ROLES = (rewriter.ROLE,)
PROMPTS = {rewriter.ROLE: rewriter.REFORMAT}
SAMPLES_IN_GRAPH = False
BATCHED = False

__all__ = ["NAME", "ROLES", "PROMPTS", "SOURCE", "build", "context", "initial_state", "limit", "results"]


def build():
    return one_pass("rewrite", rewriter.reformat)


def context(models, cfg, verifier: Verifier) -> VerifyContext:
    return VerifyContext(models=models, verifier=verifier)


def limit(cfg) -> int:
    return 10


def results(final: dict[str, Any], sample: int) -> list[dict[str, Any]]:
    # a rewrite whose answer no longer verifies changed the solution: rejected, kept for analysis
    return [s | {"sample": sample, "kept": s["verified"]} for s in final["samples"]]
