"""A million-problem corpus: peak memory of a distill run, time to resume it, time to compare it.

    python bench/scale.py [--problems 1000000] [--concurrency 64] [--batch 8] [--workers 2] [--out DIR]

Writes N problems, starts the fast bench server of ``bench/synth_throughput.py`` (its own process,
answers at once), and runs, as a user would, each a fresh ``journey`` process:

1. ``journey synth --method distill`` over all N; the memory of the run's whole process tree (the
   CLI, its worker processes and their verifier pools; not the bench server) is sampled every
   0.5 s as the sum of each process's PSS (proportional set size: a page that forked workers share
   with the CLI counts once over all of them, where summing RSS would count it in each) and its
   peak printed, with the peak RSS of the CLI process alone;
2. the start of a resume on the finished corpus: loading the N problems and reading what is done
   until the runner knows what is left (nothing), timed in this process with the config the CLI
   builds (``synth.setup.configure``); then ``journey synth ... --resume`` as a whole command (start,
   the final pass that writes the manifest);
3. ``journey compare`` of the corpus with a 1,000-problem one.

Targets (issue 15): under 2 GiB resident, resume under 30 s, compare under 60 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth_throughput import free_port, serve, wait_up  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def write_problems(path: Path, n: int) -> None:
    with path.open("w") as f:
        for i in range(n):
            f.write(
                json.dumps({"id": f"q{i}", "question": f"What is {i} + {2 * i + 7}?", "answer": str(3 * i + 7)}) + "\n"
            )


def run(command: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, peak MiB of the process tree (sum of PSS), result)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0.0]

    def sample() -> None:
        root = psutil.Process(process.pid)
        while process.poll() is None:
            try:
                tree = [root, *root.children(recursive=True)]
                peak[0] = max(peak[0], sum(p.memory_full_info().pss for p in tree if p.is_running()) / 2**20)
            except psutil.Error:
                pass
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    sampler.join()
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    return time.perf_counter() - start, peak[0], result


def resume_start(problems: Path, out: Path, spec: str, args) -> float:
    """Seconds from nothing to a runner that knows what is left, configured as the CLI configures it."""
    from corpus.problems import load_problems
    from graphs.method import Generation
    from synth import setup
    from synth.runner import Run

    cfg = setup.configure(
        "distill",
        specs={"teacher": spec},
        generation=Generation(),
        options={},
        scale=setup.Scale(concurrency=args.concurrency, workers=args.workers, batch=args.batch),
    )
    start = time.perf_counter()
    loaded = load_problems(str(problems))
    run = Run(loaded, cfg, out, resume=True, problems_source=str(problems), on_progress=None)
    elapsed = time.perf_counter() - start
    run.close()
    assert run.jobs == [], f"{len(run.jobs)} jobs left: the config differs from the run's"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--reuse", action="store_true", help="keep a finished corpus in --out: measure resume and compare only"
    )
    args = parser.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="o1j-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    problems, small = work / "problems.jsonl", work / "small.jsonl"
    write_problems(problems, args.problems)
    write_problems(small, 1000)
    # the server's address is part of the teacher's spec, so of the config: a reused corpus keeps it
    port_file = work / "port"
    port = int(port_file.read_text()) if args.reuse and port_file.exists() else free_port()
    port_file.write_text(str(port))
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(port, 0.0, 0.2), daemon=True)
    server.start()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    try:
        wait_up(port)
        spec = f"bench@http://127.0.0.1:{port}/v1"

        def synth(source: Path, out: Path, *extra: str) -> list[str]:
            return [
                sys.executable, "-m", "journey", "synth", "--method", "distill", "--problems", str(source),
                "--out", str(out), "--teacher", spec, "--concurrency", str(args.concurrency),
                "--batch", str(args.batch), "--workers", str(args.workers), *extra,
            ]  # fmt: skip

        print(
            f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}"
        )
        if not (args.reuse and (work / "big" / "manifest.json").exists()):
            wall, peak, result = run(synth(problems, work / "big"), env)
            assert result.returncode == 0, result.stderr[-3000:]
            manifest = json.loads((work / "big" / "manifest.json").read_text())
            traces = manifest["corpus"]["traces"]
            print(
                f"synth: {traces:,} traces in {wall:.0f}s ({traces / wall:,.0f}/s), peak {peak:,.0f} MiB (process tree, sum of PSS)"
            )
        start = resume_start(problems, work / "big", spec, args)
        print(f"resume start (load {args.problems:,} problems, read what is done, nothing left): {start:.1f}s")
        wall, peak, result = run(synth(problems, work / "big", "--resume"), env)
        assert result.returncode == 0, result.stderr[-3000:]
        print(
            f"journey synth --resume as a whole command (start, nothing to do, the manifest): {wall:.1f}s, peak {peak:,.0f} MiB"
        )
        shutil.rmtree(work / "small", ignore_errors=True)
        _, _, result = run(synth(small, work / "small"), env)
        assert result.returncode == 0, result.stderr[-3000:]
        compare = [
            sys.executable,
            "-m",
            "journey",
            "compare",
            str(work / "big"),
            str(work / "small"),
            "--out",
            str(work / "cmp"),
        ]
        wall, peak, result = run(compare, env)
        assert result.returncode == 0, result.stderr[-3000:]
        print(f"compare with a 1,000-problem corpus: {wall:.1f}s, peak {peak:,.0f} MiB")
        size = (work / "big" / "traces.jsonl").stat().st_size
        print(f"corpus: {size / 2**30:.2f} GiB of traces.jsonl in {work}")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
