"""The tree method (Part 1): beam search over steps, then a long thought walked out of the tree.

expand -> select -> (expand again | draft) -> rewrite -> end.

- ``expand``: every node of the beam gets ``width`` candidate next steps from the policy (sampled),
  each judged by the critic (correct / incorrect with its reasoning, the step judge of the paper).
  Each candidate is generated and then judged in its own task, so a slow branch holds up no other
  branch's critique (LangGraph would run a generate superstep and a judge superstep in lock-step).
- ``select``: correct final answers are verified against the reference (the first that verifies
  ends the search); otherwise the ``beam`` first correct steps of the level are kept, to depth
  ``max_steps``.
- ``draft``: the tree is walked depth first along the correct path (to the verified answer, else
  the deepest correct step), taking at most ``wrong_trials`` wrong children of each correct node on
  purpose: the wrong step, "Wait, <the critic's reasoning>", a backtrack, then on down the path.
- ``rewrite``: the rewriter turns the draft into fluent text that keeps the errors and
  corrections; if the rewrite loses the answer, the rendered draft is the long thought.

The tree (networkx DiGraph, node-link JSON) is saved with the trace.
"""

from __future__ import annotations

import asyncio
import operator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypedDict

import networkx as nx
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agents import critique, policy, rewriter
from agents.events import Event
from agents.structured import AgentContext
from answers.verify import Verifier
from corpus import render
from corpus.schema import Problem
from graphs.common import Budget
from graphs.method import Method, Role

ROOT = "0"


@dataclass(frozen=True)
class TreeOptions:
    max_steps: int = 6  # depth of the search
    max_tokens: int = 8192  # tokens of the whole search, pruned branches included
    width: int = 2  # candidate next steps sampled per node
    beam: int = 2  # correct steps kept per level
    wrong_trials: int = 1  # wrong branches visited on purpose per correct step of the long thought

    @property
    def budget(self) -> Budget:
        return Budget(max_steps=self.max_steps, max_tokens=self.max_tokens)


@dataclass
class TreeContext(AgentContext):
    budget: Budget = Budget()
    verifier: Verifier | None = None
    width: int = 2
    beam: int = 2
    wrong_trials: int = 1


class TreeState(TypedDict):
    problem: dict[str, Any]
    tree: dict[str, Any]  # node-link JSON of the search tree
    beam: list[str]
    depth: int
    solved: str | None
    events: Annotated[list[Event], operator.add]  # every call made, pruned branches included
    tokens: Annotated[int, operator.add]
    draft: list[Event]
    draft_text: str
    long_thought: str | None


def initial_state(problem: Problem) -> TreeState:
    tree = nx.DiGraph()
    tree.add_node(ROOT, text="", correct=True, answer=None, reason="", depth=0)
    return TreeState(
        problem=problem.model_dump(),
        tree=nx.node_link_data(tree, edges="edges"),
        beam=[ROOT],
        depth=0,
        solved=None,
        events=[],
        tokens=0,
        draft=[],
        draft_text="",
        long_thought=None,
    )


def _tree(state: TreeState) -> nx.DiGraph:
    return nx.node_link_graph(state["tree"], edges="edges")


def path_to(tree: nx.DiGraph, node: str) -> list[str]:
    """Node ids from the root's first child down to ``node``."""
    return nx.shortest_path(tree, ROOT, node)[1:]


