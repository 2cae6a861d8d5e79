"""The policy agent: proposes the next reasoning step, or the final answer in \\boxed{}.

Run as a LangGraph node: ``policy(state, runtime)`` reads ``problem``, ``path`` and ``hint`` and
returns the new ``candidate`` and its event. The compact profile asks for one line a reply, few-shot,
so that a small base model (the embedded Gemma 3 270M) answers in a parseable form; the full profile
asks a capable model for the next step of its reasoning, as long as the step needs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from langgraph.runtime import Runtime
from pydantic import BaseModel

from agents.structured import AgentContext, ParseError, Prompt, RolePrompts, ask, chosen, event, first_line, numbered
from answers.extract import last_boxed

ROLE = "policy"
MAX_STEP_CHARS = 600

PROMPT = Prompt(
    system=(
        "You solve math word problems one step at a time. Reply with one line: either "
        "'Step: <the next calculation>' or, when the problem is solved, 'Final answer: \\boxed{<answer>}'."
    ),
    shots=(
        (
            "Problem: Ann has 4 pens and buys 3 more. How many pens does she have?\nSteps so far:\nnone\nNext step:",
            "Step: 4 + 3 = 7, so Ann has 7 pens.",
        ),
        (
            "Problem: A box holds 6 eggs. How many eggs are in 5 boxes?\nSteps so far:\n"
            "1. 6 * 5 = 30, so there are 30 eggs.\nNext step:",
            "Final answer: \\boxed{30}",
        ),
    ),
    strict="Answer with exactly one line that starts with 'Step:' or 'Final answer:'. Nothing else.",
)

FULL = Prompt(
    system=(
        "You are solving a math problem step by step, thinking aloud in the first person. Write only the next "
        "step of your reasoning: as long as it needs to be (a sentence, a paragraph, or a few lines of "
        "derivation), building on the steps so far. Do not rush through the rest of the problem in one step. "
        "If a note is given, it is a thought of your own to take into account. When your steps determine the "
        "answer, write the concluding step and end it with a line 'Final answer: \\boxed{<answer>}'."
    ),
    shots=(
        (
            "Problem: The roots of x^2 - 5x + 6 = 0 are r and s. What is r^2 + s^2?\nSteps so far:\nnone\nNext step:",
            "I don't need the roots themselves. By Vieta's formulas, r + s = 5 and rs = 6, and\n"
            "r^2 + s^2 = (r + s)^2 - 2rs, so everything I need is already in the coefficients.",
        ),
        (
            "Problem: The roots of x^2 - 5x + 6 = 0 are r and s. What is r^2 + s^2?\nSteps so far:\n"
            "1. I don't need the roots themselves. By Vieta's formulas, r + s = 5 and rs = 6, and\n"
            "r^2 + s^2 = (r + s)^2 - 2rs, so everything I need is already in the coefficients.\nNext step:",
            "Substituting, (r + s)^2 - 2rs = 5^2 - 2 \\cdot 6 = 25 - 12 = 13. As a check, the roots are 2 and 3, "
            "and 4 + 9 = 13.\nFinal answer: \\boxed{13}",
        ),
    ),
    strict="Write only the next step of your reasoning. If it concludes the solution, end with 'Final answer: \\boxed{<answer>}'.",
)
MAX_FULL_STEP_CHARS = 12_000

_LINE = re.compile(r"^\s*\**\s*(step(?:\s*\d+)?|final answer)\s*\**\s*:\s*\**\s*(.+)$", re.IGNORECASE)


class Proposal(BaseModel):
    """A proposed step; ``answer`` is set when the step states the final answer."""

    text: str
    answer: str | None = None


def parse(text: str) -> Proposal:
    match = _LINE.match(first_line(text))
    if not match:
        raise ParseError("expected 'Step: ...' or 'Final answer: ...'")
    label, body = match.group(1).lower(), match.group(2).strip()
    if not body or len(body) > MAX_STEP_CHARS:
        raise ParseError("empty or overlong step")
    answer = last_boxed(body)
    if answer is None and "\\boxed" in body:
        raise ParseError("unclosed \\boxed{")
    if label == "final answer" and answer is None:
        answer = body.strip(" .$")
    if answer == "":
        raise ParseError("empty final answer")
    return Proposal(text=body, answer=answer)


_LABEL = re.compile(r"^\s*\**\s*step(?:\s*\d+)?\s*\**\s*:\s*", re.IGNORECASE)
_FINAL = re.compile(r"final answer\s*\**\s*:\s*\**\s*(.+)$", re.IGNORECASE | re.MULTILINE)


def parse_full(text: str) -> Proposal:
    """A step of a capable model: the whole reply, however many lines; a box (or 'Final answer:') ends it."""
    body = _LABEL.sub("", text.strip(), count=1).strip()
    if not body or len(body) > MAX_FULL_STEP_CHARS:
        raise ParseError("empty or overlong step")
    answer = last_boxed(body)
    if answer is None and "\\boxed" in body:
        raise ParseError("unclosed \\boxed{")
    if answer is None and (final := _FINAL.search(body)):
        answer = final.group(1).strip(" .$*")
    if answer == "":
        raise ParseError("empty final answer")
    return Proposal(text=body, answer=answer)


PROMPTS = RolePrompts("policy", PROMPT, FULL, parse, parse_full)


def query(state: Mapping[str, Any]) -> str:
    lines = [f"Problem: {state['problem']['question']}", "Steps so far:", numbered(state["path"])]
    if state.get("hint"):
        lines.append(f"Note: {state['hint']}")
    lines.append("Next step:")
    return "\n".join(lines)


async def policy(state: Mapping[str, Any], runtime: Runtime[AgentContext]) -> dict[str, Any]:
    prompt, profile = chosen(runtime.context, ROLE, PROMPTS)
    parsed = await ask(runtime.context.models[ROLE], prompt, query(state), PROMPTS.parser(profile))
    step = len(state["path"]) + 1
    proposal = parsed.value
    if proposal is None:
        ev = event("attempt", ROLE, parsed, parsed.raw, step=step)
    else:
        kind = "answer" if proposal.answer is not None else "attempt"
        ev = event(kind, ROLE, parsed, proposal.text, step=step, answer=proposal.answer)
    return {
        "events": [ev],
        "candidate": proposal.model_dump() if proposal else None,
        "n_steps": state["n_steps"] + 1,
        "hint": None,
        "tokens": ev.tokens_in + ev.tokens_out,
    }
