"""Rendering a trace's events into the long-thought text a model is trained on.

The long thought is written in the policy's voice: its steps, and for each rejected step the
reflection ("Wait, ...") and the backtrack ("Let me go back to step 2 ..."). Critiques and
verifications are other voices and stay in the events only; a malformed reflection is replaced by
the critic's reason so that the text still says why the step was abandoned.
"""

from __future__ import annotations

import re

from agents.events import Event


def long_thought(events: list[Event]) -> str:
    parts: list[str] = []
    last_reason = ""
    for ev in events:
        if ev.kind == "critique":
            last_reason = ev.text if not ev.malformed else ""
        elif ev.kind == "verification":
            last_reason = "" if ev.correct else ev.text
        elif ev.malformed:
            if ev.kind == "reflection":
                parts.append(
                    f"Wait, this does not work: {last_reason}." if last_reason else "Wait, this does not work."
                )
        elif ev.kind == "attempt":
            # a reasoning model's separate reasoning comes first: it is the thought behind the text
            parts += [part for part in (ev.reasoning, ev.text) if part]
        elif ev.kind == "answer":
            parts.append(concluding_step(ev.text, ev.answer))
        elif ev.kind in ("reflection", "backtrack"):
            parts.append(ev.text)
        elif ev.kind == "teacher":
            # the hint becomes the policy's own turn of thought; the event keeps the teacher as its author
            parts.append(f"{HINT_VOICE} {ev.text}")
    return "\n\n".join(parts)


HINT_VOICE = "Let me look at this from another side:"
_FINAL_LABEL = re.compile(r"\**\s*final answer\s*\**\s*:?\s*\**\s*$", re.IGNORECASE)


def _box_end(text: str, start: int) -> int:
    """The index just past the braces of the box at ``start`` (linear), or -1 if they never close."""
    depth = 0
    for i in range(text.find("{", start), len(text)):
        if i < 0:
            return -1
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    return -1


def concluding_step(text: str, answer: str | None) -> str:
    """A step that states the final answer, as the long thought says it: its reasoning and the box
    (text after the box is cut: small models append junk), or just the answer for a bare box."""
    said = f"So the answer is \\boxed{{{answer}}}."
    box = text.rfind("\\boxed")
    if box < 0:
        return said
    before = text[:box]
    if "\n" in before and not _FINAL_LABEL.sub("", before.rsplit("\n", 1)[1]).strip():
        # reasoning lines, then the answer on a line of its own ('Final answer: \boxed{...}')
        head = before.rsplit("\n", 1)[0].rstrip()
        return f"{head}\n\n{said}" if head else said
    end = _box_end(text, box)
    if end < 0 or len(_FINAL_LABEL.sub("", before).split()) < 3:
        return said
    return text[:end].rstrip()


def summary(path: list[str], final_answer: str | None) -> str:
    """The corrected path, step by step, ending in the boxed answer."""
    lines = [f"Step {i}: {step}" for i, step in enumerate(path, 1)]
    if final_answer is not None:
        lines.append(f"The answer is \\boxed{{{final_answer}}}.")
    return "\n".join(lines)
