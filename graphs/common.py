"""Graph pieces that several methods share, named here instead of borrowed from one method's file.

- Step-by-step methods (journey, debate): ``Budget``, ``StepContext``, ``StepState`` and the nodes
  and routers they both use (accept a step, verify a final answer, finish with a status).
- Write-then-verify methods (distill, reformat, human): ``VerifyContext``, ``SampleState``,
  ``verify_sample`` and ``one_pass``, the graph "write one sample, then verify it".
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agents import rewriter
from agents.structured import AgentContext
from answers.verify import Verifier
from corpus import render
from corpus.events import Event
from corpus.schema import Problem
from graphs.method import option


@dataclass(frozen=True)
class Budget:
    """What one trace may spend: policy steps, backtracks, tokens (in + out, all roles)."""

    max_steps: int = 8
    max_backtracks: int = 3
    max_tokens: int = 8192


@dataclass(frozen=True)
class StepOptions:
    """The options of a step-by-step method: its per-trace budget."""

    max_steps: int = option(6, "Policy steps per trace.", min=1)
    max_backtracks: int = option(2, "Backtracks per trace.", min=0)
    max_tokens: int = option(8192, "Tokens (in + out, all roles) per trace.", min=1)

    @property
    def budget(self) -> Budget:
        return Budget(self.max_steps, self.max_backtracks, self.max_tokens)


@dataclass
class StepContext(AgentContext):
    budget: Budget = field(default_factory=Budget)
    verifier: Verifier | None = None
    # ask the teacher for a hint once this many backtracks have failed (None: never)
    teacher_after: int | None = None
    max_hints: int = 1


async def rewrite_draft(
    problem: dict[str, Any], draft: list[Event], answer: str, runtime: Runtime[Any]
) -> dict[str, Any]:
    """The rewriter's first-person monologue of a draft that reached ``answer``, or the draft itself.

    The rewrite is discarded for the rendered draft when it loses (or changes) the final answer, or
    says fewer reflections than the draft had backtracks: each wrong turn must stay in the text.
    Returns the long thought, the draft, what became of the rewrite, and the rewriter's event.
    """
    text = render.long_thought(draft)
    out = await rewriter.fluent({"problem": problem, "draft": render.draft_text(draft)}, runtime)
    event = out["events"][0].model_copy(update={"kind": "rewrite"})
    rewritten, got = out["candidate"]["text"], out["candidate"]["answer"]
    if got is None or not await runtime.context.verifier.averify(answer, got):
        status = "lost_answer"
    elif render.reflections_in(rewritten) < sum(e.kind == "backtrack" for e in draft):
        status = "fewer_reflections"
    else:
        status = "used"
    return {
        "long_thought": rewritten if status == "used" else text,
        "draft": text,
        "rewrite": status,
        "event": event,
        "tokens": out["tokens"],
    }


class StepState(TypedDict):
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
    long_thought: str | None  # set by a rewrite; None: the events are rendered
    draft: str | None
    rewrite: str | None


def step_state(problem: Problem) -> StepState:
    return StepState(
        problem=problem.model_dump(),
        path=[],
        candidate=None,
        verdict=None,
        hint=None,
        events=[],
        tokens=0,
        n_steps=0,
        n_backtracks=0,
        n_hints=0,
        final_answer=None,
        verified=False,
        status="running",
        long_thought=None,
        draft=None,
        rewrite=None,
    )


def accept(state: StepState) -> dict[str, Any]:
    return {"path": [*state["path"], state["candidate"]["text"]], "candidate": None}


async def check_final(ctx: Any, problem: dict[str, Any], answer: str | None, section: str) -> tuple[bool, Event]:
    """Whether ``answer`` is the reference's, and the verification event that says so: the rule-based
    verifier's, or, when the rule says no and a rescue judge was given (``--judge-rescue``), the
    judge's (its role ``rescue_judge`` is the verdict's source; ``agents.rescue.Rescuer``)."""
    ok = answer is not None and await ctx.verifier.averify(problem["answer"], answer)
    if not ok and answer is not None and ctx.rescue is not None:
        return await ctx.rescue.check(problem, answer, section)
    if answer is None:
        text = "no \\boxed{} answer"
    else:
        text = f"The final answer {answer} {'checks out' if ok else 'does not check out'}."
    return ok, Event(kind="verification", role="verifier", text=text, answer=answer, correct=ok)


async def verify_answer(state: StepState, runtime: Runtime[StepContext]) -> dict[str, Any]:
    """Check the candidate's final answer against the reference; a wrong one becomes a rejection."""
    answer = state["candidate"]["answer"]
    section = "\n".join([*state["path"], state["candidate"]["text"]])
    ok, ev = await check_final(runtime.context, state["problem"], answer, section)
    ev = ev.model_copy(update={"step": len(state["path"]) + 1})
    text = ev.text
    update: dict[str, Any] = {"events": [ev], "final_answer": answer, "verified": ok}
    if ok:
        update["candidate"] = None  # the answer closes the path; the summary states it
    else:
        update["verdict"] = {"correct": False, "reason": text}
    return update


