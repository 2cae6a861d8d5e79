"""The demo problem set: 30 arithmetic and algebra word problems the project writes itself.

Answers are computed here, not typed, so they cannot disagree with the question.
Use ``--problems demo`` or ``journey problems demo --out FILE`` to write them as JSONL.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd

from corpus.schema import Problem

_NAMES = ["Ann", "Ben", "Cara", "Dev", "Eli", "Fay"]


def _problems() -> list[tuple[str, object, str]]:
    """(question, answer, reference solution) triples; the solution is what the reformat method rewrites."""
    out: list[tuple[str, object, str]] = []
    # one-step arithmetic
    for i, (a, b) in enumerate([(12, 7), (35, 18), (64, 29)]):
        out.append(
            (
                f"{_NAMES[i]} has {a} marbles and finds {b} more. How many marbles does {_NAMES[i]} have now?",
                a + b,
                f"{a} + {b} = {a + b}.",
            )
        )
    for a, b in [(50, 13), (91, 45), (120, 77)]:
        out.append((f"A shop had {a} apples and sold {b}. How many apples are left?", a - b, f"{a} - {b} = {a - b}."))
    for a, b in [(8, 7), (12, 6), (15, 4)]:
        out.append(
            (f"A crate holds {a} bottles. How many bottles are in {b} crates?", a * b, f"{a} \\times {b} = {a * b}.")
        )
    for a, b in [(72, 8), (96, 12), (135, 9)]:
        out.append(
            (
                f"{a} stickers are shared equally among {b} children. How many stickers does each child get?",
                a // b,
                f"{a} / {b} = {a // b}.",
            )
        )
    # two steps
    for a, b, c in [(5, 4, 3), (12, 3, 10), (9, 6, 20)]:
        out.append(
            (
                f"Pens cost {a} dollars each. Tom buys {b} pens and pays with a {a * b + c} dollar bill. How much change does he get?",
                c,
                f"The pens cost {a} \\times {b} = {a * b} dollars. The change is {a * b + c} - {a * b} = {c} dollars.",
            )
        )
    for a, b, c in [(3, 14, 5), (4, 25, 10), (6, 11, 7)]:
        out.append(
            (
                f"A baker makes {a} trays of {b} rolls and then burns {c} rolls. How many good rolls are left?",
                a * b - c,
                f"The baker makes {a} \\times {b} = {a * b} rolls. After burning {c}, {a * b} - {c} = {a * b - c} are left.",
            )
        )
    # rates and percentages
    for speed, hours in [(60, 3), (45, 4), (80, 2)]:
        out.append(
            (
                f"A car drives at {speed} km per hour for {hours} hours. How many km does it travel?",
                speed * hours,
                f"Distance is speed times time: {speed} \\times {hours} = {speed * hours} km.",
            )
        )
    for price, pct in [(80, 25), (120, 10), (60, 50)]:
        out.append(
            (
                f"A jacket costs {price} dollars and is on sale for {pct}% off. What is the sale price in dollars?",
                price * (100 - pct) // 100,
                f"The discount is {pct}% of {price}, which is {price * pct // 100} dollars, so the price is {price} - {price * pct // 100} = {price * (100 - pct) // 100} dollars.",
            )
        )
    # linear equations
    for a, b, x in [(3, 5, 4), (7, 2, 6), (5, 11, 9)]:
        out.append(
            (f"Solve for x: {a}x + {b} = {a * x + b}.", x, f"Subtract {b}: {a}x = {a * x}. Divide by {a}: x = {x}.")
        )
    # fractions
    for (p, q), (r, s) in [((1, 2), (1, 3)), ((3, 4), (1, 6)), ((2, 5), (1, 10))]:
        total = Fraction(p, q) + Fraction(r, s)
        answer = f"{total.numerator}/{total.denominator}" if total.denominator != 1 else total.numerator
        common = q * s // gcd(q, s)
        out.append(
            (
                f"What is {p}/{q} + {r}/{s}? Give the answer as a fraction in lowest terms.",
                answer,
                f"Over the common denominator {common}: {p * common // q}/{common} + {r * common // s}/{common} = {p * common // q + r * common // s}/{common}, which is {answer} in lowest terms.",
            )
        )
    return out


def demo_problems() -> list[Problem]:
    # interleave the kinds (they come in threes) so that --limit N still spans them
    made = _problems()
    ordered = [made[k + 3 * j] for k in range(3) for j in range(len(made) // 3)]
    return [
        Problem(
            id=f"demo-{i:02d}",
            question=q,
            answer=str(a),
            source="demo",
            meta={"solution": f"{sol} The answer is \\boxed{{{a}}}."},
        )
        for i, (q, a, sol) in enumerate(ordered, 1)
    ]
