"""The tree method (Part 1): beam search over steps, then a long thought walked out of the tree.

expand -> select -> (expand again | draft) -> rewrite -> end.

- ``expand``: every node of the beam gets ``width`` candidate next steps from the policy (sampled),
  each judged by the step judge: the critic (correct / incorrect with its reasoning, and a score in
  [0, 1]: the full prompt profile asks for one, the compact one maps the verdict to 1 / 0), or with
  ``--prm`` a process reward model served over HTTP (its score; correct when it reaches 0.5).
  Each candidate is generated and then judged in its own task, so a slow branch holds up no other
  branch's judging. A reply that is not a step is retried once more and then recorded as a failed
  expansion (``failed_expansions`` on the tree), never as a node. Of each beam node's wrong
  children, the ``wrong_trials`` best scored are followed ``wrong_depth - 1`` steps further, so a
  dead end in the long thought is a real exploration and not one line.
- ``select``: correct final answers are verified against the reference (the first that verifies
  ends the search); otherwise the ``beam`` highest-scoring correct steps of the level are kept, to
  depth ``max_steps``.
- ``draft``: the tree is walked depth first along the correct path (to the verified answer, else
  the deepest correct step), taking at most ``wrong_trials`` wrong children of each correct node on
  purpose: the wrong step and the steps that followed it, "Wait, <the judge's reasoning>", a
  backtrack, then on down the path.
- ``rewrite``: the rewriter turns the draft into fluent text that keeps the errors and
  corrections; a rewrite that loses the answer or a reflection gives way to the rendered draft
  (``graphs.common.rewrite_draft``).

The tree (networkx DiGraph, node-link JSON) is saved with the trace, scores on its nodes.
"""

from __future__ import annotations

import asyncio
import operator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypedDict

import networkx as nx
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agents import critique, policy, prm, rewriter
from agents.models import Sampling
from agents.structured import AgentContext
from answers.verify import Verifier
from corpus import render
from corpus.events import UNJUDGED, Event
from corpus.schema import Problem
from graphs.common import Budget, check_final, rewrite_draft
from graphs.method import Method, OptionError, Role, option

ROOT = "0"


@dataclass(frozen=True)
class TreeOptions:
    max_steps: int = option(6, "Depth of the search (policy steps).", min=1)
    max_tokens: int = option(8192, "Tokens (in + out) of the whole search, pruned branches included.", min=1)
    width: int = option(2, "Candidate next steps sampled per node.", min=1)
    beam: int = option(2, "Best correct steps kept per level.", min=1)
    wrong_trials: int = option(1, "Wrong branches visited on purpose per correct step of the long thought.", min=0)
    wrong_depth: int = option(1, "Steps a visited wrong branch is followed before the long thought backtracks.", min=1)

    def __post_init__(self) -> None:
        if self.wrong_depth < 1 or self.width < 1 or self.beam < 1:
            raise OptionError("--width, --beam and --wrong-depth are at least 1")

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
    wrong_depth: int = 1


PRM_THRESHOLD = 0.5  # a reward model's score at which a step counts as correct
RETRIES = 1  # fresh policy samples after a reply that was not a step (each already retried stricter)


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
    rewrite: str | None


def initial_state(problem: Problem) -> TreeState:
    tree = nx.DiGraph()
    tree.add_node(ROOT, text="", correct=True, answer=None, reason="", depth=0, score=1.0)
    tree.graph["failed_expansions"] = []
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
        rewrite=None,
        long_thought=None,
    )


def _tree(state: TreeState) -> nx.DiGraph:
    return nx.node_link_graph(state["tree"], edges="edges")


def path_to(tree: nx.DiGraph, node: str) -> list[str]:
    """Node ids from the root's first child down to ``node``."""
    return nx.shortest_path(tree, ROOT, node)[1:]


