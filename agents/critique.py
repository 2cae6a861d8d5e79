"""The critique agent: judges the latest proposed step correct or incorrect, with a reason and a score.

Run as a LangGraph node: ``critique(state, runtime)`` reads ``problem``, ``path`` and ``candidate``
and returns a ``verdict``. Unparseable verdicts (after one stricter retry) are recorded as malformed
and count as "no objection": a backtrack needs a reason. The compact profile asks for one line
("Verdict: ... Reason: ...", scored 1 or 0); the full profile asks the critic to reason first,
quoting the faulty part, then give its verdict and a score in [0, 1] (the step scorer of the tree).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from langgraph.runtime import Runtime
from pydantic import BaseModel

from agents.structured import AgentContext, ParseError, Prompt, RolePrompts, ask, chosen, event, numbered
from corpus.events import UNJUDGED

ROLE = "critic"

PROMPT = Prompt(
    system=(
        "You check one new step of a math solution. Reply with one line: "
        "'Verdict: correct. Reason: <why>' or 'Verdict: incorrect. Reason: <what is wrong>'."
    ),
    shots=(
        (
            "Problem: Ann has 4 pens and buys 3 more. How many pens does she have?\nSteps so far:\nnone\n"
            "New step: 4 + 3 = 8, so Ann has 8 pens.\nCheck:",
            "Verdict: incorrect. Reason: 4 + 3 is 7, not 8.",
        ),
        (
            "Problem: A box holds 6 eggs. How many eggs are in 5 boxes?\nSteps so far:\nnone\n"
            "New step: 6 * 5 = 30, so there are 30 eggs.\nCheck:",
            "Verdict: correct. Reason: 5 boxes of 6 eggs is 6 * 5 = 30.",
        ),
    ),
    strict="Start your reply with 'Verdict: correct.' or 'Verdict: incorrect.' and then give the reason.",
)

FULL = Prompt(
    system=(
        "You check the newest step of a math solution. First reason about it: redo its calculation, or check "
        "its logic against the problem and the steps before it. If something is wrong, quote the faulty part "
        "and say exactly what is wrong and why. Then end with two lines:\n"
        "Verdict: correct (or: Verdict: incorrect)\n"
        "Score: <a number from 0 to 1: how likely the step is right and moves the solution forward>"
    ),
    shots=(
        (
            "Problem: The roots of x^2 - 5x + 6 = 0 are r and s. What is r^2 + s^2?\nSteps so far:\nnone\n"
            "New step: By Vieta's formulas r + s = -5 and rs = 6, so r^2 + s^2 = (r + s)^2 - 2rs = 25 - 12 = 13.\nCheck:",
            "For x^2 + bx + c the sum of the roots is -b. Here b = -5, so r + s = 5, not -5 as the step says "
            '("r + s = -5"). The sign slip does not change (r + s)^2 = 25, so the value 13 survives by luck, '
            "but the stated sum is wrong and would break any later use of r + s.\n"
            "Verdict: incorrect\nScore: 0.3",
        ),
        (
            "Problem: A box holds 6 eggs. How many eggs are in 5 boxes?\nSteps so far:\nnone\n"
            "New step: Each of the 5 boxes holds 6 eggs, so there are 5 \\cdot 6 = 30 eggs.\nCheck:",
            "Five equal groups of 6 make 5 \\cdot 6 = 30, and the step multiplies the right quantities.\n"
            "Verdict: correct\nScore: 0.95",
        ),
    ),
    strict="Reason about the step, then end with 'Verdict: correct' or 'Verdict: incorrect' and 'Score: <0 to 1>'.",
)

_VERDICT = re.compile(r"verdict\s*:?\s*\**\s*(correct|incorrect|wrong|right)\b", re.IGNORECASE)
_REASON = re.compile(r"reason\s*:\s*(.+)", re.IGNORECASE | re.DOTALL)
_SCORE = re.compile(r"score\s*\**\s*:\s*\**\s*([01](?:\.\d+)?|\.\d+)", re.IGNORECASE)
MAX_REASON_CHARS = 600
MAX_FULL_REASON_CHARS = 6000


class Verdict(BaseModel):
    correct: bool | None  # None: unjudged (the reply could not be read)
    reason: str
    score: float | None = None  # in [0, 1]; the compact profile maps correct / incorrect to 1 / 0


def parse(text: str) -> Verdict:
    match = _VERDICT.search(text)
    if not match:
        raise ParseError("no 'Verdict: correct|incorrect'")
    correct = match.group(1).lower() in ("correct", "right")
    reason_match = _REASON.search(text, match.end())
    reason = (reason_match.group(1) if reason_match else text[match.end() :]).strip(" .:*\n")
    return Verdict(correct=correct, reason=" ".join(reason.split())[:MAX_REASON_CHARS], score=float(correct))


def parse_full(text: str) -> Verdict:
    """Reasoning, then the verdict and a score: the reason is the reasoning; the last verdict counts."""
    verdicts = list(_VERDICT.finditer(text))
    if not verdicts:
        raise ParseError("no 'Verdict: correct|incorrect'")
    match = verdicts[-1]
    correct = match.group(1).lower() in ("correct", "right")
    reason = text[: match.start()].strip(" *\n")
    if not reason:  # a one-line reply in the compact shape
        reason_match = _REASON.search(text, match.end())
        reason = (reason_match.group(1) if reason_match else "").strip(" .:*\n")
        reason = _SCORE.split(reason)[0].strip(" .:*\n") if reason else ""
    scores = list(_SCORE.finditer(text, match.start()))
    score = min(max(float(scores[-1].group(1)), 0.0), 1.0) if scores else float(correct)
    return Verdict(correct=correct, reason=reason[:MAX_FULL_REASON_CHARS], score=score)


PROMPTS = RolePrompts("critic", PROMPT, FULL, parse, parse_full)


def query(state: Mapping[str, Any]) -> str:
    return "\n".join(
        [
            f"Problem: {state['problem']['question']}",
            "Steps so far:",
            numbered(state["path"]),
            f"New step: {state['candidate']['text']}",
            "Check:",
        ]
    )


async def judge(
    state: Mapping[str, Any], runtime: Runtime[AgentContext], prompts: RolePrompts, query_text: str, *, debate: bool
) -> dict[str, Any]:
    """The critic's verdict on the last step, as an event and the state's ``verdict``. A reply that
    cannot be read even after the stricter retry leaves the step unjudged (``correct`` None, reason
    ``UNJUDGED``): never a pass; the routers accept the step unjudged (no evidence it is wrong) and
    the final answer is still verified; the trace's shape counts it."""
    prompt, profile = chosen(runtime.context, ROLE, prompts)
    parsed = await ask(runtime.context.models[ROLE], prompt, query_text, prompts.parser(profile))
    verdict = parsed.value or Verdict(correct=None, reason=UNJUDGED)
    if parsed.malformed:
        text = parsed.raw
    else:
        text = "continue" if debate and verdict.correct else verdict.reason
    extra = {} if debate else {"score": verdict.score}
    ev = event("critique", ROLE, parsed, text, step=len(state["path"]) + 1, correct=verdict.correct, **extra)
    return {"events": [ev], "verdict": verdict.model_dump(), "tokens": ev.tokens_in + ev.tokens_out}


