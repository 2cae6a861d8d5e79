"""The distill method: rejection sampling from a teacher.

teacher -> verify -> (verified and keep=first, or K samples drawn: end | else: teacher again).
Each sample is one teacher call; its answer is verified against the reference. The runner writes
the kept samples (the first verified one, or every verified one with ``keep="all"``) to the corpus
and the others to ``rejected.jsonl``: rejected samples are kept for analysis, never thrown away.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agents import teacher
from agents.events import Event
from agents.structured import AgentContext
from graphs.schema import Problem
from graphs.verify import Verifier

NAME = "distill"
SOURCE = "synthesized"
ROLES = (teacher.ROLE,)
PROMPTS = {teacher.ROLE: teacher.SOLVE}
SAMPLES_IN_GRAPH = True  # one graph run draws all of a problem's samples
KEEP = ("first", "all")

# how a long thought says it backtracks: counted per distilled trace, for comparing methods
_BACKTRACK = re.compile(r"\b(wait|let me (?:go back|redo|re-?check|reconsider|try again))\b", re.IGNORECASE)


@dataclass
class VerifyContext(AgentContext):
    """What ``verify`` reads: the answer checker."""

    verifier: Verifier | None = None


@dataclass
class DistillContext(VerifyContext):
    samples: int = 1
    keep: str = "first"


class DistillState(TypedDict):
    problem: dict[str, Any]
    candidate: dict[str, Any] | None
    events: list[Event]  # the current sample's events only: each sample is its own trace
    samples: Annotated[list[dict[str, Any]], operator.add]
    tokens: Annotated[int, operator.add]


def initial_state(problem: Problem) -> DistillState:
    return DistillState(problem=problem.model_dump(), candidate=None, events=[], samples=[], tokens=0)


async def verify(state: DistillState, runtime: Runtime[VerifyContext]) -> dict[str, Any]:
    answer = state["candidate"]["answer"]
    ok = answer is not None and await runtime.context.verifier.averify(state["problem"]["answer"], answer)
    text = "no \\boxed{} answer" if answer is None else f"The final answer {answer} {'checks out' if ok else 'does not check out'}."
    events = [*state["events"], Event(kind="verification", role="verifier", text=text, answer=answer, correct=ok)]
    thought = " ".join(filter(None, (state["events"][0].reasoning, state["events"][0].text))) if state["events"] else ""
    sample = {
        "events": events,
        "path": [],
        "final_answer": answer,
        "verified": ok,
        "status": "verified" if ok else ("no_answer" if answer is None else "wrong_answer"),
        "n_steps": 1,
        "n_backtracks": len(_BACKTRACK.findall(thought)),
    }
    return {"samples": [sample], "events": [], "candidate": None}


def again(state: DistillState, runtime: Runtime[DistillContext]) -> Literal["teacher", "__end__"]:
    ctx = runtime.context
    if ctx.keep == "first" and state["samples"][-1]["verified"]:
        return END
    return END if len(state["samples"]) >= ctx.samples else "teacher"


def build():
    graph = StateGraph(DistillState, context_schema=DistillContext)
    graph.add_node("teacher", teacher.solve)
    graph.add_node("verify", verify)
    graph.add_edge(START, "teacher")
    graph.add_edge("teacher", "verify")
    graph.add_conditional_edges("verify", again)
    return graph.compile()


def one_pass(name: str, node) -> Any:
    """``name`` writes one sample, then ``verify`` checks it: the graph of reformat and human."""
    graph = StateGraph(DistillState, context_schema=VerifyContext)
    graph.add_node(name, node)
    graph.add_node("verify", verify)
    graph.add_edge(START, name)
    graph.add_edge(name, "verify")
    graph.add_edge("verify", END)
    return graph.compile()


def context(models, cfg, verifier: Verifier) -> DistillContext:
    return DistillContext(models=models, verifier=verifier, samples=cfg.samples, keep=cfg.keep)


def limit(cfg) -> int:
    return 2 * cfg.samples + 5


def results(final: dict[str, Any], sample: int) -> list[dict[str, Any]]:
    """Every drawn sample with its index and whether the corpus keeps it."""
    return [s | {"sample": i, "kept": s["verified"]} for i, s in enumerate(final["samples"])]
