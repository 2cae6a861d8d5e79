"""Rendering a trace's events into the long-thought text a model is trained on.

The long thought is written in the policy's voice: its steps, and for each rejected step the
reflection ("Wait, ...") and the backtrack ("Let me go back to step 2 ..."). Critiques and
verifications are other voices and stay in the events only; a malformed reflection is replaced by
the critic's reason so that the text still says why the step was abandoned.
"""

from __future__ import annotations

import re
from typing import Any

from corpus.events import Event


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
        elif ev.kind in ("reflection", "backtrack") and ev.text:
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


JUDGES = ("critic", "prm")


def draft_text(events: list[Event]) -> str:
    """A draft as a rewriter reads it: steps tagged with the critic's verdicts, reflections, backtracks."""
    lines: list[str] = []
    for ev in events:
        if ev.kind in ("attempt", "answer") and not ev.malformed:
            lines.append(f"- step {ev.step}: {ev.text}")
        elif ev.kind == "critique" and ev.correct is False and lines:
            lines[-1] += f" [wrong: {ev.text}]"
        elif ev.kind == "verification" and ev.correct is False and lines:
            lines[-1] += f" [wrong: {ev.text}]"
        elif ev.kind == "reflection" and not ev.malformed and ev.role not in JUDGES:
            # a reflector's own words; a judge's reason is already on the step it rejected
            lines.append(f"- realized: {ev.text}")
        elif ev.kind == "backtrack":
            lines.append(f"- backtrack to step {ev.step}")
        elif ev.kind == "teacher":
            lines.append(f"- a new idea: {ev.text}")
    return "\n".join(lines)


# how a free-form long thought says it caught an error: counted where there are no reflection events
REFLECTION_CUES = re.compile(
    r"\b(wait|hold on|hmm|oops|that(?:'s| is) (?:wrong|not right|a mistake)|i made (?:a|an) (?:mistake|error))\b",
    re.IGNORECASE,
)
# how a free-form long thought says it goes back: counted where there are no backtrack events
BACKTRACK_CUES = re.compile(
    r"\blet me (?:go back|redo|re-?check|reconsider|try again|start over|backtrack)\b|\bgoing back to\b", re.IGNORECASE
)
THOUGHT_KINDS = ("attempt", "answer", "reflection", "teacher")


def reflections_in(text: str) -> int:
    return len(REFLECTION_CUES.findall(text))


def backtracks_in(text: str) -> int:
    return len(BACKTRACK_CUES.findall(text))


def dead_ends(events: list[Event]) -> list[int]:
    """For each backtrack, how many steps it abandoned: from the step it goes back to, to the last step tried."""
    depths: list[int] = []
    last = 0
    for ev in events:
        if ev.kind in ("attempt", "answer") and ev.step is not None:
            last = ev.step
        elif ev.kind == "backtrack" and ev.step is not None:
            depths.append(max(last - ev.step + 1, 1))
            last = ev.step - 1
    return depths


def shape(events: list[Event], long_thought: str, rewrite: str | None = None) -> dict[str, Any]:
    """The shape of a long thought: how long, how many steps, reflections and backtracks, how deep
    its dead ends went, and whether a rewriter wrote the final text."""
    rewritten = rewrite == "used"
    written = (
        [e for e in events if e.kind == "rewrite"] if rewritten else [e for e in events if e.kind in THOUGHT_KINDS]
    )
    reflections = sum(e.kind == "reflection" for e in events) or reflections_in(long_thought)
    depths = dead_ends(events)
    return {
        "thought_words": len(long_thought.split()),
        "thought_tokens": sum(e.tokens_out for e in written),
        "steps": sum(e.kind in ("attempt", "answer") and not e.malformed for e in events),
        "reflections": reflections,
        # one counting rule for every method (compare's tables and the viewer read these): events
        # where the method wrote them, else the cues of a free-form thought
        "backtracks": sum(e.kind == "backtrack" for e in events) or backtracks_in(long_thought),
        "dead_end_depth": max(depths, default=0),
        # critiques whose verdict could not be read (unjudged steps: accepted without a verdict)
        "unjudged": sum(e.kind == "critique" and e.malformed for e in events),
        "rewritten": rewritten,
    }
