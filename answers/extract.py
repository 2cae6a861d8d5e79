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
_CLAIM_END = re.compile(r"[.?!:;](?:\s|$)|\n")  # where the sentence of an uncommitted phrase ends
_JOIN = re.compile(r"\s*(?:,\s*(?:or|and)?|or|and)\s*(?=\$|\\\()")  # between two delimited maths


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


def boxes(text: str) -> list[str]:
    """The contents of every closed, outermost box, in order (one linear pass, as ``last_boxed``)."""
    box_starts = {m.end() - 1 for m in _BOX_OPEN.finditer(text)}
    found: list[tuple[int, int]] = []
    stack: list[int] = []
    if box_starts:
        for j, ch in enumerate(text):
            if ch == "{":
                stack.append(j)
            elif ch == "}" and stack:
                i = stack.pop()
                if i in box_starts:
                    while found and found[-1][0] > i:  # a box inside this one: the outer box is the answer
                        found.pop()
                    found.append((i, j))
    return [text[i + 1 : j].strip() for i, j in found]


def final_boxes(text: str, gap: int = 200) -> list[str]:
    """The boxes of the final answer section: the last run of boxes, each at most ``gap``
    characters of text after the one before (``\\boxed{2}`` and ``\\boxed{3}`` for the roots 2, 3)."""
    starts = [m.start() for m in _BOX_OPEN.finditer(text)]
    contents = boxes(text)
    if len(contents) != len(starts):  # nested or unclosed boxes: the last one alone
        last = last_boxed(text)
        return [last] if last else []
    run = len(starts) - 1
    while run > 0 and starts[run] - starts[run - 1] - len(contents[run - 1]) <= gap + 8:
        run -= 1
    return contents[run:]


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


def _joined_maths(rest: str) -> str | None:
    """``$x = 3$ or $x = -3$``: delimited maths joined by "or", "and" or commas, joined by " or "
    (at most eight, each found by its closing delimiter: linear)."""
    found: list[str] = []
    pos = 0
    for _ in range(8):
        chunk = rest[pos:]
        pair = next(((left, right) for left, right in _PAIRS if chunk.startswith(left)), None)
        if pair is None:
            break
        end = _closing(chunk, pair[1], len(pair[0]))
        if end <= 0:
            break
        found.append(_money(chunk[len(pair[0]) : end].strip()))
        pos += end + len(pair[1])
        if (joined := _JOIN.match(rest, pos)) is None:
            break
        pos = joined.end()
    return " or ".join(found) if len(found) > 1 else None


def _phrase_head(rest: str) -> str:
    """What follows an answer phrase, its markup and a repeated "is" left out."""
    rest = rest[:_SNIPPET].lstrip(" :*_\t")
    return rest[3:].lstrip() if rest.lower().startswith("is ") else rest


def _phrase_value(rest: str) -> str | None:
    """The answer after a phrase: delimited math, else the text up to the end of the sentence."""
    rest = _phrase_head(rest)
    if (several_maths := _joined_maths(rest)) is not None:
        return several_maths
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


_HYPOTHETICAL = re.compile(r"\b(?:if|suppose|supposing|assume|assuming|whether|unless)\s+$")
_UNCOMMITTED = re.compile(
    r"^(?:not\b|n't|an?\s|the\s|some\s|any\s|always\b|never\b|between\b|in the form\b|to be\b|that\b)", re.I
)
_TENTATIVE = re.compile(r",?\s*\b(?:but|however|or is it|wait)\b|\?", re.I)


def _committed(text: str, lower: str) -> str | None:
    """The value of the last answer phrase the text commits to: phrases in a hypothetical ("if the
    answer were 5"), negated ("the answer is not 7"), instruction echoes ("the answer is an integer
    between 0 and 999") and tentative claims ("the answer is 15, but let's check") are passed over
    for the one before; at most ``_MAX_PHRASES`` phrases are looked at, from the end."""
    limit = len(lower)
    for _ in range(_MAX_PHRASES):
        at, phrase = max(((lower.rfind(p, 0, limit), p) for p in _PHRASES), key=lambda x: x[0])
        if at < 0:
            return None
        limit = at
        if _HYPOTHETICAL.search(lower[max(0, at - 12) : at]):
            continue
        rest = text[at + len(phrase) :]
        value = _phrase_value(rest)
        head = _phrase_head(rest)
        if value is None or _UNCOMMITTED.match(head) or _TENTATIVE.search(value) or _prose(value):
            continue
        return value
    return None


_MAX_PHRASES = 20
_LONG_WORDS = re.compile(r"[A-Za-z]{3,}")


def _prose(value: str) -> bool:
    """Words, not a value: three or more words and no digit, no LaTeX ("expected as a fraction in
    lowest terms"); a name or a word answer ("Evelyn", "no solution") is not prose."""
    value = value[:200]
    return len(_LONG_WORDS.findall(value)) >= 3 and not re.search(r"[\d\\$]", value) and not number_words(value)


_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen".split()
    )
} | {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}


def number_words(text: str) -> str | None:
    """A number written in English words ("twelve", "one hundred and five", "twenty-one thousand") as
    digits; None when the text is anything else."""
    words = text.lower().replace("-", " ").replace(",", " ").split()
    if not words or len(words) > 12:
        return None
    total = current = 0
    seen = False
    for word in words:
        if word == "and" and seen:
            continue
        if word in _NUMBER_WORDS:
            current += _NUMBER_WORDS[word]
        elif word == "hundred" and seen:
            current *= 100
        elif word in _SCALES and seen:
            total, current = total + current * _SCALES[word], 0
        else:
            return None
        seen = True
    return str(total + current) if seen else None


