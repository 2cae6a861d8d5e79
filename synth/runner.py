"""The runner: any synthesis graph over a problem set, written to a corpus directory.

``DIR/traces.jsonl``   one trace a line, appended and flushed as each finishes;
``DIR/failures.jsonl`` problems whose calls kept failing, with the reason (nothing is dropped);
``DIR/manifest.json``  config, model specs (never keys), versions, counts, tokens, wall time.

Bounded concurrency (a fixed set of asyncio workers, so 10,000 problems are not 10,000 tasks),
retries inside the model layer, and resume: a trace id is derived from (problem id, method, sample,
config hash), so ``--resume`` skips what is written and never duplicates it. A torn last line (a
run killed mid-write) is cut off before anything is appended.

A ``Run`` holds what one run over a corpus needs (the jobs still to do, the one writer, counts,
budgets, the manifest); ``work`` explores jobs with one set of models and sends back outcomes.
``synth.workers.synthesize`` puts the two together, in this process or over worker processes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from agents.endpoints import refused
from agents.models import ModelHub, Sampling, drain
from agents.prices import cost, price_of
from agents.rescue import ROLE as RESCUE_ROLE  # the --judge-rescue model's role, and its events'
from agents.rescue import SAMPLING as RESCUE_SAMPLING
from agents.rescue import prompt_digest as rescue_prompt_digest
from agents.specs import public_spec, redact
from answers.verify import Verifier
from corpus import render
from corpus.artifacts import check_output, mark
from corpus.files import (
    MANIFEST,
    CorpusWriter,
    check_config,
    corpus_file,
    cut_torn_line,
    filter_jsonl,
    iter_jsonl,
    prepare_out,
    write_atomic,
    write_configs,
)
from corpus.schema import Problem, RoleUsage, Trace, config_hash, trace_id, usage_by_role
from graphs.method import Method, RolePrompt, check_result
from graphs.registry import METHODS

ENDPOINT_REFUSED = "endpoint_refused"

# (problem, sample, job id): one trace to draw, or all of a problem's samples when the method draws them in its graph
Job = tuple[Problem, int, str]


@dataclass
class SynthConfig:
    method: str
    roles: dict[str, tuple[str, Sampling]]
    options: Any = None  # the method's own options (its ``Method.options`` type); None: its defaults
    samples: int = 1
    concurrency: int = 8  # problems in flight, over all worker processes
    workers: int = 1  # processes exploring at once (synth/workers.py); changes speed, not traces
    batch: int = 1  # batched methods (distill): problems per graph run; changes speed, not traces
    verify_timeout_s: float = 10.0
    # run budgets: no new problem starts once they are reached (those in flight finish)
    max_cost: float | None = None
    max_total_tokens: int | None = None
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)
    # role -> the prompt it runs with (profile, text, source); by default each role's model's profile
    prompts: dict[str, RolePrompt] = field(default_factory=dict)
    # --judge-rescue: the judge asked about the rule's negatives (agents.rescue.Rescuer); None: the rule alone
    rescue_judge: str | None = None

    def __post_init__(self) -> None:
        if self.options is None:
            self.options = self.definition.options()
        if not self.prompts:
            self.prompts = self.definition.make_prompts({r: spec for r, (spec, _) in self.roles.items()})

    @property
    def definition(self) -> Method:
        return METHODS[self.method]

    def hashed(self) -> dict[str, Any]:
        """What changes the traces: method, its options, models, sampling and prompt texts."""
        method = self.definition
        out = {
            "method": self.method,
            "options": dataclasses.asdict(self.options),
            # credentials never change an output: the hash and every record hold the spec without them
            "roles": {r: {"spec": public_spec(s), "sampling": vars(p)} for r, (s, p) in sorted(self.roles.items())},
            "prompts": method.prompts(self.roles, self.prompts),
        }
        if method.draws == "in_graph":  # which samples are drawn and kept depends on how many
            out["samples"] = self.samples
        if self.rescue_judge is not None:  # which traces are verified depends on the judge and its prompt
            out["rescue_judge"] = {"spec": public_spec(self.rescue_judge), "prompt": rescue_prompt_digest()}
        return out

    @property
    def hub_roles(self) -> dict[str, tuple[str, Sampling]]:
        """The models the run's hub starts: the method's roles, and the rescue judge when there is one."""
        if self.rescue_judge is None:
            return self.roles
        return self.roles | {RESCUE_ROLE: (self.rescue_judge, RESCUE_SAMPLING)}

    def recorded(self) -> dict[str, Any]:
        """What ``config.json`` keeps of a config: everything hashed, the prompts by their digest."""
        out = self.hashed()
        out["prompts"] = hashlib.sha256("\x1f".join(out["prompts"]).encode()).hexdigest()[:16]
        return out

    def public(self) -> dict[str, Any]:
        out = self.hashed()
        out["prompts"] = {role: chosen.record() for role, chosen in sorted(self.prompts.items())}
        out |= {
            "samples": self.samples,
            "concurrency": self.concurrency,
            "workers": self.workers,
            "batch": self.batch,
            "max_cost": self.max_cost,
            "max_total_tokens": self.max_total_tokens,
            "verify_timeout_s": self.verify_timeout_s,
        }
        return out


@dataclass
class Sample:
    """One finished sample: corpus or rejected, and the trace as the JSON line to write."""

    kept: bool
    verified: bool
    usage: dict[str, RoleUsage]
    line: str


@dataclass
class Outcome:
    """One job's result, built where its graph ran (this process or a worker): its samples, or why it failed."""

    samples: list[Sample] = field(default_factory=list)
    failure: dict[str, Any] | None = None
    refused: bool = False  # the endpoint answered 401/403/404: every other job would fail the same way


