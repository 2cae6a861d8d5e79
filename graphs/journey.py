"""The journey method: policy -> critique -> (correct: next step | incorrect: reflection -> backtrack).

A final answer that the critic accepts is verified against the reference; a wrong one is treated
like a rejected step (reflection, backtrack) while the backtrack budget lasts. With a teacher, the
policy gets one hint once ``teacher_after`` backtracks have failed. Budgets: steps, backtracks and
tokens per trace. With ``rewrite``, a verified journey's draft goes to the rewriter, which writes it
as one first-person monologue keeping every wrong step, why it is wrong and the backtrack; a
rewrite that loses the answer or a reflection is discarded for the draft (``graphs.common.rewrite_draft``).
Wiring only: the roles live in agents/, shared pieces in graphs/common.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agents import critique, policy, reflection, rewriter, teacher
from answers.verify import Verifier
from graphs.common import (
    Budget,
    StepContext,
    StepOptions,
    StepState,
    accept,
    after_policy,
    finish,
    judged_routes,
    next_step,
    out_of_budget,
    recursion_limit,
    rewrite_draft,
    step_state,
    verify_answer,
)
from graphs.method import Method, Role, option

__all__ = ["METHOD", "Budget", "JourneyContext", "JourneyOptions", "build", "initial_state", "recursion_limit"]

initial_state = step_state


@dataclass(frozen=True)
class JourneyOptions(StepOptions):
    teacher_after: int = option(1, "With --teacher: ask for a hint after this many backtracks.", min=1)
    rewrite: bool = option(
        False,
        "Rewrite each verified journey into one first-person monologue that keeps every wrong step, why it is "
        "wrong and the backtrack (--rewriter, default the policy's model); a rewrite that loses the answer or a "
        "reflection is discarded for the draft.",
    )


@dataclass
class JourneyContext(StepContext):
    # ask the teacher for a hint once this many backtracks have failed (None: never)
    teacher_after: int | None = None
    max_hints: int = 1
    rewrite: bool = False


def after_finish(state: StepState, runtime: Runtime[JourneyContext]) -> Literal["rewrite", "__end__"]:
    # only a verified journey is rewritten: the rewrite is checked against its answer
    return "rewrite" if runtime.context.rewrite and state["verified"] else END


async def rewrite(state: StepState, runtime: Runtime[JourneyContext]) -> dict[str, Any]:
    out = await rewrite_draft(state["problem"], state["events"], state["final_answer"], runtime)
    return {
        "events": [out["event"]],
        "tokens": out["tokens"],
        "long_thought": out["long_thought"],
        "draft": out["draft"],
        "rewrite": out["rewrite"],
    }


after_critique, after_verify = judged_routes("reflection")


def after_reflection(state: StepState, runtime: Runtime[JourneyContext]) -> Literal["policy", "hint", "finish"]:
    ctx = runtime.context
    if out_of_budget(state, ctx.budget):
        return "finish"
    stuck = ctx.teacher_after is not None and state["n_backtracks"] >= ctx.teacher_after
    if stuck and teacher.ROLE in ctx.models and state["n_hints"] < ctx.max_hints:
        return "hint"
    return "policy"


def build():
    graph = StateGraph(StepState, context_schema=JourneyContext)
    graph.add_node("policy", policy.policy)
    graph.add_node("critique", critique.critique)
    graph.add_node("reflection", reflection.reflection)
    graph.add_node("accept", accept)
    graph.add_node("verify", verify_answer)
    graph.add_node("finish", finish)
    graph.add_node("hint", teacher.hint)
    graph.add_node("rewrite", rewrite)
    graph.add_edge(START, "policy")
    graph.add_conditional_edges("policy", after_policy, {"judge": "critique", "policy": "policy", "finish": "finish"})
    graph.add_conditional_edges("critique", after_critique)
    graph.add_conditional_edges("verify", after_verify)
    graph.add_conditional_edges("accept", next_step)
    graph.add_conditional_edges("reflection", after_reflection)
    graph.add_edge("hint", "policy")
    graph.add_conditional_edges("finish", after_finish)
    graph.add_edge("rewrite", END)
    return graph.compile()


def context(models, cfg, verifier: Verifier) -> JourneyContext:
    options: JourneyOptions = cfg.options
    return JourneyContext(
        models=models,
        budget=options.budget,
        verifier=verifier,
        teacher_after=options.teacher_after,
        rewrite=options.rewrite,
    )


def results(final: dict[str, Any], sample: int) -> list[dict[str, Any]]:
    # a journey trace is kept verified or not: its exploration is the data, the flag says which
    return [final | {"sample": sample, "kept": True}]


METHOD = Method(
    name="journey",
    source="synthesized",
    roles=(
        Role(policy.ROLE, policy.PROMPTS, lambda g: g.step(), help="writes the solution step by step"),
        Role(critique.ROLE, critique.PROMPTS, lambda g: g.step(0.3), help="checks each step"),
        Role(
            reflection.ROLE,
            reflection.PROMPTS,
            lambda g: g.step(0.3),
            help="explains a wrong step before the backtrack",
        ),
        Role(
            teacher.ROLE,
            teacher.HINTS,
            lambda g: g.hint(0.3),
            required=False,
            help="gives a hint when the policy is stuck (optional)",
        ),
        # with --rewrite; by default the policy's own model rewrites its draft
        Role(
            rewriter.ROLE,
            rewriter.FLUENTS,
            lambda g: g.long(0.3),
            required=False,
            enabled_by="rewrite",
            help="with --rewrite (default the policy's model)",
        ),
    ),
    description="policy, critique, reflection and backtracking; --teacher adds hints when stuck",
    options=JourneyOptions,
    build=build,
    context=context,
    limit=lambda cfg: recursion_limit(cfg.options.budget),
    initial_state=initial_state,
    results=results,
)
