"""Source mixtures: corpora, Hugging Face datasets and chat JSONL mixed by weight, deduplicated and decontaminated.

A recipe lists its sources, each one of

    {corpus: runs/distill}            a directory written by ``journey synth`` (traces.jsonl)
    {dataset: org/name | saved_dir}   a Hugging Face dataset (``messages``, or question + response columns)
    {jsonl: data/human.jsonl}         one ``{"messages": [...]}`` conversation a line
    {pairs: runs/pairs/vw}            preference pairs written by ``journey pairs`` (DPO stages only)

with a weight, filters (``verified_only``, ``methods``, ``models``, ``max_tokens``, curation ``labels``)
and a ``cap``.
The mixture is built in this order, and every step's drops are counted per source:

1. load and filter each source;
2. drop samples over the token limit (the source's ``max_tokens``, and the run's ``max_length``:
   over-long samples are dropped, never cut, so the answer at the end is always trained on; a
   pair counts as long as its longer side);
3. dedup by problem (the question text, normalized) across sources: the problem stays with the
   source of the highest weight, ties going to the source listed first; within one source several
   samples of a problem are kept (they are different explorations);
4. decontaminate: drop problems whose word n-grams overlap an evaluation set by at least the
   threshold (the share of the training question's n-grams found in any evaluation question);
5. cap each source, then take from each the share its weight asks for: the mixture is as large
   as the scarcest source allows (``size`` larger than that needs ``upsample``, which repeats).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from corpus.artifacts import ArtifactError, Corpus, open_corpus, open_pairs
from corpus.files import file_hash
from corpus.jsonl import JsonlError
from corpus.problems import ProblemFileError, open_dataset, read_rows
from trainer.format import Messages, Thought, assistant_text, trace_messages

QUESTION_FIELDS = ("question", "problem", "prompt", "instruction")
RESPONSE_FIELDS = ("long_thought", "response", "solution", "completion", "output", "answer")


class MixtureError(ValueError):
    """Bad input in a source; ``str()`` names the source and, where there is one, the line."""


# fields that shape a trace into a sample: pairs were shaped when ``journey pairs`` wrote them
TRACE_SHAPING = {"verified_only", "config", "thought", "think_tags", "split", "labels", "include_rejected"}


class SourceSpec(BaseModel):
    """One source of a mixture, as written in a recipe."""

    model_config = ConfigDict(extra="forbid")

    corpus: str | None = Field(default=None, description="directory written by journey synth")
    dataset: str | None = Field(default=None, description="Hugging Face dataset name or save_to_disk directory")
    jsonl: str | None = Field(default=None, description="JSONL file, one {'messages': [...]} a line")
    pairs: str | None = Field(default=None, description="directory written by journey pairs (DPO stages)")
    name: str | None = Field(default=None, description="label in reports; defaults to the path or name")
    split: str = "train"
    weight: float = Field(default=1.0, gt=0)
    verified_only: bool = True
    methods: list[str] | None = Field(default=None, description="keep traces made by these methods")
    models: list[str] | None = Field(default=None, description="keep traces in which one of these models took part")
    config: str | None = Field(
        default=None, description="the config hash to take from a corpus that holds several (--add-config)"
    )
    max_tokens: int | None = Field(default=None, gt=0, description="drop samples longer than this (chat-templated)")
    cap: int | None = Field(default=None, gt=0, description="at most this many samples before weighting")
    thought: Thought = "journey"
    think_tags: bool = True
    include_rejected: bool = Field(
        default=False,
        description="also take the corpus's rejected samples (rejected.jsonl); with verified_only: false, "
        "an arm of every trace whatever its answer",
    )
    labels: Literal["drop", "keep"] | None = Field(
        default=None,
        description="curation labels (labels.jsonl, journey view): drop leaves out dropped traces, keep takes only kept ones",
    )

    @model_validator(mode="after")
    def _one_location(self) -> SourceSpec:
        given = [k for k in SOURCE_KINDS if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(f"a source names exactly one of {', '.join(SOURCE_KINDS)}")
        if self.pairs and (shaped := sorted(self.model_fields_set & TRACE_SHAPING)):
            raise ValueError(f"a pairs source is formatted already: {', '.join(shaped)} does not apply")
        return self

    @property
    def location(self) -> str:
        return self.corpus or self.dataset or self.jsonl or self.pairs or ""

    @property
    def label(self) -> str:
        return self.name or self.location


def parse_sources(raw: list[dict[str, Any]] | None) -> list[SourceSpec]:
    if not raw:
        raise MixtureError("the recipe names no sources")
    specs = []
    for i, item in enumerate(raw, 1):
        try:
            specs.append(SourceSpec.model_validate(item))
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'source'}: {err['msg']}" for err in e.errors())
            raise MixtureError(f"source {i}: {problems}") from None
    labels = Counter(s.label for s in specs)
    if dupes := [label for label, n in labels.items() if n > 1]:
        raise MixtureError(f"sources listed twice (give them distinct names): {', '.join(dupes)}")
    return specs


@dataclass
class Sample:
    """An SFT conversation, or a preference pair: ``messages`` is the prompt and the chosen turn,
    ``rejected`` the other assistant turn."""

    source: str
    problem_id: str
    question: str
    messages: Messages
    tokens: int = 0
    rejected: Messages | None = None

    @property
    def key(self) -> str:
        return problem_key(self.question)

    def conversations(self) -> list[Messages]:
        if self.rejected is None:
            return [self.messages]
        return [self.messages, self.messages[:-1] + self.rejected]

    def row(self) -> dict[str, Any]:
        """The row a trainer reads: ``messages`` (SFT) or TRL's ``prompt``, ``chosen``, ``rejected`` (DPO)."""
        if self.rejected is None:
            return {"messages": self.messages}
        return {"prompt": self.messages[:-1], "chosen": self.messages[-1:], "rejected": self.rejected}