@dataclass
class Counts:
    attempted: int = 0
    verified: int = 0
    rejected: int = 0
    failed: int = 0
    skipped: int = 0
    usage: dict[str, RoleUsage] = field(default_factory=dict)
    stopped: str | None = None  # the run budget that stopped the run, if one did

    def add_usage(self, usage: dict[str, RoleUsage]) -> None:
        for role, u in usage.items():
            self.usage.setdefault(role, RoleUsage(model=u.model)).add(u.calls, u.tokens_in, u.tokens_out, u.latency_s)

    @property
    def tokens(self) -> int:
        return sum(u.tokens_in + u.tokens_out for u in self.usage.values())

    def cost(self, prices: dict[str, tuple[float, float]]) -> dict[str, float | None]:
        """Estimated USD per role; None for roles whose model has no price (local, own endpoints)."""
        return {role: cost(u.model, u.tokens_in, u.tokens_out, prices) for role, u in self.usage.items()}

    def over_budget(self, cfg: SynthConfig) -> str | None:
        if cfg.max_total_tokens is not None and self.tokens >= cfg.max_total_tokens:
            return "max_total_tokens"
        if cfg.max_cost is not None and sum(c or 0.0 for c in self.cost(cfg.prices).values()) >= cfg.max_cost:
            return "max_cost"
        return None


