"""A corpus directory's files: what they are called, reading them back, writing them safely.

``traces.jsonl``   one kept trace a line, appended and flushed as each finishes;
``rejected.jsonl`` samples that did not verify (methods that reject), as full traces;
``failures.jsonl`` jobs whose calls kept failing, with the reason (nothing is dropped);
``config.json``    the config (or configs, with ``--add-config``) the corpus was made with, by hash;
``manifest.json``  written last, so its existence means the run completed.
``labels.jsonl``   curation (``journey view``): keep / drop per trace with a note, who and when,
                   append-only (the last line for a trace holds); never written into traces.jsonl.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from corpus import jsonl

TRACES, FAILURES, REJECTED, MANIFEST = "traces.jsonl", "failures.jsonl", "rejected.jsonl", "manifest.json"
CONFIG = "config.json"
LABELS = "labels.jsonl"
# a corpus's row files by the name the rest of the project asks for them (it never spells a file name)
CORPUS_FILES = {"traces": TRACES, "rejected": REJECTED, "failures": FAILURES, "labels": LABELS}


def corpus_file(out: Path, which: str) -> Path:
    """``traces``, ``rejected``, ``failures`` or ``labels`` of the corpus at ``out``."""
    return out / CORPUS_FILES[which]


class CorpusExistsError(FileExistsError):
    pass


class CorpusConfigError(ValueError):
    """A resume whose config differs from the corpus's; ``str()`` is one line naming what differs."""


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A nested mapping as dotted paths to its leaves (``{"a": {"b": 1}}`` -> ``{"a.b": 1}``)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out |= flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    return {prefix: value}


def config_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``field: old -> new`` for every leaf that differs, in dotted paths."""
    a, b = flatten(old), flatten(new)
    return [
        f"{k}: {a.get(k, '(none)')} -> {b.get(k, '(none)')}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)
    ]


def check_config(out: Path, cfg_hash: str, config: dict[str, Any], *, resume: bool, add: bool) -> dict[str, Any]:
    """Keep a corpus to one config: the configs ``out`` will hold with this run's, by hash. A resume
    must match the recorded config, unless ``add`` starts another config beside it; a mismatch
    raises ``CorpusConfigError``. Reads only: nothing is written, so a refused run leaves no trace."""
    config = json.loads(json.dumps(config))  # as it reads back: tuples are lists, so only real changes differ
    path = out / CONFIG
    # a new corpus starts its record afresh (a config.json left by a run that wrote nothing is stale)
    configs: dict[str, Any] = recorded_configs(path) if path.exists() and resume else {}
    if not configs and resume:
        # a corpus from before configs were recorded: its rows say which hashes it holds
        hashes = {r["config_hash"] for name in (TRACES, REJECTED) for r in iter_jsonl(out / name)}
        if hashes - {cfg_hash} and not add:
            raise CorpusConfigError(
                f"{out} holds traces of config {', '.join(sorted(hashes))}, and this run's config is {cfg_hash}: "
                "choose another --out, or pass --add-config to keep both configs in one directory"
            )
    if cfg_hash not in configs:
        if configs and not add:
            last_hash, last = next(reversed(configs.items()))
            differ = config_diff(last, config)
            raise CorpusConfigError(
                f"{out} holds config {last_hash}, and this run's differs ({'; '.join(differ)}): "
                "choose another --out, or pass --add-config to keep both configs in one directory"
            )
        configs[cfg_hash] = config
    return configs


def recorded_configs(path: Path) -> dict[str, Any]:
    """The configs a corpus's ``config.json`` records, by hash; CorpusConfigError (one line) when it
    is not the record journey synth writes."""
    try:
        configs = json.loads(path.read_text(encoding="utf-8")).get("configs")
    except (ValueError, OSError, AttributeError) as e:
        raise CorpusConfigError(f"{path}: not the config record journey synth writes ({str(e)[:120]})") from None
    if not isinstance(configs, dict):
        raise CorpusConfigError(f"{path}: no 'configs' object (not written by journey synth)")
    return configs


def write_configs(out: Path, configs: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / CONFIG, json.dumps({"configs": configs}, indent=2, ensure_ascii=False))


def record_config(out: Path, cfg_hash: str, config: dict[str, Any], *, resume: bool, add: bool) -> list[str]:
    """:func:`check_config`, then the configs written; returns their hashes."""
    configs = check_config(out, cfg_hash, config, resume=resume, add=add)
    write_configs(out, configs)
    return list(configs)


# the one JSONL rule (corpus.jsonl): readers leave a torn last line out and never modify a file;
# the writer cuts it before appending
cut_torn_line = jsonl.cut_torn_line
iter_jsonl = jsonl.rows
filter_jsonl = jsonl.filter_rows


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL file the project wrote (see ``corpus.jsonl``)."""
    return list(jsonl.rows(path))


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` in one step, so a crash leaves either the old file or the new one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Replace a JSONL file with ``rows`` in one step."""
    write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def prepare_out(out: Path, resume: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if not resume and ((out / TRACES).exists() or (out / FAILURES).exists()):
        raise CorpusExistsError(f"{out} already holds a corpus: pass --resume to continue it, or choose another --out")
    # a manifest describes a completed run; this one has not completed yet
    (out / MANIFEST).unlink(missing_ok=True)


class CorpusWriter:
    """Appends one JSON line per finished item and flushes, so a crash loses at most the item in flight.

    The only writer of a corpus: with worker processes, they send their outcomes here.
    """

    def __init__(self, out: Path):
        for name in (TRACES, FAILURES, REJECTED):  # every appended row starts on a line of its own
            jsonl.cut_torn_line(out / name)
        self.traces = (out / TRACES).open("a", encoding="utf-8")
        self.failures = (out / FAILURES).open("a", encoding="utf-8")
        self.rejects = (out / REJECTED).open("a", encoding="utf-8")

    @staticmethod
    def _write(f, line: str) -> None:
        f.write(line + "\n")
        f.flush()

    def sample(self, kept: bool, line: str) -> None:
        self._write(self.traces if kept else self.rejects, line)

    def failure(self, row: dict[str, Any]) -> None:
        self._write(self.failures, json.dumps(row, ensure_ascii=False))

    def close(self) -> None:
        self.traces.close()
        self.failures.close()
        self.rejects.close()


def file_hash(path: Path) -> str | None:
    """``sha256:HEX`` of a file read in blocks (None when it does not exist): what ties an output to its input."""
    if not path.exists():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()
