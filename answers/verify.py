"""Answer verification with math-verify, in worker processes with a time and memory limit.

math-verify's own timeout is signal based and works only in a process's main thread, and a
pathological answer (``5^{5^{5^5}}``) can hang sympy or eat memory: so every check runs in a
pebble worker process that is killed when it overruns. Model text never reaches sympy anywhere
else. Distinct (gold, answer) pairs are checked once.

Two integers or fractions of integers written plainly (``7``, ``-3/4``, ``\\frac{14}{2}``) are
compared exactly with ``fractions.Fraction`` in this process, without a worker: for exact numbers
``check`` comes down to exact equality anyway, and a worker round trip with sympy costs
milliseconds where this costs microseconds (most answers of AIME, GSM8K and many of MATH). Two
more shortcuts only ever say "equal": strings identical once LaTeX that never changes a value is
removed (``\\left``, ``\\right``, ``\\,``, ``\\dfrac``, spaces), and a plain decimal exactly equal
to the other side (``0.5`` for ``\\frac{1}{2}``).

An output that states no answer explicitly (no box, no "the answer is") is handed whole, its tail
only, to math-verify's own extraction in a worker (:meth:`Verifier.grade_outputs`).

Workers are spawned without re-running the parent's ``__main__`` (a plain script without an
``if __name__ == "__main__"`` guard, or one piped to ``python -``, would otherwise run again in
every worker), and a new pool proves it works with a canary check: a verifier that cannot run
raises ``VerifierError``, it never answers False.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import os
import re
import resource
from concurrent.futures import TimeoutError as FutureTimeout
from decimal import Decimal
from fractions import Fraction
from multiprocessing import context, popen_spawn_posix, reduction, spawn, util

from pebble import ProcessPool
from pebble.common import ProcessExpired

from answers.extract import answer_section, clean_gold, extract_answer, is_bare_answer, tail

MAX_ANSWER_CHARS = 2_000


class VerifierError(RuntimeError):
    """The answer checker could not run: no verdict, rather than a wrong one."""


class _NoMainPopen(popen_spawn_posix.Popen):
    """spawn's Popen (CPython 3.11+), less the parent's ``__main__``: the worker's target lives in
    this package, so the child never needs the script that started the parent."""

    def _launch(self, process_obj):
        from multiprocessing import resource_tracker

        tracker_fd = resource_tracker.getfd()
        self._fds.append(tracker_fd)
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        fp = io.BytesIO()
        context.set_spawning_popen(self)
        try:
            reduction.dump(prep_data, fp)
            reduction.dump(process_obj, fp)
        finally:
            context.set_spawning_popen(None)
        parent_r = child_w = child_r = parent_w = None
        try:
            parent_r, child_w = os.pipe()
            child_r, parent_w = os.pipe()
            cmd = spawn.get_command_line(tracker_fd=tracker_fd, pipe_handle=child_r)
            self._fds.extend([child_r, child_w])
            self.pid = util.spawnv_passfds(spawn.get_executable(), cmd, self._fds)
            self.sentinel = parent_r
            with open(parent_w, "wb", closefd=False) as f:
                f.write(fp.getbuffer())
        finally:
            self.finalizer = util.Finalize(self, util.close_fds, [fd for fd in (parent_r, parent_w) if fd is not None])
            for fd in (child_r, child_w):
                if fd is not None:
                    os.close(fd)


class _NoMainProcess(context.SpawnProcess):
    @staticmethod
    def _Popen(process_obj):
        return _NoMainPopen(process_obj)


class _NoMainContext(context.SpawnContext):
    # spawn, not fork: the parent runs threads (asyncio, torch) that fork would copy mid-state
    Process = _NoMainProcess


def _limit_memory(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@functools.lru_cache(maxsize=4096)
def _parse_gold(gold: str, timeout_s: int) -> list:
    """Parsed once per worker: a gold is compared with every distinct answer of its K samples."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    configs = [LatexExtractionConfig(), ExprExtractionConfig()]
    gold = _tidy(clean_gold(gold))
    return parse(f"\\boxed{{{gold}}}", extraction_config=configs, parsing_timeout=timeout_s) or parse(
        gold, extraction_config=configs, parsing_timeout=timeout_s
    )