async def judge(view: dict[str, Any], candidate: dict[str, Any], runtime: Runtime[TreeContext]):
    """(correct, reason, score, scorer, events) of a candidate step: the reward model's, else the critic's."""
    ctx = runtime.context
    if prm.ROLE in ctx.models:
        steps = [*view["path"], candidate["text"]]
        scored = await prm.score(ctx.models[prm.ROLE], view["problem"]["question"], steps)
        ok = scored.value >= PRM_THRESHOLD
        ev = Event(
            kind="critique",
            role=prm.ROLE,
            model=scored.model,
            text=f"step score {scored.value:.3f}",
            step=len(steps),
            correct=ok,
            score=scored.value,
            tokens_in=scored.tokens_in,
            latency_s=scored.latency_s,
            calls=1,
        )
        return ok, "" if ok else "this step does not hold up", scored.value, "prm", [ev]
    judged = await critique.critique(view | {"candidate": candidate}, runtime)
    if judged["events"][-1].malformed:  # an unreadable verdict is no pass: the step stays unjudged
        return None, UNJUDGED, None, "critic", judged["events"]
    verdict = judged["verdict"]
    score = verdict["score"] if verdict.get("score") is not None else float(verdict["correct"])
    return verdict["correct"], verdict["reason"], score, "critic", judged["events"]


async def propose(view: dict[str, Any], runtime: Runtime[TreeContext]):
    """A candidate step and the events it took; None after every retry failed to give a step."""
    events: list[Event] = []
    for _ in range(1 + RETRIES):
        proposed = await policy.policy(view, runtime)
        events += proposed["events"]
        if proposed["candidate"] is not None:
            return proposed["candidate"], events
    return None, events


def _view(state: TreeState, tree: nx.DiGraph, node: str) -> dict[str, Any]:
    steps = [tree.nodes[n]["text"] for n in path_to(tree, node)]
    return {"problem": state["problem"], "path": steps, "hint": None, "n_steps": len(steps)}


async def grow(state: TreeState, tree: nx.DiGraph, parent: str, runtime: Runtime[TreeContext]):
    """One child of ``parent``: (parent, node attributes or None for a failed expansion, events)."""
    view = _view(state, tree, parent)
    candidate, events = await propose(view, runtime)
    if candidate is None:
        return parent, None, events
    correct, reason, score, scorer, judged = await judge(view, candidate, runtime)
    node = {
        "text": candidate["text"],
        "answer": candidate["answer"],
        "correct": correct,  # None: the judge's reply could not be read (neither kept nor visited as wrong)
        "reason": reason,
        "score": None if score is None else round(score, 4),
        "scorer": scorer,
        "tokens": events[-1].tokens_out,
    }
    return parent, node, events + judged


def _add(tree: nx.DiGraph, parent: str, attrs: dict[str, Any], depth: int, **extra: Any) -> str:
    node = str(tree.number_of_nodes())
    tree.add_node(node, **attrs, depth=depth, **extra)
    tree.add_edge(parent, node)
    return node


def _fail(tree: nx.DiGraph, parent: str, depth: int, events: list[Event]) -> None:
    raw = events[-1].text if events else ""
    tree.graph.setdefault("failed_expansions", []).append({"parent": parent, "depth": depth, "reply": raw[:400]})


async def follow(state: TreeState, tree: nx.DiGraph, start: str, runtime: Runtime[TreeContext]) -> list[Event]:
    """Follow a wrong step ``wrong_depth - 1`` steps further (one child a step), marking the nodes dead ends."""
    events: list[Event] = []
    node = start
    for _ in range(runtime.context.wrong_depth - 1):
        if tree.nodes[node]["answer"] is not None:
            break
        parent, attrs, evs = await grow(state, tree, node, runtime)
        events += evs
        depth = tree.nodes[node]["depth"] + 1
        if attrs is None:
            _fail(tree, parent, depth, evs)
            break
        node = _add(tree, node, attrs, depth, dead_end=True)
    return events


