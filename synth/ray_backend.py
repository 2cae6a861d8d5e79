"""Synthesis over a Ray cluster: the problem set in shards, one Ray task per shard, one corpus at the end.

    journey synth ... --ray local            # start a local cluster
    journey synth ... --ray 10.0.0.1:6379    # join a running one (``ray start --head`` there)

Each shard is an ordinary corpus (``OUT/shards/shard-K``) written by ``workers.synthesize`` in a Ray
task, with the same graphs, endpoints (a pool spreads the load: ``M@URL1,URL2``), retries and
resume; ``--resume`` continues every shard. When all shards are done, the driver merges their
files into ``OUT/traces.jsonl``, ``failures.jsonl`` and ``rejected.jsonl`` and writes one manifest.
Problems go to shards by position (problem i to shard i mod N), and N is recorded in
``OUT/shards/ray.json`` so that a resume shards the same way. Run budgets (``--max-cost``,
``--max-total-tokens``) are split evenly over the shards, each of which stops on its own share: the
run as a whole never spends more than its budget (plus what each shard had in flight). On several
machines, OUT must be on a filesystem they share. Progress is aggregated in the driver from a Ray
actor the shards report to.
Ray is imported only here, so runs without ``--ray`` never load it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from corpus.artifacts import check_output, mark
from corpus.files import (
    MANIFEST,
    CorpusExistsError,
    corpus_file,
    prepare_out,
    read_jsonl,
    write_atomic,
    write_rows,
)
from corpus.schema import Problem
from synth.runner import Counts, SynthConfig, rounded_costs, sum_costs
from synth.workers import synthesize

SHARDS_DIR = "shards"


class ShardMismatchError(ValueError):
    pass


def _recorded_shards(out: Path, requested: int | None) -> int | None:
    record = out / SHARDS_DIR / "ray.json"
    if not record.exists():
        return None
    recorded = json.loads(record.read_text())["shards"]
    if requested is not None and requested != recorded:
        raise ShardMismatchError(f"{out} was sharded {recorded} ways; resume with --shards {recorded}")
    return recorded


def synthesize_ray(
    problems: list[Problem],
    cfg: SynthConfig,
    out: Path,
    *,
    address: str,
    shards: int | None = None,
    resume: bool = False,
    problems_source: str = "",
    on_progress: Callable[[Counts, int], None] | None = None,
) -> dict[str, Any]:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # a run phones nowhere home
    import ray

    recorded = _recorded_shards(out, shards)  # before anything is touched
    check_output(out, "corpus")
    prepare_out(out, resume)
    mark(out, "corpus")
    if not resume and any(corpus_file(d, "traces").exists() for d in (out / SHARDS_DIR).glob("shard-*")):
        raise CorpusExistsError(
            f"{out} holds shards of an earlier run: pass --resume to continue it, or choose another --out"
        )
    local = address == "local"
    ray.init(
        address=None if local else address,
        num_cpus=shards if local and shards else None,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    try:
        n = recorded or shards or max(1, int(ray.cluster_resources().get("CPU", 1)))
        (out / SHARDS_DIR).mkdir(parents=True, exist_ok=True)
        (out / SHARDS_DIR / "ray.json").write_text(json.dumps({"shards": n}))
        parts = [problems[k::n] for k in range(n)]
        shard_cfg = shard_config(cfg, n)

        @ray.remote
        class Progress:
            def __init__(self) -> None:
                self.by_shard: dict[int, tuple[int, int, int, int, int]] = {}

            def update(self, shard: int, attempted: int, verified: int, rejected: int, failed: int, total: int) -> None:
                self.by_shard[shard] = (attempted, verified, rejected, failed, total)

            def totals(self) -> list[int]:
                return [sum(v[i] for v in self.by_shard.values()) for i in range(5)]

        progress = Progress.remote()

        @ray.remote(num_cpus=1, max_retries=0)
        def run_shard(k: int, shard_problems: list[Problem]) -> dict[str, Any]:
            def report(counts: Counts, total: int) -> None:
                progress.update.remote(k, counts.attempted, counts.verified, counts.rejected, counts.failed, total)

            shard_out = out / SHARDS_DIR / f"shard-{k}"
            return synthesize(
                shard_problems, shard_cfg, shard_out, resume=resume, problems_source=problems_source, on_progress=report
            )

        pending = [run_shard.remote(k, part) for k, part in enumerate(parts) if part]
        started = time.perf_counter()
        manifests: list[dict[str, Any]] = []
        while pending:
            done, pending = ray.wait(pending, timeout=1.0)
            manifests += ray.get(done)
            if on_progress:
                attempted, verified, rejected, failed, total = ray.get(progress.totals.remote())
                on_progress(Counts(attempted=attempted, verified=verified, rejected=rejected, failed=failed), total)
        wall = time.perf_counter() - started
    finally:
        ray.shutdown()
    return _merge(out, manifests, n, address, wall, cfg)


def shard_config(cfg: SynthConfig, n: int) -> SynthConfig:
    """The config each of ``n`` shards runs: an even share of the run budgets, one process each."""
    return replace(
        cfg,
        workers=1,
        max_cost=None if cfg.max_cost is None else cfg.max_cost / n,
        max_total_tokens=None if cfg.max_total_tokens is None else max(1, cfg.max_total_tokens // n),
    )


def _summed_usage(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    usage: dict[str, dict[str, Any]] = {}
    for r in runs:
        for role, u in r["usage"].items():
            into = usage.setdefault(
                role, {"model": u["model"], "calls": 0, "tokens_in": 0, "tokens_out": 0, "latency_s": 0.0}
            )
            for key in ("calls", "tokens_in", "tokens_out", "latency_s"):
                into[key] += u[key]
    return usage


def _merged_run(runs: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    """The shards' ``this_run`` summed: counts, usage and costs; the merged run's own wall time."""
    summed = ("attempted", "verified", "rejected", "failed", "skipped_done", "not_started")
    return {k: sum(r[k] for r in runs) for k in summed} | {
        "stopped_by": next((r["stopped_by"] for r in runs if r["stopped_by"]), None),
        "wall_s": round(wall_s, 3),
        "job_unit": runs[0]["job_unit"],
        "usage": _summed_usage(runs),
        "cost_usd": rounded_costs(sum_costs((role, c) for r in runs for role, c in r["cost_usd"]["by_role"].items())),
    }


def _merged_corpus(corpora: list[dict[str, Any]], runs: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    """The shards' ``corpus`` summed (the shards ran side by side: the corpus took the merged run's
    wall time, each earlier resume added its own)."""
    counts = ("traces", "verified", "failures", "rejected", "tokens", "backtracks")
    earlier = max(c.get("wall_s", 0.0) - r["wall_s"] for c, r in zip(corpora, runs, strict=True))
    return {k: sum(c[k] for c in corpora) for k in counts} | {
        "cost_usd": rounded_costs(
            sum_costs((role, v) for c in corpora for role, v in c["cost_usd"]["by_role"].items())
        ),
        "runs": max(c.get("runs", 1) for c in corpora),
        "wall_s": round(earlier + wall_s, 3),
    }


def _merge(
    out: Path, manifests: list[dict[str, Any]], n: int, address: str, wall_s: float, cfg: SynthConfig
) -> dict[str, Any]:
    """Concatenate the shards' files into the corpus and sum their manifests (the manifest last)."""
    shard_dirs = [out / SHARDS_DIR / f"shard-{k}" for k in range(n)]
    for name in ("traces", "failures", "rejected"):
        write_rows(corpus_file(out, name), [row for d in shard_dirs for row in read_jsonl(corpus_file(d, name))])
    first = manifests[0]
    runs = [m["this_run"] for m in manifests]
    manifest = first | {
        "config": cfg.public(),  # the run's, not a shard's share of the budgets
        "this_run": _merged_run(runs, wall_s),
        "corpus": _merged_corpus([m["corpus"] for m in manifests], runs, wall_s),
        "problems": {"source": first["problems"]["source"], "count": sum(m["problems"]["count"] for m in manifests)},
        "ray": {"address": address, "shards": n},
    }
    write_atomic(out / MANIFEST, json.dumps(manifest, indent=2))
    return manifest