def _equal(gold_parsed: list, answer_parsed: list, timeout_s: int) -> bool:
    import sympy
    from math_verify import verify

    gold_expr, answer_expr = gold_parsed[0], answer_parsed[0]
    # math-verify reads "19,19" as the set {19} and then calls it equal to 19 (seen on the embedded
    # model's "\\boxed{19,19}"): a list of answers never equals a single one (a set of one may)
    listed = any(isinstance(p, str) and ("," in p or ";" in p) for p in answer_parsed[1:])
    if isinstance(answer_expr, sympy.FiniteSet) and not isinstance(gold_expr, sympy.FiniteSet):
        if listed or len(answer_expr) != 1:
            return False
    # an interval and the relation that describes it are one answer: x \\geq 3 and [3, \\infty)
    ok = bool(verify(gold_parsed, answer_parsed, timeout_seconds=timeout_s, allow_set_relation_comp=True))
    if ok and _exact(gold_expr) and _exact(answer_expr):
        # verify() rounds to 6 decimals, so 1/2^99 "equals" 1/2^98: exact numbers must be exactly
        # equal, a percentage on either side (50\\% for 50) read as math-verify reads it
        scales = [1, 100 if _percent(answer_parsed) else 1, sympy.Rational(1, 100) if _percent(gold_parsed) else 1]
        ok = any(sympy.simplify((gold_expr - scale * answer_expr).doit()) == 0 for scale in set(scales))
    elif not ok and (_percent(answer_parsed) or _percent(gold_parsed)):
        # a decimal percentage (7.5\% for 7.5): math-verify parses it as 7.5 * (1/100) with a float,
        # which its own comparison misses; the same scales, compared to 1e-9 of the gold's size
        scales = {100 if _percent(answer_parsed) else 1, sympy.Rational(1, 100) if _percent(gold_parsed) else 1}
        ok = any(_close(gold_expr, scale * answer_expr) for scale in scales)
    return ok


def _close(a, b) -> bool:
    import sympy

    try:
        diff, size = (
            sympy.N((a - b).doit()),
            sympy.N(sympy.sympify(a).doit()),
        )  # math-verify leaves 7.5*(1/100) unevaluated
        return bool(diff.is_number and size.is_number and abs(diff) <= 1e-9 * max(1, abs(size)))
    except (TypeError, ValueError):
        return False


def _percent(parsed: list) -> bool:
    return any(isinstance(p, str) and "%" in p for p in parsed)


# digit groups written with LaTeX spacing (1\\,000\\,000), and a sentence's period left in a box (42.)
_GROUPED = re.compile(r"(?<=\d)(?:\\,|\\!|\\ |~)(?=\d{3}(?!\d))")
_TRAILING_PERIOD = re.compile(r"(?<=\d)\.\s*$")


# a repeating decimal: 0.\overline{3}, 0.1\overline{6}, 2.\overline{142857}, or 0.(3)
_REPEATING = re.compile(r"(\d{0,40})\.(\d{0,40})(?:\\overline\s*\{(\d{1,40})\}|\\dot\s*\{?(\d)\}?|\((\d{1,40})\))")


def _repeating(match: re.Match) -> str:
    whole, fixed = match.group(1) or "0", match.group(2)
    cycle = match.group(3) or match.group(4) or match.group(5)
    numerator = int(whole + fixed + cycle) - int(whole + fixed)
    denominator = (10 ** len(cycle) - 1) * 10 ** len(fixed)
    return f"\\frac{{{numerator}}}{{{denominator}}}"


# a number with its unit in text: \text{10 cm}
_TEXT_NUMBER = re.compile(r"^\\(?:text|mathrm)\{\s*([-+]?\d[\d,.]*)\s*[A-Za-z ]{0,40}\}$")


def _tidy(answer: str) -> str:
    answer = _TEXT_NUMBER.sub(lambda m: m.group(1), answer.strip())
    return _REPEATING.sub(_repeating, _TRAILING_PERIOD.sub("", _GROUPED.sub("", answer)))


