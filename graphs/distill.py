"""The distill method: rejection sampling from a teacher.

teacher -> verify -> (every problem finished: end | else: teacher again). A problem is finished once
a sample verifies (keep=first) or K samples are drawn. Each sample is one teacher call; its answer is
verified against the reference. The runner writes the kept samples (the first verified one, or every
verified one with ``keep="all"``) to the corpus and the others to ``rejected.jsonl``: rejected
samples are kept for analysis, never thrown away.

One graph run holds a batch of problems (``--batch``, default 1): each node works on all the
batch's unfinished problems at once, so LangGraph's per-step cost (about a millisecond of CPU a
step, the largest share of a distilled trace's CPU against a fast endpoint) is paid once per batch.
A batch ends with its slowest problem, so batches pay only when calls are fast and alike. A problem
whose calls keep failing fails alone: the others of its batch go on.
"""

from __future__ import annotations

import asyncio
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
BATCHED = True  # one graph run takes several problems: batch_state(problems), batch_results(final)
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


class BatchState(TypedDict):
    """The problems of one graph run: a DistillState each, plus ``done`` and ``error``."""

    items: list[dict[str, Any]]


def batch_state(problems: list[Problem]) -> BatchState:
    return BatchState(items=[dict(initial_state(p)) | {"done": False, "error": None} for p in problems])


async def _each_unfinished(state: BatchState, step) -> dict[str, Any]:
    """``step(item)`` for every unfinished problem of the batch, all at once; finished ones unchanged."""

    async def one(item: dict[str, Any]) -> dict[str, Any]:
        return item if item["done"] else await step(item)

    return {"items": list(await asyncio.gather(*(one(item) for item in state["items"])))}


async def teacher_all(state: BatchState, runtime: Runtime[DistillContext]) -> dict[str, Any]:
    """One more sample from the teacher for every unfinished problem of the batch."""

    async def sample(item: dict[str, Any]) -> dict[str, Any]:
        try:
            update = await teacher.solve(item, runtime)
        except Exception as e:  # this problem's failure (retries spent), not its batch's
            return item | {"done": True, "error": e}
        return item | update | {"tokens": item["tokens"] + update["tokens"]}

    return await _each_unfinished(state, sample)


async def verify_all(state: BatchState, runtime: Runtime[DistillContext]) -> dict[str, Any]:
    ctx = runtime.context

    async def check(item: dict[str, Any]) -> dict[str, Any]:
        update = await verify(item, runtime)
        samples = item["samples"] + update["samples"]
        done = (ctx.keep == "first" and samples[-1]["verified"]) or len(samples) >= ctx.samples
        return item | update | {"samples": samples, "done": done}

    return await _each_unfinished(state, check)


def again(state: BatchState) -> Literal["teacher", "__end__"]:
    return END if all(item["done"] for item in state["items"]) else "teacher"


def build():
    graph = StateGraph(BatchState, context_schema=DistillContext)
    graph.add_node("teacher", teacher_all)
    graph.add_node("verify", verify_all)
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


def batch_results(final: dict[str, Any]) -> list[list[dict[str, Any]] | Exception]:
    """Per problem of the batch: every drawn sample with its index and whether the corpus keeps it,
    or the exception that failed the problem."""
    return [
        item["error"] or [s | {"sample": i, "kept": s["verified"]} for i, s in enumerate(item["samples"])]
        for item in final["items"]
    ]
