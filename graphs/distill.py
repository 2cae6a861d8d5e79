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
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agents import teacher
from answers.verify import Verifier
from corpus.schema import Problem
from graphs.common import VerifyContext, sample_state, verify_sample
from graphs.method import Method, OptionError, Outcome, Role, option


@dataclass(frozen=True)
class DistillOptions:
    keep: str = option("first", "Keep the first verified sample of a problem (first), or all verified ones (all).")

    def __post_init__(self) -> None:
        if self.keep not in ("first", "all"):
            raise OptionError(f"--keep must be first or all, not {self.keep!r}")


@dataclass
class DistillContext(VerifyContext):
    samples: int = 1
    keep: str = "first"


class BatchState(TypedDict):
    """The problems of one graph run: a SampleState each, plus ``done`` and ``error``."""

    items: list[dict[str, Any]]


def batch_state(problems: list[Problem]) -> BatchState:
    return BatchState(items=[dict(sample_state(p)) | {"done": False, "error": None} for p in problems])


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
        update = await verify_sample(item, runtime)
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


def context(models, cfg, verifier: Verifier) -> DistillContext:
    return DistillContext(models=models, verifier=verifier, samples=cfg.samples, keep=cfg.options.keep)


def batch_results(final: dict[str, Any]) -> list[list[dict[str, Any]] | Exception]:
    """Per problem of the batch: every drawn sample with its index and whether the corpus keeps it,
    or the exception that failed the problem."""
    return [
        item["error"] or [s | {"sample": i, "kept": s["verified"]} for i, s in enumerate(item["samples"])]
        for item in final["items"]
    ]


def finished(outcomes: list[Outcome], cfg) -> bool:
    """A problem is done once its kept sample is written (keep first) or all its samples are."""
    return len(outcomes) >= cfg.samples or (cfg.options.keep == "first" and "kept" in outcomes)


METHOD = Method(
    name="distill",
    source="synthesized",
    roles=(
        Role(
            teacher.ROLE,
            teacher.SOLVES,
            lambda g: g.long(reasoning_effort=True),
            help="writes whole solutions, --samples tries per problem (default local)",
        ),
    ),
    description="rejection sampling from --teacher, --samples K tries per problem, --keep first|all",
    options=DistillOptions,
    build=build,
    context=context,
    limit=lambda cfg: 2 * cfg.samples + 5,
    draws="in_graph",
    batched=True,
    batch_state=batch_state,
    batch_results=batch_results,
    finished=finished,
)