async def expand(state: TreeState, runtime: Runtime[TreeContext]) -> dict[str, Any]:
    ctx = runtime.context
    tree = _tree(state)
    grown = await asyncio.gather(
        *(grow(state, tree, parent, runtime) for parent in state["beam"] for _ in range(ctx.width))
    )
    events: list[Event] = []
    depth = state["depth"] + 1
    for parent, attrs, evs in grown:
        events += evs
        if attrs is None:
            _fail(tree, parent, depth, evs)
        else:
            _add(tree, parent, attrs, depth)
    if ctx.wrong_depth > 1:
        # the wrong children the long thought will visit, followed further, each chain in its own task
        starts = [w for parent in state["beam"] for w in wrong_children(tree, parent)[: ctx.wrong_trials]]
        for chain in await asyncio.gather(*(follow(state, tree, w, runtime) for w in starts)):
            events += chain
    tokens = sum(e.tokens_in + e.tokens_out for e in events)
    return {"tree": nx.node_link_data(tree, edges="edges"), "events": events, "tokens": tokens, "depth": depth}


def _rank(tree: nx.DiGraph, node: str) -> tuple[float, int]:
    """Best first: the higher score, then the earlier node."""
    attrs = tree.nodes[node]
    score = attrs.get("score")
    return (-float(bool(attrs["correct"]) if score is None else score), int(node))


def wrong_children(tree: nx.DiGraph, parent: str) -> list[str]:
    """The wrong children of ``parent`` that are steps of the search (not dead-end continuations), best first."""
    kids = [
        c for c in tree.successors(parent) if tree.nodes[c]["correct"] is False and not tree.nodes[c].get("dead_end")
    ]
    return sorted(kids, key=lambda c: _rank(tree, c))


async def select(state: TreeState, runtime: Runtime[TreeContext]) -> dict[str, Any]:
    ctx = runtime.context
    tree = _tree(state)
    level = [n for n in tree.nodes if tree.nodes[n]["depth"] == state["depth"] and not tree.nodes[n].get("dead_end")]
    events: list[Event] = []
    for n in sorted(level, key=lambda n: _rank(tree, n)):
        attrs = tree.nodes[n]
        if attrs["correct"] and attrs["answer"] is not None:
            ok, ev = await check_final(ctx, state["problem"], attrs["answer"], str(attrs.get("text") or ""))
            attrs["verified"] = ok
            if ev.role == "verifier":  # the rule's verdict, in the tree's own words
                ev = ev.model_copy(update={"text": f"{attrs['answer']}: {'verified' if ok else 'wrong'}"})
            events.append(ev)
            if ok:
                return {"tree": nx.node_link_data(tree, edges="edges"), "solved": n, "beam": [], "events": events}
    steps = [n for n in level if tree.nodes[n]["correct"] and tree.nodes[n]["answer"] is None]
    beam = sorted(steps, key=lambda n: _rank(tree, n))[: ctx.beam]
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


def _chain(tree: nx.DiGraph, start: str) -> list[str]:
    """A wrong step and the dead-end steps that followed it."""
    chain = [start]
    while kids := [c for c in tree.successors(chain[-1]) if tree.nodes[c].get("dead_end")]:
        chain.append(min(kids, key=int))
    return chain


def _step_event(tree: nx.DiGraph, node: str, step: int) -> Event:
    attrs = tree.nodes[node]
    return Event(
        kind="answer" if attrs["answer"] is not None else "attempt",
        role=policy.ROLE,
        text=attrs["text"],
        step=step,
        answer=attrs["answer"],
        tokens_out=int(attrs.get("tokens", 0)),
        score=attrs.get("score"),
    )


