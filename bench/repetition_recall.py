"""Recall and false-positive rate of the repetition detector (``curate.detectors.repetition``) on a
labelled set built here from public solutions.

    python bench/repetition_recall.py [--data ../shared/data]

Negatives (no loop): MATH-500 solutions; GSM8K solutions; MATH-500 solutions with "Wait, let me
double-check this step." after every second sentence (the same check said many times, with progress
between); enumerations ("Try n = 1: ... not a square." for n up to 25, a search, not a loop).
Positives (a loop at the end, as a reasoning model's that runs until its budget ends), each built
on a MATH-500 solution: its last sentence said again K times (K from 4 to 40), a cycle of two of its
sentences said K times (K from 3 to 20), its last 8 words said again K times with no sentence end
(K from 5 to 40). K is drawn per sample from a seeded generator. Prints recall per kind of loop,
false-positive rate per kind of text, and both overall.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curate.detectors import repetition  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SENTENCE = re.compile(r"[^.!?\n]+[.!?]")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE.findall(text) if len(s.split()) >= 3]


def labelled(data: Path, seed: int = 0) -> list[tuple[str, str, bool]]:
    """(kind, text, is_loop) for every sample of the set."""
    rng = random.Random(seed)
    math = [json.loads(line)["solution"] for line in (data / "math500" / "test.jsonl").read_text().splitlines()]
    gsm = [json.loads(line)["answer"] for line in (data / "gsm8k" / "test.jsonl").read_text().splitlines()]
    out = [("math500 solution", t, False) for t in math] + [("gsm8k solution", t, False) for t in gsm]
    for t in math:
        parts = sentences(t)
        checked = " ".join(s + (" Wait, let me double-check this step." if i % 2 else "") for i, s in enumerate(parts))
        out.append(("solution with repeated checks", checked, False))
    for _ in range(200):
        a = rng.randint(2, 50)
        steps = " ".join(f"Try n = {n}: {n}^2 + {a} = {n * n + a}, not a square." for n in range(1, 26))
        out.append(("enumeration", f"We look for n with n^2 + {a} a square. {steps}", False))
    for t in math:
        parts = sentences(t)
        if len(parts) < 2:
            continue
        last = parts[-1]
        out.append(("sentence loop", t + (" " + last) * rng.randint(4, 40), True))
        out.append(("two-sentence cycle", t + (" " + parts[-2] + " " + last) * rng.randint(3, 20), True))
        tail = " ".join(t.split()[-8:]).rstrip(".!?")
        out.append(("phrase loop, no sentence end", t + (" " + tail) * rng.randint(5, 40), True))
    return out


def measure(samples: list[tuple[str, str, bool]]) -> dict[str, dict[str, float]]:
    by_kind: dict[str, list[int]] = {}
    for kind, text, loop in samples:
        flagged = repetition(text) is not None
        counts = by_kind.setdefault(kind, [0, 0, int(loop)])
        counts[0] += flagged
        counts[1] += 1
    return {kind: {"flagged": f, "n": n, "loop": bool(loop)} for kind, (f, n, loop) in by_kind.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    result = measure(labelled(args.data))
    positives = [r for r in result.values() if r["loop"]]
    negatives = [r for r in result.values() if not r["loop"]]
    for kind, r in result.items():
        what = "recall" if r["loop"] else "false positives"
        print(f"{kind:<32} {what:<16} {r['flagged'] / r['n']:.3f}  ({r['flagged']} of {r['n']})")
    tp, p = sum(r["flagged"] for r in positives), sum(r["n"] for r in positives)
    fp, n = sum(r["flagged"] for r in negatives), sum(r["n"] for r in negatives)
    print(f"overall recall {tp / p:.3f} ({tp} of {p}); false-positive rate {fp / n:.4f} ({fp} of {n})")


if __name__ == "__main__":
    main()