def problem_key(question: str) -> str:
    return hashlib.sha256(" ".join(question.lower().split()).encode()).hexdigest()[:16]


# -- loading -------------------------------------------------------------------------------------


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, row) through the problem-file reader; bad input names the file and line."""
    try:
        yield from read_rows(path)
    except ProblemFileError as e:
        raise MixtureError(str(e)) from None


def _open(spec: SourceSpec) -> Corpus:
    try:
        return open_corpus(f"{spec.corpus}@{spec.config}" if spec.config else str(spec.corpus))
    except ArtifactError as e:
        # each config is its own corpus: mixing two would train on two recipes under one name
        raise MixtureError(str(e)) from None


def _check_messages(messages: Any, where: str) -> Messages:
    if not isinstance(messages, list) or not messages:
        raise MixtureError(f"{where}: 'messages' must be a non-empty list")
    for m in messages:
        if (
            not isinstance(m, dict)
            or m.get("role") not in ("system", "user", "assistant")
            or not isinstance(m.get("content"), str)
        ):
            raise MixtureError(f"{where}: each message needs a role (system/user/assistant) and text content")
    if messages[-1]["role"] != "assistant" or not any(m["role"] == "user" for m in messages):
        raise MixtureError(f"{where}: a conversation needs a user turn and must end with an assistant turn")
    return [{"role": m["role"], "content": m["content"]} for m in messages]


TRACE_KEYS = ("problem_id", "question", "long_thought", "summary", "verified", "method")


def _trace_drop(spec: SourceSpec, trace: dict[str, Any], label: str | None) -> str | None:
    """Why a source's filters leave this trace out (the reason counted), or None to keep it."""
    if (spec.labels == "drop" and label == "drop") or (spec.labels == "keep" and label != "keep"):
        return "label"
    if spec.verified_only and not trace["verified"]:
        return "unverified"
    if spec.methods and trace["method"] not in spec.methods:
        return "method"
    if spec.models and not set(trace.get("models", {}).values()) & set(spec.models):
        return "model"
    return None


def _from_corpus(spec: SourceSpec, dropped: Counter) -> Iterator[Sample]:
    corpus = _open(spec)
    try:
        labels = corpus.labels() if spec.labels else {}
        files = ("traces", "rejected") if spec.include_rejected else ("traces",)
        for which, lineno, trace in ((w, n, t) for w in files for n, t in corpus.numbered(w)):
            if missing := [k for k in TRACE_KEYS if k not in trace]:
                raise MixtureError(f"{corpus.where(which, lineno)}: not a trace (missing {', '.join(missing)})")
            if reason := _trace_drop(spec, trace, labels.get(str(trace.get("id")), {}).get("label")):
                dropped[reason] += 1
                continue
            messages = trace_messages(trace, thought=spec.thought, think_tags=spec.think_tags)
            yield Sample(spec.label, str(trace["problem_id"]), trace["question"], messages)
    except JsonlError as e:
        raise MixtureError(str(e)) from None


