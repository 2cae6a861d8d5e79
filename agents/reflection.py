"""The reflection agent: writes "Wait, that is wrong because ..." and picks the step to go back to.

Run as a LangGraph node: ``reflection(state, runtime)`` reads the path, the rejected candidate and
the critic's reason; it returns the shortened path, a hint for the policy, and two events (the
reflection text and the backtrack).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from langgraph.runtime import Runtime
from pydantic import BaseModel

from agents.structured import AgentContext, ParseError, Prompt, RolePrompts, ask, chosen, event, numbered
from corpus.events import Event

ROLE = "reflector"

PROMPT = Prompt(
    system=(
        "You notice a mistake in a math solution and say why it is wrong, starting with 'Wait,'. "
        "End with 'Let me redo step N.' naming the step to go back to."
    ),
    shots=(
        (
            "Problem: A box holds 6 eggs. How many eggs are in 5 boxes?\nSteps so far:\n"
            "1. 6 + 5 = 11, so there are 11 eggs.\nWrong step 2: Final answer: \\boxed{11}\n"
            "Critic: the boxes must be multiplied.\nReflection:",
            "Wait, adding was wrong in step 1 because each of the 5 boxes holds 6 eggs, so I must multiply. "
            "Let me redo step 1.",
        ),
    ),
    strict="Write one or two sentences starting with 'Wait,' and end with 'Let me redo step N.' where N is a number.",
)

FULL = Prompt(
    system=(
        "You are the solver of a math problem, thinking aloud. A check found a mistake in your newest step. "
        "Write the moment you realize it, in the first person, starting with 'Wait,': say what the step "
        "claimed, reason out why it is wrong (for example 'if the roots are 2 and 3, the product should be 6, "
        "but I used 5'), and decide how far back the error goes. End with 'Let me go back to step N.' naming "
        "the step to redo."
    ),
    shots=(
        (
            "Problem: The roots of x^2 - 5x + 6 = 0 are r and s. What is r^2 + s^2?\nSteps so far:\n"
            "1. By Vieta's formulas, r + s = -5 and rs = 6.\n"
            "Wrong step 2: So r^2 + s^2 = (r + s)^2 + 2rs = 25 + 12 = 37.\n"
            "Critic: (r + s)^2 = r^2 + 2rs + s^2, so r^2 + s^2 = (r + s)^2 - 2rs; the step adds 2rs. "
            "Also the sum of the roots is 5, not -5.\nReflection:",
            "Wait, (r + s)^2 already contains 2rs, so to get r^2 + s^2 I have to subtract it, not add it: the 37 "
            "counts the cross term twice. And looking back, step 1 is off too: for x^2 - 5x + 6 the sum of the "
            "roots is 5, since the roots are 2 and 3. The sign slipped in step 1, so that is where the error "
            "starts.\nLet me go back to step 1.",
        ),
    ),
    strict="Start with 'Wait,', explain why the step is wrong, and end with 'Let me go back to step N.' where N is a number.",
)
MAX_FULL_REFLECTION_CHARS = 8000

_BACK = re.compile(r"(?:redo|go back to|return to|restart from)\s+step\s*(\d+)[^.]*\.?", re.IGNORECASE)
_START_OVER = re.compile(r"start over[^.]*\.?", re.IGNORECASE)


class Reflection(BaseModel):
    text: str
    back_to: int  # the step to redo, 1-based


def _reflection(text: str, *, last: bool, limit: int) -> Reflection:
    """The realization and the step it goes back to: the first (compact) or last (full) "redo step N"."""
    backs = list(_BACK.finditer(text)) or [None]
    match = backs[-1] if last else backs[0]
    back_to = int(match.group(1)) if match else 1
    if match is None:
        starts = list(_START_OVER.finditer(text))
        if not starts:
            raise ParseError("no 'Let me go back to step N'")
        match = starts[-1] if last else starts[0]
    said = (text[: match.start()] + text[match.end() :]).strip()
    said = re.sub(r"\s*(let me|I will|I'll)\s*$", "", said, flags=re.IGNORECASE).strip()
    if not said:
        raise ParseError("no reflection before the backtrack")
    return Reflection(text=said[:limit], back_to=back_to)


def parse(text: str) -> Reflection:
    return _reflection(" ".join(text.split()), last=False, limit=800)


def parse_full(text: str) -> Reflection:
    """A reasoned realization, paragraphs kept; the last 'go back to step N' names the step."""
    return _reflection(text.strip(), last=True, limit=MAX_FULL_REFLECTION_CHARS)


PROMPTS = RolePrompts("reflector", PROMPT, FULL, parse, parse_full)


def query(state: Mapping[str, Any]) -> str:
    path = state["path"]
    return "\n".join(
        [
            f"Problem: {state['problem']['question']}",
            "Steps so far:",
            numbered(path),
            f"Wrong step {len(path) + 1}: {state['candidate']['text']}",
            f"Critic: {state['verdict']['reason'] or 'this step is wrong.'}",
            "Reflection:",
        ]
    )


async def reflection(state: Mapping[str, Any], runtime: Runtime[AgentContext]) -> dict[str, Any]:
    path: list[str] = state["path"]
    wrong_step = len(path) + 1
    prompt, profile = chosen(runtime.context, ROLE, PROMPTS)
    parsed = await ask(runtime.context.models[ROLE], prompt, query(state), PROMPTS.parser(profile))
    if parsed.value is None:
        # a backtrack must still happen: retry the rejected step, keep the raw text as malformed
        back_to = wrong_step
        said = parsed.raw
    else:
        back_to = min(max(parsed.value.back_to, 1), wrong_step)
        said = parsed.value.text
    ev = event("reflection", ROLE, parsed, said, step=wrong_step)
    backtrack = Event(
        kind="backtrack", role=ROLE, model=ev.model, text=backtrack_text(back_to, wrong_step), step=back_to
    )
    return {
        "events": [ev, backtrack],
        "path": path[: back_to - 1],
        "candidate": None,
        "hint": said if not parsed.malformed else state["verdict"]["reason"] or None,
        "n_backtracks": state["n_backtracks"] + 1,
        "tokens": ev.tokens_in + ev.tokens_out,
    }


def backtrack_text(back_to: int, wrong_step: int) -> str:
    if back_to == wrong_step:
        return f"Let me try step {back_to} again."
    return f"Let me go back to step {back_to} and redo it."
