"""Rendering a trace's events into the long-thought text a model is trained on.

The long thought is written in the policy's voice: its steps, and for each rejected step the
reflection ("Wait, ...") and the backtrack ("Let me go back to step 2 ..."). Critiques and
verifications are other voices and stay in the events only; a malformed reflection is replaced by
the critic's reason so that the text still says why the step was abandoned.
"""

from __future__ import annotations

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
            # the parsed answer, not the raw line: small models append junk after the box
            parts.append(f"So the answer is \\boxed{{{ev.answer}}}.")
        elif ev.kind in ("reflection", "backtrack"):
            parts.append(ev.text)
        elif ev.kind == "teacher":
            parts.append(f"Hint: {ev.text}")
    return "\n\n".join(parts)


def summary(path: list[str], final_answer: str | None) -> str:
    """The corrected path, step by step, ending in the boxed answer."""
    lines = [f"Step {i}: {step}" for i, step in enumerate(path, 1)]
    if final_answer is not None:
        lines.append(f"The answer is \\boxed{{{final_answer}}}.")
    return "\n".join(lines)
