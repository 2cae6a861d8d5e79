"""A million-problem corpus: peak memory of a distill run, time to resume it, time to compare it.

    python bench/scale.py [--problems 1000000] [--concurrency 64] [--batch 8] [--workers 2] [--out DIR]

Writes N problems, starts the fast bench server of ``bench/synth_throughput.py`` (its own process,
answers at once), and runs, as a user would, each a fresh ``journey`` process:

1. ``journey synth --method distill`` over all N; the memory of the run's whole process tree (the
   CLI, its worker processes and their verifier pools; not the bench server) is sampled every
   0.5 s as the sum of each process's PSS (proportional set size: a page that forked workers share
   with the CLI counts once over all of them, where summing RSS would count it in each) and its
   peak printed, with the peak RSS of the CLI process alone;
2. ``journey synth ... --resume`` on the finished corpus: the time to read what is done and find
   nothing left (the start of a resume), then the manifest;
3. ``journey compare`` of the corpus with a 1,000-problem one.

Targets (issue 15): under 2 GiB resident, resume under 30 s, compare under 60 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="o1j-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    problems, small = work / "problems.jsonl", work / "small.jsonl"
    write_problems(problems, args.problems)
    write_problems(small, 1000)
    port = free_port()
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
        wall, peak, result = run(synth(problems, work / "big"), env)
        assert result.returncode == 0, result.stderr[-3000:]
        manifest = json.loads((work / "big" / "manifest.json").read_text())
        print(
            f"synth: {manifest['corpus']['traces']:,} traces in {wall:.0f}s ({manifest['corpus']['traces'] / wall:,.0f}/s), peak resident {peak:,.0f} MiB (process tree)"
        )
        wall, peak, result = run(synth(problems, work / "big", "--resume"), env)
        assert result.returncode == 0, result.stderr[-3000:]
        print(
            f"resume of the finished corpus (reads {args.problems:,} lines, nothing left): {wall:.1f}s, peak {peak:,.0f} MiB"
        )
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
