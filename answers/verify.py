"""Answer verification with math-verify, in worker processes with a time and memory limit.

math-verify's own timeout is signal based and works only in a process's main thread, and a
pathological answer (``5^{5^{5^5}}``) can hang sympy or eat memory: so every check runs in a
pebble worker process that is killed when it overruns. Model text never reaches sympy anywhere
else. Distinct (gold, answer) pairs are checked once.

Two integers or fractions of integers written plainly (``7``, ``-3/4``, ``\\frac{14}{2}``) are
compared exactly with ``fractions.Fraction`` in this process, without a worker: for exact numbers
``check`` comes down to exact equality anyway, and a worker round trip with sympy costs
milliseconds where this costs microseconds (most answers of AIME, GSM8K and many of MATH).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import re
import resource
from concurrent.futures import TimeoutError as FutureTimeout
from fractions import Fraction

from pebble import ProcessPool
from pebble.common import ProcessExpired

MAX_ANSWER_CHARS = 2_000


def _limit_memory(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def check(gold: str, answer: str, timeout_s: int = 5) -> bool:
    """Runs inside a worker: True if ``answer`` is mathematically equal to ``gold``."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    configs = [LatexExtractionConfig(), ExprExtractionConfig()]
    gold_parsed = parse(f"\\boxed{{{gold}}}", extraction_config=configs, parsing_timeout=timeout_s) or parse(
        gold, extraction_config=configs, parsing_timeout=timeout_s
    )
    answer_parsed = parse(f"\\boxed{{{answer}}}", extraction_config=configs, parsing_timeout=timeout_s) or parse(
        answer, extraction_config=configs, parsing_timeout=timeout_s
    )
    if not gold_parsed or not answer_parsed:
        return gold.strip() == answer.strip()
    import sympy

    gold_expr, answer_expr = gold_parsed[0], answer_parsed[0]
    # math-verify reads "19,19" as the set {19} and then calls it equal to 19 (seen on the embedded
    # model's "\\boxed{19,19}"): a list of answers never equals a single one
    if isinstance(answer_expr, sympy.FiniteSet) and not isinstance(gold_expr, sympy.FiniteSet):
        return False
    ok = bool(verify(gold_parsed, answer_parsed, timeout_seconds=timeout_s))
    if ok and _exact(gold_expr) and _exact(answer_expr):
        # verify() rounds to 6 decimals, so 1/2^99 "equals" 1/2^98: exact numbers must be exactly equal
        ok = sympy.simplify((gold_expr - answer_expr).doit()) == 0
    return ok


_INT = r"[+-]?\d{1,40}"
_RATIONAL = re.compile(
    rf"(?P<int>{_INT})"
    rf"|(?P<num>{_INT})\s*/\s*(?P<den>\d{{1,40}})"
    rf"|(?P<sign>[+-]?)\\[dt]?frac\{{\s*(?P<fnum>{_INT})\s*\}}\{{\s*(?P<fden>{_INT})\s*\}}"
)


def rational(text: str) -> Fraction | None:
    """An integer or a fraction of integers in plain form, exactly; None for anything else."""
    m = _RATIONAL.fullmatch(text.strip())
    if m is None:
        return None
    if m["int"] is not None:
        return Fraction(int(m["int"]))
    num, den = (int(m["num"]), int(m["den"])) if m["num"] is not None else (int(m["fnum"]), int(m["fden"]))
    if den == 0:
        return None
    return Fraction(num, den) * (-1 if m["sign"] == "-" else 1)


def _exact(expr) -> bool:
    import sympy

    return isinstance(expr, sympy.Expr) and bool(expr.is_number) and not expr.atoms(sympy.Float)


class Verifier:
    """Checks answers against references in ``workers`` processes, each check at most ``timeout_s``."""

    def __init__(self, workers: int = 1, timeout_s: float = 10.0, memory_mb: int = 2048):
        self.workers, self.timeout_s, self.memory_mb = workers, timeout_s, memory_mb
        self._pool: ProcessPool | None = None
        self._cache: dict[tuple[str, str], bool] = {}
        self.timeouts = 0

    def _ensure_pool(self) -> ProcessPool:
        if self._pool is None:
            # spawn, not fork: the parent runs threads (asyncio, torch) that fork would copy mid-state
            self._pool = ProcessPool(
                max_workers=self.workers,
                initializer=_limit_memory,
                initargs=(self.memory_mb,),
                context=multiprocessing.get_context("spawn"),
            )
        return self._pool

    def _submit(self, gold: str, answer: str):
        return self._ensure_pool().schedule(
            check, args=(gold, answer, max(1, int(self.timeout_s) - 1)), timeout=self.timeout_s
        )

    def _done(self, key: tuple[str, str], future) -> bool:
        try:
            result = bool(future.result())
        except (FutureTimeout, ProcessExpired, MemoryError, RecursionError):
            self.timeouts += 1
            result = False
        except Exception:  # a parser crash on untrusted text is a wrong answer, not a crashed run
            result = False
        self._cache[key] = result
        return result

    def _known(self, gold: str, answer: str | None) -> bool | None:
        """The verdict without a worker: empty or overlong answers, identical strings, two plain
        rationals, cached pairs."""
        if answer is None or not answer.strip() or len(answer) > MAX_ANSWER_CHARS:
            return False
        if gold.strip() == answer.strip():
            return True
        if (exact_gold := rational(gold)) is not None and (exact_answer := rational(answer)) is not None:
            return exact_gold == exact_answer
        return self._cache.get((gold, answer))

    def verify(self, gold: str, answer: str | None) -> bool:
        return self.verify_many([(gold, answer)])[0]

    async def averify(self, gold: str, answer: str | None) -> bool:
        known = self._known(gold, answer)
        if known is not None:
            return known
        future = self._submit(gold, answer)
        with contextlib.suppress(Exception):  # _done reads the outcome, failures included
            await asyncio.wrap_future(future)
        return self._done((gold, answer), future)

    def verify_many(self, pairs: list[tuple[str, str | None]]) -> list[bool]:
        """Check many pairs at once across the workers; each distinct pair is checked once."""
        results: dict[tuple[str, str | None], bool] = {}
        futures = {}
        for key in pairs:
            if key in results or key in futures:
                continue
            known = self._known(*key)
            if known is not None:
                results[key] = known
            else:
                futures[key] = self._submit(*key)
        for key, future in futures.items():
            results[key] = self._done(key, future)
        return [results[key] for key in pairs]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
