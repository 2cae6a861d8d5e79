"""The viewer's index of a corpus: one SQLite file per corpus, built once, rebuilt when the corpus changes.

A row per sample (``traces.jsonl``, ``rejected.jsonl``) and per failure (``failures.jsonl``): where
it lies in its file (byte offset, so a page reads one trace and never the whole corpus), the fields
the browser filters and sorts on, and the question and long thought for text search (an FTS5 table:
its index for words, its text for regular expressions). The index lives in the cache
(``$O1J_CACHE/view``), never in the corpus directory, and is keyed on the corpus files' sizes and
modification times: a corpus that grew or was rewritten is indexed again.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.checkpoints import cache_root
from corpus.artifacts import Corpus
from corpus.jsonl import JsonlError
from trainer.mixture import problem_key

FILES = ("traces", "rejected", "failures")  # the corpus's files, by the name its reader takes
SCHEMA_VERSION = 5
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE samples (
    n INTEGER PRIMARY KEY,
    file TEXT, line INTEGER, offset INTEGER, length INTEGER,
    id TEXT, problem_id TEXT, pkey TEXT, method TEXT, config TEXT, models TEXT,
    status TEXT, verified INTEGER, tokens INTEGER, backtracks INTEGER, reflections INTEGER,
    words INTEGER, rewritten INTEGER, subject TEXT, level TEXT, question TEXT
);
CREATE INDEX samples_pkey ON samples (pkey);
CREATE INDEX samples_status ON samples (status);
CREATE INDEX samples_id ON samples (id);
CREATE VIRTUAL TABLE thoughts USING fts5 (question, thought, tokenize='unicode61');
"""


class IndexError_(ValueError):
    """A corpus that cannot be indexed; ``str()`` names the file and line."""


def cache_dir() -> Path:
    return cache_root() / "view"


def signature(corpus: Corpus) -> str:
    """What the index depends on: each corpus file's size and modification time."""
    parts = []
    for name in FILES:
        path = corpus.file(name)
        stat = path.stat() if path.exists() else None
        parts.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}" if stat else f"{name}:-")
    return f"v{SCHEMA_VERSION}|" + "|".join(parts)


def status_of(row: dict[str, Any], file: str) -> str:
    # a rejected sample keeps the status it ended with (wrong_answer, no_answer, a budget): one
    # status filter then finds every wrong sample, whichever file the method filed it in; the
    # "rejected" filter asks for the file
    if file == "failures":
        return "failed"
    return str(row.get("status") or ("verified" if row.get("verified") else "wrong_answer"))


def _record(row: dict[str, Any], file: str) -> tuple[Any, ...]:
    question = str(row.get("question") or "")
    shape = row.get("shape") or {}
    usage = row.get("usage") or {}
    tokens = sum(int(u.get("tokens_in", 0)) + int(u.get("tokens_out", 0)) for u in usage.values())
    events = row.get("events") or []
    return (
        str(row.get("id") or ""),
        str(row.get("problem_id") or ""),
        problem_key(question) if question else "id:" + str(row.get("problem_id")),
        str(row.get("method") or ""),
        str(row.get("config_hash") or ""),
        " ".join(sorted({str(m) for m in (row.get("models") or {}).values()})),
        status_of(row, file),
        int(bool(row.get("verified"))),
        tokens,
        int(row.get("n_backtracks") or 0),
        int(shape.get("reflections", sum(e.get("kind") == "reflection" for e in events))),
        int(shape.get("thought_words", len(str(row.get("long_thought") or "").split()))),
        int(bool(shape.get("rewritten"))),
        str(row.get("subject") or ""),  # the problem's, carried into the trace by journey synth
        str(row.get("level") or ""),
        question,
    )


@dataclass
class Index:
    corpus: Path
    path: Path
    signature: str = ""

    def connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)


def build(corpus: Corpus) -> Index:
    """The index of ``corpus``, built now unless a current one is in the cache."""
    root = corpus.path.resolve()
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (hashlib.sha256(str(root).encode()).hexdigest()[:24] + ".sqlite")
    sig = signature(corpus)
    if path.exists():
        try:
            with sqlite3.connect(path) as db:
                found = db.execute("SELECT value FROM meta WHERE key = 'signature'").fetchone()
            if found and found[0] == sig:
                return Index(root, path, sig)
        except sqlite3.DatabaseError:
            pass  # a stale or torn index is rebuilt
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    try:
        db.executescript(SCHEMA)
        for name in FILES:
            _load(db, corpus, name)
        db.execute("INSERT INTO meta VALUES ('signature', ?), ('corpus', ?)", (sig, str(root)))
        db.commit()
    finally:
        db.close()
    os.replace(tmp, path)
    return Index(root, path, sig)


def _load(db: sqlite3.Connection, corpus: Corpus, name: str) -> None:
    batch: list[tuple[Any, ...]] = []
    texts: list[tuple[str, str]] = []
    for line in corpus.scan(name):
        where = f"{corpus.file(name).name}:{line.number}"
        if line.error is not None:  # a bad line is a row, marked, and the rest stays browsable
            row = {"id": f"unreadable:{where}", "problem_id": where, "question": f"{where}: {line.error}"}
            record = (*_record(row, name)[:6], "unreadable", *_record(row, name)[7:])
        else:
            row = line.row or {}
            try:
                record = _record(row, name)
            except (TypeError, ValueError, AttributeError) as e:  # an object, but not a sample
                row = {"id": f"unreadable:{where}", "problem_id": where, "question": f"{where}: not a sample ({e})"}
                record = (*_record(row, name)[:6], "unreadable", *_record(row, name)[7:])
        batch.append((name, line.number, line.offset, line.length, *record))
        texts.append((str(row.get("question") or ""), str(row.get("long_thought") or row.get("reason") or "")))
        if len(batch) >= 2000:
            _flush(db, batch, texts)
    _flush(db, batch, texts)


def _flush(db: sqlite3.Connection, batch: list[tuple[Any, ...]], texts: list[tuple[str, str]]) -> None:
    if not batch:
        return
    first = db.execute("SELECT COALESCE(MAX(n), 0) FROM samples").fetchone()[0] + 1
    db.executemany(
        "INSERT INTO samples (file, line, offset, length, id, problem_id, pkey, method, config, models, status, "
        "verified, tokens, backtracks, reflections, words, rewritten, subject, level, question) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        batch,
    )
    db.executemany(
        "INSERT INTO thoughts (rowid, question, thought) VALUES (?, ?, ?)",
        [(first + i, q, t) for i, (q, t) in enumerate(texts)],
    )
    batch.clear()
    texts.clear()


def read_row(corpus: Corpus, file: str, offset: int, length: int) -> dict[str, Any]:
    """One sample, read from its file at its offset."""
    if file not in FILES:
        raise IndexError_(f"not a corpus file: {file}")
    try:
        return corpus.read_at(file, offset, length)
    except JsonlError as e:
        raise IndexError_(str(e)) from None
