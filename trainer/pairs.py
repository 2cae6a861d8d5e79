"""Preference pairs from corpora, in TRL's conversational preference format (``journey pairs``).

    journey pairs runs/journey runs/distill --kind verified-vs-wrong --out runs/pairs/vw

Each row of ``pairs.jsonl`` is ``{"prompt": [user turn], "chosen": [assistant turn], "rejected":
[assistant turn]}`` plus where the two sides came from; the assistant turn is exactly what the SFT
formatting (``trainer.format.trace_messages``) writes for a trace. Kinds:

- ``verified-vs-wrong``: per problem (the question text, normalized, so several corpora of the same
  problems pool), a verified sample against one that gave a wrong final answer (from
  ``rejected.jsonl``, or unverified rows of ``traces.jsonl``, of any corpus given); samples that
  ended without an answer (budgets) are not used as the wrong side. ``per_problem`` pairs at most,
  each sample used as evenly as the counts allow.
- ``short-vs-long``: among the verified samples of a problem, the shortest (chosen) against the
  longest, when the longest has at least ``ratio`` times its tokens (the assistant turn under the
  given tokenizer).
- ``journey-vs-shortcut``: each verified trace with its exploration (the long thought) against its
  corrected path only; ``prefer`` says which side is chosen.
- ``step``: from saved search trees (tree method), at each node with both a correct and a wrong
  child, the path so far plus a correct child (chosen) against the path plus a wrong sibling; the
  assistant turn is the open thought (``<think>`` and the steps, no closing tag). The children's
  scores are recorded: a step scorer's where the node has one, else the critic's verdict as 1 / 0.
  Replies that could not be parsed as a step are never used.

Pairs are deduplicated (the same prompt, chosen and rejected once) and decontaminated with the
trainer's own rules (``trainer.mixture``: the same n-gram test and evaluation-set loader).
``manifest.json`` records the sources with their configs and file hashes, the kind and options,
the counts and every drop with its reason. The corpora are read twice, streaming: once to index
the samples (problem, verdict, length), once to write the chosen ones.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import product
from pathlib import Path
from typing import Any, Literal

from corpus.artifacts import PAIRS_FILE, ArtifactError, Corpus, open_corpus, output
from corpus.events import UNJUDGED
from corpus.files import MANIFEST, file_hash, write_atomic
from corpus.jsonl import JsonlError
from trainer.format import THINK_OPEN, Messages, trace_messages
from trainer.mixture import Decontaminator, load_eval_sets, problem_key

Kind = Literal["verified-vs-wrong", "short-vs-long", "journey-vs-shortcut", "step"]
KINDS: tuple[str, ...] = ("verified-vs-wrong", "short-vs-long", "journey-vs-shortcut", "step")
PAIRS = PAIRS_FILE
UNPARSEABLE = "unparseable step"  # graphs/tree.py's reason for a reply that was not a step


class PairsError(ValueError):
    """Bad input or options; ``str()`` is one line naming the file (and line) or the option."""


@dataclass(frozen=True)
class PairOptions:
    kind: Kind
    per_problem: int = 1  # verified-vs-wrong: pairs per problem; step: pairs per tree node
    ratio: float = 1.5  # short-vs-long: the longest must have this many times the shortest's tokens
    prefer: Literal["journey", "shortcut"] = "journey"  # journey-vs-shortcut: the chosen side
    seed: int = 0
    think_tags: bool = True
    decontaminate: tuple[str, ...] = ()
    decontamination_ngram: int = 8
    decontamination_threshold: float = 0.5

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise PairsError(f"unknown kind {self.kind!r} (one of {', '.join(KINDS)})")
        if self.per_problem < 1:
            raise PairsError("per_problem must be at least 1")
        if self.ratio < 1:
            raise PairsError("ratio must be at least 1")


def corpus_ref(text: str) -> Corpus:
    """A corpus directory, and the one config taken from it (``DIR@HASH`` when it holds several)."""
    try:
        return open_corpus(text)
    except ArtifactError as e:
        raise PairsError(str(e)) from None


@dataclass(frozen=True)
class Where:
    """A row of a corpus file: which source, which file, which line."""

    source: int
    file: str
    line: int


@dataclass
class Indexed:
    where: Where
    trace_id: str
    problem_id: str
    verified: bool
    answered: bool
    tokens: int = 0


def _rows(ref: Corpus, which: str) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        yield from ref.numbered(which)
    except JsonlError as e:
        raise PairsError(str(e)) from None


def _check_trace(row: dict[str, Any], where: str) -> None:
    missing = [k for k in ("id", "problem_id", "question", "long_thought", "summary", "verified") if k not in row]
    if missing:
        raise PairsError(f"{where}: not a trace (missing {', '.join(missing)})")


def _side(messages: Messages) -> tuple[Messages, Messages]:
    return messages[:-1], messages[-1:]


def _tree_links(tree: Any, where: str) -> tuple[dict[str, Any], dict[str, list[str]], dict[str, str]]:
    """A saved search tree (networkx node-link JSON) as (nodes by id, children, parent)."""
    try:
        nodes = {str(n["id"]): n for n in tree["nodes"]}
        children: dict[str, list[str]] = defaultdict(list)
        parent: dict[str, str] = {}
        for e in tree["edges"]:
            children[str(e["source"])].append(str(e["target"]))
            parent[str(e["target"])] = str(e["source"])
    except (KeyError, TypeError):
        raise PairsError(f"{where}: the saved tree is not networkx node-link JSON") from None
    return nodes, children, parent


@dataclass
class Builder:
    refs: list[Corpus]
    options: PairOptions
    length: Callable[[Messages], int] | None = None  # short-vs-long: tokens of an assistant turn
    dropped: Counter = field(default_factory=Counter)
    groups: dict[str, list[Indexed]] = field(default_factory=lambda: defaultdict(list))

    # -- pass 1: index --------------------------------------------------------------------------

    def samples(self) -> Iterator[tuple[Where, dict[str, Any]]]:
        """Every row of every corpus once: a trace found again (the same corpus given twice) is skipped."""
        seen: set[str] = set()
        for i, ref in enumerate(self.refs):
            for name in ("traces", "rejected"):
                for line, row in _rows(ref, name):
                    _check_trace(row, ref.where(name, line))
                    if row["id"] in seen:
                        self.dropped["duplicate sample"] += 1
                        continue
                    seen.add(row["id"])
                    yield Where(i, name, line), row

    def index(self) -> None:
        for where, row in self.samples():
            key = problem_key(row["question"])
            item = Indexed(
                where,
                str(row["id"]),
                str(row["problem_id"]),
                bool(row["verified"]),
                row.get("final_answer") is not None,
            )
            if self.options.kind == "short-vs-long" and item.verified and self.length is not None:
                item.tokens = self.length(trace_messages(row, think_tags=self.options.think_tags)[-1:])
            self.groups[key].append(item)

    # -- choosing --------------------------------------------------------------------------------

    def choose(self) -> list[tuple[str, Indexed, Indexed | None]]:
        """(problem key, chosen, rejected) for the trace-level kinds; rejected is None for journey-vs-shortcut."""
        rng = random.Random(self.options.seed)
        out: list[tuple[str, Indexed, Indexed | None]] = []
        kind = self.options.kind
        for key in sorted(self.groups):
            items = self.groups[key]
            good = [s for s in items if s.verified]
            if kind == "journey-vs-shortcut":
                self.dropped["unverified"] += len(items) - len(good)
                out += [(key, s, None) for s in good]
            elif kind == "short-vs-long":
                self.dropped["unverified"] += len(items) - len(good)
                if len(good) < 2:
                    self.dropped["problem with fewer than 2 verified samples"] += 1
                    continue
                ordered = sorted(good, key=lambda s: (s.tokens, s.trace_id))
                short, long = ordered[0], ordered[-1]
                if long.tokens < self.options.ratio * max(short.tokens, 1):
                    self.dropped[f"lengths within the ratio {self.options.ratio}"] += 1
                    continue
                out.append((key, short, long))
            else:  # verified-vs-wrong
                wrong = [s for s in items if not s.verified and s.answered]
                self.dropped["no final answer (budget)"] += sum(not s.verified and not s.answered for s in items)
                if not good or not wrong:
                    self.dropped["problem without both a verified and a wrong sample"] += 1
                    continue
                good, wrong = sorted(good, key=lambda s: s.trace_id), sorted(wrong, key=lambda s: s.trace_id)
                rng.shuffle(good)
                rng.shuffle(wrong)
                for gi, wi in spread(len(good), len(wrong))[: self.options.per_problem]:
                    out.append((key, good[gi], wrong[wi]))
        return out

    # -- pass 2: rows ------------------------------------------------------------------------------

    def fetch(self, wanted: set[Where]) -> dict[Where, dict[str, Any]]:
        rows: dict[Where, dict[str, Any]] = {}
        for i, ref in enumerate(self.refs):
            for name in ("traces", "rejected"):
                lines = {w.line for w in wanted if w.source == i and w.file == name}
                if not lines:
                    continue
                for line, row in _rows(ref, name):
                    if line in lines:
                        rows[Where(i, name, line)] = row
        return rows

    def trace_pairs(self) -> Iterator[dict[str, Any]]:
        chosen = self.choose()
        wanted = {s.where for _, a, b in chosen for s in (a, b) if s is not None}
        rows = self.fetch(wanted)
        kind, think = self.options.kind, self.options.think_tags
        for key, a, b in chosen:
            first = rows[a.where]
            if b is None:  # journey-vs-shortcut: one trace, two renderings
                journey = trace_messages(first, thought="journey", think_tags=think)
                shortcut = trace_messages(first, thought="shortcut", think_tags=think)
                prompt, journey_turn = _side(journey)
                _, shortcut_turn = _side(shortcut)
                good, bad = (
                    (journey_turn, shortcut_turn) if self.options.prefer == "journey" else (shortcut_turn, journey_turn)
                )
                yield self._row(key, prompt, good, bad, first, first, chosen_as=self.options.prefer)
                continue
            second = rows[b.where]
            prompt, good = _side(trace_messages(first, think_tags=think))
            _, bad = _side(trace_messages(second, think_tags=think))
            extra = {"chosen_tokens": a.tokens, "rejected_tokens": b.tokens} if kind == "short-vs-long" else {}
            yield self._row(key, prompt, good, bad, first, second, **extra)

    def step_pairs(self) -> Iterator[dict[str, Any]]:
        for where, row in self.samples():
            if not row.get("tree"):
                self.dropped["trace without a saved tree"] += 1
                continue
            yield from self._tree_pairs(row, self.refs[where.source].where(where.file, where.line))

    def _judged_children(self, nodes: dict[str, Any], children: list[str]) -> tuple[list[Any], list[Any]]:
        """A node's children a judge could read, as (right best first, wrong worst first); the
        unreadable ones are counted as dropped."""
        kids = [nodes[c] for c in children if c in nodes]
        usable = [
            k
            for k in kids
            if k.get("reason") not in (UNPARSEABLE, UNJUDGED)
            and k.get("correct") is not None
            and str(k.get("text", "")).strip()
        ]
        self.dropped["unparseable reply"] += len(kids) - len(usable)
        right = sorted((k for k in usable if k.get("correct")), key=lambda k: (-score(k), _node_order(k["id"])))
        wrong = sorted((k for k in usable if not k.get("correct")), key=lambda k: (score(k), _node_order(k["id"])))
        return right, wrong

    def _tree_pairs(self, row: dict[str, Any], where: str) -> Iterator[dict[str, Any]]:
        nodes, children, parent = _tree_links(row["tree"], where)
        prompt = [{"role": "user", "content": row["question"].strip()}]
        key = problem_key(row["question"])
        for node_id in sorted(children, key=_node_order):
            right, wrong = self._judged_children(nodes, children[node_id])
            if not right or not wrong:
                continue
            path: list[str] = []
            at = node_id
            while at in parent:  # up to the root, whose text is empty
                path.append(str(nodes[at].get("text", "")))
                at = parent[at]
            path.reverse()
            for ri, wi in spread(len(right), len(wrong))[: self.options.per_problem]:
                good, bad = right[ri], wrong[wi]
                yield self._row(
                    key,
                    prompt,
                    [{"role": "assistant", "content": self._open_thought(path, good["text"])}],
                    [{"role": "assistant", "content": self._open_thought(path, bad["text"])}],
                    row,
                    row,
                    node=node_id,
                    depth=len(path),
                    chosen_node=str(good["id"]),
                    rejected_node=str(bad["id"]),
                    chosen_score=score(good),
                    rejected_score=score(bad),
                    scorer=good.get("scorer") or bad.get("scorer") or "critic",
                    rejected_reason=bad.get("reason", ""),
                )

    def _open_thought(self, path: list[str], step: str) -> str:
        body = "\n\n".join(s.strip() for s in [*path, step] if s.strip())
        return f"{THINK_OPEN}\n{body}" if self.options.think_tags else body

    def _row(
        self,
        key: str,
        prompt: Messages,
        chosen: Messages,
        rejected: Messages,
        chosen_trace: dict[str, Any],
        rejected_trace: dict[str, Any],
        **extra: Any,
    ) -> dict[str, Any]:
        body = json.dumps([prompt, chosen, rejected], ensure_ascii=False, sort_keys=True)
        return {
            "id": "pair-" + hashlib.sha256(body.encode()).hexdigest()[:16],
            "kind": self.options.kind,
            "problem_id": str(chosen_trace["problem_id"]),
            "problem_key": key,
            "prompt": prompt,
            "chosen": chosen,
            "rejected": rejected,
            "chosen_trace": str(chosen_trace["id"]),
            "rejected_trace": str(rejected_trace["id"]),
            "methods": sorted({str(chosen_trace.get("method")), str(rejected_trace.get("method"))}),
            **extra,
        }


def score(node: dict[str, Any]) -> float:
    """A tree node's step score: the scorer's where there is one, else the critic's verdict as 1 / 0."""
    value = node.get("score")
    return float(value) if isinstance(value, int | float) else float(bool(node.get("correct")))


