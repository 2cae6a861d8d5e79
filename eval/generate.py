"""Concurrent generation for evaluation: jobs (messages + fields) through any model spec, resumable.

Each finished job is appended to a JSONL file with its prompt, output, tokens and latency plus the
job's own fields, so a killed eval continues where it stopped: jobs whose (id, sample) is in the
file already are not asked again.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage

from agents.models import ModelHub, Sampling, complete, drain
from corpus.files import read_jsonl


@dataclass(frozen=True)
class Job:
    id: str
    messages: list[BaseMessage]
    sample: int = 0
    fields: dict[str, Any] = field(default_factory=dict)


async def generate(
    jobs: list[Job],
    *,
    spec: str,
    sampling: Sampling,
    path: Path,
    concurrency: int = 8,
    on_done: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Run the jobs ``path`` lacks; return the rows of ``path`` for the given jobs, in job order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    done = {(r["id"], r["sample"]): r for r in read_jsonl(path)}
    todo = [job for job in jobs if (job.id, job.sample) not in done]
    if todo:
        with path.open("a", encoding="utf-8") as f:
            async with ModelHub({"model": (spec, sampling)}) as hub:
                model = hub.models["model"]
                finished: list[Job] = []

                async def run(job: Job) -> None:
                    reply = await complete(model, job.messages)
                    row = {
                        "id": job.id,
                        "sample": job.sample,
                        **job.fields,
                        "prompt": job.messages[-1].content,
                        "output": reply.text,
                        "reasoning": reply.reasoning,
                        "tokens_out": reply.tokens_out,
                        "tokens_in": reply.tokens_in,
                        "latency_s": round(reply.latency_s, 3),
                    }
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
                    f.flush()
                    done[(job.id, job.sample)] = row
                    finished.append(job)
                    if on_done:
                        on_done(len(finished), len(todo))

                await drain(todo, run, concurrency)
    return [done[(job.id, job.sample)] for job in jobs]


def run_jobs(jobs: list[Job], **kwargs) -> list[dict]:
    """:func:`generate` from synchronous code (each call gets its own event loop and model hub)."""
    return asyncio.run(generate(jobs, **kwargs))


def write_outputs(out: Path, rows: list[dict], summary: dict) -> dict:
    """Per-item ``items.jsonl`` and ``summary.json`` (written last: it marks a finished eval)."""
    with (out / "items.jsonl").open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    return summary
