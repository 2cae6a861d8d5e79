"""The journey method: policy -> critique -> (correct: next step | incorrect: reflection -> backtrack).

A final answer that the critic accepts is verified against the reference; a wrong one is treated
like a rejected step (reflection, backtrack) while the backtrack budget lasts. Budgets: steps,
backtracks and tokens per trace. Wiring only: the roles live in agents/.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agents import critique, policy, reflection, teacher
from agents.events import Event
from agents.structured import AgentContext
from graphs.schema import Problem
from graphs.verify import Verifier

NAME = "journey"
SOURCE = "synthesized"
ROLES = (policy.ROLE, critique.ROLE, reflection.ROLE)  # the teacher is optional (--teacher)
PROMPTS = {policy.ROLE: policy.PROMPT, critique.ROLE: critique.PROMPT, reflection.ROLE: reflection.PROMPT, teacher.ROLE: teacher.HINT}
SAMPLES_IN_GRAPH = False
BATCHED = False


@dataclass(frozen=True)
class Budget:
    max_steps: int = 8
    max_backtracks: int = 3
    max_tokens: int = 8192


@dataclass
class JourneyContext(AgentContext):
    budget: Budget = field(default_factory=Budget)
    verifier: Verifier | None = None
    # ask the teacher for a hint once this many backtracks have failed (None: never)
    teacher_after: int | None = None
    max_hints: int = 1


class JourneyState(TypedDict):
    problem: dict[str, Any]
    path: list[str]
    candidate: dict[str, Any] | None
    verdict: dict[str, Any] | None
    hint: str | None
    events: Annotated[list[Event], operator.add]
    tokens: Annotated[int, operator.add]
    n_steps: int
    n_backtracks: int
    n_hints: int
    final_answer: str | None
    verified: bool
    status: str


def initial_state(problem: Problem) -> JourneyState:
    return JourneyState(
        problem=problem.model_dump(), path=[], candidate=None, verdict=None, hint=None, events=[], tokens=0,
        n_steps=0, n_backtracks=0, n_hints=0, final_answer=None, verified=False, status="running",
    )  # fmt: skip


def accept(state: JourneyState) -> dict[str, Any]:
    return {"path": [*state["path"], state["candidate"]["text"]], "candidate": None}


async def verify(state: JourneyState, runtime: Runtime[JourneyContext]) -> dict[str, Any]:
    answer = state["candidate"]["answer"]
    ok = await runtime.context.verifier.averify(state["problem"]["answer"], answer)
    text = f"The final answer {answer} checks out." if ok else f"The final answer {answer} does not check out."
    ev = Event(kind="verification", role="verifier", text=text, answer=answer, correct=ok, step=len(state["path"]) + 1)
    update: dict[str, Any] = {"events": [ev], "final_answer": answer, "verified": ok}
    if ok:
        update["candidate"] = None  # the answer closes the path; the summary states it
    else:
        update["verdict"] = {"correct": False, "reason": text}
    return update


def finish(state: JourneyState, runtime: Runtime[JourneyContext]) -> dict[str, Any]:
    budget = runtime.context.budget
    if state["verified"]:
        status = "verified"
    elif state["tokens"] >= budget.max_tokens:
        status = "budget_tokens"
    elif state["n_steps"] >= budget.max_steps:
        status = "budget_steps"
    elif state["n_backtracks"] >= budget.max_backtracks:
        status = "budget_backtracks"
    else:
        status = "wrong_answer"
    return {"status": status}


def _out_of_budget(state: JourneyState, budget: Budget) -> bool:
    return state["tokens"] >= budget.max_tokens or state["n_steps"] >= budget.max_steps


def after_policy(state: JourneyState, runtime: Runtime[JourneyContext]) -> Literal["critique", "policy", "finish"]:
    if state["tokens"] >= runtime.context.budget.max_tokens:
        return "finish"
    if state["candidate"] is None:  # malformed twice: try again while the step budget lasts
        return "finish" if _out_of_budget(state, runtime.context.budget) else "policy"
    return "critique"


def after_critique(
    state: JourneyState, runtime: Runtime[JourneyContext]
) -> Literal["verify", "accept", "reflection", "finish"]:
    if state["verdict"]["correct"]:
        return "verify" if state["candidate"]["answer"] is not None else "accept"
    return "reflection" if state["n_backtracks"] < runtime.context.budget.max_backtracks else "finish"


def after_verify(state: JourneyState, runtime: Runtime[JourneyContext]) -> Literal["reflection", "finish"]:
    budget = runtime.context.budget
    if state["verified"] or state["n_backtracks"] >= budget.max_backtracks or _out_of_budget(state, budget):
        return "finish"
    return "reflection"


def next_step(state: JourneyState, runtime: Runtime[JourneyContext]) -> Literal["policy", "finish"]:
    return "finish" if _out_of_budget(state, runtime.context.budget) else "policy"


def after_reflection(state: JourneyState, runtime: Runtime[JourneyContext]) -> Literal["policy", "hint", "finish"]:
    ctx = runtime.context
    if _out_of_budget(state, ctx.budget):
        return "finish"
    stuck = ctx.teacher_after is not None and state["n_backtracks"] >= ctx.teacher_after
    if stuck and teacher.ROLE in ctx.models and state["n_hints"] < ctx.max_hints:
        return "hint"
    return "policy"


def build():
    graph = StateGraph(JourneyState, context_schema=JourneyContext)
    graph.add_node("policy", policy.policy)
    graph.add_node("critique", critique.critique)
    graph.add_node("reflection", reflection.reflection)
    graph.add_node("accept", accept)
    graph.add_node("verify", verify)
    graph.add_node("finish", finish)
    graph.add_node("hint", teacher.hint)
    graph.add_edge(START, "policy")
    graph.add_conditional_edges("policy", after_policy)
    graph.add_conditional_edges("critique", after_critique)
    graph.add_conditional_edges("verify", after_verify)
    graph.add_conditional_edges("accept", next_step)
    graph.add_conditional_edges("reflection", after_reflection)
    graph.add_edge("hint", "policy")
    graph.add_edge("finish", END)
    return graph.compile()


def recursion_limit(budget: Budget) -> int:
    # each step is at most policy, critique, reflection/accept/verify (4 supersteps), plus hints
    return 4 * (budget.max_steps + budget.max_backtracks) + 12


def context(models, cfg, verifier: Verifier) -> JourneyContext:
    return JourneyContext(models=models, budget=cfg.budget, verifier=verifier, teacher_after=cfg.teacher_after)


def limit(cfg) -> int:
    return recursion_limit(cfg.budget)


def results(final: dict[str, Any], sample: int) -> list[dict[str, Any]]:
    # a journey trace is kept verified or not: its exploration is the data, the flag says which
    return [final | {"sample": sample, "kept": True}]
