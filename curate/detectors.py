"""What can be wrong with one long thought, each a function of the trace that answers with a reason
(a short text saying what was found) or None. Every detector runs in linear time in the text.

- ``truncated``: the thinking block never closed, the trace ran out of its token budget, or no
  answer could be read from it;
- ``malformed``: a backtrack with no reflection before it (the journey's "why" is missing), or a
  rewrite that lost the answer or reflections of the draft it rewrote;
- ``repetition``: a loop, the known failure of long reasoning that runs until its budget ends:
  a sentence (or a cycle of two or three, of at least ``MIN_LOOP_WORDS`` words in all) said
  ``sentence_repeats`` times or more back to back, or a tail (the last ``TAIL`` of the words) whose
  share of distinct word 4-grams is under ``tail_novelty``, or an ending that says the same block
  of up to ``MAX_PERIOD`` words ``sentence_repeats`` times or more (``MIN_TRAILING_WORDS`` words in
  all). A check said after every step is no loop: the steps between its copies differ;
- ``language``: the long thought is written in another script than the question, or mixes
  scripts: the share of its letters outside the question's script at least ``language_share``
  (letters of words of three or more, LaTeX commands and ``$...$`` math left out; Greek, the
  script of math symbols, never counts).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from corpus import render
from corpus.events import Event

MIN_LOOP_WORDS = 6
MAX_PERIOD = 60  # words in a block that a trailing loop repeats
MIN_TRAILING_WORDS = 16  # words a trailing loop covers, at the least
TAIL = 0.4
TAIL_MIN_WORDS = 80
_SENTENCE = re.compile(r"[^.!?。！？\n]+")
_WORD = re.compile(r"\w+")
_LATEX = re.compile(r"\\[A-Za-z]+|\$[^$]*\$")  # commands and inline math; each scan ends at the next $
_LONG_WORD = re.compile(r"[^\W\d_]{3,}")


@dataclass(frozen=True)
class Thresholds:
    """The detectors' thresholds, recorded in the filtered corpus's manifest."""

    sentence_repeats: int = 4
    tail_novelty: float = 0.3
    language_share: float = 0.2


def truncated(trace: dict[str, Any]) -> str | None:
    text = trace.get("long_thought") or ""
    if text.count("<think>") > text.count("</think>"):
        return "the thinking block never closed"
    if trace.get("status") == "budget_tokens":
        return "the trace ran out of its token budget"
    if not str(trace.get("final_answer") or "").strip():
        return "no answer could be read"
    return None


def _events(trace: dict[str, Any]) -> list[Event]:
    return [Event.model_validate(e) for e in trace.get("events") or []]


def malformed(trace: dict[str, Any]) -> str | None:
    text = trace.get("long_thought") or ""
    shape = trace.get("shape") or render.shape(_events(trace), text, trace.get("rewrite"))
    if shape.get("backtracks", 0) > 0 and shape.get("reflections", 0) == 0:
        return "a backtrack with no reflection"
    if shape.get("rewritten"):
        events = _events(trace)
        answer = str(trace.get("final_answer") or "")
        if answer and answer not in text:
            return "the rewrite lost the answer"
        if render.reflections_in(text) < sum(e.kind == "reflection" for e in events):
            return "the rewrite dropped reflections of its draft"
    return None


def _longest_cycle(sentences: list[str]) -> tuple[int, int, str]:
    """(copies, period, first sentence) of the longest run of a cycle of 1 to 3 sentences said back
    to back; linear in the number of sentences for each period."""
    best = (1, 1, "")
    for period in (1, 2, 3):
        run = 0
        for i in range(period, len(sentences)):
            run = run + 1 if sentences[i] == sentences[i - period] else 0
            copies = run // period + 1
            if copies > best[0]:
                best = (copies, period, sentences[i])
    return best


def _trailing_loop(words: list[str]) -> tuple[int, int]:
    """(copies, period) of the longest block of 1 to ``MAX_PERIOD`` words that the text ends by
    saying again and again; each period stops at its first mismatch from the end."""
    best = (1, 0)
    for period in range(1, min(MAX_PERIOD, len(words) // 2) + 1):
        run, i = 0, len(words) - 1
        while i - period >= 0 and words[i] == words[i - period]:
            run, i = run + 1, i - 1
        copies = run // period + 1
        if copies > best[0] and run + period >= MIN_TRAILING_WORDS:
            best = (copies, period)
    return best


def repetition(text: str, thresholds: Thresholds = Thresholds()) -> str | None:
    """A loop in ``text``, said as what repeats, or None."""
    words = _WORD.findall(text.lower())
    if not words:
        return None
    copies, period = _trailing_loop(words)
    if copies >= thresholds.sentence_repeats:
        return f"it ends saying {' '.join(words[-period:])[:60]!r} {copies} times over"
    sentences = [" ".join(_WORD.findall(s.lower())) for s in _SENTENCE.findall(text)]
    copies, period, sentence = _longest_cycle([s for s in sentences if s])
    if copies >= thresholds.sentence_repeats and len(sentence.split()) * period >= MIN_LOOP_WORDS:
        what = "a sentence" if period == 1 else f"a cycle of {period} sentences"
        return f"{what} said {copies} times in a row: {sentence[:60]!r}"
    tail = words[int(len(words) * (1 - TAIL)) :]
    if len(tail) >= TAIL_MIN_WORDS:
        grams = [tuple(tail[i : i + 4]) for i in range(len(tail) - 3)]
        novelty = len(set(grams)) / len(grams)
        if novelty < thresholds.tail_novelty:
            return f"the last {TAIL:.0%} of the words repeat (distinct 4-grams {novelty:.0%})"
    return None


_SCRIPTS = {
    "Latin": re.compile(r"[A-Za-z\u00C0-\u024F\u1E00-\u1EFF]"),
    "Han": re.compile(r"[\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\U00020000-\U0002FFFF]"),
    "Kana": re.compile(r"[\u3040-\u30FF]"),
    "Hangul": re.compile(r"[\uAC00-\uD7AF\u1100-\u11FF]"),
    "Cyrillic": re.compile(r"[\u0400-\u04FF]"),
    "Arabic": re.compile(r"[\u0600-\u06FF]"),
    "Devanagari": re.compile(r"[\u0900-\u097F]"),
    "Hebrew": re.compile(r"[\u0590-\u05FF]"),
    "Thai": re.compile(r"[\u0E00-\u0E7F]"),
}
_GREEK = re.compile(r"[\u0370-\u03FF\u1F00-\u1FFF]")  # alpha, beta, pi: math here, never a language


def scripts(text: str) -> Counter:
    """Letters per script, over words of three or more letters, LaTeX and inline math left out
    (letters of a script not named here count as Other)."""
    letters = "".join(_LONG_WORD.findall(_LATEX.sub(" ", text)))
    if letters.isascii():  # the common case, without a scan per script
        return Counter({"Latin": len(letters)}) if letters else Counter()
    counts = Counter({name: len(pattern.findall(letters)) for name, pattern in _SCRIPTS.items()})
    counts["Other"] = len(letters) - sum(counts.values()) - len(_GREEK.findall(letters))
    return +counts


def language(question: str, text: str, thresholds: Thresholds = Thresholds()) -> str | None:
    if question.isascii() and text.isascii():
        return None  # one script
    asked = scripts(question)
    written = scripts(text)
    total = sum(written.values())
    if not asked or not total:
        return None
    home = asked.most_common(1)[0][0]
    if home == "Han" and asked.get("Kana"):  # Japanese writes Han and kana together
        home = "Kana"
    allowed = {"Kana", "Han"} if home == "Kana" else {home}
    other = total - sum(written[s] for s in allowed)
    if other / total >= thresholds.language_share:
        found = ", ".join(f"{s} {n / total:.0%}" for s, n in written.most_common(3))
        return f"the question is in {home} script; the long thought is {found}"
    return None
