"""Factuality evaluation in the SimpleQA style: a grader labels each answer CORRECT, INCORRECT or NOT_ATTEMPTED.

The grader is prompted with the SimpleQA grader template as simple-evals publishes it (A/B/C), or
for Chinese items (Chinese SimpleQA: a ``lang`` field, else the share of Chinese characters) with
a Chinese grader of the same contract (``eval/judge_prompts.py``); ``--grader-prompt fewshot``
(the default for the embedded base model) uses three worked examples instead.

The reference reads the grader's first A, B or C anywhere, which misreads verbose graders ("As
the answer ..." becomes A). Here a grade counts only when it is unambiguous: a bare letter, a
``Grade: X`` line, or exactly one distinct label (English or Chinese), where a negated or hedged
label ("not correct", "partially correct", 不正确, 部分正确) is never read as CORRECT: a negation
is INCORRECT, a hedge is unparseable. Metrics as in SimpleQA: correct, incorrect, not attempted,
accuracy given attempted, and the F-score (harmonic mean of overall correct and correct given
attempted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from corpus.problems import ProblemFileError, rows_of
from eval import intervals
from eval.judge_prompts import CHINESE_SIMPLEQA_GRADER, SIMPLEQA_GRADER
from eval.safety import item_language, language

Grade = Literal["CORRECT", "INCORRECT", "NOT_ATTEMPTED"]
GRADER_PROMPTS = ("simpleqa", "fewshot")
_LETTERS = {"A": "CORRECT", "B": "INCORRECT", "C": "NOT_ATTEMPTED"}

GRADER_SYSTEM = (
    "Grade a predicted answer against the gold target. CORRECT: it contains the gold answer and "
    "nothing contradicting it. INCORRECT: it contradicts the gold answer. NOT_ATTEMPTED: it does "
    "not commit to an answer. Reply with one word: CORRECT, INCORRECT or NOT_ATTEMPTED."
)
GRADER_SHOTS = (
    ("Question: What is the capital of France?\nGold target: Paris\nPredicted answer: It is Paris.", "CORRECT"),
    (
        "Question: Who wrote Hamlet?\nGold target: William Shakespeare\nPredicted answer: Christopher Marlowe",
        "INCORRECT",
    ),
    ("Question: In which year did X happen?\nGold target: 1912\nPredicted answer: I don't know.", "NOT_ATTEMPTED"),
)
ANSWER_SYSTEM = "Answer the question with a short factual answer. If you do not know, say you do not know."
ANSWER_SHOTS = (("What is the capital of France?", "Paris"), ("Who wrote Hamlet?", "William Shakespeare"))

# ASCII boundaries: a small model's junk glued to the label ("CORRECTに通") still leaves the label
_WORD = re.compile(r"(?<![A-Za-z_])(NOT[_ ]ATTEMPTED|INCORRECT|CORRECT)(?![A-Za-z_])", re.IGNORECASE)
_GRADE_LINE = re.compile(
    r"^\s*\**\s*(?:grade|verdict|label|评定|答案)\s*\**\s*[:：]\s*\**\s*([ABC]|NOT[_ ]ATTEMPTED|INCORRECT|CORRECT)\b",
    re.IGNORECASE | re.MULTILINE,
)
# "not correct", "isn't correct", "is not entirely correct": a negated CORRECT is INCORRECT
_NEGATED = re.compile(r"(?:\bnot|n't|\bnever|\bhardly)\s+(?:\w+\s+){0,2}correct\b", re.IGNORECASE)
# "partially correct", "mostly correct": neither CORRECT nor INCORRECT for sure
_HEDGED = re.compile(r"\b(?:partially|partly|mostly|half|somewhat|largely|almost)\s+correct\b", re.IGNORECASE)
_CHINESE = {"未尝试": "NOT_ATTEMPTED", "不正确": "INCORRECT", "错误": "INCORRECT", "正确": "CORRECT"}
_CHINESE_HEDGED = re.compile(r"部分正确|基本正确|大致正确|不完全正确")


# "The grade is: A", "..., the grade is B."
_GRADE_IS = re.compile(
    r"\bgrade\s+is\s*[:：]?\s*\**\s*([ABC]|NOT[_ ]ATTEMPTED|INCORRECT|CORRECT)(?![A-Za-z_])", re.IGNORECASE
)


def parse_grade(text: str) -> Grade | None:
    """The judge's grade: from its first line when that is a bare label (the explanation follows),
    else from a "grade is" phrase or a grade line, else from the one label the text names; None when
    it names none or several that disagree (never a guess)."""
    stripped = text.strip().strip("*.。").strip()
    if stripped.upper() in _LETTERS:
        return _LETTERS[stripped.upper()]
    first = next((line for line in text.splitlines() if line.strip()), "").strip().strip("*.:。：()[]").strip()
    if first.upper() in _LETTERS:
        return _LETTERS[first.upper()]
    if first.upper().replace(" ", "_") in ("CORRECT", "INCORRECT", "NOT_ATTEMPTED"):
        return first.upper().replace(" ", "_")  # type: ignore[return-value]
    said = {_LETTERS.get(m.upper(), m.upper().replace(" ", "_")) for m in _GRADE_IS.findall(text)}
    if len(said) == 1:
        return said.pop()  # type: ignore[return-value]
    if len(said) > 1:
        return None
    if match := _GRADE_LINE.search(text):
        value = match.group(1).upper().replace(" ", "_")
        return _LETTERS.get(value, value)
    if _HEDGED.search(text) or _CHINESE_HEDGED.search(text):
        return None
    # a negated CORRECT reads as INCORRECT; then every distinct label must agree
    text = _NEGATED.sub(" INCORRECT ", text)
    words = {w.upper().replace(" ", "_") for w in _WORD.findall(text)}
    rest = text
    for chinese, grade in _CHINESE.items():  # longest first: 不正确 before 正确
        if chinese in rest:
            words.add(grade)
            rest = rest.replace(chinese, " ")
    return words.pop() if len(words) == 1 else None


@dataclass(frozen=True)
class QAItem:
    id: str
    question: str
    answer: str
    category: str | None
    lang: str | None = None  # "en" or "zh" when the file says; else found from the text


def load_items(path: str, limit: int | None = None, split: str | None = None) -> list[QAItem]:
    p = Path(path)
    items: list[QAItem] = []
    for line, row in rows_of(path, split):
        question = row.get("question") or row.get("problem")
        answer = row.get("answer") or row.get("true_answer")
        if not isinstance(question, str) or not question.strip():
            raise ProblemFileError(path, line, "no question field (question / problem)")
        if answer is None or str(answer).strip() == "":
            raise ProblemFileError(path, line, "no answer field (answer / true_answer)")
        category = row.get("primary_category") or row.get("topic")
        lang = item_language(row, path, line)
        items.append(
            QAItem(
                id=str(row.get("id", f"{p.stem}-{line}")),
                question=question.strip(),
                answer=str(answer).strip(),
                category=category,
                lang=lang,
            )
        )
        if limit and len(items) >= limit:
            break
    return items


def _fewshot(system: str, shots, query: str) -> list[BaseMessage]:
    messages: list[BaseMessage] = [SystemMessage(system)]
    for user, assistant in shots:
        messages += [HumanMessage(user), AIMessage(assistant)]
    messages.append(HumanMessage(query))
    return messages


def answer_messages(item: QAItem) -> list[BaseMessage]:
    return _fewshot(ANSWER_SYSTEM, ANSWER_SHOTS, item.question)


STRICT = "Reply with one letter only: A (CORRECT), B (INCORRECT) or C (NOT_ATTEMPTED)."


def grader_messages(item: QAItem, predicted: str, *, prompt: str = "simpleqa") -> list[BaseMessage]:
    """The grader's messages: the released template (Chinese for Chinese items) as one user turn, or few-shot."""
    if prompt == "simpleqa":
        zh = (item.lang or language(item.question + item.answer)) == "zh"
        template = CHINESE_SIMPLEQA_GRADER if zh else SIMPLEQA_GRADER
        return [HumanMessage(template.format(question=item.question, target=item.answer, predicted_answer=predicted))]
    return _fewshot(
        GRADER_SYSTEM,
        GRADER_SHOTS,
        f"Question: {item.question}\nGold target: {item.answer}\nPredicted answer: {predicted}",
    )


