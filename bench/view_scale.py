"""How fast `journey view` opens and filters a large corpus: first page, and filters, with the index built.

    python bench/view_scale.py [--traces 100000] [--out /tmp/view-bench]

Writes a problem file of TRACES annotated long thoughts (a few hundred words each, a quarter with a
"Wait" reflection, a fifth wrong; subjects and levels) and has ``journey synth --method human`` make
the corpus from it, then measures through the HTTP API a browser calls: building the
index (the first open of a corpus), starting again on the built index, the first page, a filter
by status, a word search, a status plus word filter, and a regular expression over every long
thought. Prints the machine and each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = "the sum of both parts so we carry one and then add the tens before checking the units again".split()


def write_problems(path: Path, n: int) -> None:
    """Annotated long thoughts (a few hundred words each, a quarter with a "Wait ... let me go back"
    paragraph, a fifth ending on a wrong answer) with a subject and a level, as a problem file."""
    rng = random.Random(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for i in range(n):
            a, b = rng.randint(10, 999), rng.randint(10, 999)
            wrong = i % 5 == 0
            steps = [" ".join(rng.choices(WORDS, k=60)) + f" {a} + {b}." for _ in range(rng.randint(2, 6))]
            if i % 4 == 0:
                steps.insert(1, f"Wait, {a} + {b} is {a + b}, not {a + b + 1}. Let me go back to step 1.")
            steps.append(f"So the answer is \\boxed{{{a + b + (1 if wrong else 0)}}}.")
            row = {
                "id": f"p{i:07d}",
                "question": f"What is {a} + {b}? ({i})",
                "answer": str(a + b),
                "thought": "\n\n".join(steps),
                "subject": ["Algebra", "Geometry", "Number Theory"][i % 3],
                "level": f"Level {1 + i % 5}",
            }
            f.write(json.dumps(row) + "\n")


def write_corpus(out: Path, n: int) -> None:
    """The corpus journey synth writes for those problems (the human method: no model is called)."""
    problems = out.parent / "problems.jsonl"
    write_problems(problems, n)
    command = [sys.executable, "-m", "journey", "synth", "--method", "human", "--problems", str(problems)]
    subprocess.run([*command, "--out", str(out)], check=True, cwd=Path(__file__).resolve().parents[1])


def timed(label: str, fn):
    start = time.perf_counter()
    out = fn()
    print(f"{label:<58} {time.perf_counter() - start:8.3f} s", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/view-bench"))
    args = parser.parse_args()
    os.environ["O1J_CACHE"] = str(args.out / "cache")
    shutil.rmtree(args.out, ignore_errors=True)
    corpus = args.out / "corpus"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    timed(f"write {args.traces:,} traces", lambda: write_corpus(corpus, args.traces))
    print(f"corpus: {(corpus / 'traces.jsonl').stat().st_size / 2**20:,.0f} MiB of traces.jsonl")
    from view.queries import load_sources
    from view.server import make_server

    timed("index the corpus (first open only)", lambda: load_sources([corpus]))
    sources = timed("open again (index current: reused)", lambda: load_sources([corpus]))
    server = make_server(sources, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/api/problems?"

    def get(query: dict) -> dict:
        with urllib.request.urlopen(base + urllib.parse.urlencode(query)) as r:
            return json.loads(r.read())

    for label, query in (
        ("first page (50 problems of all)", {}),
        ("filter: status wrong_answer", {"status": "wrong_answer"}),
        ("filter: word 'wait'", {"q": "wait"}),
        ("filter: status wrong_answer + word 'wait'", {"status": "wrong_answer", "q": "wait"}),
        ("filter: subject + level + length range", {"subject": "Algebra", "level": "Level 3", "min_words": "200"}),
        ("filter: regex 'wait, \\d+ \\+ \\d+ is' over every thought", {"re": r"wait, \d+ \+ \d+ is"}),
        ("sort by tokens, page 100", {"sort": "tokens", "page": "100"}),
    ):
        found = timed(label, lambda q=query: get(q))
        print(f"{'':<58} {found['total']:,} problems")
    server.shutdown()


if __name__ == "__main__":
    main()
