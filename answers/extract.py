"""Where a text states its answer, found the way models write answers.

:func:`extract_answer` tries, in order, and returns the first that matches:

The caller grades the answer section (:func:`answer_section`: what follows a ``<think>`` block, or
none when the block never closes). Then:

1. the last closed ``\\boxed{...}`` or ``\\fbox{...}`` (braces balanced; also ``\\boxed 5``);
2. the last "final answer is X" / "the answer is X" / "final answer: X" phrase (the Minerva format
   "Final Answer: The final answer is $5$. I hope it is correct." gives ``5``, not the phrase);
3. the last "Answer: X" line;
4. the last GSM8K "#### X";
5. the whole text, when it is a bare answer: one short line of math, no prose (``\\frac{1}{2}``,
   ``x \\geq 3``, ``(1, 2)``; a word inside ``\\text{}`` is fine).

When none matches it returns None, and the grader hands the output's tail to math-verify's own
extraction (LaTeX and plain expressions) in a worker process (``answers.verify``). Golds go through
:func:`clean_gold`: a whole solution yields its last box, ``$...$`` around an answer is dropped.

Every function here runs in time linear in the text's length: outputs are untrusted and can be long
and degenerate (200,000 characters of ``\\boxed{``). Phrases are found with ``rfind`` on the text,
and regular expressions only ever see one bounded line.
"""

from __future__ import annotations

import re

MAX_OUTPUT_CHARS = 200_000  # outputs are read from their end: a longer one is cut from the front
TAIL_CHARS = 2_000  # what math-verify's extraction reads when no explicit answer is found
_SNIPPET = 1_000  # an answer after a phrase is read from at most this many characters