def _from_chat_rows(spec: SourceSpec, rows: Iterable[tuple[int, dict[str, Any]]], dropped: Counter) -> Iterator[Sample]:
    for lineno, row in rows:
        where = f"{spec.location}:{lineno}"
        if spec.verified_only and row.get("verified") is False:
            dropped["unverified"] += 1
            continue
        if "messages" in row:
            messages = _check_messages(row["messages"], where)
        else:
            q = next((k for k in QUESTION_FIELDS if isinstance(row.get(k), str) and row[k].strip()), None)
            r = next((k for k in RESPONSE_FIELDS if isinstance(row.get(k), str) and row[k].strip()), None)
            if q is None or r is None:
                raise MixtureError(
                    f"{where}: needs 'messages', or a question ({'/'.join(QUESTION_FIELDS)}) and a response ({'/'.join(RESPONSE_FIELDS)})"
                )
            response = row[r]
            if r == "long_thought" and isinstance(row.get("answer"), str):
                response = assistant_text(row["long_thought"], row["answer"], think_tags=spec.think_tags)
            messages = [{"role": "user", "content": row[q].strip()}, {"role": "assistant", "content": response.strip()}]
        question = next(m["content"] for m in messages if m["role"] == "user")
        pid = str(row.get("id") or row.get("problem_id") or "p-" + problem_key(question))
        yield Sample(spec.label, pid, question, messages)


def _load_dataset(spec: SourceSpec):
    """A hub name, a saved or a dataset folder, each optionally ``:CONFIG`` (corpus.problems.open_dataset)."""
    try:
        return open_dataset(spec.dataset, spec.split)
    except ProblemFileError as e:
        raise MixtureError(str(e)) from None


def _from_pairs(spec: SourceSpec, dropped: Counter) -> Iterator[Sample]:
    try:
        pairs = open_pairs(str(spec.pairs))
        rows = list(pairs.numbered())
    except (ArtifactError, JsonlError) as e:
        raise MixtureError(str(e)) from None
    for where, row in rows:
        if not all(k in row for k in ("prompt", "chosen", "rejected")):
            raise MixtureError(f"{where}: not a preference pair (needs prompt, chosen, rejected)")
        prompt, chosen, rejected = row["prompt"], row["chosen"], row["rejected"]
        if not all(isinstance(x, list) for x in (prompt, chosen, rejected)) or len(chosen) != 1 or len(rejected) != 1:
            raise MixtureError(f"{where}: prompt is a list of turns, chosen and rejected one assistant turn each")
        messages = _check_messages(prompt + chosen, where)
        other = _check_messages(prompt + rejected, where)[-1:]
        if spec.methods and not set(row.get("methods", [])) & set(spec.methods):
            dropped["method"] += 1
            continue
        question = next(m["content"] for m in messages if m["role"] == "user")
        pid = str(row.get("problem_id") or "p-" + problem_key(question))
        yield Sample(spec.label, pid, question, messages, rejected=other)


class SourceKind:
    """One kind of source a recipe can name (its key in the recipe): how its samples are read, and
    the fingerprint that ties a trained model to the exact data."""

    key: str = ""

    def load(self, spec: SourceSpec, dropped: Counter) -> Iterator[Sample]:
        raise NotImplementedError

    def fingerprint(self, spec: SourceSpec) -> str:
        raise NotImplementedError


class CorpusSource(SourceKind):
    key = "corpus"

    def load(self, spec: SourceSpec, dropped: Counter) -> Iterator[Sample]:
        return _from_corpus(spec, dropped)

    def fingerprint(self, spec: SourceSpec) -> str:
        corpus = _open(spec)
        out = str(corpus.digest("traces"))
        if spec.include_rejected:
            out += f"+rejected:{corpus.digest('rejected')}"
        if spec.labels:
            # the labels decide which traces are trained on: their file is part of what the model saw
            text = corpus.file("labels").read_bytes() if corpus.exists("labels") else b""
            out += f"+labels:{spec.labels}:sha256:" + hashlib.sha256(text).hexdigest()
        return out


class PairsSource(SourceKind):
    key = "pairs"

    def load(self, spec: SourceSpec, dropped: Counter) -> Iterator[Sample]:
        return _from_pairs(spec, dropped)

    def fingerprint(self, spec: SourceSpec) -> str:
        try:
            return str(open_pairs(spec.pairs).digest())
        except ArtifactError as e:
            raise MixtureError(str(e)) from None


class JsonlSource(SourceKind):
    key = "jsonl"

    def _path(self, spec: SourceSpec) -> Path:
        if not Path(spec.jsonl).exists():
            raise MixtureError(f"{spec.location}: file not found")
        return Path(spec.jsonl)

    def load(self, spec: SourceSpec, dropped: Counter) -> Iterator[Sample]:
        return _from_chat_rows(spec, _jsonl_rows(self._path(spec)), dropped)

    def fingerprint(self, spec: SourceSpec) -> str:
        return str(file_hash(self._path(spec)))


