"""The one rule for every JSONL file the project writes (traces, rejected, failures, labels,
generations, judgments, pairs, eval samples), read and appended alike.

Reading: a torn last line (no newline: a run killed mid-write, or a writer still appending) is left
out and reported once; a bad line anywhere else (invalid JSON, invalid UTF-8, not an object, over
``MAX_LINE_BYTES``) is an error naming ``file:line``. Readers never modify a file, so a corpus can
be read while its run appends to it.

Appending: :func:`append_rows` first cuts a torn last line off the file (the only writer may do
that), so every appended row starts on a line of its own.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("o1journey.jsonl")

MAX_LINE_BYTES = 256 * 2**20  # a tree trace can be large; a line past this is no row of ours
_reported: set[tuple[str, int]] = set()


class JsonlError(ValueError):
    """A bad line; ``str()`` is one line: ``path:line: what is wrong``."""

    def __init__(self, path: Path | str, line: int, message: str):
        self.path, self.line, self.message = str(path), line, message
        super().__init__(f"{path}:{line}: {message}")


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a JSONL file: where it is, and its row or what is wrong with it."""

    number: int
    offset: int
    length: int
    row: dict[str, Any] | None
    error: str | None = None


def _report_torn(path: Path, number: int, size: int) -> None:
    key = (str(path), size)
    if key not in _reported:
        _reported.add(key)
        log.warning("%s:%d: torn last line (a run killed or still writing) left out", path, number)


def decode(raw: bytes) -> dict[str, Any]:
    """One line's row; ValueError with the reason when it is not a JSON object."""
    if len(raw) > MAX_LINE_BYTES:
        raise ValueError(f"line over {MAX_LINE_BYTES} bytes")
    try:
        row = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 ({e.reason} at byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(row, dict):
        raise ValueError(f"not a JSON object (a {type(row).__name__})")
    return row


def scan(path: Path) -> Iterator[Line]:
    """Every line of ``path`` with its offset, bad ones marked (``error``) instead of raised: for
    readers that show a bad row as a row (the viewer). A missing file has no lines."""
    if not path.exists():
        return
    offset = 0
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            start, offset = offset, offset + len(raw)
            if not raw.endswith(b"\n"):
                if raw.strip():
                    _report_torn(path, number, offset)
                return
            if not raw.strip():
                continue
            try:
                yield Line(number, start, len(raw), decode(raw))
            except ValueError as e:
                yield Line(number, start, len(raw), None, str(e))


def numbered(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) of each row; a bad line raises :class:`JsonlError`."""
    for line in scan(path):
        if line.error is not None:
            raise JsonlError(path, line.number, line.error)
        yield line.number, line.row  # type: ignore[misc]


def rows(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of ``path``, one at a time (a million-line corpus never sits in memory whole)."""
    for _, row in numbered(path):
        yield row


def read_at(path: Path, offset: int, length: int) -> dict[str, Any]:
    """The row at ``offset`` (as :func:`scan` gave it); JsonlError when the file changed under it."""
    with path.open("rb") as f:
        f.seek(offset)
        raw = f.read(length)
    try:
        return decode(raw)
    except ValueError as e:
        raise JsonlError(path, 0, f"the row at byte {offset} is no longer there ({e})") from None


def cut_torn_line(path: Path) -> bool:
    """Cut a last line without its newline off ``path`` (only its writer calls this, before
    appending); True when one was cut."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    with path.open("r+b") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return False
        # find the last newline from the end, in blocks, without reading the whole file
        position = f.tell()
        while position > 0:
            step = min(1 << 20, position)
            position -= step
            f.seek(position)
            block = f.read(step)
            at = block.rfind(b"\n")
            if at >= 0:
                f.truncate(position + at + 1)
                return True
        f.truncate(0)
    return True


def append_rows(path: Path, rows_: list[dict[str, Any]]) -> None:
    """Append rows, each on a line of its own, and flush."""
    cut_torn_line(path)
    with path.open("a", encoding="utf-8") as f:
        f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows_))
        f.flush()


def filter_rows(path: Path, keep: Callable[[dict[str, Any]], bool]) -> None:
    """Rewrite ``path`` in one step with the rows ``keep(row)`` accepts, streaming; a torn last
    line is dropped, a bad line raises before anything is replaced."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as target:
            for row in rows(path):
                if keep(row):
                    target.write(json.dumps(row, ensure_ascii=False) + "\n")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
