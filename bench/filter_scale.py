"""How fast `journey filter` goes through a large corpus, and how much memory it takes.

    python bench/filter_scale.py [--traces 1000000] [--out /tmp/filter-bench] [--runs 3]

Writes a problem file of TRACES annotated long thoughts (``bench/view_scale.py``'s: a few hundred
words each, a quarter with a "Wait" reflection), of which 1% repeat an earlier thought exactly, 1%
repeat one with a sentence added (near duplicates) and 1% end in a loop; ``journey synth --method
human`` makes the corpus from it (once: a later run with the same --out reuses it). Then runs
``journey filter`` with its default filters (dedup included) RUNS times, each in a fresh process,
and prints the machine, each run's wall time and peak memory (the child's maximum resident set),
their median and range, and what was dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
ROOT = Path(__file__).resolve().parents[1]

from bench.view_scale import write_problems  # noqa: E402


def plant(problems: Path, seed: int = 0) -> None:
    """Rewrite 3% of the thoughts: exact copies, near copies and loops of earlier ones."""
    rng = random.Random(seed)
    rows = [json.loads(line) for line in problems.read_text().splitlines()]
    for i in range(100, len(rows)):
        roll = rng.random()
        earlier = rows[rng.randrange(0, i - 1)]["thought"]
        if roll < 0.01:
            rows[i]["thought"] = earlier
        elif roll < 0.02:
            rows[i]["thought"] = earlier.replace("\n\n", "\n\nI check this once more.\n\n", 1)
        elif roll < 0.03:
            rows[i]["thought"] = rows[i]["thought"] + " So I add the tens and the units again." * 8
    problems.write_text("".join(json.dumps(r) + "\n" for r in rows))


def build(out: Path, n: int) -> Path:
    corpus = out / "corpus"
    if (corpus / "manifest.json").exists():
        return corpus
    shutil.rmtree(out, ignore_errors=True)
    problems = out / "problems.jsonl"
    write_problems(problems, n)
    plant(problems)
    started = time.perf_counter()
    command = [sys.executable, "-m", "journey", "synth", "--method", "human", "--problems", str(problems)]
    subprocess.run([*command, "--out", str(corpus)], check=True, cwd=ROOT)
    print(f"corpus of {n} traces written by journey synth in {time.perf_counter() - started:.0f} s", flush=True)
    return corpus


def one_run(corpus: Path, out: Path) -> tuple[float, float, dict]:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    code = (
        "import resource, sys; from pathlib import Path; from curate.filter import filter_corpora; "
        f"m = filter_corpora([{str(corpus)!r}], Path({str(out)!r})); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); print(__import__('json').dumps(m['filter']))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    peak_kib, summary = result.stdout.splitlines()[-2:]
    return wall, int(peak_kib) / 1024, json.loads(summary)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--traces", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/filter-bench"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("O1J_CACHE", str(args.out / "cache"))
    corpus = build(args.out, args.traces)
    size = (corpus / "traces.jsonl").stat().st_size + (corpus / "rejected.jsonl").stat().st_size
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, commit "
        f"{commit.stdout.strip()}; corpus {args.traces} traces, {size / 2**20:.0f} MiB",
        flush=True,
    )
    walls, peaks = [], []
    for run in range(args.runs):
        wall, peak, summary = one_run(corpus, args.out / "filtered")
        walls.append(wall)
        peaks.append(peak)
        print(f"run {run + 1}: {wall:.1f} s, peak {peak:.0f} MiB; kept {summary['kept']}, dropped {summary['dropped']}")
    print(
        f"journey filter, {args.traces} traces: median {statistics.median(walls):.1f} s "
        f"(range {min(walls):.1f}-{max(walls):.1f}), peak memory median {statistics.median(peaks):.0f} MiB "
        f"(range {min(peaks):.0f}-{max(peaks):.0f}) over {args.runs} runs"
    )


if __name__ == "__main__":
    main()