def _node_order(node_id: Any) -> tuple[int, str]:
    text = str(node_id)
    return (int(text), "") if text.isdigit() else (1 << 62, text)


def spread(a: int, b: int) -> list[tuple[int, int]]:
    """All (i, j) index pairs ordered so that each round uses every item of the smaller side once."""
    n = max(a, b)
    return sorted(product(range(a), range(b)), key=lambda ij: ((ij[1] - ij[0]) % n, ij[0], ij[1]))


def build_pairs(
    refs: list[Corpus],
    options: PairOptions,
    out: Path,
    *,
    length: Callable[[Messages], int] | None = None,
    length_unit: str | None = None,
) -> dict[str, Any]:
    """Write ``out/pairs.jsonl`` and ``out/manifest.json``; return the manifest."""
    if not refs:
        raise PairsError("no corpus given")
    if options.kind == "short-vs-long" and length is None:
        raise PairsError("short-vs-long needs a tokenizer to count tokens")
    started = datetime.now(UTC)
    deco: Decontaminator | None = None
    if options.decontaminate:
        deco = load_eval_sets(
            list(options.decontaminate), options.decontamination_ngram, options.decontamination_threshold
        )
    try:
        with output(out, "pairs", tuple(ref.path for ref in refs)) as out:
            if (out / PAIRS).exists():
                raise PairsError(f"{out} already holds pairs: choose another --out")
            return _write_pairs(refs, options, out, deco, length, length_unit, started)
    except ArtifactError as e:
        raise PairsError(str(e)) from None


