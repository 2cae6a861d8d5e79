"""The runner: any synthesis graph over a problem set, written to a corpus directory.

``DIR/traces.jsonl``   one trace a line, appended and flushed as each finishes;
``DIR/failures.jsonl`` problems whose calls kept failing, with the reason (nothing is dropped);
``DIR/manifest.json``  config, model specs (never keys), versions, counts, tokens, wall time.

Bounded concurrency (a fixed set of asyncio workers, so 10,000 problems are not 10,000 tasks),
retries inside the model layer, and resume: a trace id is derived from (problem id, method, sample,
config hash), so ``--resume`` skips what is written and never duplicates it. A torn last line (a
run killed mid-write) is cut off before anything is appended.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from agents.models import ModelHub, Sampling, redact
from graphs import journey, render
from graphs.schema import Problem, RoleUsage, Trace, config_hash, trace_id, usage_by_role
from graphs.verify import Verifier

# a plain dict is the registry: method name -> module with NAME, ROLES, PROMPTS, Budget-aware build()
METHODS = {journey.NAME: journey}

TRACES, FAILURES, MANIFEST = "traces.jsonl", "failures.jsonl", "manifest.json"
T = TypeVar("T")


class CorpusExistsError(FileExistsError):
    pass


@dataclass
class SynthConfig:
    method: str
    roles: dict[str, tuple[str, Sampling]]
    budget: journey.Budget = field(default_factory=journey.Budget)
    samples: int = 1
    concurrency: int = 8
    verify_timeout_s: float = 10.0

    def hashed(self) -> dict[str, Any]:
        """What changes the traces: method, budgets, models, sampling and prompt texts."""
        module = METHODS[self.method]
        return {
            "method": self.method,
            "budget": vars(self.budget),
            "roles": {r: {"spec": s, "sampling": vars(p)} for r, (s, p) in sorted(self.roles.items())},
            "prompts": [p.text() for p in module.PROMPTS],
        }

    def public(self) -> dict[str, Any]:
        out = self.hashed()
        out.pop("prompts")
        out |= {"samples": self.samples, "concurrency": self.concurrency}
        return out


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a corpus file; a torn last line (no newline: killed mid-write) is cut off the file."""
    if not path.exists():
        return []
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        with path.open("r+b") as f:
            f.truncate(keep)
        data = data[:keep]
    rows = []
    for line in data.decode("utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` in one step, so a crash leaves either the old file or the new one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


async def drain(items: list[T], handle: Callable[[T], Awaitable[None]], concurrency: int) -> None:
    """Run ``handle`` over ``items`` with at most ``concurrency`` at once (fixed workers, not a task per item)."""
    queue: asyncio.Queue[T] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty():
            await handle(queue.get_nowait())

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))


class CorpusWriter:
    """Appends one JSON line per finished item and flushes, so a crash loses at most the item in flight."""

    def __init__(self, out: Path):
        self.traces = (out / TRACES).open("a", encoding="utf-8")
        self.failures = (out / FAILURES).open("a", encoding="utf-8")

    @staticmethod
    def _write(f, row: dict[str, Any]) -> None:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.flush()

    def trace(self, trace: Trace) -> None:
        self._write(self.traces, trace.model_dump(mode="json"))

    def failure(self, row: dict[str, Any]) -> None:
        self._write(self.failures, row)

    def close(self) -> None:
        self.traces.close()
        self.failures.close()


@dataclass
class Counts:
    attempted: int = 0
    verified: int = 0
    failed: int = 0
    skipped: int = 0
    usage: dict[str, RoleUsage] = field(default_factory=dict)

    def add_usage(self, usage: dict[str, RoleUsage]) -> None:
        for role, u in usage.items():
            self.usage.setdefault(role, RoleUsage(model=u.model)).add(u.calls, u.tokens_in, u.tokens_out, u.latency_s)


