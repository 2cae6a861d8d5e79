"""The teacher: a strong reasoning model (o1 / o3-mini, DeepSeek-R1 behind vLLM, ...) that distills.

Two uses, two nodes:
- ``solve``: the whole long thought for a problem, ending in ``\\boxed{}`` (the distill method).
  Models that hide their reasoning (o1) are asked, as Part 2 did, to write the full thought process
  in the answer itself; models that return it in a separate field (R1 style under vLLM's reasoning
  parser) have it kept on the event, and the long thought is that reasoning followed by the answer.
- ``hint``: one short hint for a policy that is stuck (the journey graph calls it after failed
  backtracks); it becomes a teacher event and the policy's next note.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.runtime import Runtime

from agents.structured import (
    AgentContext,
    ParseError,
    Prompt,
    RolePrompts,
    ask,
    chosen,
    event,
    first_line,
    free_text_node,
)

ROLE = "teacher"

SOLVE = Prompt(
    system=(
        "Solve the problem and show your whole thought process, not only the final solution: try an "
        "approach, check each step, and when a step is wrong say so ('Wait, ...'), explain why, go back "
        "and fix it. End with the final answer in \\boxed{}."
    ),
    shots=(
        (
            "Problem: A box holds 6 eggs. How many eggs are in 5 boxes?",
            "Five boxes with 6 eggs each: 6 + 5 = 11 eggs.\nWait, that adds the boxes to the eggs. Each of the "
            "5 boxes holds 6 eggs, so I must multiply: 6 * 5 = 30.\nCheck: 30 / 5 = 6 eggs a box. Right.\n"
            "The answer is \\boxed{30}.",
        ),
    ),
    strict="Write your reasoning, then end with 'The answer is \\boxed{<answer>}'.",
)

HINT = Prompt(
    system="A student is stuck on a math problem. Give one short hint for the next step, in one line, without the final answer.",
    shots=(
        (
            "Problem: A box holds 6 eggs. How many eggs are in 5 boxes?\nStudent's steps:\n1. 6 + 5 = 11\nHint:",
            "Each box holds the same number of eggs, so multiply the eggs per box by the number of boxes.",
        ),
    ),
    strict="Answer with one line: the hint only.",
)

HINT_FULL = Prompt(
    system=(
        "A student is stuck on a math problem: their attempts keep failing. Give one hint, a sentence or two, "
        "that points to the idea they need next. Do not give the final answer or do the remaining steps."
    ),
    shots=(
        (
            "Problem: The roots of x^2 - 5x + 6 = 0 are r and s. What is r^2 + s^2?\nStudent's steps:\n"
            "1. Solving for the roots with the quadratic formula gives a messy expression.\nHint:",
            "You never need the roots themselves: r^2 + s^2 can be written with r + s and rs, and both can be "
            "read off the coefficients.",
        ),
    ),
    strict="Reply with the hint only: a sentence or two, without the final answer.",
)
MAX_HINT_CHARS = 400
MAX_FULL_HINT_CHARS = 2000


def parse_hint(text: str) -> str:
    hint = first_line(text).removeprefix("Hint:").strip()
    if not hint or len(hint) > MAX_HINT_CHARS:
        raise ParseError("empty or overlong hint")
    return hint


def parse_hint_full(text: str) -> str:
    hint = text.strip().removeprefix("Hint:").strip()
    if not hint or len(hint) > MAX_FULL_HINT_CHARS:
        raise ParseError("empty or overlong hint")
    return hint


HINTS = RolePrompts("teacher-hint", HINT, HINT_FULL, parse_hint, parse_hint_full)
# the distilling teacher writes whole solutions for capable models in both profiles; its reply is free text
SOLVES = RolePrompts("teacher", SOLVE, SOLVE)


def solve_query(problem: Mapping[str, Any]) -> str:
    return f"Problem: {problem['question']}"


# one distillation sample, one call
solve = free_text_node(ROLE, SOLVES, lambda state: solve_query(state["problem"]), "solve")


def hint_query(state: Mapping[str, Any]) -> str:
    steps = "\n".join(f"{i}. {s}" for i, s in enumerate(state["path"], 1)) or "none"
    return f"Problem: {state['problem']['question']}\nStudent's steps:\n{steps}\nHint:"


async def hint(state: Mapping[str, Any], runtime: Runtime[AgentContext]) -> dict[str, Any]:
    prompt, profile = chosen(runtime.context, ROLE, HINTS)
    parsed = await ask(runtime.context.models[ROLE], prompt, hint_query(state), HINTS.parser(profile))
    text = parsed.value if parsed.value is not None else parsed.raw
    ev = event("teacher", ROLE, parsed, text, step=len(state["path"]) + 1)
    return {
        "events": [ev],
        "hint": parsed.value,
        "n_hints": state.get("n_hints", 0) + 1,
        "tokens": ev.tokens_in + ev.tokens_out,
    }