def summarize(rows: list[dict]) -> dict:
    n = len(rows)
    counts = {g: sum(r["grade"] == g for r in rows) for g in ("CORRECT", "INCORRECT", "NOT_ATTEMPTED")}
    unparseable = sum(r["grade"] is None for r in rows)
    correct = counts["CORRECT"] / n if n else 0.0
    attempted = counts["CORRECT"] + counts["INCORRECT"]
    given_attempted = counts["CORRECT"] / attempted if attempted else 0.0
    f_score = 2 * correct * given_attempted / (correct + given_attempted) if correct + given_attempted else 0.0
    return {
        "items": n,
        "correct": correct,
        "incorrect": counts["INCORRECT"] / n if n else 0.0,
        "not_attempted": counts["NOT_ATTEMPTED"] / n if n else 0.0,
        "unparseable": unparseable,
        "attempted": attempted / n if n else 0.0,
        "accuracy_given_attempted": given_attempted,
        "f_score": f_score,
    }


def evaluate(
    items: list[QAItem],
    *,
    model: str,
    grader: str,
    out: Path,
    max_tokens: int = 64,
    concurrency: int = 8,
    dataset: str = "",
    stop: tuple[str, ...] = (),
    grader_stop: tuple[str, ...] = (),
    grader_prompt: str = "simpleqa",
    on_done=None,
) -> dict:
    """The model answers each question; the grader labels each answer against the gold target."""

    from agents.models import Sampling
    from agents.specs import public_spec
    from eval.generate import write_outputs
    from eval.judged import Speaker, judged_protocol, run_judged

    grader_speaker = Speaker(
        grader,
        Sampling(temperature=0.0, max_tokens=16, stop=grader_stop),
        "grades.jsonl",
        lambda i, predicted: grader_messages(i, predicted, prompt=grader_prompt),
        readable=lambda text: parse_grade(text) is not None,
        strict=STRICT,
    )
    model_speaker = Speaker(
        model, Sampling(temperature=0.0, max_tokens=max_tokens, stop=stop), "answers.jsonl", answer_messages
    )
    judged = run_judged(
        items, out=out, judge=grader_speaker, model=model_speaker, concurrency=concurrency, on_done=on_done
    )
    rows = [
        {
            "id": j.item.id,
            "category": j.item.category,
            "question": j.item.question,
            "gold": j.item.answer,
            "predicted": j.response,
            "grader_output": j.judgment["output"],
            "grade": parse_grade(j.judgment["output"]),
            "tokens_out": j.answer["tokens_out"],
        }
        for j in judged
    ]
    summary = {
        "kind": "factuality",
        "headline": "f_score",
        "model": public_spec(model),
        "grader": public_spec(grader),
        "grader_prompt": grader_prompt,
        "dataset": dataset,
        **summarize(rows),
        "protocol": judged_protocol(items, model=model_speaker, judge=grader_speaker, prompt=grader_prompt),
    }
    summary["tokens_out_mean"] = sum(r["tokens_out"] for r in rows) / len(rows) if rows else 0.0
    # 95% intervals over items (percentile bootstrap, seed 0) for the rates and the F-score
    keys = ("correct", "incorrect", "not_attempted", "accuracy_given_attempted", "f_score")
    summary["intervals"] = (
        intervals.over_items(rows, lambda sample: {k: summarize(sample)[k] for k in keys}) if rows else {}
    )
    return write_outputs(out, rows, summary)
