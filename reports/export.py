"""``journey export``: corpora or pairs as a Hugging Face dataset (Parquet shards and a dataset card).

    journey export runs/journey runs/distill --as sft --out exports/sft

``--as traces`` writes every trace whole (events, usage per role, the search tree as JSON text);
``--as sft`` the verified traces as ``messages`` exactly as the trainer formats them; ``--as pairs``
the rows of ``journey pairs`` directories. Rows go to ``data/train-NNNNN.parquet`` with a fixed
schema (``datasets.Features``), so every shard reads back the same; ``README.md`` is the dataset
card: where the rows came from (configs, models, counts, file hashes), the transparency card of
each corpus, and how to load it. With ``save_to_disk`` an Arrow copy goes to ``arrow/`` for
``datasets.load_from_disk``. A directory holding several configs exports each as its own corpus
(``DIR@HASH``, in the ``corpus`` column); nothing is written into the corpora.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from corpus.artifacts import ArtifactError, kind_of, open_pairs, output
from corpus.jsonl import JsonlError
from corpus.schema import Trace
from reports.compare import CompareError, Corpus, load_corpora, stats, transparency
from trainer.format import trace_messages

As = Literal["traces", "sft", "pairs"]
DATA = "data"


class ExportError(ValueError):
    pass


def _features(kind: As):
    from datasets import Features, Value

    text, integer, real, flag = Value("string"), Value("int64"), Value("float64"), Value("bool")
    messages = [{"role": text, "content": text}]
    if kind == "sft":
        return Features(
            {
                "messages": messages,
                "corpus": text,
                "config_hash": text,
                "trace_id": text,
                "problem_id": text,
                "method": text,
                "source": text,
            }
        )
    if kind == "pairs":
        return Features(
            {
                "prompt": messages,
                "chosen": messages,
                "rejected": messages,
                "pairs": text,
                "id": text,
                "kind": text,
                "problem_id": text,
                "chosen_trace": text,
                "rejected_trace": text,
                "methods": [text],
                "chosen_tokens": integer,
                "rejected_tokens": integer,
                "node": text,
                "depth": integer,
                "chosen_node": text,
                "rejected_node": text,
                "chosen_score": real,
                "rejected_score": real,
                "scorer": text,
                "rejected_reason": text,
                "chosen_as": text,
            }
        )
    event = {
        "kind": text,
        "role": text,
        "model": text,
        "text": text,
        "step": integer,
        "correct": flag,
        "score": real,
        "answer": text,
        "malformed": flag,
        "tokens_in": integer,
        "tokens_out": integer,
        "latency_s": real,
        "calls": integer,
        "reasoning": text,
    }
    usage = {"role": text, "model": text, "calls": integer, "tokens_in": integer, "tokens_out": integer}
    return Features(
        {
            "corpus": text,
            "id": text,
            "problem_id": text,
            "method": text,
            "sample": integer,
            "config_hash": text,
            "source": text,
            "question": text,
            "reference_answer": text,
            "subject": text,
            "level": text,
            "events": [event],
            "final_answer": text,
            "verified": flag,
            "status": text,
            "long_thought": text,
            "summary": text,
            "models": [{"role": text, "model": text}],
            "usage": [usage | {"latency_s": real}],
            "n_steps": integer,
            "n_backtracks": integer,
            "wall_s": real,
            "tree": text,
            "draft": text,
            "rewrite": text,
            "shape": {
                "thought_words": integer,
                "thought_tokens": integer,
                "steps": integer,
                "reflections": integer,
                "backtracks": integer,
                "dead_end_depth": integer,
                "rewritten": flag,
            },
        }
    )


def _trace_row(corpus: str, row: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        trace = Trace.model_validate(row).model_dump()
    except ValueError as e:
        raise ExportError(f"{where}: not a trace ({str(e).splitlines()[0]})") from None
    trace["models"] = [{"role": r, "model": m} for r, m in trace["models"].items()]
    trace["usage"] = [{"role": r, **u} for r, u in trace["usage"].items()]
    trace["tree"] = json.dumps(trace["tree"], ensure_ascii=False) if trace["tree"] is not None else None
    return {"corpus": corpus} | trace


class _Shards:
    """Rows to ``data/train-NNNNN.parquet``, ``size`` rows a shard, each written as it fills."""

    def __init__(self, out: Path, features, size: int):
        self.dir, self.features, self.size = out / DATA, features, size
        self.dir.mkdir(parents=True)
        self.rows: list[dict[str, Any]] = []
        self.files: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append({k: row.get(k) for k in self.features})
        if len(self.rows) >= self.size:
            self.flush()

    def flush(self) -> None:
        from datasets import Dataset

        if not self.rows and self.files:
            return
        path = self.dir / f"train-{len(self.files):05d}.parquet"
        Dataset.from_list(self.rows, features=self.features).to_parquet(str(path))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        self.files.append({"file": f"{DATA}/{path.name}", "rows": len(self.rows), "sha256": digest})
        self.rows = []


def _corpora(paths: list[str]) -> list[Corpus]:
    corpora: list[Corpus] = []
    for text in paths:
        try:
            corpora += load_corpora(text)
        except CompareError as e:
            raise ExportError(str(e)) from None
    return corpora


def _corpus_rows(c: Corpus) -> Any:
    try:
        for line, row in c.source.numbered("traces"):
            yield c.source.where("traces", line), row
    except JsonlError as e:
        raise ExportError(str(e)) from None


def _label(c: Corpus) -> str:
    return c.source.name


def export(
    paths: list[str],
    kind: As,
    out: Path,
    *,
    shard_rows: int = 50_000,
    save_to_disk: bool = False,
    think_tags: bool = True,
) -> dict[str, Any]:
    """Write the dataset and its card under ``out``; return what the card says, as a dict."""
    if kind not in ("traces", "sft", "pairs"):
        raise ExportError(f"--as is traces, sft or pairs, not {kind!r}")
    if not paths:
        raise ExportError("nothing to export")
    try:
        with output(out, "export", tuple(paths), empty=True) as out:
            return _export(paths, kind, out, shard_rows=shard_rows, save_to_disk=save_to_disk, think_tags=think_tags)
    except ArtifactError as e:
        raise ExportError(str(e)) from None


def _export(
    paths: list[str], kind: As, out: Path, *, shard_rows: int, save_to_disk: bool, think_tags: bool
) -> dict[str, Any]:
    shards = _Shards(out, _features(kind), shard_rows)
    sources: list[dict[str, Any]] = []
    corpora: list[Corpus] = []
    counts = {"rows": 0, "skipped_unverified": 0}
    if kind == "pairs":
        for text in paths:
            try:
                pairs = open_pairs(text)
                rows = list(pairs.numbered())
            except (ArtifactError, JsonlError) as e:
                raise ExportError(str(e)) from None
            manifest = pairs.manifest
            sources.append({"pairs": str(pairs.path), "sha256": pairs.digest(), "manifest": manifest})
            for source in manifest.get("sources", []):
                ref = source["corpus"] + (f"@{source['config']}" if source.get("config") else "")
                if kind_of(Path(source["corpus"])) is not None:  # the corpus still there: its card too
                    corpora += _corpora([ref])
            for _, row in rows:
                shards.add(row | {"pairs": str(pairs.path)})
                counts["rows"] += 1
    else:
        corpora = _corpora(paths)
        for c in corpora:
            label = _label(c)
            sources.append(
                {
                    "corpus": label,
                    "traces_sha256": c.source.digest("traces"),
                    "method": c.manifest.get("method"),
                    "config_hash": c.source.config_hash,
                    # a corpus journey filter or journey select wrote: what was dropped, by reason
                    **{k: c.manifest[k] for k in ("filter", "selection") if k in c.manifest},
                }
            )
            for where, row in _corpus_rows(c):
                if kind == "traces":
                    shards.add(_trace_row(label, row, where))
                elif not row.get("verified"):
                    counts["skipped_unverified"] += 1
                    continue
                else:
                    shards.add(
                        {
                            "messages": trace_messages(row, think_tags=think_tags),
                            "corpus": label,
                            "config_hash": row.get("config_hash"),
                            "trace_id": row.get("id"),
                            "problem_id": str(row.get("problem_id")),
                            "method": row.get("method"),
                            "source": row.get("source"),
                        }
                    )
                counts["rows"] += 1
    shards.flush()
    if save_to_disk:
        from datasets import Dataset

        files = [str(out / f["file"]) for f in shards.files]
        with tempfile.TemporaryDirectory() as cache:  # from_parquet's cache, not the user's HF cache
            Dataset.from_parquet(files, features=shards.features, cache_dir=cache).save_to_disk(str(out / "arrow"))
    card = {
        "as": kind,
        "rows": counts["rows"],
        "skipped_unverified": counts["skipped_unverified"] if kind == "sft" else None,
        "files": shards.files,
        "sources": sources,
        "corpora": {
            _label(c): {
                "stats": stats(c),
                "transparency": transparency(c),
                "config": c.source.config_record,
            }
            for c in corpora
        },
        "exported_by": f"o1-journey {metadata.version('o1-journey')}",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "save_to_disk": save_to_disk,
    }
    (out / "export.json").write_text(json.dumps(card, indent=2, ensure_ascii=False, default=str))
    (out / "README.md").write_text(dataset_card(card, out))
    return card


def _curation_lines(sources: list[dict[str, Any]]) -> list[str]:
    """What journey filter dropped from a corpus, by reason, and how journey select chose its traces."""
    lines = []
    for s in sources:
        if "filter" in s:
            f = s["filter"]
            dropped = ", ".join(f"{reason} {n}" for reason, n in f["dropped"].items()) or "none"
            lines += [
                "",
                f"`{s['corpus']}` is the output of journey filter: {f['read']} traces read, {f['kept']} kept; ",
            ]
            lines[-1] += f"dropped by reason: {dropped} (each dropped trace and why: its filtered.jsonl)."
        if "selection" in s:
            sel = s["selection"]
            lines += ["", f"`{s['corpus']}` is the output of journey select ({sel['rule']}): {sel['kept']} of "]
            lines[-1] += f"{sel['read']} traces kept (each kept trace and why: its selected.jsonl)."
    return lines


def dataset_card(card: dict[str, Any], out: Path) -> str:
    kind = card["as"]
    what = {
        "traces": "whole traces (every event, usage per role, the search tree as JSON text)",
        "sft": "verified traces as chat `messages`, formatted exactly as `journey train` trains on them",
        "pairs": "preference pairs (`prompt`, `chosen`, `rejected` conversations) for DPO",
    }[kind]
    lines = [
        "---",
        "configs:",
        "- config_name: default",
        "  data_files:",
        "  - split: train",
        f"    path: {DATA}/train-*.parquet",
        "tags:",
        "- reasoning",
        "- long-thought",
        "- o1-journey",
        "---",
        "",
        f"# {out.name}",
        "",
        f"{card['rows']} rows: {what}. Exported by {card['exported_by']} on {card['created']}.",
        "",
        "## Load",
        "",
        "```python",
        "from datasets import load_dataset",
        f'ds = load_dataset("parquet", data_files="{out}/{DATA}/*.parquet", split="train")',
    ]
    if card["save_to_disk"]:
        lines += [
            "# or, from the Arrow copy:",
            "from datasets import load_from_disk",
            f'ds = load_from_disk("{out}/arrow")',
        ]
    lines += ["```", "", "## Sources", ""]
    if kind == "pairs":
        lines += ["| pairs | kind | pairs written | problems | dropped | sha256 |", "|---|---|---|---|---|---|"]
        for s in card["sources"]:
            m = s["manifest"]
            dropped = ", ".join(f"{k}: {v}" for k, v in m.get("dropped", {}).items()) or "none"
            lines.append(
                f"| `{s['pairs']}` | {m.get('kind')} | {m.get('counts', {}).get('pairs')} | "
                f"{m.get('counts', {}).get('problems')} | {dropped} | `{s['sha256']}` |"
            )
        lines += ["", "Built from these corpora (as recorded by `journey pairs`):", ""]
        for s in card["sources"]:
            for src in s["manifest"].get("sources", []):
                lines.append(f"- `{src['corpus']}` config `{src.get('config')}`, traces `{src.get('traces_sha256')}`")
    else:
        lines += ["| corpus | method | config | traces sha256 |", "|---|---|---|---|"]
        lines += [
            f"| `{s['corpus']}` | {s['method']} | `{s['config_hash']}` | `{s['traces_sha256']}` |"
            for s in card["sources"]
        ]
        if kind == "sft":
            lines += ["", f"Unverified traces left out: {card['skipped_unverified']}."]
        lines += _curation_lines(card["sources"])
    for name, c in card["corpora"].items():
        st, tr = c["stats"], c["transparency"]
        lines += [
            "",
            f"## Corpus `{name}`",
            "",
            f"Method {st['method']}; models: "
            + (", ".join(f"{role} `{spec}`" for role, spec in st["models"].items()) or "none")
            + f"; {st['problems']} problems, {st['accepted']} accepted of {st['attempted']} attempted"
            + (f" (acceptance {st['acceptance_rate']:.3f})" if st["acceptance_rate"] is not None else "")
            + f"; cost {st['cost_usd'] if st['cost_usd'] is not None else 'not priced'}.",
            "",
            f"Transparency card (score {tr['score']:.2f}):",
            "",
            "| check | |",
            "|---|---|",
            *(f"| {check} | {'yes' if ok else 'no'} |" for check, ok in tr["checks"].items()),
            "",
            "<details><summary>config</summary>",
            "",
            "```json",
            json.dumps(c["config"], indent=2, ensure_ascii=False, default=str),
            "```",
            "",
            "</details>",
        ]
    lines += ["", "## Files", "", "| file | rows | sha256 |", "|---|---|---|"]
    lines += [f"| `{f['file']}` | {f['rows']} | `{f['sha256']}` |" for f in card["files"]]
    return "\n".join(lines) + "\n"