def draft_events(tree: nx.DiGraph, leaf: str, wrong_trials: int) -> list[Event]:
    """Walk the correct path from the root to ``leaf``; before each correct step, visit up to
    ``wrong_trials`` wrong siblings (best scored first) with the steps that followed each: the wrong
    steps, the judge's reasoning, and the backtrack."""
    events: list[Event] = []
    parent = ROOT
    for depth, node in enumerate(path_to(tree, leaf), 1):
        for w in wrong_children(tree, parent)[:wrong_trials]:
            events += [_step_event(tree, n, depth + i) for i, n in enumerate(_chain(tree, w))]
            attrs = tree.nodes[w]
            judge_role = prm.ROLE if attrs.get("scorer") == "prm" else critique.ROLE
            reason = attrs["reason"] or "this step does not hold up"
            events += [
                Event(
                    kind="critique",
                    role=judge_role,
                    text=attrs["reason"],
                    step=depth,
                    correct=False,
                    score=attrs.get("score"),
                ),
                Event(kind="reflection", role=judge_role, text=f"Wait, {reason[0].lower() + reason[1:]}.", step=depth),
                Event(kind="backtrack", role=judge_role, text=f"Let me go back and redo step {depth}.", step=depth),
            ]
        events.append(_step_event(tree, node, depth))
        parent = node
    return events


def draft(state: TreeState, runtime: Runtime[TreeContext]) -> dict[str, Any]:
    tree = _tree(state)
    events = draft_events(tree, best_leaf(tree, state["solved"]), runtime.context.wrong_trials)
    return {"draft": events, "draft_text": render.draft_text(events)}


async def rewrite(state: TreeState, runtime: Runtime[TreeContext]) -> dict[str, Any]:
    if not state["solved"]:  # an unverified tree is rejected: no rewrite is paid for
        return {"long_thought": render.long_thought(state["draft"])}
    answer = _tree(state).nodes[state["solved"]]["answer"]
    out = await rewrite_draft(state["problem"], state["draft"], answer, runtime)
    return {
        "long_thought": out["long_thought"],
        "events": [out["event"]],
        "tokens": out["tokens"],
        "rewrite": out["rewrite"],
    }


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
        models=models,
        budget=o.budget,
        verifier=verifier,
        width=o.width,
        beam=o.beam,
        wrong_trials=o.wrong_trials,
        wrong_depth=o.wrong_depth,
    )


def results(final: dict[str, Any], sample: int) -> list[dict[str, Any]]:
    tree = nx.node_link_graph(final["tree"], edges="edges")
    leaf = best_leaf(tree, final["solved"])
    verified = final["solved"] is not None
    path = [tree.nodes[n]["text"] for n in path_to(tree, leaf)]
    answer = tree.nodes[leaf]["answer"] if leaf != ROOT else None
    status = "verified" if verified else ("wrong_answer" if answer is not None else "budget_steps")
    rewrites = [e for e in final["events"] if e.kind == "rewrite"]
    return [
        {
            # the draft, every answer the verifier checked, and the rewriter's call when there was one
            # (the renderer skips both); the critic's verdicts on every node are in the tree
            "events": final["draft"] + [e for e in final["events"] if e.kind == "verification"] + rewrites,
            "draft": render.long_thought(final["draft"]) if rewrites else None,
            "rewrite": final["rewrite"],
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
        Role(
            policy.ROLE,
            policy.PROMPTS,
            lambda g: g.step(max(g.temperature, 0.7)),
            help="samples each node's candidate next steps",
        ),
        Role(
            critique.ROLE,
            critique.PROMPTS,
            lambda g: g.step(0.3),
            replaced_by=prm.ROLE,
            help="judges each candidate step (not with --prm)",
        ),
        Role(rewriter.ROLE, rewriter.FLUENTS, lambda g: g.long(0.3), help="writes the walk as one long thought"),
        # --prm: a process reward model judges the steps instead of the critic (vLLM's pooling API)
        Role(
            prm.ROLE,
            None,
            lambda g: Sampling(temperature=0.0, max_tokens=1),
            required=False,
            served_only=True,
            help="a process reward model judges the steps instead of the critic: NAME@http://HOST:PORT/v1 of a "
            "vLLM server in pooling mode (Math-Shepherd style; see agents/prm.py)",
        ),
    ),
    description="beam search over policy steps judged by the critic, walked depth first into a long thought, rewritten",
    options=TreeOptions,
    build=build,
    context=context,
    limit=lambda cfg: 2 * cfg.options.max_steps + 10,
    initial_state=initial_state,
    results=results,
)