class DatasetSource(SourceKind):
    key = "dataset"

    def load(self, spec: SourceSpec, dropped: Counter) -> Iterator[Sample]:
        return _from_chat_rows(spec, enumerate(_load_dataset(spec), 1), dropped)

    def fingerprint(self, spec: SourceSpec) -> str:
        return "datasets:" + _load_dataset(spec)._fingerprint


# the source kinds by their recipe key; a new kind is a class and a line here (and its SourceSpec field)
SOURCE_KINDS: dict[str, SourceKind] = {
    k.key: k for k in (CorpusSource(), DatasetSource(), JsonlSource(), PairsSource())
}


def kind_of_source(spec: SourceSpec) -> SourceKind:
    return SOURCE_KINDS[next(k for k in SOURCE_KINDS if getattr(spec, k))]


def load_source(spec: SourceSpec, dropped: Counter) -> list[Sample]:
    return list(kind_of_source(spec).load(spec, dropped))


def fingerprint(spec: SourceSpec) -> str:
    """What ties a trained model to the exact data: a hash of the files, or the dataset's fingerprint."""
    return kind_of_source(spec).fingerprint(spec)


# -- decontamination -----------------------------------------------------------------------------


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@dataclass
class Decontaminator:
    """An n-gram index of evaluation questions; ``check`` returns the worst overlap of a training question."""

    n: int = 8
    threshold: float = 0.5
    index: dict[tuple[str, ...], tuple[str, str]] = field(default_factory=dict)

    def add(self, eval_set: str, items: Iterable[tuple[str, str]]) -> None:
        for eval_id, question in items:
            for gram in ngrams(question, self.n):
                self.index.setdefault(gram, (eval_set, eval_id))

    def check(self, question: str) -> tuple[float, tuple[str, str] | None]:
        grams = ngrams(question, self.n)
        if not grams or not self.index:
            return 0.0, None
        hits = Counter(self.index[g] for g in grams if g in self.index)
        if not hits:
            return 0.0, None
        return sum(hits.values()) / len(grams), hits.most_common(1)[0][0]


def load_eval_sets(names: list[str], n: int, threshold: float) -> Decontaminator:
    """Evaluation problems by file, saved dataset or hub name, ``NAME:CONFIG`` too (the loader of
    ``journey eval math``); a set that cannot be loaded is a one-line ``MixtureError``."""
    from corpus.problems import load_problems

    deco = Decontaminator(n=n, threshold=threshold)
    for name in names:
        try:
            problems = load_problems(name)
        except ProblemFileError as e:
            raise MixtureError(f"decontamination set {e}") from None
        deco.add(name, ((p.id, p.question) for p in problems))
    return deco


# -- weighting -----------------------------------------------------------------------------------


