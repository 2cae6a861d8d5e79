"""Concurrent generation for evaluation: K samples per problem through any model spec, resumable.

Each finished sample is appended to ``samples.jsonl`` with its prompt, output, tokens and latency,
so a killed eval continues where it stopped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from langchain_core.messages import BaseMessage

from agents.models import ModelHub, Sampling, complete
from graphs.runner import read_jsonl_ids
from graphs.schema import Problem


async def generate(
    problems: list[Problem],
    *,
    spec: str,
    sampling: Sampling,
    samples: int,
    messages: Callable[[Problem], list[BaseMessage]],
    path: Path,
    concurrency: int = 8,
    on_sample: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Generate what ``path`` lacks; return every row of ``path`` (old and new)."""
    done = {(r["problem_id"], r["sample"]) for r in read_jsonl_ids(path)}
    jobs = [(p, s) for p in problems for s in range(samples) if (p.id, s) not in done]
    queue: asyncio.Queue = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    finished = 0
    with path.open("a", encoding="utf-8") as f:
        async with ModelHub({"model": (spec, sampling)}) as hub:
            model = hub.models["model"]

            async def worker() -> None:
                nonlocal finished
                while not queue.empty():
                    problem, sample = queue.get_nowait()
                    prompt = messages(problem)
                    reply = await complete(model, prompt)
                    row = {
                        "problem_id": problem.id,
                        "sample": sample,
                        "question": problem.question,
                        "answer": problem.answer,
                        "prompt": prompt[-1].content,
                        "output": reply.text,
                        "reasoning": reply.reasoning,
                        "tokens_out": reply.tokens_out,
                        "tokens_in": reply.tokens_in,
                        "latency_s": round(reply.latency_s, 3),
                        **{k: problem.meta[k] for k in ("subject", "level") if k in problem.meta},
                    }
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
                    f.flush()
                    finished += 1
                    if on_sample:
                        on_sample(finished, len(jobs))

            await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    return read_jsonl_ids(path)
