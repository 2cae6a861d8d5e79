"""The journey graph, every branch, driven by scripted fake models (real LangGraph, real verifier)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from agents import critique
from answers.verify import Verifier
from corpus import render
from corpus.schema import Problem
from graphs import journey
from tests.conftest import scripted

PROBLEM = Problem(id="p1", question="What is 2 + 3?", answer="5")


@pytest.fixture(scope="module")
def verifier():
    with Verifier(timeout_s=20) as v:
        yield v


def run(verifier, budget=None, **replies):
    budget = budget or journey.Budget()
    models = {role: scripted(*replies.get(role, ())) for role in ("policy", "critic", "reflector")}
    ctx = journey.JourneyContext(models=models, budget=budget, verifier=verifier)
    graph = journey.build()
    return asyncio.run(
        graph.ainvoke(
            journey.initial_state(PROBLEM), context=ctx, config={"recursion_limit": journey.recursion_limit(budget)}
        )
    )


def kinds(final):
    return [e.kind for e in final["events"]]


def test_straight_to_the_answer(verifier):
    final = run(
        verifier,
        # junk after the box, as the embedded model writes it
        policy=["Step: 2 + 3 = 5.", "Final answer: \\boxed{5}$</tex>を購入"],
        critic=["Verdict: correct. Reason: fine.", "Verdict: correct. Reason: fine."],
    )
    assert kinds(final) == ["attempt", "critique", "answer", "critique", "verification"]
    assert render.long_thought(final["events"]) == "2 + 3 = 5.\n\nSo the answer is \\boxed{5}."
    assert (final["status"], final["verified"], final["final_answer"], final["n_backtracks"]) == (
        "verified",
        True,
        "5",
        0,
    )
    assert final["path"] == ["2 + 3 = 5."]


def test_backtrack_after_a_rejected_step(verifier):
    final = run(
        verifier,
        policy=["Step: 2 + 3 = 6.", "Step: 2 + 3 = 5.", "Final answer: \\boxed{5}"],
        critic=[
            "Verdict: incorrect. Reason: 2 + 3 is 5.",
            "Verdict: correct. Reason: ok.",
            "Verdict: correct. Reason: ok.",
        ],
        reflector=["Wait, 2 + 3 is 5, not 6. Let me redo step 1."],
    )
    assert kinds(final) == [
        "attempt",
        "critique",
        "reflection",
        "backtrack",
        "attempt",
        "critique",
        "answer",
        "critique",
        "verification",
    ]
    assert final["status"] == "verified" and final["n_backtracks"] == 1
    thought = render.long_thought(final["events"])
    # the wrong step, the reflection, the backtrack and the corrected path, in that order
    order = [
        thought.index(s)
        for s in ("2 + 3 = 6.", "Wait, 2 + 3 is 5, not 6.", "Let me try step 1 again.", "2 + 3 = 5.", "\\boxed{5}")
    ]
    assert order == sorted(order)


def test_wrong_final_answer_is_reflected_on_and_corrected(verifier):
    final = run(
        verifier,
        policy=["Final answer: \\boxed{6}", "Final answer: \\boxed{5}"],
        critic=["Verdict: correct. Reason: ok.", "Verdict: correct. Reason: ok."],
        reflector=["Wait, I added wrong: 2 + 3 is 5. Let me redo step 1."],
    )
    assert kinds(final) == [
        "answer",
        "critique",
        "verification",
        "reflection",
        "backtrack",
        "answer",
        "critique",
        "verification",
    ]
    assert [e.correct for e in final["events"] if e.kind == "verification"] == [False, True]
    assert final["status"] == "verified"


def test_backtrack_budget_exhausted(verifier):
    final = run(
        verifier,
        budget=journey.Budget(max_backtracks=1),
        policy=["Step: 2 + 3 = 6.", "Step: 2 + 3 = 7."],
        critic=["Verdict: incorrect. Reason: no.", "Verdict: incorrect. Reason: no."],
        reflector=["Wait, that is wrong. Let me redo step 1."],
    )
    assert (final["status"], final["verified"], final["n_backtracks"]) == ("budget_backtracks", False, 1)


def test_step_budget_exhausted(verifier):
    final = run(
        verifier,
        budget=journey.Budget(max_steps=2),
        policy=["Step: 2 = 2.", "Step: 3 = 3."],
        critic=["Verdict: correct. Reason: ok.", "Verdict: correct. Reason: ok."],
    )
    assert (final["status"], final["n_steps"], final["path"]) == ("budget_steps", 2, ["2 = 2.", "3 = 3."])


def test_token_budget_stops_the_trace(verifier):
    # each scripted call costs 20 tokens: policy (20) and critique (40) run, then the budget stops it
    final = run(
        verifier,
        budget=journey.Budget(max_tokens=30),
        policy=["Step: 2 + 3 = 5."],
        critic=["Verdict: correct. Reason: ok."],
    )
    assert (final["status"], final["tokens"], kinds(final)) == ("budget_tokens", 40, ["attempt", "critique"])


def test_malformed_policy_output_never_crashes(verifier):
    final = run(
        verifier,
        budget=journey.Budget(max_steps=2),
        policy=["banana", "still banana", "Final answer: \\boxed{5}"],
        critic=["Verdict: correct. Reason: ok."],
    )
    first = final["events"][0]
    assert first.malformed and first.calls == 2
    assert final["status"] == "verified"
    assert "banana" not in render.long_thought(final["events"])  # malformed text is not trained on


def test_an_unreadable_critique_leaves_the_step_unjudged_never_passed(verifier):
    """The critic's reply cannot be read, twice (the stricter retry too): the step is accepted
    without a verdict, recorded as unjudged (correct None), counted in the shape; the final answer
    is still verified against the reference."""
    from corpus.events import UNJUDGED

    final = run(
        verifier,
        policy=["Step: 2 + 3 = 5.", "Final answer: \\boxed{5}"],
        critic=["looks fine to me", "I think so", "Verdict: correct. Reason: fine."],
    )
    judged = [e for e in final["events"] if e.kind == "critique"]
    assert judged[0].malformed and judged[0].correct is None and judged[0].calls == 2
    assert final["verdict"]["correct"] is True  # the second critique, on the answer, was read
    assert render.shape(final["events"], render.long_thought(final["events"]))["unjudged"] == 1
    assert final["status"] == "verified"
    # the first step's verdict, as the state held it, was unknown, never a pass
    runtime = SimpleNamespace(context=journey.JourneyContext(models={"critic": scripted("no", "still no")}))
    state = {"problem": PROBLEM.model_dump(), "path": [], "candidate": {"text": "2 + 3 = 6.", "answer": None}}
    first = asyncio.run(critique.critique(state, runtime))
    assert first["verdict"] == {"correct": None, "reason": UNJUDGED, "score": None}