async def critique(state: Mapping[str, Any], runtime: Runtime[AgentContext]) -> dict[str, Any]:
    return await judge(state, runtime, PROMPTS, query(state), debate=False)


# -- the debate variant: the critic tells a policy that keeps reasoning to continue or to backtrack --

DEBATE = Prompt(
    system=(
        "You debate a student who solves a math problem step by step. After each new step reply with one line: "
        "'Continue.' if the step is right, or 'Backtrack: <what is wrong>' if it is not."
    ),
    shots=(
        (
            "Problem: Ann has 4 pens and buys 3 more. How many pens does she have?\nSteps so far:\nnone\n"
            "New step: 4 + 3 = 8, so Ann has 8 pens.\nYour turn:",
            "Backtrack: 4 + 3 is 7, not 8.",
        ),
        (
            "Problem: A box holds 6 eggs. How many eggs are in 5 boxes?\nSteps so far:\nnone\n"
            "New step: 6 * 5 = 30, so there are 30 eggs.\nYour turn:",
            "Continue.",
        ),
    ),
    strict="Answer with exactly one line: 'Continue.' or 'Backtrack: <reason>'.",
)

DEBATE_FULL = Prompt(
    system=(
        "You debate a student who solves a math problem step by step, thinking aloud. After each new step, "
        "check it: redo its calculation or test its logic against the problem and the steps before it. Then "
        "end with one line: 'Continue.' if the step is right, or 'Backtrack: <what is wrong, quoting the "
        "faulty part>' if it is not."
    ),
    shots=(
        (
            "Problem: A box holds 6 eggs. How many eggs are in 5 boxes?\nSteps so far:\nnone\n"
            "New step: Five boxes and 6 eggs: 6 + 5 = 11 eggs.\nYour turn:",
            "The step adds the number of boxes to the eggs in one box, but each of the 5 boxes holds 6 eggs, "
            'so the count is 5 groups of 6.\nBacktrack: "6 + 5 = 11" adds boxes to eggs; the eggs are 5 \\cdot 6.',
        ),
        (
            "Problem: A box holds 6 eggs. How many eggs are in 5 boxes?\nSteps so far:\nnone\n"
            "New step: Each of the 5 boxes holds 6 eggs, so there are 5 \\cdot 6 = 30 eggs.\nYour turn:",
            "Five equal groups of 6 are 30, and the step multiplies the right quantities.\nContinue.",
        ),
    ),
    strict="Check the step, then end with one line: 'Continue.' or 'Backtrack: <reason>'.",
)

