"""The human method: imports human-annotated thought processes into the trace schema (source ``human``).

No model is called. Each problem row carries the annotated thought in a ``thought`` field (JSONL,
JSON, CSV, Parquet), or comes from a Markdown file of ``# Problem: ID`` / ``## Answer`` /
``## Thought`` blocks (see corpus/problems.py). The thought is split into paragraphs: a paragraph
that starts with "Wait", "Hmm, that" or "No," is a reflection, one that says "let me go back" /
"back to step" is a backtrack, the rest are attempts. The final answer is the thought's last
``\\boxed{}`` (else an ``answer_given`` field) and is verified against the reference like any other.

annotate -> verify -> end.
"""

from __future__ import annotations

import re
from typing import Any

from answers.extract import last_boxed
from answers.verify import Verifier
from corpus.events import Event
from graphs.common import SampleState, VerifyContext, one_pass, sample_state
from graphs.method import Method

MAX_THOUGHT_CHARS = 200_000

_REFLECTION = re.compile(r"^(wait\b|hmm,? that|no,|that('s| is) (wrong|not right))", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_BACKTRACK = re.compile(r"\b(let me go back|back to step|start over|let me redo)\b", re.IGNORECASE)


class AnnotationError(ValueError):
    pass


def events_of(thought: str) -> list[Event]:
    """A paragraph that both catches an error and goes back ("Wait, ... Let me go back to step 2.")
    is a reflection and then a backtrack: split before the sentence that goes back (the whole
    paragraph is the reflection when that sentence opens it, and the backtrack adds no text)."""
    events = []
    for i, paragraph in enumerate(p.strip() for p in re.split(r"\n\s*\n", thought)):
        if not paragraph:
            continue
        reflects, goes_back = _REFLECTION.match(paragraph) is not None, _BACKTRACK.search(paragraph) is not None
        if reflects and goes_back:
            sentences = _SENTENCE.split(paragraph)
            at = next(k for k, sentence in enumerate(sentences) if _BACKTRACK.search(sentence))
            caught, back = (" ".join(sentences[:at]), " ".join(sentences[at:])) if at else (paragraph, "")
            events.append(Event(kind="reflection", role="human", text=caught, step=i + 1))
            events.append(Event(kind="backtrack", role="human", text=back, step=i + 1))
            continue
        kind = "backtrack" if goes_back else "reflection" if reflects else "attempt"
        events.append(Event(kind=kind, role="human", text=paragraph, step=i + 1))
    return events


def annotate(state: SampleState) -> dict[str, Any]:
    meta = state["problem"]["meta"]
    thought = str(meta.get("thought") or "").strip()
    if not thought:
        raise AnnotationError(f"problem {state['problem']['id']}: no 'thought' to import")
    if len(thought) > MAX_THOUGHT_CHARS:
        raise AnnotationError(f"problem {state['problem']['id']}: thought longer than {MAX_THOUGHT_CHARS} characters")
    answer = last_boxed(thought) or (str(meta["answer_given"]).strip() if meta.get("answer_given") else None)
    events = events_of(thought)
    return {"events": events, "candidate": {"text": thought, "answer": answer}}


def corrected_path(events: list[Event]) -> list[str]:
    """The steps that stand: every attempt but one a reflection or backtrack right after it retracts
    (the trace's summary, and the shortcut a model learns from in Part 1's ablation)."""
    path = []
    for i, ev in enumerate(events):
        if ev.kind != "attempt":
            continue
        after = events[i + 1].kind if i + 1 < len(events) else None
        if after not in ("reflection", "backtrack"):
            path.append(ev.text)
    return path


def build():
    return one_pass("annotate", annotate)


def context(models, cfg, verifier: Verifier) -> VerifyContext:
    return VerifyContext(models=models, verifier=verifier)


def results(final: dict[str, Any], sample: int) -> list[dict[str, Any]]:
    # a human thought is kept verified or not (like a journey): the flag says which
    out = []
    for s in final["samples"]:
        n_back = sum(e.kind == "backtrack" for e in s["events"])
        out.append(
            s
            | {
                "path": corrected_path(s["events"]),
                "sample": sample,
                "kept": True,
                "n_steps": sum(e.kind == "attempt" for e in s["events"]),
                "n_backtracks": n_back,
            }
        )
    return out


METHOD = Method(
    name="human",
    source="human",
    roles=(),
    description="annotated thought processes imported from JSONL or Markdown; no model",
    build=build,
    context=context,
    limit=lambda cfg: 10,
    initial_state=sample_state,
    results=results,
    needs=("thought", "annotated thoughts (a 'thought' field or a Markdown '## Thought' section)"),
)
