"""``journey filter``: corpora in, a corpus out holding the traces no filter dropped, byte for byte,
and ``filtered.jsonl`` saying which trace was dropped and why.

Filters, in the order a trace meets them (the first that trips names the reason), each on by
default unless said:

``truncated``      the thinking block never closed, the token budget ran out, or no answer
``malformed``      a backtrack with no reflection; a rewrite that lost the answer or reflections
``repetition``     a loop (``curate.detectors.repetition``, thresholds recorded)
``language``       the long thought in another script than the question, or mixing scripts
``length``         opt-in: ``min_tokens`` / ``max_tokens`` of the long thought, counted by a tokenizer
``contaminated``   opt-in: the question overlaps an evaluation set (the trainer's n-gram check)
``duplicate_id``   a sample already read (the same trace id in two inputs)
``duplicate``      the same long thought as an earlier trace (lower-cased, whitespace collapsed)
``near_duplicate`` MinHash similarity at least ``near_threshold`` to an earlier trace (``curate.dedup``)

Two passes over the inputs: the first reads each trace once, runs the detectors and keeps a
32-value signature per surviving trace (memory: about 200 bytes a trace); the second copies the
kept lines. Each input's configs are the output's (a corpus of several configs stays one, each
trace keeping its config hash); the manifest records the inputs with their digests, the filters
with their thresholds, and the counts by reason.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from corpus.artifacts import Corpus, check_output, output
from corpus.files import MANIFEST, corpus_file, write_atomic
from corpus.jsonl import JsonlError
from curate import dedup, detectors
from curate.inputs import open_inputs, provenance, recorded, write_input_configs

FILTERED = "filtered.jsonl"
REASONS = (
    "truncated",
    "malformed",
    "repetition",
    "language",
    "length",
    "contaminated",
    "duplicate_id",
    "duplicate",
    "near_duplicate",
)
SAMPLE_FILES = ("traces", "rejected")


class FilterError(ValueError):
    """Input or options the filter cannot work with; ``str()`` is one line."""


@dataclass(frozen=True)
class FilterOptions:
    truncated: bool = True
    malformed: bool = True
    repetition: bool = True
    language: bool = True
    dedup: bool = True
    near_threshold: float = 0.8
    min_tokens: int | None = None
    max_tokens: int | None = None
    tokenizer: str = "local"  # a checkpoint directory, or local: the embedded model's
    decontaminate: tuple[str, ...] = ()
    decontamination_ngram: int = 8
    decontamination_threshold: float = 0.5
    thresholds: detectors.Thresholds = field(default_factory=detectors.Thresholds)

    def record(self) -> dict[str, Any]:
        out = asdict(self)
        out["decontaminate"] = list(self.decontaminate)
        out["near_duplicate"] = {"shingle_bytes": dedup.SHINGLE, "minhash_bins": dedup.PERMUTATIONS}
        out["near_duplicate"] |= {"bands": dedup.BANDS, "rows": dedup.ROWS}
        return out


def _token_counter(options: FilterOptions) -> Callable[[str], int] | None:
    if options.min_tokens is None and options.max_tokens is None:
        return None
    from transformers import AutoTokenizer

    from agents.checkpoints import checkpoint_dir

    try:
        tokenizer = AutoTokenizer.from_pretrained(checkpoint_dir(options.tokenizer))
    except (OSError, ValueError) as e:
        raise FilterError(
            f"--tokenizer {options.tokenizer}: cannot load a tokenizer ({str(e).splitlines()[0]})"
        ) from None
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


@dataclass
class _Checks:
    """The per-trace filters of a run, with the state they keep (decontamination by question)."""

    options: FilterOptions
    tokens: Callable[[str], int] | None
    decontaminator: Any = None
    seen_questions: dict[str, str | None] = field(default_factory=dict)

    def reason(self, trace: dict[str, Any]) -> tuple[str, str] | None:
        """The first filter the trace trips, as (reason, what was found), or None."""
        o = self.options
        text, question = str(trace.get("long_thought") or ""), str(trace.get("question") or "")
        checks = (
            ("truncated", o.truncated, lambda: detectors.truncated(trace)),
            ("malformed", o.malformed, lambda: detectors.malformed(trace)),
            ("repetition", o.repetition, lambda: detectors.repetition(text, o.thresholds)),
            ("language", o.language, lambda: detectors.language(question, text, o.thresholds)),
            ("length", self.tokens is not None, lambda: self._length(text)),
            ("contaminated", self.decontaminator is not None, lambda: self._contaminated(question)),
        )
        for name, enabled, check in checks:
            if enabled and (why := check()):
                return name, why
        return None

    def _length(self, text: str) -> str | None:
        o, n = self.options, self.tokens(text)
        if (o.min_tokens is not None and n < o.min_tokens) or (o.max_tokens is not None and n > o.max_tokens):
            return f"{n} tokens, outside [{o.min_tokens or 0}, {o.max_tokens or 'any'}]"
        return None

    def _contaminated(self, question: str) -> str | None:
        if question not in self.seen_questions:
            overlap, hit = self.decontaminator.check(question)
            found = hit is not None and overlap >= self.decontaminator.threshold
            self.seen_questions[question] = (
                f"{overlap:.0%} of its {self.decontaminator.n}-grams in {hit[0]} ({hit[1]})" if found else None
            )
        return self.seen_questions[question]


@dataclass(slots=True)
class _Read:
    """One sample line met in the first pass, and what became of it."""

    source: int  # index of the input corpus
    which: str
    number: int
    offset: int
    length: int
    id: str
    problem_id: str
    verified: bool = False
    reason: str | None = None
    detail: str = ""


def _lines(corpus: Corpus, which: str) -> Iterator[Any]:
    for line in corpus.scan(which):
        if line.error is not None:
            raise FilterError(f"{corpus.where(which, line.number)}: {line.error}")
        yield line


def filter_corpora(refs: list[str], out: Path, options: FilterOptions = FilterOptions()) -> dict[str, Any]:
    """Filter the corpora ``refs`` (``DIR`` or ``DIR@HASH``) into the corpus ``out``; its manifest."""
    if not refs:
        raise FilterError("name at least one corpus to filter")
    started = time.perf_counter()
    corpora = open_inputs(refs)
    check_output(out, "corpus", tuple(refs), empty=True)  # before the reading: a wrong --out is said at once
    checks = _Checks(options, _token_counter(options))
    if options.decontaminate:
        from trainer.mixture import MixtureError, load_eval_sets

        try:
            checks.decontaminator = load_eval_sets(
                list(options.decontaminate), options.decontamination_ngram, options.decontamination_threshold
            )
        except MixtureError as e:
            raise FilterError(str(e)) from None
    read, signatures, keys = _first_pass(corpora, checks)
    _deduplicate(read, signatures, keys, options)
    with output(out, "corpus", tuple(refs), empty=True):
        counts = _write(corpora, read, out)
        manifest = _manifest(corpora, read, counts, options, time.perf_counter() - started)
        write_atomic(out / MANIFEST, json.dumps(manifest, indent=2))
    return manifest


def _first_pass(corpora: list[Corpus], checks: _Checks) -> tuple[list[_Read], bytearray, list[bytes | None]]:
    read: list[_Read] = []
    signatures = bytearray()  # one signature (256 bytes) per trace that passed the per-trace filters, in order
    keys: list[bytes | None] = []  # its exact key (None: the trace was dropped before)
    ids: set[str] = set()
    try:
        for source, corpus in enumerate(corpora):
            for which in SAMPLE_FILES:
                for line in _lines(corpus, which):
                    row = line.row
                    entry = _Read(source, which, line.number, line.offset, line.length, str(row.get("id")), "")
                    entry.problem_id, entry.verified = str(row.get("problem_id")), bool(row.get("verified"))
                    read.append(entry)
                    if found := checks.reason(row):
                        entry.reason, entry.detail = found
                    elif entry.id in ids:
                        entry.reason, entry.detail = "duplicate_id", "a sample already read"
                    ids.add(entry.id)
                    if entry.reason is None and checks.options.dedup:
                        norm = dedup.normalized(str(row.get("long_thought") or ""))
                        keys.append(dedup.exact_key(norm))
                        signatures += dedup.signature(norm).tobytes()
                    else:
                        keys.append(None)
    except JsonlError as e:
        raise FilterError(str(e)) from None
    return read, signatures, keys


def _deduplicate(read: list[_Read], signatures: bytearray, keys: list[bytes | None], options) -> None:
    """Exact duplicates first (the first read is kept), then near duplicates among the rest."""
    if not options.dedup:
        return
    first: dict[bytes, int] = {}
    survivors: list[int] = []  # rows of ``read`` left after exact dedup, in order
    rows: list[int] = []  # the signature row of each survivor
    position = 0  # the signature row that belongs to the next key given
    for i, key in enumerate(keys):
        if key is None:
            continue
        position += 1
        if key in first:
            read[i].reason, read[i].detail = "duplicate", f"the same long thought as {read[first[key]].id}"
            continue
        first[key] = i
        survivors.append(i)
        rows.append(position - 1)
    if not survivors:
        return
    matrix = np.frombuffer(signatures, dtype=np.uint32).reshape(-1, dedup.PERMUTATIONS)[rows]
    del first
    for member, head in dedup.near_duplicates(matrix, options.near_threshold).items():
        entry, like = read[survivors[member]], read[survivors[head]]
        entry.reason, entry.detail = "near_duplicate", f"MinHash similarity >= {options.near_threshold} to {like.id}"


def _write(corpora: list[Corpus], read: list[_Read], out: Path) -> Counter:
    """The kept lines copied byte for byte, the dropped ones listed; counts by file and reason."""
    counts: Counter = Counter()
    by_file: dict[tuple[int, str], list[_Read]] = {}
    for entry in read:
        by_file.setdefault((entry.source, entry.which), []).append(entry)
    files = {which: corpus_file(out, which).open("wb") for which in (*SAMPLE_FILES, "failures")}
    try:
        with (out / FILTERED).open("w", encoding="utf-8") as dropped:
            for (source, which), entries in by_file.items():
                corpus = corpora[source]
                with corpus.file(which).open("rb") as f:
                    for entry in entries:
                        if entry.reason is None:
                            f.seek(entry.offset)
                            files[which].write(f.read(entry.length))
                            counts[which] += 1
                            continue
                        counts[entry.reason] += 1
                        row = {"id": entry.id, "problem_id": entry.problem_id, "reason": entry.reason}
                        row |= {"detail": entry.detail, "from": corpus.where(which, entry.number)}
                        dropped.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        for f in files.values():
            f.close()
    write_input_configs(out, corpora)
    return counts


def _manifest(corpora: list[Corpus], read: list[_Read], counts: Counter, options: FilterOptions, wall_s: float):
    kept = [e for e in read if e.reason is None]
    return provenance(corpora) | {
        "corpus": {
            "traces": counts["traces"],
            "verified": sum(e.verified for e in kept),
            "rejected": counts["rejected"],
            "failures": 0,
        },
        "filter": {
            "inputs": recorded(corpora),
            "options": options.record(),
            "read": len(read),
            "kept": len(kept),
            "dropped": {r: counts[r] for r in REASONS if counts[r]},
            "wall_s": round(wall_s, 3),
        },
    }