def build_trace(
    problem: Problem, sample: int, cfg: SynthConfig, cfg_hash: str, final: dict[str, Any], wall_s: float
) -> Trace:
    """A trace from one sample of a graph run (``results()`` of the method)."""
    events = final["events"]
    # a method may write its own long thought (a rewrite) and count calls its events omit
    long_thought = final.get("long_thought") or render.long_thought(events)
    return Trace(
        id=trace_id(problem.id, cfg.method, sample, cfg_hash),
        problem_id=problem.id,
        method=cfg.method,
        sample=sample,
        config_hash=cfg_hash,
        source=cfg.definition.source,
        question=problem.question,
        reference_answer=problem.answer,
        subject=_meta_text(problem, "subject"),
        level=_meta_text(problem, "level"),
        events=events,
        final_answer=final["final_answer"],
        verified=final["verified"],
        status=final["status"],
        long_thought=long_thought,
        summary=render.summary(final["path"], final["final_answer"] if final["verified"] else None),
        models={role: public_spec(spec) for role, (spec, _) in cfg.hub_roles.items()},
        usage=usage_by_role(final["usage_events"] if "usage_events" in final else events),
        n_steps=final["n_steps"],
        n_backtracks=final["n_backtracks"],
        wall_s=round(wall_s, 3),
        tree=final["tree"] if "tree" in final else None,
        draft=final.get("draft"),
        rewrite=final.get("rewrite"),
        shape=render.shape(events, long_thought, final.get("rewrite")),
    )


def _meta_text(problem: Problem, key: str) -> str | None:
    value = problem.meta.get(key)
    return None if value is None or value == "" else str(value)


def rounded_costs(costs: dict[str, float | None]) -> dict[str, Any]:
    priced = [c for c in costs.values() if c is not None]
    return {
        "by_role": {r: None if c is None else round(c, 6) for r, c in costs.items()},
        "total": round(sum(priced), 6) if priced else None,
    }


def sum_costs(costs: Iterable[tuple[str, float | None]]) -> dict[str, float | None]:
    """(role, USD) pairs summed per role; a role stays None (unpriced) until one of its costs is priced."""
    out: dict[str, float | None] = {}
    for role, c in costs:
        out[role] = None if c is None and out.get(role) is None else (out.get(role) or 0.0) + (c or 0.0)
    return out


