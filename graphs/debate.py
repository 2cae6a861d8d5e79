"""The debate method: the policy keeps reasoning; after each step a critic says continue or backtrack.

policy -> critic (continue: accept the step, or verify a final answer | backtrack: drop the step,
"Wait, <the critic's reason>", and the policy tries again). A final answer that does not verify is
backtracked from like a rejected step while the budget lasts. The dialogue becomes the trace once
the final answer verifies; debates that end unverified go to ``rejected.jsonl``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.graph import END, START, StateGraph

from agents import critique, policy
from answers.verify import Verifier
from corpus.events import Event
from graphs.common import (
    StepContext,
    StepOptions,
    StepState,
    accept,
    after_policy,
    finish,
    judged_routes,
    next_step,
    recursion_limit,
    step_state,
    verify_answer,
)
from graphs.method import Method, Role


@dataclass(frozen=True)
class DebateOptions(StepOptions):
    """The per-trace budget only."""


def backtrack(state: StepState) -> dict[str, Any]:
    step = len(state["path"]) + 1
    reason = state["verdict"]["reason"] or "this step is wrong"
    text = f"Wait, {reason[0].lower() + reason[1:]}. Let me try step {step} again."
    ev = Event(kind="backtrack", role=critique.ROLE, text=text, step=step)
    return {"events": [ev], "candidate": None, "hint": reason, "n_backtracks": state["n_backtracks"] + 1}


after_turn, after_verify = judged_routes("backtrack")


def build():
    graph = StateGraph(StepState, context_schema=StepContext)
    graph.add_node("policy", policy.policy)
    graph.add_node("critic", critique.debate_turn)
    graph.add_node("accept", accept)
    graph.add_node("backtrack", backtrack)
    graph.add_node("verify", verify_answer)
    graph.add_node("finish", finish)
    graph.add_edge(START, "policy")
    graph.add_conditional_edges("policy", after_policy, {"judge": "critic", "policy": "policy", "finish": "finish"})
    graph.add_conditional_edges("critic", after_turn)
    graph.add_conditional_edges("verify", after_verify)
    graph.add_conditional_edges("accept", next_step)
    graph.add_conditional_edges("backtrack", next_step)
    graph.add_edge("finish", END)
    return graph.compile()


def context(models, cfg, verifier: Verifier) -> StepContext:
    return StepContext(models=models, budget=cfg.options.budget, verifier=verifier)


def results(final: dict[str, Any], sample: int) -> list[dict[str, Any]]:
    return [final | {"sample": sample, "kept": final["verified"]}]


METHOD = Method(
    name="debate",
    source="synthesized",
    roles=(
        Role(policy.ROLE, policy.PROMPTS, lambda g: g.step(), help="keeps reasoning, one turn at a time"),
        Role(
            critique.ROLE,
            critique.DEBATE_PROMPTS,
            lambda g: g.step(0.3),
            help="answers each turn with continue or backtrack",
        ),
    ),
    description="the policy keeps reasoning, the critic says continue or backtrack; kept once verified",
    options=DebateOptions,
    build=build,
    context=context,
    limit=lambda cfg: recursion_limit(cfg.options.budget),
    initial_state=step_state,
    results=results,
)
