"""The reformat method: reference solutions rewritten into the long-thought format (Part 2, stage 1).

rewrite -> verify -> end. Problems need a reference solution (a ``solution`` field: MATH-style
files, the demo set); the rewrite must end in a ``\\boxed{}`` answer that verifies against the
reference answer, so a rewrite that changed the result is marked unverified.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.graph import END, START, StateGraph

from agents import rewriter
from agents.structured import AgentContext
from graphs.distill import DistillState, initial_state, verify
from graphs.verify import Verifier

NAME = "reformat"
SOURCE = "synthesized"
ROLES = (rewriter.ROLE,)
PROMPTS = {rewriter.ROLE: rewriter.REFORMAT}
SAMPLES_IN_GRAPH = False

__all__ = ["NAME", "ROLES", "PROMPTS", "SOURCE", "build", "context", "initial_state", "limit", "results"]


@dataclass
class ReformatContext(AgentContext):
    verifier: Verifier | None = None
    samples: int = 1
    keep: str = "all"


def build():
    graph = StateGraph(DistillState, context_schema=ReformatContext)
    graph.add_node("rewrite", rewriter.reformat)
    graph.add_node("verify", verify)
    graph.add_edge(START, "rewrite")
    graph.add_edge("rewrite", "verify")
    graph.add_edge("verify", END)
    return graph.compile()


def context(models, cfg, verifier: Verifier) -> ReformatContext:
    return ReformatContext(models=models, verifier=verifier)


def limit(cfg) -> int:
    return 10


def results(final: dict[str, Any], sample: int) -> list[dict[str, Any]]:
    # a rewrite whose answer no longer verifies changed the solution: rejected, kept for analysis
    return [s | {"sample": sample, "kept": s["verified"]} for s in final["samples"]]