def _write_pairs(
    refs: list[Corpus],
    options: PairOptions,
    out: Path,
    deco: Decontaminator | None,
    length: Callable[[Messages], int] | None,
    length_unit: str | None,
    started: datetime,
) -> dict[str, Any]:
    builder = Builder(refs, options, length)
    if options.kind == "step":
        rows = builder.step_pairs()
    else:
        builder.index()
        rows = builder.trace_pairs()

    seen: set[str] = set()
    problems: set[str] = set()
    written = 0
    contaminated: list[dict[str, Any]] = []
    overlap_of: dict[str, float] = {}
    tmp = out / (PAIRS + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for row in rows:
            if row["id"] in seen:
                builder.dropped["duplicate"] += 1
                continue
            seen.add(row["id"])
            if deco is not None:
                question = row["prompt"][-1]["content"]
                if row["problem_key"] not in overlap_of:
                    overlap, hit = deco.check(question)
                    overlap_of[row["problem_key"]] = overlap if hit is not None else 0.0
                    if hit is not None and overlap >= deco.threshold:
                        contaminated.append(
                            {"problem_id": row["problem_id"], "overlap": round(overlap, 3), "eval_set": hit[0]}
                            | {"eval_id": hit[1]}
                        )
                if overlap_of[row["problem_key"]] >= deco.threshold:
                    builder.dropped["contaminated"] += 1
                    continue
            problems.add(row["problem_key"])
            written += 1
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    if not written:  # no empty files: what was found and why each sample was left out, in one line
        tmp.unlink()
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(builder.dropped.items()) if n) or "no samples"
        raise PairsError(f"no {options.kind} pairs in {', '.join(ref.name for ref in refs)}: {why}")
    tmp.replace(out / PAIRS)
    manifest = {
        "kind": options.kind,
        "options": asdict(options) | {"decontaminate": list(options.decontaminate)},
        "sources": [
            {
                "corpus": str(ref.path),
                "config": ref.config,
                "traces_sha256": ref.digest("traces"),
                "rejected_sha256": ref.digest("rejected"),
            }
            for ref in refs
        ],
        "length_unit": length_unit,
        "counts": {"pairs": written, "problems": len(problems)},
        "dropped": dict(sorted((k, v) for k, v in builder.dropped.items() if v)),
        "decontamination": None
        if deco is None
        else {"ngram": deco.n, "threshold": deco.threshold, "dropped_problems": contaminated},
        "pairs_sha256": file_hash(out / PAIRS),
        "format": "TRL conversational preference: prompt, chosen, rejected",
        "created": started.isoformat(timespec="seconds"),
    }
    write_atomic(out / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest
