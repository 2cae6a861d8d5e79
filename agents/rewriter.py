"""The rewriter: turns text into the long-thought format, in two ways.

- ``reformat``: a reference solution rewritten step by step, each step checked, ending in
  ``\\boxed{}`` (the data of Part 2's first SFT stage, teaching the format before distillation).
- ``fluent``: a draft chain (steps, wrong turns, critiques, backtracks) rewritten into fluent
  first-person text that keeps every error and its correction (Part 1's last step of the tree
  method); usable as a node in any graph whose state holds a ``draft``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents.structured import Prompt, RolePrompts, free_text_node

ROLE = "rewriter"

REFORMAT = Prompt(
    system=(
        "Rewrite the reference solution as a long, careful thought process: one small step at a time, "
        "checking each step, in the first person. Keep every fact of the solution and do not skip steps. "
        "End with 'The answer is \\boxed{<answer>}' with the same answer as the solution."
    ),
    shots=(
        (
            "Problem: A box holds 6 eggs. How many eggs are in 5 boxes?\nReference solution: 6 \\times 5 = 30. The answer is \\boxed{30}.",
            "I need the eggs in 5 boxes. Each box holds 6 eggs, so this is 5 groups of 6.\n5 groups of 6 is 6 \\times 5 = 30.\n"
            "Let me check: 30 divided by 5 boxes is 6 eggs a box, which matches.\nThe answer is \\boxed{30}.",
        ),
    ),
    strict="Write the steps, then end with 'The answer is \\boxed{<answer>}'.",
)

FLUENT = Prompt(
    system=(
        "Rewrite the draft reasoning below into one fluent thought process in the first person. Keep every "
        "attempt, including the wrong ones, say why each wrong one fails ('Wait, ...'), go back, and keep "
        "the corrections. Do not add new facts. End with the final answer in \\boxed{}."
    ),
    shots=(
        (
            "Problem: A box holds 6 eggs. How many eggs are in 5 boxes?\nDraft:\n- step: 6 + 5 = 11 [wrong: the boxes must be "
            "multiplied]\n- backtrack to step 1\n- step: 6 \\times 5 = 30 [correct]\n- answer: 30",
            "Let me add: 6 + 5 = 11. Wait, that is wrong: each of the 5 boxes holds 6 eggs, so I should multiply, not add. "
            "Going back to the first step: 6 \\times 5 = 30. The answer is \\boxed{30}.",
        ),
    ),
    strict="Write the thought process, then end with 'The answer is \\boxed{<answer>}'.",
)


# free-text roles: one prompt for both profiles (they write whole thoughts, for capable models)
REFORMATS = RolePrompts("rewriter-reformat", REFORMAT, REFORMAT)
FLUENTS = RolePrompts("rewriter", FLUENT, FLUENT)


def reformat_query(problem: Mapping[str, Any]) -> str:
    return f"Problem: {problem['question']}\nReference solution: {problem['meta']['solution']}"


def fluent_query(state: Mapping[str, Any]) -> str:
    return f"Problem: {state['problem']['question']}\nDraft:\n{state['draft']}"


reformat = free_text_node(ROLE, REFORMATS, lambda state: reformat_query(state["problem"]), "reformat")
fluent = free_text_node(ROLE, FLUENTS, fluent_query, "fluent")
