"""A corpus directory's files: what they are called, reading them back, writing them safely.

``traces.jsonl``   one kept trace a line, appended and flushed as each finishes;
``rejected.jsonl`` samples that did not verify (methods that reject), as full traces;
``failures.jsonl`` jobs whose calls kept failing, with the reason (nothing is dropped);
``manifest.json``  written last, so its existence means the run completed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

TRACES, FAILURES, REJECTED, MANIFEST = "traces.jsonl", "failures.jsonl", "rejected.jsonl", "manifest.json"


class CorpusExistsError(FileExistsError):
    pass


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a corpus file; a torn last line (no newline: killed mid-write) is cut off the file."""
    if not path.exists():
        return []
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        with path.open("r+b") as f:
            f.truncate(keep)
        data = data[:keep]
    rows = []
    for line in data.decode("utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


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
