"""Teacher and rewriter nodes, each driven by a scripted fake model (one node at a time)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from agents import rewriter, teacher
from agents.structured import ParseError
from tests.conftest import scripted

PROBLEM = {"id": "p1", "question": "What is 2 + 3?", "answer": "5", "meta": {"solution": "2 + 3 = 5, so \\boxed{5}."}}


def run(node, state, **models):
    return asyncio.run(node(state, SimpleNamespace(context=SimpleNamespace(models=models))))


def test_solve_takes_the_last_boxed_answer_and_is_one_call():
    out = run(
        teacher.solve, {"problem": PROBLEM}, teacher=scripted("Try 6. Wait, 2 + 3 is 5. The answer is \\boxed{5}.")
    )
    (ev,) = out["events"]
    assert (ev.kind, ev.role, ev.answer, ev.calls, ev.malformed) == ("attempt", "teacher", "5", 1, False)
    assert out["candidate"] == {"text": "Try 6. Wait, 2 + 3 is 5. The answer is \\boxed{5}.", "answer": "5"}


def test_a_solution_without_an_answer_is_a_rejected_sample_not_a_retry():
    out = run(teacher.solve, {"problem": PROBLEM}, teacher=scripted("I am not sure."))
    (ev,) = out["events"]
    assert ev.answer is None and not ev.malformed and ev.calls == 1 and ev.text == "I am not sure."


def test_hint_is_one_line_and_becomes_a_teacher_event():
    state = {"problem": PROBLEM, "path": ["2 + 3 = 6"], "n_hints": 0}
    out = run(teacher.hint, state, teacher=scripted("Hint: count on from 2 by 3.\nmore text"))
    (ev,) = out["events"]
    assert (ev.kind, ev.text, ev.step) == ("teacher", "count on from 2 by 3.", 2)
    assert out["hint"] == "count on from 2 by 3." and out["n_hints"] == 1
    with pytest.raises(ParseError):
        teacher.parse_hint("   ")


def test_rewriter_nodes_answer_from_the_rewrite():
    fake = scripted("I add 2 and 3.\nThat is 5.\nThe answer is \\boxed{5}.")
    out = run(rewriter.reformat, {"problem": PROBLEM}, rewriter=fake)
    assert out["candidate"]["answer"] == "5"
    assert "Reference solution: 2 + 3 = 5" in rewriter.reformat_query(PROBLEM)
    draft = "- step: 2 + 3 = 6 [wrong: off by one]\n- backtrack to step 1\n- step: 2 + 3 = 5 [correct]"
    out = run(
        rewriter.fluent,
        {"problem": PROBLEM, "draft": draft},
        rewriter=scripted("2 + 3 = 6. Wait, that is off by one. 2 + 3 = 5. The answer is \\boxed{5}."),
    )
    assert out["events"][0].role == "rewriter" and out["candidate"]["answer"] == "5"


def test_a_thought_cut_by_the_budget_states_no_answer():
    """A box inside a thinking block that never closed is no answer (the sample is rejected); after
    a closed block the answer is read from what follows it, a box inside the thinking left out."""
    cut = run(teacher.solve, {"problem": PROBLEM}, teacher=scripted("<think>2 + 3 = \\boxed{5}, but wait"))
    assert cut["candidate"]["answer"] is None
    closed = run(teacher.solve, {"problem": PROBLEM}, teacher=scripted("<think>maybe \\boxed{6}</think>So \\boxed{5}."))
    assert closed["candidate"]["answer"] == "5"
    inside = run(teacher.solve, {"problem": PROBLEM}, teacher=scripted("<think>it is \\boxed{5}</think>Done."))
    assert inside["candidate"]["answer"] is None