def allocate(
    available: list[int], weights: list[float], size: int | None = None, *, upsample: bool = False
) -> list[int]:
    """How many samples each source gives so that the shares follow the weights (largest remainder)."""
    shares = [w / sum(weights) for w in weights]
    if size is None:
        size = math.floor(min(n / p for n, p in zip(available, shares, strict=True)) + 1e-9)
    raw = [p * size for p in shares]
    counts = [math.floor(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: counts[i] - raw[i])[: size - sum(counts)]:
        counts[i] += 1
    return counts


@dataclass
class Mixture:
    samples: list[Sample]
    report: dict[str, Any]
    contaminated: list[dict[str, Any]]

    def write(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        with (out / "mixture.jsonl").open("w", encoding="utf-8") as f:
            for s in self.samples:
                head = {"source": s.source, "problem_id": s.problem_id, "tokens": s.tokens}
                f.write(json.dumps(head | s.row(), ensure_ascii=False) + "\n")
        with (out / "decontamination.jsonl").open("w", encoding="utf-8") as f:
            for row in self.contaminated:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        (out / "mixture.json").write_text(json.dumps(self.report, indent=2))


@dataclass
class _Pools:
    """The samples each source still has, and what each step dropped from it."""

    specs: list[SourceSpec]
    pools: dict[str, list[Sample]] = field(default_factory=dict)
    per_source: dict[str, dict[str, Any]] = field(default_factory=dict)

    def drop(self, spec: SourceSpec, reason: str, keep: list[Sample]) -> None:
        self.per_source[spec.label]["dropped"][reason] += len(self.pools[spec.label]) - len(keep)
        self.pools[spec.label] = keep


def _load_all(specs: list[SourceSpec], length: Callable[[Messages], int], max_length: int | None) -> _Pools:
    """Step 1 and 2: each source loaded and filtered, then samples over the token limit dropped."""
    state = _Pools(specs)
    for spec in specs:
        dropped: Counter = Counter()
        loaded = load_source(spec, dropped)
        read = len(loaded) + sum(dropped.values())
        state.per_source[spec.label] = {
            "location": spec.location,
            "weight": spec.weight,
            "read": read,
            "dropped": dropped,
        }
        state.pools[spec.label] = loaded
        limits = [x for x in (spec.max_tokens, max_length) if x is not None]
        for s in loaded:
            s.tokens = max(length(c) for c in s.conversations())
        state.drop(spec, "too_long", [s for s in loaded if not (limits and s.tokens > min(limits))])
    return state


def _dedup(state: _Pools) -> None:
    """Step 3: a problem belongs to the highest-weight source that has it; ties to the one listed first."""
    owner: dict[str, str] = {}
    for spec in sorted(state.specs, key=lambda s: -s.weight):  # sorted() is stable: listing order breaks ties
        for s in state.pools[spec.label]:
            owner.setdefault(s.key, spec.label)
    for spec in state.specs:
        state.drop(spec, "duplicate", [s for s in state.pools[spec.label] if owner[s.key] == spec.label])


def _decontaminate(state: _Pools, decontaminator: Decontaminator | None) -> list[dict[str, Any]]:
    """Step 4: problems overlapping an evaluation set dropped; the list of what was dropped and why."""
    contaminated: list[dict[str, Any]] = []
    if decontaminator is None:
        return contaminated
    for spec in state.specs:
        keep = []
        for s in state.pools[spec.label]:
            overlap, hit = decontaminator.check(s.question)
            if hit is None or overlap < decontaminator.threshold:
                keep.append(s)
                continue
            row = {"source": spec.label, "problem_id": s.problem_id, "overlap": round(overlap, 3)}
            contaminated.append(row | {"eval_set": hit[0], "eval_id": hit[1]})
        state.drop(spec, "contaminated", keep)
    return contaminated


def _select(state: _Pools, size: int | None, upsample: bool, rng: random.Random) -> list[Sample]:
    """Step 5: each source capped, then the share its weight asks for taken from it."""
    specs, pools = state.specs, state.pools
    for spec in specs:
        if spec.cap is not None and len(pools[spec.label]) > spec.cap:
            state.drop(spec, "cap", rng.sample(pools[spec.label], spec.cap))
    available = [len(pools[s.label]) for s in specs]
    if empty := [s.label for s, n in zip(specs, available, strict=True) if n == 0]:
        raise MixtureError(
            f"no samples left in {', '.join(empty)} after filtering: "
            + json.dumps({k: {r: n for r, n in state.per_source[k]["dropped"].items() if n} for k in empty})
        )
    counts = allocate(available, [s.weight for s in specs], size, upsample=upsample)
    samples: list[Sample] = []
    for spec, n, want in zip(specs, available, counts, strict=True):
        if want > n and not upsample:
            raise MixtureError(
                f"{spec.label} has {n} samples but the mixture needs {want}: lower the mixture size or set upsample"
            )
        samples.extend(pools[spec.label] * (want // n) + rng.sample(pools[spec.label], want % n))
        state.per_source[spec.label] |= {"available": n, "selected": want, "repeated": max(0, want - n)}
    rng.shuffle(samples)
    return samples


def build_mixture(
    specs: list[SourceSpec],
    *,
    length: Callable[[Messages], int],  # tokens of a conversation; a pair counts its longer side
    max_length: int | None,
    decontaminator: Decontaminator | None = None,
    size: int | None = None,
    upsample: bool = False,
    seed: int = 0,
) -> Mixture:
    """The mixture of these sources, in the steps the module's docstring lists, with its report."""
    state = _load_all(specs, length, max_length)
    _dedup(state)
    contaminated = _decontaminate(state, decontaminator)
    samples = _select(state, size, upsample, random.Random(seed))
    weight_sum = sum(s.weight for s in specs)
    for spec in specs:
        row = state.per_source[spec.label]
        row["dropped"] = {k: v for k, v in row["dropped"].items() if v}
        row["share_target"] = round(spec.weight / weight_sum, 4)
        row["share"] = round(row["selected"] / len(samples), 4) if samples else 0.0
    report = {
        "sources": state.per_source,
        "total": len(samples),
        "dedup_rule": "a problem stays with the highest-weight source that has it; ties go to the source listed first",
        "decontamination": None
        if decontaminator is None
        else {"ngram": decontaminator.n, "threshold": decontaminator.threshold, "dropped": len(contaminated)},
        "max_length": max_length,
        "seed": seed,
    }
    return Mixture(samples, report, contaminated)
