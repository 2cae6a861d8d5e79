"""The critique agent: judges the latest proposed step correct or incorrect, with a reason.

Run as a LangGraph node: ``critique(state, runtime)`` reads ``problem``, ``path`` and ``candidate``
and returns a ``verdict``. Unparseable verdicts (after one stricter retry) are recorded as malformed
and count as "no objection": a backtrack needs a reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from langgraph.runtime import Runtime
from pydantic import BaseModel

from agents.structured import AgentContext, ParseError, Prompt, ask, event, numbered

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

_VERDICT = re.compile(r"verdict\s*:?\s*\**\s*(correct|incorrect|wrong|right)\b", re.IGNORECASE)
_REASON = re.compile(r"reason\s*:\s*(.+)", re.IGNORECASE | re.DOTALL)


class Verdict(BaseModel):
    correct: bool
    reason: str


def parse(text: str) -> Verdict:
    match = _VERDICT.search(text)
    if not match:
        raise ParseError("no 'Verdict: correct|incorrect'")
    correct = match.group(1).lower() in ("correct", "right")
    reason_match = _REASON.search(text, match.end())
    reason = (reason_match.group(1) if reason_match else text[match.end() :]).strip(" .:*\n")
    return Verdict(correct=correct, reason=" ".join(reason.split())[:600])


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


async def critique(state: Mapping[str, Any], runtime: Runtime[AgentContext]) -> dict[str, Any]:
    parsed = await ask(runtime.context.models[ROLE], PROMPT, query(state), parse)
    verdict = parsed.value or Verdict(correct=True, reason="")
    text = parsed.raw if parsed.malformed else verdict.reason
    ev = event(
        "critique",
        ROLE,
        parsed,
        text,
        step=len(state["path"]) + 1,
        correct=None if parsed.malformed else verdict.correct,
    )
    return {"events": [ev], "verdict": verdict.model_dump(), "tokens": ev.tokens_in + ev.tokens_out}


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

_DEBATE = re.compile(r"^\W*(continue|backtrack)\b[\s*:.,-]*(.*)$", re.IGNORECASE | re.DOTALL)


def parse_debate(text: str) -> Verdict:
    match = _DEBATE.match(text.strip())
    if not match:
        raise ParseError("expected 'Continue.' or 'Backtrack: <reason>'")
    go_on = match.group(1).lower() == "continue"
    reason = " ".join(match.group(2).split()).strip(" .")[:600]
    if not go_on and not reason:
        raise ParseError("a backtrack needs a reason")
    return Verdict(correct=go_on, reason=reason)


async def debate_turn(state: Mapping[str, Any], runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """The critic's turn in a debate; unparseable turns count as 'continue' (a backtrack needs a reason)."""
    debate_query = query(state).removesuffix("Check:") + "Your turn:"
    parsed = await ask(runtime.context.models[ROLE], DEBATE, debate_query, parse_debate)
    verdict = parsed.value or Verdict(correct=True, reason="")
    text = parsed.raw if parsed.malformed else ("continue" if verdict.correct else verdict.reason)
    ev = event(
        "critique",
        ROLE,
        parsed,
        text,
        step=len(state["path"]) + 1,
        correct=None if parsed.malformed else verdict.correct,
    )
    return {"events": [ev], "verdict": verdict.model_dump(), "tokens": ev.tokens_in + ev.tokens_out}