async def expand(state: TreeState, runtime: Runtime[TreeContext]) -> dict[str, Any]:
    ctx = runtime.context
    tree = _tree(state)

    async def grow(parent: str) -> tuple[str, dict[str, Any], list[Event]]:
        steps = [tree.nodes[n]["text"] for n in path_to(tree, parent)]
        view = {"problem": state["problem"], "path": steps, "hint": None, "n_steps": len(steps)}
        proposed = await policy.policy(view, runtime)
        events = proposed["events"]
        candidate = proposed["candidate"]
        if candidate is None:  # malformed twice: a dead branch
            return (
                parent,
                {"text": events[0].text, "answer": None, "correct": False, "reason": "unparseable step"},
                events,
            )
        judged = await critique.critique(view | {"candidate": candidate}, runtime)
        verdict = judged["verdict"]
        node = {
            "text": candidate["text"],
            "answer": candidate["answer"],
            "correct": verdict["correct"],
            "reason": verdict["reason"],
        }
        return parent, node, events + judged["events"]

    grown = await asyncio.gather(*(grow(parent) for parent in state["beam"] for _ in range(ctx.width)))
    events: list[Event] = []
    for parent, attrs, evs in grown:
        node = str(tree.number_of_nodes())
        tree.add_node(node, **attrs, depth=state["depth"] + 1)
        tree.add_edge(parent, node)
        events += evs
    tokens = sum(e.tokens_in + e.tokens_out for e in events)
    return {
        "tree": nx.node_link_data(tree, edges="edges"),
        "events": events,
        "tokens": tokens,
        "depth": state["depth"] + 1,
    }


async def select(state: TreeState, runtime: Runtime[TreeContext]) -> dict[str, Any]:
    ctx = runtime.context
    tree = _tree(state)
    level = [n for n in tree.nodes if tree.nodes[n]["depth"] == state["depth"]]
    events: list[Event] = []
    for n in level:
        attrs = tree.nodes[n]
        if attrs["correct"] and attrs["answer"] is not None:
            ok = await ctx.verifier.averify(state["problem"]["answer"], attrs["answer"])
            attrs["verified"] = ok
            events.append(
                Event(
                    kind="verification",
                    role="verifier",
                    text=f"{attrs['answer']}: {'verified' if ok else 'wrong'}",
                    answer=attrs["answer"],
                    correct=ok,
                )
            )
            if ok:
                return {"tree": nx.node_link_data(tree, edges="edges"), "solved": n, "beam": [], "events": events}
    beam = [n for n in level if tree.nodes[n]["correct"] and tree.nodes[n]["answer"] is None][: ctx.beam]
    return {"tree": nx.node_link_data(tree, edges="edges"), "beam": beam, "events": events}


def after_select(state: TreeState, runtime: Runtime[TreeContext]) -> Literal["expand", "draft"]:
    budget = runtime.context.budget
    if (
        state["solved"]
        or not state["beam"]
        or state["depth"] >= budget.max_steps
        or state["tokens"] >= budget.max_tokens
    ):
        return "draft"
    return "expand"


def best_leaf(tree: nx.DiGraph, solved: str | None) -> str:
    """The end of the correct path: the verified answer, else the deepest node reached by correct steps only."""
    if solved:
        return solved
    correct = [n for n in tree.nodes if n != ROOT and all(tree.nodes[m]["correct"] for m in path_to(tree, n))]
    return max(correct, key=lambda n: (tree.nodes[n]["depth"], -int(n)), default=ROOT)


def draft_events(tree: nx.DiGraph, leaf: str, wrong_trials: int) -> list[Event]:
    """Walk the correct path from the root to ``leaf``; before each correct step, visit up to
    ``wrong_trials`` wrong siblings: the wrong step, the critic's reasoning, and the backtrack."""
    events: list[Event] = []
    parent = ROOT
    for depth, node in enumerate(path_to(tree, leaf), 1):
        wrong = [c for c in tree.successors(parent) if not tree.nodes[c]["correct"]][:wrong_trials]
        for w in wrong:
            attrs = tree.nodes[w]
            kind = "answer" if attrs["answer"] is not None else "attempt"
            events.append(Event(kind=kind, role=policy.ROLE, text=attrs["text"], step=depth, answer=attrs["answer"]))
            events.append(Event(kind="critique", role=critique.ROLE, text=attrs["reason"], step=depth, correct=False))
            reason = attrs["reason"] or "this step does not hold"
            events.append(
                Event(
                    kind="reflection", role=critique.ROLE, text=f"Wait, {reason[0].lower() + reason[1:]}.", step=depth
                )
            )
            events.append(
                Event(kind="backtrack", role=critique.ROLE, text=f"Let me go back and redo step {depth}.", step=depth)
            )
        attrs = tree.nodes[node]
        kind = "answer" if attrs["answer"] is not None else "attempt"
        events.append(Event(kind=kind, role=policy.ROLE, text=attrs["text"], step=depth, answer=attrs["answer"]))
        parent = node
    return events


