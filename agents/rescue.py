"""The rescue judge (``--judge-rescue SPEC``): asked whether a final answer the rule-based verifier
called wrong states the same value as the reference. Its prompt, its reply's parser and, for
synthesis, ``Rescuer`` live here, below both users: ``journey eval math`` (``eval/rescue.py``) and
synthesis verification (``graphs/common.check_final``).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from agents.models import Sampling

RESCUE_SYSTEM = (
    "You compare a student's final answer to a math problem with the reference answer. Decide whether they "
    "state the same mathematical value or set of values, allowing any equivalent form (fractions and decimals, "
    "units written out, reordered lists, words for numbers). Do not solve the problem again and do not judge "
    "the reasoning. Reply with one word on the first line: SAME or DIFFERENT. Then one sentence saying why."
)
RESCUE_USER = "Problem: {question}\nReference answer: {gold}\nStudent's final answer: {answer}\nEnd of the student's output:\n{section}"
RESCUE_STRICT = "Reply with one word only: SAME or DIFFERENT."

SECTION_CHARS = 1500  # the end of the output the judge reads
ROLE = "rescue_judge"  # in synthesis: the judge's role, and so the source its verification events name
# the judge answers in a word and a line: greedy, short
SAMPLING = Sampling(temperature=0.0, max_tokens=64)
_VERDICT = re.compile(r"^\W*(same|different)\b", re.IGNORECASE)


def prompt_digest() -> str:
    """The digest of the judge's prompt (system, user template, strict reminder): a config records it."""
    return hashlib.sha256("\x1f".join((RESCUE_SYSTEM, RESCUE_USER, RESCUE_STRICT)).encode()).hexdigest()[:16]


def parse_rescue(text: str) -> bool | None:
    """True for SAME, False for DIFFERENT (the first line's first word), None for anything else."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    found = _VERDICT.match(first)
    return None if found is None else found.group(1).lower() == "same"


def messages(question: str, gold: str, answer: str, output: str) -> list:
    """The judge's messages: the problem, the reference, the answer and the output's last characters."""
    user = RESCUE_USER.format(question=question, gold=gold, answer=answer, section=output[-SECTION_CHARS:])
    return [SystemMessage(RESCUE_SYSTEM), HumanMessage(user)]


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