def corpus_stats(out: Path, prices: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """The manifest's view of the whole corpus, in one streaming pass over its files."""
    traces = verified = tokens = backtracks = 0
    costs: dict[str, float | None] = {}
    rewrites: Counter = Counter()  # what became of the rewrites: used, or discarded for the draft and why
    for row in iter_jsonl(corpus_file(out, "traces")):
        traces += 1
        if row.get("rewrite"):
            rewrites[row["rewrite"]] += 1
        verified += bool(row["verified"])
        tokens += sum(u["tokens_in"] + u["tokens_out"] for u in row["usage"].values())
        backtracks += row["n_backtracks"]
        costs = sum_costs([*costs.items(), *_costs(row, prices)])
    rejected = 0
    for row in iter_jsonl(corpus_file(out, "rejected")):  # kept and rejected samples both cost money
        rejected += 1
        costs = sum_costs([*costs.items(), *_costs(row, prices)])
    return {
        "traces": traces,
        "verified": verified,
        "failures": sum(1 for _ in iter_jsonl(corpus_file(out, "failures"))),
        "rejected": rejected,
        "tokens": tokens,
        "backtracks": backtracks,
        "rewrites": dict(sorted(rewrites.items())),
        "cost_usd": rounded_costs(costs),
    }


def earlier_runs(out: Path) -> dict[str, Any]:
    """The completed runs a corpus already holds and their wall time, from its last manifest (a run
    killed before its manifest is not counted)."""
    path = out / MANIFEST
    try:
        corpus = json.loads(path.read_text()).get("corpus", {}) if path.exists() else {}
    except ValueError:
        corpus = {}
    runs = corpus.get("runs", 1 if corpus else 0)
    return {"runs": int(runs), "wall_s": float(corpus.get("wall_s", 0.0))}


def _costs(row: dict[str, Any], prices: dict[str, tuple[float, float]]) -> list[tuple[str, float | None]]:
    return [(role, cost(u["model"], u["tokens_in"], u["tokens_out"], prices)) for role, u in row["usage"].items()]


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in (
        "o1-journey",
        "langgraph",
        "langchain-openai",
        "langchain-core",
        "openai",
        "transformers",
        "torch",
        "math-verify",
    ):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


# a trace line opens with these fields in the schema's order (pydantic writes them so, no spaces):
# resume reads just them, a few times faster than parsing a whole trace with its events
_HEAD = re.compile(
    r'\{"id":"([0-9a-f]+)","problem_id":("(?:[^"\\]|\\.)*"),"method":"[^"]*","sample":\d+,"config_hash":"([0-9a-f]+)"'
)


def scan_heads(path: Path) -> Iterator[dict[str, str]]:
    """(id, problem_id, config_hash) of each row of a corpus file, parsed from the line's start;
    a line written otherwise is parsed whole."""
    if not path.exists():
        return
    cut_torn_line(path)
    with path.open(encoding="utf-8") as f:
        for line in f:
            if (m := _HEAD.match(line)) is not None:
                yield {"id": m[1], "problem_id": json.loads(m[2]), "config_hash": m[3]}
            elif line.strip():
                row = json.loads(line)
                yield {"id": row["id"], "problem_id": row["problem_id"], "config_hash": row["config_hash"]}


def pending(problems: list[Problem], cfg: SynthConfig, cfg_hash: str, out: Path) -> list[Job]:
    """(problem, sample, job id) still to run; files are trimmed so that a rerun never duplicates.

    A job is a trace id, or a problem when the method draws all its samples in one graph run. The
    method's resume rule (``Method.finished``) says, from the outcomes already written for a job
    (kept in traces.jsonl, rejected in rejected.jsonl), whether it is done. The rows of a job that
    is not done are dropped and drawn again; failures are retried, so they leave failures.jsonl.
    """
    method = cfg.definition
    in_graph = method.draws == "in_graph"

    def key(row: dict[str, Any]) -> str:
        return row["problem_id"] if in_graph else row["id"]

    # one pass over each file, keeping a few strings a row: a million-line corpus never sits in memory
    outcomes: dict[str, list[str]] = defaultdict(list)
    written: set[str] = set()
    for name, outcome in (("traces", "kept"), ("rejected", "rejected")):
        for row in scan_heads(corpus_file(out, name)):
            written.add(row["id"])
            if row["config_hash"] == cfg_hash:
                outcomes[key(row)].append(outcome)
    if in_graph:
        candidates = [(p, 0, trace_id(p.id, cfg.method, 0, cfg_hash), p.id) for p in problems]
    else:
        candidates = [
            (p, s, tid, tid)
            for p in problems
            for s in range(cfg.samples)
            if (tid := trace_id(p.id, cfg.method, s, cfg_hash))
        ]
    jobs, redo = [], set()
    for problem, sample, tid, job_key in candidates:
        if not method.finished(outcomes.get(job_key, []), cfg):
            jobs.append((problem, sample, tid))
            if job_key in outcomes:
                redo.add(job_key)
    del outcomes
    if redo:  # the rows of a job that is not done are drawn again, so they leave the files
        for name in ("traces", "rejected"):
            if corpus_file(out, name).exists():
                filter_jsonl(corpus_file(out, name), lambda r: not (r["config_hash"] == cfg_hash and key(r) in redo))
    retried = {tid for _, _, tid in jobs}
    if corpus_file(out, "failures").exists():  # a torn last line of a killed run is dropped here
        filter_jsonl(corpus_file(out, "failures"), lambda r: r["id"] not in retried and r["id"] not in written)
    return jobs


async def explore(
    batch: list[Job], graph, context, cfg: SynthConfig, cfg_hash: str, secrets: tuple[str, ...]
) -> list[Outcome]:
    """Run the method's graph on a batch of jobs (one, unless the method is batched): an outcome per
    job. A problem's failure is its outcome, never an exception, and never its batch's."""
    method = cfg.definition
    t0 = time.perf_counter()
    config = {"recursion_limit": method.limit(cfg)}
    try:
        if method.batched:
            state = method.batch_state([problem for problem, _, _ in batch])
            final = await graph.ainvoke(state, context=context, config=config)
            per_job = method.batch_results(final)
        else:
            ((problem, sample, _),) = batch
            final = await graph.ainvoke(method.initial_state(problem), context=context, config=config)
            per_job = [method.results(final, sample)]
    except Exception as e:
        per_job = [e] * len(batch)
    wall = time.perf_counter() - t0
    outcomes = []
    for (problem, sample, tid), samples in zip(batch, per_job, strict=True):
        error = samples if isinstance(samples, Exception) else None
        if error is None:
            for r in samples:  # a method that breaks its contract stops the run here, before more calls
                check_result(cfg.method, r)
            try:
                traces = [(r["kept"], build_trace(problem, r["sample"], cfg, cfg_hash, r, wall)) for r in samples]
            except Exception as e:
                error = e
        if error is not None:
            outcomes.append(
                Outcome(
                    refused=refused(error),
                    failure={
                        "id": tid,
                        "problem_id": problem.id,
                        "sample": sample,
                        "method": cfg.method,
                        "config_hash": cfg_hash,
                        "error": type(error).__name__,
                        "reason": redact(str(error), secrets)[:2000],
                    },
                )
            )
            continue
        # rejected samples first: a problem counts as finished once its kept sample is written
        outcomes.append(
            Outcome(
                samples=[
                    Sample(kept, t.verified, t.usage, t.model_dump_json())
                    for kept, t in sorted(traces, key=lambda o: o[0])
                ]
            )
        )
    return outcomes


async def work(
    jobs: list[Job],
    cfg: SynthConfig,
    cfg_hash: str,
    concurrency: int,
    *,
    deliver: Callable[[list[Outcome]], None],
    stopped: Callable[[], bool],
    ready: Callable[[dict[str, Any]], None],
) -> None:
    """Explore ``jobs`` with one set of models and one verifier, ``concurrency`` problems at once
    (in batches of ``cfg.batch`` for batched methods): ``ready(models)`` once they are up,
    ``deliver`` each batch's outcomes, and start no new batch once ``stopped()``."""
    method = cfg.definition
    # never more than ``concurrency`` problems in flight, batched or not
    size = min(cfg.batch, concurrency) if method.batched else 1
    batches = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    verifier = Verifier(timeout_s=cfg.verify_timeout_s)
    try:
        async with ModelHub(cfg.hub_roles) as hub:
            graph, context = method.build(), method.context(hub.models, cfg, verifier)
            if cfg.rescue_judge is not None:
                from agents.rescue import Rescuer

                context.rescue = Rescuer(hub.models[RESCUE_ROLE], verifier)
            # every role's node reads the prompt it runs with, and its profile, from the context
            context.prompts = {role: chosen.prompt for role, chosen in cfg.prompts.items()}
            context.profiles = {role: chosen.profile for role, chosen in cfg.prompts.items()}
            ready(hub.describe())

            async def handle(batch: list[Job]) -> None:
                if not stopped():  # left for --resume, not failed
                    deliver(await explore(batch, graph, context, cfg, cfg_hash, hub.secrets))

            await drain(batches, handle, concurrency // size)
    finally:
        verifier.close()


class Run:
    """One run over a corpus directory: the jobs still to do, the one writer, the counts, the manifest."""

    def __init__(
        self,
        problems: list[Problem],
        cfg: SynthConfig,
        out: Path,
        *,
        resume: bool,
        problems_source: str,
        on_progress: Callable[[Counts, int], None] | None,
        add_config: bool = False,
    ):
        self.cfg, self.out, self.problems_source, self.on_progress = cfg, out, problems_source, on_progress
        self.problem_count = len(problems)
        self.cfg_hash = config_hash(cfg.hashed())
        # checked before anything is touched: a corpus of another config, another kind of artifact
        # or the problem file itself stays as it is
        check_output(out, "corpus", (problems_source,) if Path(problems_source).exists() else ())
        configs = check_config(out, self.cfg_hash, cfg.recorded(), resume=resume, add=add_config)
        self.earlier = earlier_runs(out) if resume else {"runs": 0, "wall_s": 0.0}
        prepare_out(out, resume)
        mark(out, "corpus")
        write_configs(out, configs)
        self.configs = list(configs)
        self.jobs = pending(problems, cfg, self.cfg_hash, out)
        samples_per_job = 1 if cfg.definition.draws == "in_graph" else cfg.samples
        self.counts = Counts(skipped=len(problems) * samples_per_job - len(self.jobs))
        self.models: dict[str, dict[str, Any]] = {}
        self.started = time.time()
        self._t0 = time.perf_counter()
        self.writer = CorpusWriter(out)

    def ready(self, models: dict[str, dict[str, Any]]) -> None:
        self.models = self.models or models
        self._progress()

    def stopped(self) -> bool:
        """True once a run budget is spent: no new problem starts (those in flight finish)."""
        self.counts.stopped = self.counts.stopped or self.counts.over_budget(self.cfg)
        return self.counts.stopped is not None

    def record(self, outcomes: list[Outcome]) -> None:
        counts = self.counts
        for outcome in outcomes:
            if outcome.failure is not None:
                counts.failed += 1
                self.writer.failure(outcome.failure)
            if outcome.refused:  # stop cleanly: the jobs in flight finish (as failures), no new one starts
                counts.stopped = counts.stopped or ENDPOINT_REFUSED
            for sample in outcome.samples:
                self.writer.sample(sample.kept, sample.line)
                counts.verified += sample.kept and sample.verified
                counts.rejected += not sample.kept
                counts.add_usage(sample.usage)
            counts.attempted += 1
        self._progress()

    def _progress(self) -> None:
        if self.on_progress:
            self.on_progress(self.counts, len(self.jobs))

    async def explore(self) -> None:
        """Every pending job in this process."""
        await work(
            self.jobs,
            self.cfg,
            self.cfg_hash,
            self.cfg.concurrency,
            deliver=self.record,
            stopped=self.stopped,
            ready=self.ready,
        )

    def close(self) -> None:
        self.writer.close()

    def finish(self) -> dict[str, Any]:
        """Close the corpus files and write the manifest (last: its existence means the run completed)."""
        self.close()
        cfg, out, counts = self.cfg, self.out, self.counts
        corpus = corpus_stats(out, cfg.prices)
        wall_s = round(time.perf_counter() - self._t0, 3)
        # a corpus made over several runs (--resume) took all of them
        corpus["runs"] = self.earlier["runs"] + 1
        corpus["wall_s"] = round(self.earlier["wall_s"] + wall_s, 3)
        manifest = {
            "method": cfg.method,
            "config": cfg.public(),
            "config_hash": self.cfg_hash,
            "configs": self.configs,  # every config in this directory (one, unless --add-config)
            "models": self.models,
            "problems": {"source": self.problems_source, "count": self.problem_count},
            "versions": _versions(),
            "this_run": {
                "attempted": counts.attempted,
                "verified": counts.verified,
                "rejected": counts.rejected,
                "failed": counts.failed,
                "skipped_done": counts.skipped,
                "stopped_by": counts.stopped,
                "not_started": len(self.jobs) - counts.attempted,
                "usage": {r: u.model_dump() for r, u in counts.usage.items()},
                "cost_usd": rounded_costs(counts.cost(cfg.prices)),
                "prices": {role: price_of(u.model, cfg.prices) for role, u in counts.usage.items()},
                "started": datetime.fromtimestamp(self.started, UTC).isoformat(),
                "wall_s": wall_s,
                # a job is one sample, or one problem when the method draws a problem's samples in one graph run
                "job_unit": "problem" if cfg.definition.draws == "in_graph" else "sample",
            },
            "corpus": corpus,
        }
        write_atomic(out / MANIFEST, json.dumps(manifest, indent=2))
        return manifest