def finish(state: StepState, runtime: Runtime[StepContext]) -> dict[str, Any]:
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


def judged_routes(retry: str):
    """The two routers of a step-by-step method whose critic judges each step: after the judge
    (a correct step is verified when it states an answer, else accepted; a rejected one goes to
    ``retry`` while backtracks remain, else the trace finishes), and after the verifier (a wrong
    answer goes to ``retry`` on the same terms). Journey retries through its reflection, debate
    through its backtrack; the return types name the nodes, as LangGraph draws the graph from them."""

    def after_judge(state: StepState, runtime: Runtime[StepContext]) -> str:
        # an unjudged step (correct None: the critic's reply could not be read) is not rejected without
        # a reason; it stands unjudged, its event says so, and a final answer is still verified
        if state["verdict"]["correct"] is not False:
            return "verify" if state["candidate"]["answer"] is not None else "accept"
        return retry if state["n_backtracks"] < runtime.context.budget.max_backtracks else "finish"

    def after_verify(state: StepState, runtime: Runtime[StepContext]) -> str:
        budget = runtime.context.budget
        if state["verified"] or state["n_backtracks"] >= budget.max_backtracks or out_of_budget(state, budget):
            return "finish"
        return retry

    after_judge.__annotations__ = {"return": Literal["verify", "accept", retry, "finish"]}  # type: ignore[valid-type]
    after_verify.__annotations__ = {"return": Literal[retry, "finish"]}  # type: ignore[valid-type]
    return after_judge, after_verify


def out_of_budget(state: StepState, budget: Budget) -> bool:
    return state["tokens"] >= budget.max_tokens or state["n_steps"] >= budget.max_steps


def after_policy(state: StepState, runtime: Runtime[StepContext]) -> Literal["judge", "policy", "finish"]:
    """After a policy turn: judge the step, or try again after a malformed one, or stop."""
    if state["tokens"] >= runtime.context.budget.max_tokens:
        return "finish"
    if state["candidate"] is None:  # malformed twice: try again while the step budget lasts
        return "finish" if out_of_budget(state, runtime.context.budget) else "policy"
    return "judge"


def next_step(state: StepState, runtime: Runtime[StepContext]) -> Literal["policy", "finish"]:
    return "finish" if out_of_budget(state, runtime.context.budget) else "policy"


def recursion_limit(budget: Budget) -> int:
    # each step is at most policy, critique, reflection/accept/verify (4 supersteps), plus hints
    return 4 * (budget.max_steps + budget.max_backtracks) + 12


# how a long thought says it backtracks: counted per free-form trace, for comparing methods
@dataclass
class VerifyContext(AgentContext):
    """What ``verify_sample`` reads: the answer checker."""

    verifier: Verifier | None = None


class SampleState(TypedDict):
    problem: dict[str, Any]
    candidate: dict[str, Any] | None
    events: list[Event]  # the current sample's events only: each sample is its own trace
    samples: Annotated[list[dict[str, Any]], operator.add]
    tokens: Annotated[int, operator.add]


def sample_state(problem: Problem) -> SampleState:
    return SampleState(problem=problem.model_dump(), candidate=None, events=[], samples=[], tokens=0)


async def verify_sample(state: SampleState, runtime: Runtime[VerifyContext]) -> dict[str, Any]:
    """The candidate written so far becomes a sample, its answer verified against the reference."""
    answer = state["candidate"]["answer"]
    section = state["candidate"].get("text") or ""
    ok, verification = await check_final(runtime.context, state["problem"], answer, section)
    events = [*state["events"], verification]
    thought = " ".join(filter(None, (state["events"][0].reasoning, state["events"][0].text))) if state["events"] else ""
    sample = {
        "events": events,
        "path": [],
        "final_answer": answer,
        "verified": ok,
        "status": "verified" if ok else ("no_answer" if answer is None else "wrong_answer"),
        "n_steps": 1,
        "n_backtracks": render.backtracks_in(thought),  # the rule of the trace's shape
    }
    return {"samples": [sample], "events": [], "candidate": None}


def one_pass(name: str, node) -> Any:
    """``name`` writes one sample, then ``verify`` checks it: the graph of reformat and human."""
    graph = StateGraph(SampleState, context_schema=VerifyContext)
    graph.add_node(name, node)
    graph.add_node("verify", verify_sample)
    graph.add_edge(START, name)
    graph.add_edge(name, "verify")
    graph.add_edge("verify", END)
    return graph.compile()
