"""The reformat method: reference solutions rewritten into the long-thought format (Part 2, stage 1).

rewrite -> verify -> end. Problems need a reference solution (a ``solution`` field: MATH-style
files, the demo set); the rewrite must end in a ``\\boxed{}`` answer that verifies against the
reference answer, so a rewrite that changed the result is marked unverified.
"""

from __future__ import annotations

from typing import Any

from agents import rewriter
from answers.verify import Verifier
from graphs.common import VerifyContext, one_pass, sample_state
from graphs.method import Method, Role


def build():
    return one_pass("rewrite", rewriter.reformat)


def context(models, cfg, verifier: Verifier) -> VerifyContext:
    return VerifyContext(models=models, verifier=verifier)


def results(final: dict[str, Any], sample: int) -> list[dict[str, Any]]:
    # a rewrite whose answer no longer verifies changed the solution: rejected, kept for analysis
    return [s | {"sample": sample, "kept": s["verified"]} for s in final["samples"]]


METHOD = Method(
    name="reformat",
    source="synthesized",
    roles=(Role(rewriter.ROLE, rewriter.REFORMATS, lambda g: g.long(0.3), help="rewrites the reference solution"),),
    description="reference solutions rewritten step by step by --rewriter",
    build=build,
    context=context,
    limit=lambda cfg: 10,
    initial_state=sample_state,
    results=results,
    needs=("solution", "reference solutions to rewrite (a 'solution' field)"),
)
