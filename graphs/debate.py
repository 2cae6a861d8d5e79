"""The debate method: the policy keeps reasoning; after each step a critic says continue or backtrack.

policy -> critic (continue: accept the step, or verify a final answer | backtrack: drop the step,
"Wait, <the critic's reason>", and the policy tries again). A final answer that does not verify is
backtracked from like a rejected step while the budget lasts. The dialogue becomes the trace once
the final answer verifies; debates that end unverified go to ``rejected.jsonl``.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agents import critique, policy
from agents.events import Event
from graphs.journey import (
    Budget,
    JourneyContext,
    JourneyState,
    _out_of_budget,
    accept,
    after_policy,
    finish,
    initial_state,
    next_step,
    recursion_limit,
    verify,
)
from graphs.verify import Verifier

NAME = "debate"
SOURCE = "synthesized"
ROLES = (policy.ROLE, critique.ROLE)
PROMPTS = {policy.ROLE: policy.PROMPT, critique.ROLE: critique.DEBATE}
SAMPLES_IN_GRAPH = False
BATCHED = False

__all__ = ["NAME", "ROLES", "PROMPTS", "SOURCE", "Budget", "build", "context", "initial_state", "limit", "results"]


def backtrack(state: JourneyState) -> dict[str, Any]:
    step = len(state["path"]) + 1
    reason = state["verdict"]["reason"] or "this step is wrong"
    text = f"Wait, {reason[0].lower() + reason[1:]}. Let me try step {step} again."
    ev = Event(kind="backtrack", role=critique.ROLE, text=text, step=step)
    return {"events": [ev], "candidate": None, "hint": reason, "n_backtracks": state["n_backtracks"] + 1}


def after_turn(state: JourneyState, runtime: Runtime[JourneyContext]) -> Literal["verify", "accept", "backtrack", "finish"]:
    if state["verdict"]["correct"]:
        return "verify" if state["candidate"]["answer"] is not None else "accept"
    return "backtrack" if state["n_backtracks"] < runtime.context.budget.max_backtracks else "finish"


def after_verify(state: JourneyState, runtime: Runtime[JourneyContext]) -> Literal["backtrack", "finish"]:
    budget = runtime.context.budget
    if state["verified"] or state["n_backtracks"] >= budget.max_backtracks or _out_of_budget(state, budget):
        return "finish"
    return "backtrack"


def build():
    graph = StateGraph(JourneyState, context_schema=JourneyContext)
    graph.add_node("policy", policy.policy)
    graph.add_node("critic", critique.debate_turn)
    graph.add_node("accept", accept)
    graph.add_node("backtrack", backtrack)
    graph.add_node("verify", verify)
    graph.add_node("finish", finish)
    graph.add_edge(START, "policy")
    graph.add_conditional_edges("policy", after_policy_to_critic)
    graph.add_conditional_edges("critic", after_turn)
    graph.add_conditional_edges("verify", after_verify)
    graph.add_conditional_edges("accept", next_step)
    graph.add_conditional_edges("backtrack", next_step)
    graph.add_edge("finish", END)
    return graph.compile()


def after_policy_to_critic(state: JourneyState, runtime: Runtime[JourneyContext]) -> Literal["critic", "policy", "finish"]:
    route = after_policy(state, runtime)
    return "critic" if route == "critique" else route


def context(models, cfg, verifier: Verifier) -> JourneyContext:
    return JourneyContext(models=models, budget=cfg.budget, verifier=verifier)


def limit(cfg) -> int:
    return recursion_limit(cfg.budget)


def results(final: dict[str, Any], sample: int) -> list[dict[str, Any]]:
    return [final | {"sample": sample, "kept": final["verified"]}]
