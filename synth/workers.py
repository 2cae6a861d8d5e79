"""Synthesis on this machine, in this process or over worker processes: every core, one writer.

    journey synth ... --workers 4      # default: one per core (capped), one when a role is a local model

One Python process tops out at a few hundred traces/s: every call goes through the openai SDK,
langchain and a LangGraph invocation, each a millisecond or more of CPU (profiled: see
``bench/synth_throughput.py``), so against a fast endpoint the event loop, not the network, is the
bottleneck. Here jobs are split round robin over ``workers`` processes, each with its own event loop,
models, verifier and share of ``--concurrency``, on uvloop (about an eighth less CPU per trace than
asyncio's own loop, measured on the distill bench). The workers write nothing: they send their jobs'
outcomes to this process, the corpus's only writer, which keeps counts, budgets, progress, resume and
the manifest exactly as in a one-process run. A spent budget sets an event the workers check before
starting a job.

Workers are forked once this process has imported everything and before it runs a thread (so the
CLI does not pay the imports again); a process with threads spawns them instead. A worker dies with
this process (PR_SET_PDEATHSIG), so a SIGKILL leaves no orphan calling the endpoint.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import uvloop

from agents.processes import die_with_parent
from agents.specs import SpecError, parse_spec, redact
from corpus.schema import Problem
from graphs.method import OptionError
from synth.runner import Counts, Job, Run, SynthConfig, work

# more processes than this rarely pay: the endpoint, not the client, is then the limit
MAX_WORKERS = 8


class WorkerError(RuntimeError):
    """A worker process could not run (its models did not start) or died without finishing."""


def workers_for(cfg: SynthConfig, requested: int | None) -> int:
    """``requested``, else one per core (at most MAX_WORKERS); one when a role is a local model or
    the method calls none. A local model is one server that ModelHub starts per process, so asking
    for several workers with one is an error (OptionError)."""
    local = [role for role, (spec, _) in cfg.roles.items() if parse_spec(spec).kind == "local"]
    if requested is not None:
        if requested > 1 and local:
            raise OptionError(
                f"--workers {requested}: {', '.join(local)} use a local model, served once per process; use --workers 1"
            )
        return requested
    if not cfg.roles or local:
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), MAX_WORKERS))


def synthesize(
    problems: list[Problem],
    cfg: SynthConfig,
    out: Path,
    *,
    resume: bool = False,
    problems_source: str = "",
    on_progress: Callable[[Counts, int], None] | None = None,
    add_config: bool = False,
) -> dict[str, Any]:
    """Run ``cfg.method`` over every (problem, sample) not already in ``out``, in ``cfg.workers``
    processes (one: in this process), on uvloop; return the manifest."""
    run = Run(
        problems,
        cfg,
        out,
        resume=resume or add_config,
        problems_source=problems_source,
        on_progress=on_progress,
        add_config=add_config,
    )
    try:
        n = min(cfg.workers, cfg.concurrency, len(run.jobs))
        if n <= 1:
            uvloop.run(run.explore())
        else:
            _run_workers(run, cfg, n)
    finally:
        run.close()
    return run.finish()


def _run_workers(run: Run, cfg: SynthConfig, n: int) -> None:
    # fork copies a process mid-state only if another thread holds a lock at that moment
    method = "fork" if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    stop = ctx.Event()
    procs: list[multiprocessing.process.BaseProcess] = []
    conns: list[Connection] = []
    errors: list[Exception] = []
    try:
        for k in range(n):
            receive, send = ctx.Pipe(duplex=False)
            concurrency = max(1, cfg.concurrency // n + (k < cfg.concurrency % n))
            # not daemonic: a worker's verifier runs processes of its own
            proc = ctx.Process(
                target=_worker,
                name=f"synth-worker-{k}",
                args=(run.jobs[k::n], cfg, run.cfg_hash, concurrency, send, stop, os.getpid()),
            )
            proc.start()
            send.close()  # ours is the read end: EOF once the worker is gone
            procs.append(proc)
            conns.append(receive)
        while conns:
            for conn in wait(conns):
                try:
                    kind, payload = conn.recv()
                except EOFError:
                    conns.remove(conn)
                    continue
                if kind == "outcomes":
                    run.record(payload)
                    if run.stopped():
                        stop.set()
                elif kind == "models":
                    run.ready(payload)
                else:
                    errors.append(payload)
                    stop.set()
        for proc in procs:
            proc.join()
        if errors:
            raise errors[0]
        if died := [f"{p.name} (exit {p.exitcode})" for p in procs if p.exitcode]:
            # what they finished is written; the rest is left for --resume
            raise WorkerError(f"{', '.join(died)} died before finishing")
    finally:
        stop.set()
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join()


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _worker(
    jobs: list[Job],
    cfg: SynthConfig,
    cfg_hash: str,
    concurrency: int,
    conn: Connection,
    stop,
    parent: int,
) -> None:
    # SIGTERM (ours, or the parent's death) unwinds, so the verifier's processes are stopped too;
    # Ctrl-C reaches the whole process group, and the parent decides what happens then
    die_with_parent(signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the line above
        sys.exit(1)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        uvloop.run(
            work(
                jobs,
                cfg,
                cfg_hash,
                concurrency,
                deliver=lambda outcomes: conn.send(("outcomes", outcomes)),
                stopped=stop.is_set,
                ready=lambda models: conn.send(("models", models)),
            )
        )
    except SpecError as e:  # a model that cannot be built: the user's input, raised as such
        conn.send(("error", e))
        sys.exit(1)
    except Exception as e:  # anything else that stops the worker: one line, keys removed
        conn.send(("error", WorkerError(redact(f"{type(e).__name__}: {e}"))))
        sys.exit(1)
    finally:
        conn.close()