_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BOX_BARE = re.compile(r"\\boxed\s+([^\s${}\\]+)")  # \boxed 5: one token, no braces
_PHRASES = ("final answer is", "the answer is", "final answer:")
_ANSWER_LINE = re.compile(r"\s*(?:\*\*|__)?\s*answer\s*(?:\*\*|__)?\s*[:：]\s*(.*)", re.IGNORECASE)
_SENTENCE_END = re.compile(r"\.(?:\s|$)|\n|(?<=\S)\s+(?:I hope|which|because|since)\b")
_PAIRS = (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$"))


def last_boxed(text: str) -> str | None:
    """Content of the last closed ``\\boxed{...}`` (or ``\\fbox{...}``, or ``\\boxed 5``); None if none.

    A box left unclosed at the end (a reply cut by its token limit) is skipped for the one before.
    One pass with a stack of open braces, so nested and unclosed boxes cost linear time.
    """
    box_starts = {m.end() - 1 for m in _BOX_OPEN.finditer(text)}  # positions of a box's "{"
    best: tuple[int, int] | None = None  # (start, end) of the closed box that starts last
    if box_starts:
        stack: list[int] = []
        for j, ch in enumerate(text):
            if ch == "{":
                stack.append(j)
            elif ch == "}" and stack:
                i = stack.pop()
                if i in box_starts and (best is None or i > best[0]):
                    best = (i, j)
    bares = list(_BOX_BARE.finditer(text))
    bare = bares[-1] if bares else None
    if bare is not None and (best is None or bare.start() > best[0]):
        return bare.group(1).rstrip(".,;")
    return None if best is None else text[best[0] + 1 : best[1]].strip()


def _closing(value: str, right: str, start: int) -> int:
    """Where ``right`` closes, skipping escaped ones (``\\$`` is a dollar sign, not a delimiter); -1 if never."""
    at = value.find(right, start)
    while at > 0 and right == "$" and value[at - 1] == "\\":
        at = value.find(right, at + 1)
    return at


def _delimited(value: str) -> str | None:
    """The math between the delimiters a value opens with (``$5$``, ``\\(5\\)``), if it opens with one."""
    for left, right in _PAIRS:
        if value.startswith(left):
            end = _closing(value, right, len(left))
            return _money(value[len(left) : end].strip()) if end > 0 else None
    return None


def _money(value: str) -> str:
    """``\\$32`` is 32 (dollars): the sign is the unit, not part of the number."""
    return value[2:].strip() if value.startswith("\\$") else value


def _phrase_value(rest: str) -> str | None:
    """The answer after a phrase: delimited math, else the text up to the end of the sentence."""
    rest = rest[:_SNIPPET].lstrip(" :*_\t")
    if rest.lower().startswith("is "):
        rest = rest[3:].lstrip()
    if (math := _delimited(rest)) is not None:
        return math or None
    end = _SENTENCE_END.search(rest)
    value = (rest[: end.start()] if end else rest).strip().strip("*_").strip()
    if (math := _delimited(value)) is not None:
        return math or None
    return value.rstrip(".,;:").strip() or None


# where open models put their thinking: the answer is graded on what follows it
THINKING = (
    ("<think>", "</think>"),
    ("<thinking>", "</thinking>"),
    ("<reasoning>", "</reasoning>"),
    ("<|begin_of_thought|>", "<|end_of_thought|>"),
    ("\u25c1think\u25b7", "\u25c1/think\u25b7"),
)


def answer_section(text: str) -> str | None:
    """The part of an output that is graded: what follows its thinking block (the whole text when
    it has none); None when a thinking block opens and never closes (the budget ran out), whose
    half-finished thought states no answer."""
    for _, close in THINKING:
        if (at := text.rfind(close)) >= 0:
            return text[at + len(close) :]
    if any(open_ in text for open_, _ in THINKING):
        return None
    return text


def extract_answer(text: str) -> str | None:
    """The answer a model's output commits to, or None when it states none explicitly."""
    text = text[-MAX_OUTPUT_CHARS:]
    if (boxed := last_boxed(text)) is not None:
        return boxed or None
    lower = text.lower()
    at, phrase = max(((lower.rfind(p), p) for p in _PHRASES), key=lambda x: x[0])
    if at >= 0 and (value := _phrase_value(text[at + len(phrase) :])) is not None:
        return value
    lines = text[-_SNIPPET * 8 :].splitlines()
    for line in reversed(lines):
        if (m := _ANSWER_LINE.match(line[:_SNIPPET])) and (value := _phrase_value(m.group(1))) is not None:
            return value
    if (at := text.rfind("####")) >= 0:
        value = text[at + 4 :][:_SNIPPET].strip().splitlines()
        if value and value[0].strip():
            return value[0].strip().rstrip(".").replace(",", "") if _is_number(value[0]) else value[0].strip()
    if is_bare_answer(text):
        return text.strip().strip("$").strip()
    return None


_COMMAND = re.compile(r"\\[A-Za-z]+")
_TEXT_ARG = re.compile(r"\\(?:text|mathrm|textbf|mbox|mathbf|operatorname|begin|end)\{[^{}]*\}")
_WORD = re.compile(r"[A-Za-z]{2,}")


def is_bare_answer(text: str) -> bool:
    """One short line of math with no prose: the whole text is the answer."""
    text = text.strip().strip("$").strip()
    if not text or len(text) > 200 or "\n" in text:
        return False
    return _WORD.search(_COMMAND.sub(" ", _TEXT_ARG.sub(" ", text))) is None


def _is_number(text: str) -> bool:
    return re.fullmatch(r"\s*[-+]?[\d,]+(?:\.\d+)?\.?\s*", text[:100]) is not None


def tail(text: str) -> str:
    """What math-verify's own extraction reads when no explicit answer is found: the last lines."""
    return text[-TAIL_CHARS:]


def clean_gold(gold: str) -> str:
    """A reference answer as the verifier compares it: a whole solution's last box, ``$...$`` dropped."""
    gold = gold.strip()
    if "\\boxed" in gold or "\\fbox" in gold:
        gold = last_boxed(gold) or gold
    math = _delimited(gold)
    if math and gold.endswith(("$", "\\)", "\\]")):
        return math
    return gold
