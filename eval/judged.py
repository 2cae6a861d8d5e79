"""The pipeline of a judged evaluation (safety, factuality): a model answers the items that have no
response, a judge model reads each response, both resumable; each eval then parses the judge's
replies with its own parser and writes its rows and summary.

    responses (answered by --model, kept in ANSWERS_FILE)  ->  judgments (JUDGMENTS_FILE)  ->  rows
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage

from agents.models import Sampling
from corpus.artifacts import check_output, mark
from eval.generate import Job, run_jobs


@dataclass(frozen=True)
class Speaker:
    """A model of the pipeline: its spec, how it samples, the file its replies are kept in (a
    rerun resumes from it), and the messages it is sent for an item (and, for the judge, the response)."""

    spec: str
    sampling: Sampling
    file: str
    messages: Callable[..., list[BaseMessage]]
    # a judge: whether its reply can be read, and the reminder a reply that cannot gets, once
    readable: Callable[[str], bool] | None = None
    strict: str = ""


@dataclass(frozen=True)
class Judged:
    """One item through the pipeline: its response, where the response came from (the dataset, or
    the model), the answering call's row (None for a given response) and the judge's row."""

    item: Any
    response: str
    response_from: str
    answer: dict[str, Any] | None
    judgment: dict[str, Any]


def run_judged(
    items: Sequence[Any],
    *,
    out: Path,
    judge: Speaker,
    model: Speaker | None,
    given: Callable[[Any], str | None] = lambda item: None,
    concurrency: int = 8,
    on_done=None,
) -> list[Judged]:
    """Answer the items without a ``given`` response with ``model``, then judge every response."""
    check_output(out, "eval")  # never into a corpus, pairs or a model
    mark(out, "eval")
    common = {"concurrency": concurrency, "on_done": on_done}
    need = [i for i in items if given(i) is None]
    answers: dict[str, dict[str, Any]] = {}
    if need:
        if model is None:
            raise ValueError(f"{len(need)} items have no response; give --model to answer them")
        rows = run_jobs(
            [Job(i.id, model.messages(i)) for i in need],
            spec=model.spec,
            sampling=model.sampling,
            path=out / model.file,
            **common,
        )
        answers = {r["id"]: r for r in rows}
    responses = [given(i) if given(i) is not None else answers[i.id]["output"] for i in items]
    judgments = run_jobs(
        [Job(i.id, judge.messages(i, r)) for i, r in zip(items, responses, strict=True)],
        spec=judge.spec,
        sampling=judge.sampling,
        path=out / judge.file,
        **common,
    )
    judgments = _retry_unreadable(items, responses, judgments, judge, out, common)
    return [
        Judged(i, r, "model" if i.id in answers else "dataset", answers.get(i.id), j)
        for i, r, j in zip(items, responses, judgments, strict=True)
    ]


def judged_protocol(items, *, model: Speaker | None, judge: Speaker, prompt: str) -> dict[str, Any]:
    """The protocol record of a judged eval: the model under test (and its sampling), the judge, its
    sampling and prompt, and the items (``eval.protocol``)."""
    from eval import protocol
    from eval.generate import identity

    produced = identity(model.spec, model.sampling) if model is not None else {"model": None, "checkpoint": None}
    listed = sorted([str(i.id), json.dumps(i.__dict__, sort_keys=True, default=str)] for i in items)
    return protocol.record(
        produced_by=produced,
        decoding={"model": dict(vars(model.sampling)) if model else None, "judge": dict(vars(judge.sampling))},
        prompt={"judge": identity(judge.spec, judge.sampling)["model"], "form": prompt, "strict": judge.strict},
        dataset={"items": len(items), "sha256": protocol.digest(listed)},
        engine=protocol.engine_record("endpoint", model.spec if model else judge.spec),
    )


def _strict(messages: list[BaseMessage], reminder: str) -> list[BaseMessage]:
    """The same messages with the reminder added to the last user turn."""
    *head, last = messages
    return [*head, HumanMessage(f"{last.content}\n\n{reminder}")]


def _retry_unreadable(items, responses, judgments, judge: Speaker, out: Path, common) -> list[dict[str, Any]]:
    """Each judgment that cannot be read is asked again once, with the strict reminder (kept in
    ``FILE.strict.jsonl``); what still cannot be read stays as it is, counted as unparseable."""
    if judge.readable is None:
        return judgments
    again = [n for n, j in enumerate(judgments) if not judge.readable(j["output"])]
    if not again:
        return judgments
    rows = run_jobs(
        [Job(items[n].id, _strict(judge.messages(items[n], responses[n]), judge.strict)) for n in again],
        spec=judge.spec,
        sampling=judge.sampling,
        path=out / judge.file.replace(".jsonl", ".strict.jsonl"),
        **common,
    )
    judgments = list(judgments)
    for n, row in zip(again, rows, strict=True):
        judgments[n] = row | {"strict_retry": True, "first_output": judgments[n]["output"]}
    return judgments
