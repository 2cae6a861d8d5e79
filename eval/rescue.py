"""``--judge-rescue SPEC``: an LLM judge for the rule-based verifier's negatives.

When the verifier says "not equal" and an answer was found, the judge is asked whether the answer
states the same value as the reference (``eval.judge_prompts.RESCUE_*``: the problem, the gold,
the extracted answer and the last ``SECTION_CHARS`` characters of the output). Each graded row then
says where its verdict came from (``verdict_source``: rule or judge) and what the judge said
(``rescue``: rescued, refused, unreadable; ``abstain`` when the gold cannot be read, and then the
judge is not asked: a gold no one can read makes nothing correct). A reply that cannot be read is
asked again once with the strict reminder, then left unreadable (never a rescue).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from agents.models import Sampling
from eval.judge_prompts import RESCUE_STRICT, RESCUE_SYSTEM, RESCUE_USER

SECTION_CHARS = 1500
ROLE = "rescue_judge"  # in synthesis: the judge's role, and so the source its verification events name
# the judge answers in a word and a line: greedy, short
SAMPLING = Sampling(temperature=0.0, max_tokens=64)


def prompt_digest() -> str:
    """The digest of the judge's prompt (system, user template, strict reminder): a config records it."""
    import hashlib

    return hashlib.sha256("\x1f".join((RESCUE_SYSTEM, RESCUE_USER, RESCUE_STRICT)).encode()).hexdigest()[:16]


_VERDICT = re.compile(r"^\W*(same|different)\b", re.IGNORECASE)


def parse_rescue(text: str) -> bool | None:
    """True for SAME, False for DIFFERENT (the first line's first word), None for anything else."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    found = _VERDICT.match(first)
    return None if found is None else found.group(1).lower() == "same"


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
        lambda i, answer: [
            SystemMessage(RESCUE_SYSTEM),
            HumanMessage(RESCUE_USER.format(question=i.question, gold=i.gold, answer=answer, section=i.section)),
        ],
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


class Rescuer:
    """``journey synth --judge-rescue SPEC``: the same judge, same prompt, inside synthesis.

    ``check`` is called on a final answer the rule-based verifier called wrong; it returns whether
    the answer is rescued and the verification event that says so: role ``rescue_judge`` (the
    verdict's source), the judge's model, its reply in ``reasoning`` and its tokens. A reference the
    verifier cannot read abstains (the rule's wrong stands, the judge is not asked); a reply that
    cannot be read is asked once more with the strict reminder, then rescues nothing.
    """

    def __init__(self, model, verifier):
        self.model, self.verifier = model, verifier
        self._golds: dict[str, bool] = {}

    async def _gold_reads(self, gold: str) -> bool:
        import asyncio

        if gold not in self._golds:
            [self._golds[gold]] = await asyncio.to_thread(self.verifier.golds_parse, [gold])
        return self._golds[gold]

    async def check(self, problem: dict[str, Any], answer: str, section: str):
        from agents.models import complete
        from corpus.events import Event

        gold = str(problem["answer"])
        said = f"The final answer {answer} does not check out by the rules"
        if not await self._gold_reads(gold):
            text = f"{said}; the reference cannot be read, so the rescue judge was not asked (abstain)."
            return False, Event(kind="verification", role="verifier", text=text, answer=answer, correct=False)
        messages = [
            SystemMessage(RESCUE_SYSTEM),
            HumanMessage(
                RESCUE_USER.format(
                    question=problem["question"], gold=gold, answer=answer, section=section[-SECTION_CHARS:]
                )
            ),
        ]
        reply = await complete(self.model, messages)
        replies = [reply]
        if parse_rescue(reply.text) is None:
            *head, last = messages
            replies.append(await complete(self.model, [*head, HumanMessage(f"{last.content}\n\n{RESCUE_STRICT}")]))
        verdict = parse_rescue(replies[-1].text)
        found = {True: "the same as", False: "different from", None: "unreadable: its reply could not be read, for"}
        return verdict is True, Event(
            kind="verification",
            role=ROLE,
            model=replies[-1].model,
            text=f"{said}; the rescue judge finds it {found[verdict]} the reference {gold}.",
            answer=answer,
            correct=verdict is True,
            tokens_in=sum(r.tokens_in for r in replies),
            tokens_out=sum(r.tokens_out for r in replies),
            latency_s=round(sum(r.latency_s for r in replies), 3),
            calls=len(replies),
            reasoning=replies[-1].text,
        )
