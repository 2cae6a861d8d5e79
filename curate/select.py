"""``journey select``: K traces of corpora chosen by rules a reader can check, into a corpus of their
own, each kept trace's reason in ``selected.jsonl``.

Criteria (composable):

- **difficulty**: a reference model answers each problem (``journey eval math``'s code: the same
  prompt, grading and resumable generation), its pass rate recorded per trace; ``drop_solved``
  leaves out problems it solves in any of its samples. The reference run is cached under
  ``CACHE/select/HASH``, HASH over everything that changes it (the model and its checkpoint digest,
  the sampling, the prompt form, the problems).
- **length**: longer thoughts first (the thought's token count when the trace recorded it, else
  its words).
- **diversity**: ``spread="subject"`` draws round-robin over the problems' subjects (in the order
  of their names, so every subject gives one before any gives two); ``spread="none"`` takes the
  order as it stands.
- **samples per problem**: at most ``per_problem`` traces of a problem.

Presets, named after what they reproduce:

- ``s1`` (Muennighoff et al., 2025, s1K): drop what the reference model solves; then, until K are
  chosen, draw a subject uniformly at random among those with traces left and take from it the
  trace of rank r (longest first) with probability proportional to 2^-r. One trace per problem.
- ``longest``: one trace per problem, longest thoughts first, round-robin over subjects; no
  reference model.

Deterministic under ``seed``. Only verified traces are chosen unless ``verified_only`` is off.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from corpus.artifacts import Corpus, check_output, output
from corpus.files import MANIFEST, corpus_file, write_atomic
from corpus.jsonl import JsonlError
from curate.inputs import open_inputs, provenance, recorded, write_input_configs

SELECTED = "selected.jsonl"
PRESETS = ("s1", "longest")


class SelectError(ValueError):
    """A selection that cannot be made as asked; ``str()`` is one line."""


@dataclass(frozen=True)
class Reference:
    """The reference model whose pass rate measures difficulty."""

    spec: str
    samples: int = 1
    max_tokens: int = 1024
    temperature: float = 0.0


@dataclass(frozen=True)
class SelectOptions:
    n: int
    preset: str | None = None
    reference: Reference | None = None
    drop_solved: bool = False
    order: str = "length"  # length (longest first) or random
    spread: str = "subject"  # subject (round-robin) or none
    per_problem: int = 1
    verified_only: bool = True
    seed: int = 0

    def resolved(self) -> SelectOptions:
        if self.preset is None:
            return self
        if self.preset not in PRESETS:
            raise SelectError(f"--preset is {' or '.join(PRESETS)}, not {self.preset!r}")
        if self.preset == "s1":
            if self.reference is None:
                raise SelectError("--preset s1 drops what a reference model solves: give --reference SPEC")
            return SelectOptions(self.n, "s1", self.reference, True, "s1", "subject", 1, self.verified_only, self.seed)
        return SelectOptions(self.n, "longest", None, False, "length", "subject", 1, self.verified_only, self.seed)

    def rule(self) -> str:
        if self.preset == "s1":
            return "s1: unsolved by the reference, a subject at random, rank r by length with weight 2^-r"
        parts = ["unsolved by the reference" if self.drop_solved else None, f"{self.order} first"]
        parts += ["round-robin over subjects" if self.spread == "subject" else None]
        return ", ".join(p for p in parts if p) + f", at most {self.per_problem} a problem"


@dataclass
class Candidate:
    source: int
    number: int
    offset: int
    length: int
    id: str
    problem_id: str
    question: str
    answer: str
    subject: str
    tokens: int
    pass_rate: float | None = None
    reason: str = ""


def _thought_tokens(row: dict[str, Any]) -> int:
    shape = row.get("shape") or {}
    return int(shape.get("thought_tokens") or 0) or len(str(row.get("long_thought") or "").split())


def _candidates(corpora: list[Corpus], verified_only: bool) -> list[Candidate]:
    out = []
    for source, corpus in enumerate(corpora):
        try:
            for line in corpus.scan("traces"):
                if line.error is not None:
                    raise SelectError(f"{corpus.where('traces', line.number)}: {line.error}")
                row = line.row
                if verified_only and not row.get("verified"):
                    continue
                out.append(
                    Candidate(
                        source,
                        line.number,
                        line.offset,
                        line.length,
                        str(row.get("id")),
                        str(row.get("problem_id")),
                        str(row.get("question") or ""),
                        str(row.get("reference_answer") or ""),
                        str(row.get("subject") or "(none)"),
                        _thought_tokens(row),
                    )
                )
        except JsonlError as e:
            raise SelectError(str(e)) from None
    return out


def reference_pass_rates(candidates: list[Candidate], reference: Reference, cache: Path) -> tuple[dict, dict]:
    """Problem id -> the reference model's pass rate, through eval's code; and the run's record."""
    from corpus.schema import Problem
    from eval.generate import identity
    from eval.math_eval import Decoding, default_stop, evaluate, prompt_format

    problems = {c.problem_id: Problem(id=c.problem_id, question=c.question, answer=c.answer) for c in candidates}
    prompt = prompt_format(reference.spec, "auto")
    decoding = Decoding(
        reference.samples, reference.max_tokens, reference.temperature, default_stop(reference.spec, prompt)
    )
    listed = sorted((p.id, p.question, p.answer) for p in problems.values())
    key = {
        "identity": identity(reference.spec, decoding.sampling()),
        "samples": reference.samples,
        "prompt": prompt,
        "problems": hashlib.sha256(json.dumps(listed).encode()).hexdigest(),
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    out = cache / "select" / digest
    summary = evaluate(list(problems.values()), spec=reference.spec, out=out, decoding=decoding, prompt=prompt)
    right: dict[str, list[bool]] = defaultdict(list)
    for line in (out / "samples.jsonl").read_text().splitlines():
        row = json.loads(line)
        right[str(row["problem_id"])].append(bool(row["correct"]))
    rates = {pid: sum(v) / len(v) for pid, v in right.items()}
    return rates, {"model": summary["model"], "run": str(out), "pass@1": summary["pass@1"], "cache_key": digest}


def _one_per_problem(candidates: list[Candidate], per_problem: int) -> list[Candidate]:
    taken: dict[str, int] = defaultdict(int)
    out = []
    for c in candidates:
        if taken[c.problem_id] < per_problem:
            taken[c.problem_id] += 1
            out.append(c)
    return out


def _s1_draw(pool: list[Candidate], n: int, rng: random.Random) -> list[Candidate]:
    by_subject: dict[str, list[Candidate]] = defaultdict(list)
    for c in sorted(pool, key=lambda c: (-c.tokens, c.id)):
        by_subject[c.subject].append(c)
    chosen: list[Candidate] = []
    while len(chosen) < n and by_subject:
        subject = rng.choice(sorted(by_subject))
        ranked = by_subject[subject]
        rank = rng.choices(range(len(ranked)), weights=[2.0**-r for r in range(len(ranked))])[0]
        pick = ranked.pop(rank)
        pick.reason = (
            f"subject {subject} drawn at random; rank {rank} of {len(ranked) + 1} by length ({pick.tokens} tokens)"
        )
        chosen.append(pick)
        if not ranked:
            del by_subject[subject]
    return chosen


def _round_robin(pool: list[Candidate], n: int, order: str, rng: random.Random, spread: str) -> list[Candidate]:
    if order == "random":
        ranked = sorted(pool, key=lambda c: c.id)
        rng.shuffle(ranked)
    else:
        ranked = sorted(pool, key=lambda c: (-c.tokens, c.id))
    if spread != "subject":
        for i, c in enumerate(ranked[:n]):
            c.reason = f"{order} order, place {i + 1} ({c.tokens} tokens)"
        return ranked[:n]
    queues: dict[str, list[Candidate]] = defaultdict(list)
    for c in ranked:
        queues[c.subject].append(c)
    chosen: list[Candidate] = []
    round_ = 0
    while len(chosen) < n and any(queues.values()):
        round_ += 1
        for subject in sorted(queues):
            if queues[subject] and len(chosen) < n:
                pick = queues[subject].pop(0)
                pick.reason = f"round {round_} of the subjects: subject {subject}, {order} first ({pick.tokens} tokens)"
                chosen.append(pick)
    return chosen


def select_corpora(refs: list[str], out: Path, options: SelectOptions, cache: Path | None = None) -> dict[str, Any]:
    """Choose ``options.n`` traces of the corpora ``refs`` into the corpus ``out``; its manifest."""
    from agents.checkpoints import cache_root

    started = time.perf_counter()
    options = _checked(options.resolved())
    corpora = open_inputs(refs)
    check_output(out, "corpus", tuple(refs), empty=True)
    candidates = _candidates(corpora, options.verified_only)
    read = len(candidates)
    record: dict[str, Any] | None = None
    if options.reference is not None:
        rates, record = reference_pass_rates(candidates, options.reference, cache or cache_root())
        for c in candidates:
            c.pass_rate = rates.get(c.problem_id)
        candidates = [c for c in candidates if not (options.drop_solved and c.pass_rate)]
    rng = random.Random(options.seed)
    pool = _one_per_problem(sorted(candidates, key=lambda c: (-c.tokens, c.id)), options.per_problem)
    if options.order == "s1":
        chosen = _s1_draw(pool, options.n, rng)
    else:
        chosen = _round_robin(pool, options.n, options.order, rng, options.spread)
    if len(chosen) < options.n:
        raise SelectError(f"only {len(chosen)} traces meet the criteria ({read} read); lower --n to at most that")
    for c in chosen:
        if c.pass_rate is not None:
            c.reason += f"; the reference solved it in {c.pass_rate:.0%} of its samples"
    with output(out, "corpus", tuple(refs), empty=True):
        _write(corpora, chosen, out)
        manifest = _manifest(corpora, chosen, options, record, read, time.perf_counter() - started)
        write_atomic(out / MANIFEST, json.dumps(manifest, indent=2, default=str))
    return manifest


def _checked(options: SelectOptions) -> SelectOptions:
    if options.n < 1 or options.per_problem < 1:
        raise SelectError("--n and --per-problem are at least 1")
    if options.order not in ("length", "random", "s1") or options.spread not in ("subject", "none"):
        raise SelectError("--order is length or random; --spread is subject or none")
    if options.drop_solved and options.reference is None:
        raise SelectError("--drop-solved needs --reference SPEC: the model whose solved problems are dropped")
    return options


def _manifest(corpora, chosen, options: SelectOptions, record, read: int, wall_s: float) -> dict[str, Any]:
    return provenance(corpora) | {
        "corpus": {"traces": len(chosen), "verified": len(chosen), "rejected": 0, "failures": 0},
        "selection": {
            "inputs": recorded(corpora),
            "rule": options.rule(),
            "options": asdict(options),
            "reference": record,
            "read": read,
            "kept": len(chosen),
            "wall_s": round(wall_s, 3),
        },
    }


def _write(corpora: list[Corpus], chosen: list[Candidate], out: Path) -> None:
    """The chosen lines copied byte for byte (in the order read), the reasons in ``selected.jsonl``."""
    ordered = sorted(chosen, key=lambda c: (c.source, c.offset))
    handles = {i: c.file("traces").open("rb") for i, c in enumerate(corpora)}
    try:
        with corpus_file(out, "traces").open("wb") as traces, (out / SELECTED).open("w", encoding="utf-8") as why:
            for c in ordered:
                handles[c.source].seek(c.offset)
                traces.write(handles[c.source].read(c.length))
            for c in chosen:  # in the order chosen
                row = {"id": c.id, "problem_id": c.problem_id, "subject": c.subject, "tokens": c.tokens}
                row |= {"pass_rate": c.pass_rate, "reason": c.reason}
                why.write(json.dumps(row, ensure_ascii=False) + "\n")
        for which in ("rejected", "failures"):
            corpus_file(out, which).write_bytes(b"")
    finally:
        for f in handles.values():
            f.close()
    write_input_configs(out, corpora)
