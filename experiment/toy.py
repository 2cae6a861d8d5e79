"""Worked additions for Part 1's journey-versus-shortcut question at toy scale.

Each training problem is a two-digit addition with an annotated thought in the human method's form:
the tens, then the ones, then the sum. A share of them (``slip_share``) carry a caught mistake: the
ones added wrongly, then "Wait, 4 + 5 is 9, not 10." and the ones again, a journey whose corrected
path is the plain worked sum. A share (``wrong_share``) are attempted a second time ending on an
uncaught slip: the wrong side of a verified-versus-wrong pair. Held-out sets: more two-digit sums
(``same``) and three-digit sums with hundreds (``harder``). Train and held-out problems never share a
question (checked, not assumed).
"""

from __future__ import annotations

import json
import random
from pathlib import Path


def thought(a: int, b: int, *, slip: bool = False, wrong: bool = False) -> str:
    tens, ones = (a // 10 + b // 10) * 10, a % 10 + b % 10
    lines = [f"First the tens: {a // 10 * 10} + {b // 10 * 10} = {tens}."]
    if slip:  # a caught mistake: the journey keeps it, the shortcut drops it
        lines += [
            f"Then the ones: {a % 10} + {b % 10} = {ones + 1}.",
            f"Wait, {a % 10} + {b % 10} is {ones}, not {ones + 1}.",
        ]
    said = ones + 1 if wrong else ones  # an uncaught slip: the attempt ends on a wrong answer
    lines += [
        f"Then the ones: {a % 10} + {b % 10} = {said}.",
        f"{tens} + {said} = {tens + said}, so the answer is \\boxed{{{tens + said}}}.",
    ]
    return "\n\n".join(lines)


def additions(
    out: Path, *, train: int, heldout: dict[str, int], seed: int = 0, slip_share: float = 0.5, wrong_share: float = 0.33
) -> dict[str, Path]:
    """Write ``train.jsonl`` and one ``heldout-NAME.jsonl`` per held-out set; return their paths."""
    rng = random.Random(seed)
    two = rng.sample([(a, b) for a in range(10, 100) for b in range(10, 100)], train + heldout.get("same", 0))
    three = rng.sample([(a, b) for a in range(100, 1000, 7) for b in range(100, 1000, 11)], heldout.get("harder", 0))
    unknown = set(heldout) - {"same", "harder"}
    if unknown:
        raise ValueError(f"held-out sets are same and harder, not {', '.join(sorted(unknown))}")
    out.mkdir(parents=True, exist_ok=True)
    paths = {"train": out / "train.jsonl"}
    slips, wrongs = round(1 / slip_share) if slip_share else 0, round(1 / wrong_share) if wrong_share else 0
    with paths["train"].open("w") as f:
        for i, (a, b) in enumerate(two[:train]):
            row = {"id": f"add-{i}", "question": f"What is {a} + {b}?", "answer": str(a + b)}
            f.write(json.dumps(row | {"thought": thought(a, b, slip=bool(slips) and i % slips == 0)}) + "\n")
            if wrongs and i % wrongs == 1:
                f.write(json.dumps(row | {"id": f"add-{i}-wrong", "thought": thought(a, b, wrong=True)}) + "\n")
    sets = {"same": two[train:], "harder": three}
    for name, count in heldout.items():
        paths[name] = out / f"heldout-{name}.jsonl"
        with paths[name].open("w") as f:
            for i, (a, b) in enumerate(sets[name][:count]):
                f.write(
                    json.dumps({"id": f"{name}-{i}", "question": f"What is {a} + {b}?", "answer": str(a + b)}) + "\n"
                )
    seen = {json.loads(line)["question"] for line in paths["train"].read_text().splitlines()}
    for name in heldout:
        if overlap := seen & {json.loads(line)["question"] for line in paths[name].read_text().splitlines()}:
            raise ValueError(f"held-out set {name} shares {len(overlap)} questions with the training set")
    return paths