_LETTER = re.compile(r"^(?:\(([A-Ea-e])\)|([A-E])(?=[.):\s]|$))[.):]?\s*(.*)$", re.DOTALL)
_GOLD_LETTER = re.compile(r"^(?:\\text\{)?\(?([A-Ea-e])\)?\}?$")
_NAMED = re.compile(r"^\s*[A-Za-z](?:_\{?\w+\}?)?\s*=\s*")
_OR = re.compile(r"\s+(?:or|and)\s+|\s*\\(?:text\{\s*(?:or|and)\s*\}|quad|qquad)\s*")


_THOUSANDS = re.compile(r"\d{3}(?!\d)")  # 1,000: a separator, not a list


def top_level_parts(value: str) -> list[str]:
    """``value`` split at its commas and semicolons outside brackets (linear)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(value):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch in ",;" and depth == 0 and not (i and value[i - 1].isdigit() and _THOUSANDS.match(value, i + 1)):
            parts.append(value[start:i].strip())
            start = i + 1
    return [*parts, value[start:].strip()]


def several(gold: str) -> bool:
    """A gold of several values: a list (``2, 3``), a set (``\\{1, 2\\}``) or a tuple of them."""
    gold = clean_gold(gold)
    inner = gold[1:-1] if gold.startswith("(") and gold.endswith(")") else ""
    return gold.startswith("\\{") or len(top_level_parts(gold)) > 1 or len(top_level_parts(inner)) > 1


def _words(value: str) -> str | None:
    """Number words as digits: "seven", or "seven apples" (the unit left out)."""
    plain = value.strip().rstrip(".")
    return number_words(plain) or (number_words(plain.rsplit(" ", 1)[0]) if " " in plain else None)


def _values(value: str, gold: str) -> str:
    """Several values as the gold joins them: "x = 3 or x = -3" for "3, -3"; "x=2, y=-1" for the
    tuple "(2, -1)"."""
    parts = [p for part in top_level_parts(value) for p in _OR.split(part) if p.strip()]
    joined = ", ".join(p for p in (_NAMED.sub("", p).strip().strip("$") for p in parts) if p)
    tuple_gold = gold.startswith("(") and gold.endswith(")") and len(top_level_parts(gold[1:-1])) > 1
    return f"({joined})" if tuple_gold and not joined.startswith("(") else joined


def _fit(value: str, gold: str | None) -> str:
    """An extracted value put in the form of its gold: a letter for a letter gold ("(D) 12" for D),
    the value for a value gold ("(D) 12" for 12), digits for number words, several values joined as
    the gold joins them."""
    if gold is None:
        return value
    gold = clean_gold(gold)
    letter = _LETTER.match(value.strip())
    if _GOLD_LETTER.match(gold):
        return (letter.group(1) or letter.group(2)).upper() if letter and len(value.strip()) <= 200 else value
    if letter and letter.group(1) and letter.group(3):  # "(D) 12" for the value 12
        value = letter.group(3)
    if words := _words(value):
        return words
    return _values(value, gold) if several(gold) and "=" not in gold else value


def extract_answer(text: str, gold: str | None = None) -> str | None:
    """The answer a model's output commits to, or None when it states none explicitly. With the
    ``gold``, the answer is put in its form (:func:`_fit`): every box of the final answer section
    when the gold holds several values, a letter for a letter, digits for number words."""
    text = text[-MAX_OUTPUT_CHARS:]
    value = _explicit(text, gold)
    return None if value is None else (_fit(value, gold) or None)


def _explicit(text: str, gold: str | None) -> str | None:
    if gold is not None and several(gold) and len(found := final_boxes(text)) > 1:
        return ", ".join(found)
    if (boxed := last_boxed(text)) is not None:
        return boxed or None
    lower = text.lower()
    if (value := _committed(text, lower)) is not None:
        return value
    lines = text[-_SNIPPET * 8 :].splitlines()
    for line in reversed(lines):
        if (m := _ANSWER_LINE.match(line[:_SNIPPET])) and (value := _phrase_value(m.group(1))) is not None:
            return value
    if (at := text.rfind("####")) >= 0:
        value = text[at + 4 :][:_SNIPPET].strip().splitlines()
        if value and value[0].strip():
            return value[0].strip().rstrip(".").replace(",", "") if _is_number(value[0]) else value[0].strip()
    if is_bare_answer(text) or number_words(text.strip().rstrip(".")):
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
    """What math-verify's own extraction reads when no explicit answer is found: the last lines, and
    only what follows the sentence of the last answer phrase (one the text did not commit to: "the
    answer is not 7", "the answer is an integer between 0 and 999"), whose value it would read."""
    text = text[-MAX_OUTPUT_CHARS:]
    lower = text.lower()
    at, phrase = max(((lower.rfind(p), p) for p in _PHRASES), key=lambda x: x[0])
    if at >= 0:
        rest = text[at + len(phrase) :]
        end = _CLAIM_END.search(rest[:_SNIPPET])
        text = rest[end.end() :] if end else rest[_SNIPPET:]
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