def draft_text(events: list[Event]) -> str:
    """The draft as the rewriter reads it: steps tagged with the critic's verdicts."""
    lines = []
    for ev in events:
        if ev.kind in ("attempt", "answer"):
            lines.append(f"- step {ev.step}: {ev.text}")
        elif ev.kind == "critique":
            lines[-1] += f" [wrong: {ev.text}]"
        elif ev.kind == "backtrack":
            lines.append(f"- backtrack to step {ev.step}")
    return "\n".join(lines)


def draft(state: TreeState, runtime: Runtime[TreeContext]) -> dict[str, Any]:
    tree = _tree(state)
    events = draft_events(tree, best_leaf(tree, state["solved"]), runtime.context.wrong_trials)
    return {"draft": events, "draft_text": draft_text(events)}


async def rewrite(state: TreeState, runtime: Runtime[TreeContext]) -> dict[str, Any]:
    if not state["solved"]:  # an unverified tree is rejected: no rewrite is paid for
        return {"long_thought": render.long_thought(state["draft"])}
    out = await rewriter.fluent({"problem": state["problem"], "draft": state["draft_text"]}, runtime)
    answer = out["candidate"]["answer"]
    expected = _tree(state).nodes[state["solved"]]["answer"]
    kept = answer is not None and await runtime.context.verifier.averify(expected, answer)
    # a rewrite that lost or changed the answer is not the same thought: fall back to the draft
    text = out["candidate"]["text"] if kept else render.long_thought(state["draft"])
    return {"long_thought": text, "events": out["events"], "tokens": out["tokens"]}


def build():
    graph = StateGraph(TreeState, context_schema=TreeContext)
    graph.add_node("expand", expand)
    graph.add_node("select", select)
    graph.add_node("draft", draft)
    graph.add_node("rewrite", rewrite)
    graph.add_edge(START, "expand")
    graph.add_edge("expand", "select")
    graph.add_conditional_edges("select", after_select)
    graph.add_edge("draft", "rewrite")
    graph.add_edge("rewrite", END)
    return graph.compile()


def context(models, cfg, verifier: Verifier) -> TreeContext:
    o: TreeOptions = cfg.options
    return TreeContext(
        models=models, budget=o.budget, verifier=verifier, width=o.width, beam=o.beam, wrong_trials=o.wrong_trials
    )


def results(final: dict[str, Any], sample: int) -> list[dict[str, Any]]:
    tree = nx.node_link_graph(final["tree"], edges="edges")
    leaf = best_leaf(tree, final["solved"])
    verified = final["solved"] is not None
    path = [tree.nodes[n]["text"] for n in path_to(tree, leaf)]
    answer = tree.nodes[leaf]["answer"] if leaf != ROOT else None
    status = "verified" if verified else ("wrong_answer" if answer is not None else "budget_steps")
    return [
        {
            "events": final["draft"],
            "path": path,
            "final_answer": answer,
            "verified": verified,
            "status": status,
            "n_steps": len(path),
            "n_backtracks": sum(e.kind == "backtrack" for e in final["draft"]),
            "long_thought": final["long_thought"],
            "usage_events": final["events"],
            "tree": final["tree"],
            "sample": sample,
            "kept": verified,
        }
    ]


METHOD = Method(
    name="tree",
    source="synthesized",
    roles=(
        Role(policy.ROLE, policy.PROMPTS, lambda g: g.step(max(g.temperature, 0.7))),
        Role(critique.ROLE, critique.PROMPTS, lambda g: g.step(0.3)),
        Role(rewriter.ROLE, rewriter.FLUENTS, lambda g: g.long(0.3)),
    ),
    options=TreeOptions,
    build=build,
    context=context,
    limit=lambda cfg: 2 * cfg.options.max_steps + 10,
    initial_state=initial_state,
    results=results,
)