def build_trace(problem: Problem, sample: int, cfg: SynthConfig, cfg_hash: str, final: dict[str, Any], wall_s: float) -> Trace:
    events = final["events"]
    return Trace(
        id=trace_id(problem.id, cfg.method, sample, cfg_hash),
        problem_id=problem.id,
        method=cfg.method,
        sample=sample,
        config_hash=cfg_hash,
        source="synthesized",
        question=problem.question,
        reference_answer=problem.answer,
        events=events,
        final_answer=final["final_answer"],
        verified=final["verified"],
        status=final["status"],
        long_thought=render.long_thought(events),
        summary=render.summary(final["path"], final["final_answer"] if final["verified"] else None),
        models={role: spec for role, (spec, _) in cfg.roles.items()},
        usage=usage_by_role(events),
        n_steps=final["n_steps"],
        n_backtracks=final["n_backtracks"],
        wall_s=round(wall_s, 3),
    )


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("o1-journey", "langgraph", "langchain-openai", "langchain-core", "openai", "transformers", "torch", "math-verify"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _prepare_out(out: Path, resume: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if not resume and ((out / TRACES).exists() or (out / FAILURES).exists()):
        raise CorpusExistsError(f"{out} already holds a corpus: pass --resume to continue it, or choose another --out")
    # a manifest describes a completed run; this one has not completed yet
    (out / MANIFEST).unlink(missing_ok=True)


async def synthesize(
    problems: list[Problem],
    cfg: SynthConfig,
    out: Path,
    *,
    resume: bool = False,
    problems_source: str = "",
    on_progress: Callable[[Counts, int], None] | None = None,
) -> dict[str, Any]:
    """Run ``cfg.method`` over every (problem, sample) not already in ``out``; return the manifest."""
    module = METHODS[cfg.method]
    _prepare_out(out, resume)
    cfg_hash = config_hash(cfg.hashed())
    done = {row["id"] for row in read_jsonl(out / TRACES)}
    jobs = [
        (p, s, tid) for p in problems for s in range(cfg.samples) if (tid := trace_id(p.id, cfg.method, s, cfg_hash)) not in done
    ]
    # failures are retried on resume: keep in the file only those neither done nor about to be retried
    retried = {tid for _, _, tid in jobs}
    kept = [row for row in read_jsonl(out / FAILURES) if row["id"] not in done and row["id"] not in retried]
    write_atomic(out / FAILURES, "".join(json.dumps(r) + "\n" for r in kept))

    counts = Counts(skipped=len(problems) * cfg.samples - len(jobs))
    started = time.time()
    start_wall = time.perf_counter()
    writer = CorpusWriter(out)
    verifier = Verifier(timeout_s=cfg.verify_timeout_s)
    graph = module.build()
    limit = module.recursion_limit(cfg.budget)
    try:
        async with ModelHub(cfg.roles) as hub:
            context = module.JourneyContext(models=hub.models, budget=cfg.budget, verifier=verifier)
            models = hub.describe()
            if on_progress:
                on_progress(counts, len(jobs))

            async def explore(job: tuple[Problem, int, str]) -> None:
                problem, sample, tid = job
                t0 = time.perf_counter()
                try:
                    final = await graph.ainvoke(
                        module.initial_state(problem), context=context, config={"recursion_limit": limit}
                    )
                    trace = build_trace(problem, sample, cfg, cfg_hash, final, time.perf_counter() - t0)
                except Exception as e:  # one problem's failure never stops the run
                    counts.failed += 1
                    writer.failure(
                        {
                            "id": tid,
                            "problem_id": problem.id,
                            "sample": sample,
                            "method": cfg.method,
                            "error": type(e).__name__,
                            "reason": redact(str(e), hub.secrets)[:2000],
                        }
                    )
                else:
                    writer.trace(trace)
                    counts.verified += trace.verified
                    counts.add_usage(trace.usage)
                counts.attempted += 1
                if on_progress:
                    on_progress(counts, len(jobs))

            await drain(jobs, explore, cfg.concurrency)
    finally:
        writer.close()
        verifier.close()

    all_traces = read_jsonl(out / TRACES)
    manifest = {
        "method": cfg.method,
        "config": cfg.public(),
        "config_hash": cfg_hash,
        "models": models,
        "problems": {"source": problems_source, "count": len(problems)},
        "versions": _versions(),
        "this_run": {
            "attempted": counts.attempted,
            "verified": counts.verified,
            "failed": counts.failed,
            "skipped_done": counts.skipped,
            "usage": {r: u.model_dump() for r, u in counts.usage.items()},
            "started": datetime.fromtimestamp(started, UTC).isoformat(),
            "wall_s": round(time.perf_counter() - start_wall, 3),
        },
        "corpus": {
            "traces": len(all_traces),
            "verified": sum(1 for t in all_traces if t["verified"]),
            "failures": len(read_jsonl(out / FAILURES)),
            "tokens": sum(u["tokens_in"] + u["tokens_out"] for t in all_traces for u in t["usage"].values()),
            "backtracks": sum(t["n_backtracks"] for t in all_traces),
        },
    }
    # the manifest is written last, so its existence means the run completed
    write_atomic(out / MANIFEST, json.dumps(manifest, indent=2))
    return manifest
