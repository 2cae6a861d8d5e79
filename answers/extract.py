"""Where a text states its answer: the last closed ``\\boxed{}``, and the phrasings models use.

Every function here runs in time linear in the text's length: model outputs are untrusted and can
be long and degenerate (200,000 characters of ``\\boxed{``).
"""

from __future__ import annotations

import re

_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\s*\{")


def last_boxed(text: str) -> str | None:
    """Content of the last closed ``\\boxed{...}`` (or ``\\fbox{...}``), braces balanced; None if none.

    A box left unclosed at the end (a reply cut by its token limit) is skipped for the one before.
    One pass with a stack of open braces, so nested and unclosed boxes cost linear time.
    """
    box_starts = {m.end() - 1 for m in _BOX_OPEN.finditer(text)}  # positions of a box's "{"
    if not box_starts:
        return None
    stack: list[int] = []
    best: tuple[int, int] | None = None  # (start, end) of the closed box that starts last
    for j, ch in enumerate(text):
        if ch == "{":
            stack.append(j)
        elif ch == "}" and stack:
            i = stack.pop()
            if i in box_starts and (best is None or i > best[0]):
                best = (i, j)
    return None if best is None else text[best[0] + 1 : best[1]].strip()
