"""``--judge-rescue SPEC``: an LLM judge for the rule-based verifier's negatives.

When the verifier says "not equal" and an answer was found, the judge is asked whether the answer
states the same value as the reference (``agents.rescue``: the problem, the gold,
the extracted answer and the last ``SECTION_CHARS`` characters of the output). Each graded row then
says where its verdict came from (``verdict_source``: rule or judge) and what the judge said
(``rescue``: rescued, refused, unreadable; ``abstain`` when the gold cannot be read, and then the
judge is not asked: a gold no one can read makes nothing correct). A reply that cannot be read is
asked again once with the strict reminder, then left unreadable (never a rescue).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.rescue import RESCUE_STRICT, SAMPLING, SECTION_CHARS, messages, parse_rescue


@dataclass
class _Asked:
    id: str
    question: str
    gold: str
    answer: str
    section: str


def rescue(graded: list[dict[str, Any]], *, judge: str, out: Path, golds_parse, concurrency: int = 8) -> dict[str, int]:
    """Ask the judge about every row the rule called wrong with an answer found; mark each row's
    verdict source; return the counts (asked, rescued, refused, unreadable, abstained)."""
    from eval.judged import Speaker, run_judged

    for row in graded:
        row["verdict_source"] = "rule"
    candidates = [r for r in graded if not r["correct"] and r.get("extracted")]
    readable = golds_parse([str(r["answer"]) for r in candidates])
    counts = {"asked": 0, "rescued": 0, "refused": 0, "unreadable": 0, "abstained": 0}
    asked = []
    for row, ok in zip(candidates, readable, strict=True):
        if not ok:
            row["rescue"] = "abstain"
            counts["abstained"] += 1
        else:
            asked.append(row)
    if not asked:
        return counts
    items = [
        _Asked(
            f"{r['problem_id']}#{r.get('sample', 0)}",
            r["question"],
            str(r["answer"]),
            r["extracted"],
            r["output"][-SECTION_CHARS:],
        )
        for r in asked
    ]
    speaker = Speaker(
        judge,
        SAMPLING,
        "rescue.jsonl",
        lambda i, answer: messages(i.question, i.gold, answer, i.section),
        readable=lambda text: parse_rescue(text) is not None,
        strict=RESCUE_STRICT,
    )
    judged = run_judged(items, out=out, judge=speaker, model=None, given=lambda i: i.answer, concurrency=concurrency)
    for row, j in zip(asked, judged, strict=True):
        verdict = parse_rescue(j.judgment["output"])
        counts["asked"] += 1
        row["judge_output"] = j.judgment["output"]
        if verdict is None:
            row["rescue"] = "unreadable"
            counts["unreadable"] += 1
        elif verdict:
            row["rescue"], row["correct"], row["verdict_source"] = "rescued", True, "judge"
            counts["rescued"] += 1
        else:
            row["rescue"] = "refused"
            counts["refused"] += 1
    return counts
