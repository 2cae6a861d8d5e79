"""Every artifact directory the project writes, and the one reader of each kind.

An artifact directory says what it is in ``artifact.json``, written before anything else:
``{"kind": "corpus", "format": 1, "written_by": "o1-journey X"}``. The kinds and their writers:

    corpus   journey synth            traces.jsonl, rejected.jsonl, failures.jsonl, config.json,
                                      labels.jsonl (journey view), manifest.json (last)
    pairs    journey pairs            pairs.jsonl, manifest.json
    eval     journey eval ...         samples.jsonl / items.jsonl, summary.json (last)
    export   journey export           data/*.parquet, export.json, README.md
    model    journey train            the checkpoint, manifest.json
    report   journey compare, report  summary.json, report.md, report.html

A directory from before the marker is recognised by its files (format 0) and read the same way.
Every command that reads an artifact checks its kind and format here and says in one line what it
found instead; :func:`claim_output` is the one rule for ``--out``: never empty, never an input,
never a directory that holds another kind of artifact.

:func:`open_corpus` is the only code that opens a corpus's files: compare, export, pairs, the
training mixture and the viewer read through the :class:`Corpus` it returns.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from corpus import jsonl
from corpus.files import (
    CONFIG,
    CORPUS_FILES,
    FAILURES,
    MANIFEST,
    REJECTED,
    TRACES,
    CorpusConfigError,
    file_hash,
    recorded_configs,
    write_atomic,
)

Kind = Literal["corpus", "pairs", "eval", "export", "model", "report"]
KINDS: tuple[str, ...] = ("corpus", "pairs", "eval", "export", "model", "report")
FORMAT = 1  # the newest format this code writes and reads
MARKER = "artifact.json"
PAIRS_FILE = "pairs.jsonl"
_ARTICLE = {"corpus": "a corpus", "pairs": "a pairs directory", "eval": "an eval run", "export": "an export"}
_ARTICLE |= {"model": "a trained model", "report": "a report"}


class ArtifactError(ValueError):
    """An artifact that is missing, of another kind or of a newer format, or a refused ``--out``;
    ``str()`` is one line."""


def _version() -> str:
    try:
        return metadata.version("o1-journey")
    except metadata.PackageNotFoundError:
        return "unknown"


def _legacy_kind(d: Path) -> str | None:
    """The kind of a directory written before markers, from its files."""
    if (d / TRACES).exists() or (d / FAILURES).exists() or (d / CONFIG).exists() and _is_corpus_config(d / CONFIG):
        return "corpus"
    if (d / PAIRS_FILE).exists():
        return "pairs"
    if (d / "export.json").exists():
        return "export"
    if (d / "summary.json").exists() and any((d / n).exists() for n in ("samples.jsonl", "items.jsonl")):
        return "eval"
    if (d / "summary.json").exists() and (d / "report.md").exists():
        return "report"
    if (d / MANIFEST).exists() and ((d / "model.safetensors").exists() or (d / "adapter_config.json").exists()):
        return "model"
    return None


def _is_corpus_config(path: Path) -> bool:
    try:
        return "configs" in json.loads(path.read_text())
    except (ValueError, OSError):
        return False


def kind_of(d: Path) -> tuple[str, int] | None:
    """(kind, format) of an artifact directory; None for a directory that holds none (or no directory)."""
    marker = d / MARKER
    if marker.exists():
        try:
            found = json.loads(marker.read_text())
            return str(found["kind"]), int(found["format"])
        except (ValueError, KeyError, TypeError, OSError):
            raise ArtifactError(f"{marker}: not a readable artifact marker") from None
    if not d.is_dir():
        return None
    legacy = _legacy_kind(d)
    return (legacy, 0) if legacy else None


def describe(d: Path) -> str:
    """What ``d`` is, in words: "a pairs directory", "an empty directory", "no such directory"."""
    if not d.exists():
        return "no such directory"
    if not d.is_dir():
        return "a file, not a directory"
    found = kind_of(d)
    if found:
        return _ARTICLE.get(found[0], f"a {found[0]} directory")
    return "an empty directory" if not any(d.iterdir()) else "a directory of no artifact this project writes"


def expect(d: Path, kind: str, *, written_by: str = "") -> int:
    """Check that ``d`` is an artifact of ``kind`` in a format this code reads; return its format."""
    found = kind_of(d) if d.is_dir() else None
    if found is None or found[0] != kind:
        by = f" (written by {written_by})" if written_by else ""
        raise ArtifactError(f"{d} is {describe(d)}, not {_ARTICLE[kind]}{by}")
    if found[1] > FORMAT:
        raise ArtifactError(
            f"{d}: written in {kind} format {found[1]}, newer than this o1-journey reads ({FORMAT}): upgrade o1-journey"
        )
    return found[1]


def mark(d: Path, kind: str) -> None:
    """Write the marker (before anything else of the artifact), keeping one already there."""
    d.mkdir(parents=True, exist_ok=True)
    if not (d / MARKER).exists():
        write_atomic(d / MARKER, json.dumps({"kind": kind, "format": FORMAT, "written_by": f"o1-journey {_version()}"}))


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def check_output(
    out: Path | str | None, kind: str, inputs: tuple[Path | str, ...] = (), *, empty: bool = False
) -> Path:
    """The one rule for ``--out``: a path is given, it is none of the inputs (nor holds one), and it
    holds no artifact of another kind; ``empty`` asks for a directory that is new or empty. Reads
    only: a refused output leaves everything as it was."""
    if out is None or str(out).strip() in ("", "."):
        raise ArtifactError(f"--out is empty: name a directory for the {kind}")
    out = Path(out)
    for given in inputs:
        source = Path(str(given).rpartition("@")[0] if "@" in Path(str(given)).name else given)
        if _same(out, source):
            raise ArtifactError(f"--out {out} is an input ({given}): choose another directory")
        if source.exists() and out.resolve() in source.resolve().parents:
            raise ArtifactError(f"--out {out} holds an input ({given}): choose another directory")
    if out.exists() and not out.is_dir():
        raise ArtifactError(f"--out {out} is a file, not a directory")
    found = kind_of(out) if out.exists() else None
    if found is not None and found[0] != kind:
        raise ArtifactError(f"--out {out} holds {describe(out)}: choose another directory for the {kind}")
    if empty and out.exists() and any(out.iterdir()):
        raise ArtifactError(f"--out {out} is not empty: choose another directory")
    return out


@contextmanager
def output(out: Path | str | None, kind: str, inputs: tuple[Path | str, ...] = (), *, empty: bool = False):
    """:func:`check_output`, the marker written, and on an error everything this run created under
    ``out`` removed (files it found there stay)."""
    out = check_output(out, kind, inputs, empty=empty)
    existed = out.exists()
    before = {p for p in out.rglob("*")} if existed else set()
    mark(out, kind)
    try:
        yield out
    except BaseException:
        if not existed:
            shutil.rmtree(out, ignore_errors=True)
        else:
            for p in sorted(set(out.rglob("*")) - before, key=lambda p: len(p.parts), reverse=True):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        raise


def split_ref(text: str | Path) -> tuple[Path, str | None]:
    """``DIR@HASH`` -> (DIR, HASH); a plain directory -> (DIR, None)."""
    text = str(text)
    if "@" in Path(text).name:
        path, _, config = text.rpartition("@")
        return Path(path), config or None
    return Path(text), None


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object file; a clear one-line error when it is not one."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as e:
        raise ArtifactError(f"{path}: not readable JSON ({str(e).splitlines()[0]})") from None
    if not isinstance(value, dict):
        raise ArtifactError(f"{path}: not a JSON object")
    return value


# -- corpus --------------------------------------------------------------------------------------


@dataclass
class Corpus:
    """A corpus directory, read through one config (``config``) or, when it holds one, whole.

    ``configs``: every config the directory holds, by hash (``config.json``); ``manifest``: the last
    completed run's manifest, None while a run has not completed.
    """

    path: Path
    config: str | None
    configs: dict[str, dict[str, Any]]
    manifest: dict[str, Any] | None
    format: int = FORMAT
    _filter: bool = field(default=False, repr=False)

    @property
    def name(self) -> str:
        return f"{self.path}@{self.config}" if self._filter else str(self.path)

    @property
    def label(self) -> str:
        """The short name reports show: the directory's name, with ``@HASH`` when one config of several."""
        return f"{self.path.name}@{self.config}" if self._filter else self.path.name

    @property
    def config_record(self) -> dict[str, Any] | None:
        """The config this corpus was made with (the chosen one, or the only one)."""
        if self.config is not None:
            return self.configs.get(self.config)
        if len(self.configs) == 1:
            return next(iter(self.configs.values()))
        return (self.manifest or {}).get("config")

    @property
    def config_hash(self) -> str | None:
        if self.config is not None:
            return self.config
        return next(iter(self.configs)) if len(self.configs) == 1 else (self.manifest or {}).get("config_hash")

    def file(self, which: str) -> Path:
        """The path of one of its files (``traces``, ``rejected``, ``failures``, ``labels``), for hashing."""
        return self.path / CORPUS_FILES[which]

    def digest(self, which: str = "traces") -> str | None:
        return file_hash(self.file(which))

    def exists(self, which: str) -> bool:
        return self.file(which).exists()

    def numbered(self, which: str) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line number, row) of one file, only this corpus's config; a bad line raises ``JsonlError``."""
        for number, row in jsonl.numbered(self.file(which)):
            if not self._filter or row.get("config_hash", self.config) == self.config:
                yield number, row

    def where(self, which: str, number: int) -> str:
        return f"{self.file(which)}:{number}"

    def rows(self, which: str) -> Iterator[dict[str, Any]]:
        for _, row in self.numbered(which):
            yield row

    def traces(self) -> Iterator[dict[str, Any]]:
        return self.rows("traces")

    def rejected(self) -> Iterator[dict[str, Any]]:
        return self.rows("rejected")

    def failures(self) -> Iterator[dict[str, Any]]:
        return self.rows("failures")

    def samples(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(file kind, row) of every sample: the kept traces, then the rejected ones."""
        for which in ("traces", "rejected"):
            for row in self.rows(which):
                yield which, row

    def scan(self, which: str) -> Iterator[jsonl.Line]:
        """Every line of one file with its offset, bad lines marked (the viewer shows them as rows)."""
        for line in jsonl.scan(self.file(which)):
            if line.row is None or not self._filter or line.row.get("config_hash") == self.config:
                yield line

    def read_at(self, which: str, offset: int, length: int) -> dict[str, Any]:
        return jsonl.read_at(self.file(which), offset, length)

    def labels(self) -> dict[str, dict[str, Any]]:
        """Trace id -> its latest label (``labels.jsonl`` is append-only: the last line for a trace
        wins); a bad line raises ``JsonlError`` naming it."""
        return {str(row.get("trace_id")): row for row in jsonl.rows(self.file("labels"))}

    def add_label(self, row: dict[str, Any]) -> None:
        jsonl.append_rows(self.file("labels"), [row])

    def split(self) -> list[Corpus]:
        """One corpus per config the directory holds (``--add-config``), each named ``DIR@HASH``."""
        if self._filter or len(self.configs) <= 1:
            return [self]
        return [Corpus(self.path, h, self.configs, self.manifest, self.format, True) for h in self.configs]


def _configs(path: Path, manifest: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    record = path / CONFIG
    if record.exists():
        try:  # the writer's own reading of its record, errors and all
            return recorded_configs(record)
        except CorpusConfigError as e:
            raise ArtifactError(str(e)) from None
    # a corpus from before config.json: its manifest holds the last config, its rows every hash
    hashes = {str(r.get("config_hash")) for name in (TRACES, REJECTED) for r in jsonl.rows(path / name)}
    if manifest and manifest.get("config_hash"):
        return {h: (manifest.get("config") if h == manifest["config_hash"] else {}) for h in sorted(hashes)} or {
            manifest["config_hash"]: manifest.get("config", {})
        }
    return {h: {} for h in sorted(hashes)}


def open_corpus(ref: str | Path, *, finished: bool = False, whole: bool = False) -> Corpus:
    """The corpus ``DIR`` or ``DIR@HASH``. A directory holding several configs must be given with
    ``@HASH`` unless ``whole`` (then :meth:`Corpus.split` gives one corpus per config);
    ``finished`` requires its manifest (a completed run)."""
    path, config = split_ref(ref)
    fmt = expect(path, "corpus", written_by="journey synth")
    manifest_path = path / MANIFEST
    manifest = read_json(manifest_path) if manifest_path.exists() else None
    if finished and manifest is None:
        raise ArtifactError(
            f"{path}: no manifest.json: its run has not completed (journey synth --resume with the same options finishes it)"
        )
    try:
        configs = _configs(path, manifest)
    except jsonl.JsonlError as e:
        raise ArtifactError(str(e)) from None
    if config is not None and config not in configs:
        raise ArtifactError(f"{path}: no config {config} (holds {', '.join(configs) or 'none'})")
    if config is None and len(configs) > 1 and not whole:
        raise ArtifactError(f"{path} holds {len(configs)} configs ({', '.join(configs)}): name one as {path}@HASH")
    return Corpus(path, config, configs, manifest, fmt, config is not None and len(configs) > 1)


def corpus_rows(out: Path, which: str) -> Iterator[dict[str, Any]]:
    """The rows of one file of the corpus a run is writing (the runner's own view: no kind check)."""
    return jsonl.rows(out / CORPUS_FILES[which])


def _where(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``file:line``, row) of each row of a JSONL file."""
    for number, row in jsonl.numbered(path):
        yield f"{path}:{number}", row


# -- pairs ---------------------------------------------------------------------------------------


@dataclass
class Pairs:
    path: Path
    manifest: dict[str, Any]

    @property
    def file(self) -> Path:
        return self.path / PAIRS_FILE

    def digest(self) -> str | None:
        return file_hash(self.file)

    def numbered(self) -> Iterator[tuple[str, dict[str, Any]]]:
        return _where(self.file)


def open_pairs(ref: str | Path) -> Pairs:
    path = Path(ref)
    expect(path, "pairs", written_by="journey pairs")
    if not (path / MANIFEST).exists() or not (path / PAIRS_FILE).exists():
        raise ArtifactError(f"{path}: no {PAIRS_FILE} and manifest.json (journey pairs did not complete)")
    return Pairs(path, read_json(path / MANIFEST))


# -- eval runs -----------------------------------------------------------------------------------


@dataclass
class EvalRun:
    path: Path
    summary: dict[str, Any]

    @property
    def rows_file(self) -> Path:
        """``samples.jsonl`` (math) or ``items.jsonl`` (judged evals)."""
        samples = self.path / "samples.jsonl"
        return samples if samples.exists() else self.path / "items.jsonl"

    def scan(self) -> Iterator[jsonl.Line]:
        return jsonl.scan(self.rows_file)

    def numbered(self) -> Iterator[tuple[str, dict[str, Any]]]:
        return _where(self.rows_file)


def open_eval_run(ref: str | Path) -> EvalRun:
    path = Path(ref)
    expect(path, "eval", written_by="journey eval")
    if not (path / "summary.json").exists():
        raise ArtifactError(f"{path}: no summary.json: the eval has not completed (run the same command to finish it)")
    return EvalRun(path, read_json(path / "summary.json"))