def check(gold: str, answer: str, timeout_s: int = 5) -> bool:
    """Runs inside a worker: True if ``answer`` is mathematically equal to ``gold``."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    answer = _tidy(answer)
    configs = [LatexExtractionConfig(), ExprExtractionConfig()]
    gold_parsed = _parse_gold(gold, timeout_s)
    boxed = parse(f"\\boxed{{{answer}}}", extraction_config=configs, parsing_timeout=timeout_s)
    # an answer with prose around it ("10 apples") is read by math-verify's own extraction
    answer_parsed = (boxed or parse(answer, parsing_timeout=timeout_s)) if is_bare_answer(answer) else None
    answer_parsed = answer_parsed or parse(answer, parsing_timeout=timeout_s) or boxed
    if not gold_parsed or not answer_parsed:
        return clean_gold(gold) == answer.strip()
    return _equal(gold_parsed, answer_parsed, timeout_s)


def gold_parses(gold: str, _unused: str = "", timeout_s: int = 5) -> bool:
    """Runs inside a worker: whether math-verify reads the gold as math (not only as its text)."""
    parsed = _parse_gold(gold, timeout_s)
    return bool(parsed) and not isinstance(parsed[0], str)


def check_text(gold: str, text: str, timeout_s: int = 5) -> tuple[str | None, bool]:
    """Runs inside a worker: math-verify's own extraction (its default: LaTeX, then plain
    expressions, no anchor needed) on an output that states no answer explicitly; the answer it
    found (None: none) and whether it equals ``gold``."""
    from math_verify import parse

    answer_parsed = parse(text, parsing_timeout=timeout_s)
    if not answer_parsed:
        return None, False
    found = answer_parsed[-1] if isinstance(answer_parsed[-1], str) else str(answer_parsed[0])
    gold_parsed = _parse_gold(gold, timeout_s)
    if not gold_parsed:
        return found, clean_gold(gold) == found.strip()
    return found, _equal(gold_parsed, answer_parsed, timeout_s)


_INT = r"[+-]?\d{1,40}"
_RATIONAL = re.compile(
    rf"(?P<int>{_INT})"
    rf"|(?P<num>{_INT})\s*/\s*(?P<den>\d{{1,40}})"
    rf"|(?P<sign>[+-]?)\\[dt]?frac\{{\s*(?P<fnum>{_INT})\s*\}}\{{\s*(?P<fden>{_INT})\s*\}}"
)


_DECIMAL = re.compile(r"[+-]?\d{1,40}\.\d{1,40}")
# LaTeX that never changes a value: sizing, spacing, display fractions, whitespace
_NOISE = re.compile(r"\\(?:left|right)(?![A-Za-z])|\\[,!;: ]|\s+")


def _normal(text: str) -> str:
    return _NOISE.sub("", text).replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")


def decimal(text: str) -> Fraction | None:
    """A plain decimal (``0.75``), exactly; None for anything else."""
    text = text.strip()
    return Fraction(Decimal(text)) if _DECIMAL.fullmatch(text) else None


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
    """Checks answers against references in ``workers`` processes, each check at most ``timeout_s``.

    A check that overruns or exhausts its memory is a wrong answer (counted in ``timeouts``); a
    pool that cannot start or fails its canary raises ``VerifierError``.
    """

    def __init__(self, workers: int = 1, timeout_s: float = 10.0, memory_mb: int = 2048, thinking: str = "after"):
        if thinking not in ("after", "include"):
            raise ValueError(f"thinking is after (grade what follows a thinking block) or include, not {thinking!r}")
        self.workers, self.timeout_s, self.memory_mb = workers, timeout_s, memory_mb
        self.thinking = thinking  # "include": models that answer inside their thinking are graded on it all
        self._pool: ProcessPool | None = None
        self._cache: dict[tuple[str, str, str], object] = {}
        self.timeouts = 0
        self.checked = 0  # pairs a worker decided (math-verify ran), not counting cache hits

    def _ensure_pool(self) -> ProcessPool:
        if self._pool is None:
            pool = ProcessPool(
                max_workers=self.workers,
                initializer=_limit_memory,
                initargs=(self.memory_mb,),
                context=_NoMainContext(),
            )
            # the first check also pays the worker's start and math-verify's import
            canary = pool.schedule(check, args=("1/2", "0.5", 5), timeout=max(120.0, self.timeout_s))
            try:
                ok = canary.result()
            except Exception as e:
                pool.stop()
                pool.join()
                raise VerifierError(f"the answer checker could not run: {type(e).__name__}: {e}") from None
            if ok is not True:
                pool.stop()
                pool.join()
                raise VerifierError("the answer checker failed its canary (1/2 = 0.5 judged unequal)")
            self._pool = pool
        return self._pool

    def _submit(self, fn, first: str, second: str):
        return self._ensure_pool().schedule(
            fn, args=(first, second, max(1, int(self.timeout_s) - 1)), timeout=self.timeout_s
        )

    def _done(self, key: tuple[str, str, str], future, failed):
        try:
            result = future.result()
            self.checked += 1
        except (FutureTimeout, ProcessExpired, MemoryError, RecursionError):
            self.timeouts += 1
            result = failed
        except Exception:  # a parser crash on untrusted text is a wrong answer, not a crashed run
            result = failed
        self._cache[key] = result
        return result

    def _known(self, gold: str, answer: str | None) -> bool | None:
        """The verdict without a worker: empty or overlong answers, identical strings, two plain
        rationals, cached pairs."""
        if answer is None or not answer.strip() or len(answer) > MAX_ANSWER_CHARS:
            return False
        gold = clean_gold(gold)
        if gold == answer.strip() or _normal(gold) == _normal(answer):
            return True
        exact = [rational(gold), rational(answer)]
        if None not in exact:
            return exact[0] == exact[1]
        # a decimal exactly equal to the other side is equal; an unequal one goes to math-verify, which
        # rounds (0.333333 for 1/3), so that this shortcut never gives a verdict math-verify would not
        numbers = [e if e is not None else decimal(t) for e, t in zip(exact, (gold, answer), strict=True)]
        if None not in numbers and numbers[0] == numbers[1]:
            return True
        return self._cache.get(("answer", gold, answer))

    def golds_parse(self, golds: list[str]) -> list[bool]:
        """Whether each gold can be read by math-verify (in workers, each distinct gold once); a gold
        that cannot is no reference a judge can be asked against."""
        futures = {
            g: self._submit(gold_parses, g, "") for g in dict.fromkeys(golds) if ("gold", g, "") not in self._cache
        }
        for gold, future in futures.items():
            self._done(("gold", gold, ""), future, False)
        return [bool(self._cache[("gold", g, "")]) for g in golds]

    def verify(self, gold: str, answer: str | None) -> bool:
        return self.verify_many([(gold, answer)])[0]

    async def averify(self, gold: str, answer: str | None) -> bool:
        known = self._known(gold, answer)
        if known is not None:
            return known
        future = self._submit(check, gold, answer)
        with contextlib.suppress(Exception):  # _done reads the outcome, failures included
            await asyncio.wrap_future(future)
        return self._done(("answer", clean_gold(gold), answer), future, False)

    def verify_many(self, pairs: list[tuple[str, str | None]]) -> list[bool]:
        """Check many (gold, answer) pairs at once across the workers; each distinct pair is checked once."""
        results: dict[tuple[str, str | None], bool] = {}
        futures = {}
        for key in pairs:
            if key in results or key in futures:
                continue
            known = self._known(*key)
            if known is not None:
                results[key] = known
            else:
                futures[key] = self._submit(check, *key)
        for (gold, answer), future in futures.items():
            results[(gold, answer)] = self._done(("answer", clean_gold(gold), answer), future, False)
        return [results[key] for key in pairs]

    def grade_outputs(self, golds: list[str], outputs: list[str]) -> list[tuple[str | None, bool]]:
        """Per whole output: the answer it states (explicitly; else what math-verify's own
        extraction finds in its tail, in a worker) and whether it equals its gold."""
        # what is graded: the answer after the thinking (None: a thinking block that never closed)
        outputs = [o if self.thinking == "include" else (answer_section(o) or "") for o in outputs]
        answers = [extract_answer(o, g) for g, o in zip(golds, outputs, strict=True)]
        explicit = iter(self.verify_many([(g, a) for g, a in zip(golds, answers, strict=True) if a is not None]))
        # the cache key of each output read by math-verify's extraction: its gold and its tail
        keys = [
            None if a is not None else ("text", clean_gold(g), tail(o))
            for g, o, a in zip(golds, outputs, answers, strict=True)
        ]
        futures = {}
        for gold, output, key in zip(golds, outputs, keys, strict=True):
            if key is not None and key not in self._cache and key not in futures and output.strip():
                futures[key] = self._submit(check_text, gold, key[2])
        for key, future in futures.items():
            self._done(key, future, (None, False))
        return [
            (answer, next(explicit)) if key is None else self._cache.get(key, (None, False))
            for answer, key in zip(answers, keys, strict=True)
        ]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