_DEBATE = re.compile(r"^\W*(continue|backtrack)\b[\s*:.,-]*(.*)$", re.IGNORECASE | re.DOTALL)
_DEBATE_LINE = re.compile(r"^\W*(continue|backtrack)\b[\s*:.,-]*(.*)$", re.IGNORECASE | re.MULTILINE)


def parse_debate(text: str) -> Verdict:
    match = _DEBATE.match(text.strip())
    if not match:
        raise ParseError("expected 'Continue.' or 'Backtrack: <reason>'")
    go_on = match.group(1).lower() == "continue"
    reason = " ".join(match.group(2).split()).strip(" .")[:600]
    if not go_on and not reason:
        raise ParseError("a backtrack needs a reason")
    return Verdict(correct=go_on, reason=reason, score=float(go_on))


def parse_debate_full(text: str) -> Verdict:
    """Reasoning, then 'Continue.' or 'Backtrack: ...' on a line of its own; the last such line counts."""
    lines = list(_DEBATE_LINE.finditer(text))
    if not lines:
        raise ParseError("expected a last line 'Continue.' or 'Backtrack: <reason>'")
    match = lines[-1]
    go_on = match.group(1).lower() == "continue"
    said = match.group(2).strip(" .")
    before = text[: match.start()].strip()
    reason = said or before
    if not go_on and not reason:
        raise ParseError("a backtrack needs a reason")
    return Verdict(correct=go_on, reason=reason[:MAX_FULL_REASON_CHARS], score=float(go_on))


DEBATE_PROMPTS = RolePrompts("critic-debate", DEBATE, DEBATE_FULL, parse_debate, parse_debate_full)


async def debate_turn(state: Mapping[str, Any], runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """The critic's turn in a debate; an unreadable turn leaves the step unjudged (see :func:`judge`)."""
    debate_query = query(state).removesuffix("Check:") + "Your turn:"
    return await judge(state, runtime, DEBATE_PROMPTS, debate_query, debate=True)
