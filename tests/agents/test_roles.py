"""Role parsers (tables from observed outputs) and role nodes driven by scripted fake models."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from agents import critique, policy, reflection
from agents.structured import ParseError
from answers.extract import last_boxed
from tests.conftest import scripted

PROBLEM = {"id": "p1", "question": "What is 2 + 3?", "answer": "5"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Step: 2 + 3 = 5.", ("2 + 3 = 5.", None)),  # plain step
        ("Final answer: \\boxed{5}", ("\\boxed{5}", "5")),  # boxed answer
        ("Final answer: 5.", ("5.", "5")),  # unboxed final answer is still an answer
        ("step 2: so \\boxed{\\frac{1}{2}}", ("so \\boxed{\\frac{1}{2}}", "\\frac{1}{2}")),  # numbered, nested braces
        ("**Step:** 4 * 12 = 48\nProblem: next one", ("4 * 12 = 48", None)),  # markdown, trailing ramble cut
    ],
)
def test_policy_parse(text, expected):
    got = policy.parse(text)
    assert (got.text, got.answer) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "The answer might be five",
        "Step:",
        "Final answer: \\boxed{}",
        "Step: " + "x" * 700,
        "Final answer: \\boxed{19ไง",  # unclosed box, seen from the embedded model
    ],
)
def test_policy_parse_rejects(text):
    with pytest.raises(ParseError):
        policy.parse(text)


@pytest.mark.parametrize(
    "text, correct, reason",
    [
        ("Verdict: correct. Reason: 2 + 3 = 5.", True, "2 + 3 = 5"),
        ("Verdict: incorrect. Reason: 2 + 3 is 5, not 6.", False, "2 + 3 is 5, not 6"),
        ("verdict: WRONG - the sum is 5", False, "- the sum is 5"),  # no Reason label: rest of the text
        ("Verdict: **correct**", True, ""),
    ],
)
def test_critique_parse(text, correct, reason):
    got = critique.parse(text)
    assert (got.correct, got.reason) == (correct, reason)


def test_critique_parse_rejects_no_verdict():
    with pytest.raises(ParseError):
        critique.parse("This looks fine to me.")


@pytest.mark.parametrize(
    "text, said, back_to",
    [
        ("Wait, 2 + 3 is 5, not 6. Let me redo step 1.", "Wait, 2 + 3 is 5, not 6.", 1),
        (
            "Wait, step 1 added instead of multiplying. Let me go back to step 1 and multiply.",
            "Wait, step 1 added instead of multiplying.",
            1,
        ),
        ("Wait, that is wrong. I will start over.", "Wait, that is wrong.", 1),
    ],
)
def test_reflection_parse(text, said, back_to):
    got = reflection.parse(text)
    assert (got.text, got.back_to) == (said, back_to)


@pytest.mark.parametrize("text", ["Wait, that is wrong.", "Let me redo step 2."])
def test_reflection_parse_rejects(text):
    with pytest.raises(ParseError):
        reflection.parse(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a \\boxed{1} b \\boxed{2}", "2"),  # the last one
        ("\\boxed{\\frac{a}{b}}", "\\frac{a}{b}"),  # nested braces
        ("\\boxed{unclosed", None),
        ("none", None),
        # the embedded model rambles past its answer and is cut mid-box: the closed one counts
        ("The answer is \\boxed{0.5}. bloodstream\nEnd with 'The answer is \\boxed{", "0.5"),
    ],
)
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


def _runtime(**models):
    return SimpleNamespace(context=SimpleNamespace(models=models))


def _state(**kw):
    base = {
        "problem": PROBLEM,
        "path": [],
        "candidate": None,
        "verdict": None,
        "hint": None,
        "n_steps": 0,
        "n_backtracks": 0,
    }
    return base | kw


def test_policy_node_retries_malformed_once_with_stricter_prompt():
    model = scripted("I think it's five", "Step: 2 + 3 = 5.")
    state = _state()
    update = asyncio.run(policy.policy(state, _runtime(policy=model)))
    ev = update["events"][0]
    assert update["candidate"] == {"text": "2 + 3 = 5.", "answer": None}
    assert (ev.kind, ev.calls, ev.malformed, ev.tokens_in, ev.tokens_out) == ("attempt", 2, False, 20, 20)
    assert update["n_steps"] == 1 and update["tokens"] == 40
    assert state["n_steps"] == 0 and state["path"] == []  # the given state is never mutated


def test_policy_node_records_malformed_after_retry():
    model = scripted("hmm", "still no format")
    update = asyncio.run(policy.policy(_state(), _runtime(policy=model)))
    assert update["candidate"] is None
    assert update["events"][0].malformed and update["events"][0].text == "still no format"


def test_critique_node_malformed_leaves_the_step_unjudged():
    """An unreadable verdict (the stricter retry too) is unknown, never a pass: correct None."""
    from corpus.events import UNJUDGED

    model = scripted("looks ok", "fine")
    update = asyncio.run(
        critique.critique(_state(candidate={"text": "2 + 3 = 5", "answer": None}), _runtime(critic=model))
    )
    assert update["verdict"]["correct"] is None and update["verdict"]["reason"] == UNJUDGED
    assert update["events"][0].malformed and update["events"][0].correct is None


def test_reflection_node_backtracks_and_clips_step():
    model = scripted("Wait, 3 + 3 is 6 but the question adds 2. Let me redo step 7.")
    state = _state(
        path=["2 + 3 = 5"],
        candidate={"text": "5 * 2 = 11", "answer": None},
        verdict={"correct": False, "reason": "5 * 2 is 10"},
    )
    update = asyncio.run(reflection.reflection(state, _runtime(reflector=model)))
    reflect, back = update["events"]
    assert (reflect.kind, back.kind, back.step) == ("reflection", "backtrack", 2)  # step 7 clipped to the wrong step
    assert update["path"] == ["2 + 3 = 5"] and update["n_backtracks"] == 1
    assert update["hint"].startswith("Wait,")
