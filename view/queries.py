"""What ``journey view`` answers, apart from how it is asked: the sources (corpora and eval runs, each
indexed in SQLite by ``view.index``), the filters a request may give (checked, whole numbers only),
and the queries behind each route, each with a time limit (a regular expression over every long
thought gives up after ``QUERY_SECONDS``)."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corpus import jsonl
from corpus.artifacts import ArtifactError, describe, kind_of, open_corpus, open_eval_run
from corpus.artifacts import Corpus as StoredCorpus
from corpus.jsonl import JsonlError
from view.index import Index, IndexError_, build, read_row, signature

MAX_ATTACHED = 10  # SQLite attaches at most ten databases to one connection


QUERY_SECONDS = 5.0  # a search (a regular expression over every long thought) gives up after this


PER_PAGE = 50


SORTS = {
    "problem": "problem_id",
    "tokens": "MAX(tokens) DESC",
    "words": "MAX(words) DESC",
    "backtracks": "MAX(backtracks) DESC",
}


class ViewError(ValueError):
    """A request or a source the viewer cannot serve; ``str()`` says why in one line."""


@dataclass
class Corpus:
    name: str
    index: Index
    source: StoredCorpus  # the corpus as its reader opened it: path, manifest, files

    @property
    def path(self) -> Path:
        return self.source.path.resolve()

    @property
    def manifest(self) -> dict[str, Any]:
        return self.source.manifest or {}


@dataclass
class EvalRun:
    name: str
    path: Path
    summary: dict[str, Any]
    samples: list[dict[str, Any]]


@dataclass
class Sources:
    corpora: list[Corpus] = field(default_factory=list)
    evals: list[EvalRun] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # trace id -> why journey filter dropped it, from the filtered corpora opened with their inputs
    drops: dict[str, dict[str, Any]] = field(default_factory=dict)
    drops_read: tuple = ()  # the size and modification time of each filtered.jsonl when it was read


FILTERED = "filtered.jsonl"  # curate.filter's list of dropped traces, beside the corpus it wrote


def read_drops(sources: Sources) -> None:
    """Every dropped trace's reason, from the ``filtered.jsonl`` of each corpus opened (a trace
    dropped there shows as dropped in its input, when the input is opened too). Read again only
    when one of those files changed: every API request asks."""
    paths = [c.path / FILTERED for c in sources.corpora]
    state = tuple((p.stat().st_size, p.stat().st_mtime_ns) if p.exists() else None for p in paths)
    if state == sources.drops_read:
        return
    drops: dict[str, dict[str, Any]] = {}
    for c in sources.corpora:
        for row in jsonl.rows(c.path / FILTERED):
            drops[str(row.get("id"))] = {"reason": row.get("reason"), "detail": row.get("detail"), "by": c.name}
    sources.drops, sources.drops_read = drops, state


def load_sources(dirs: list[Path]) -> Sources:
    """Each directory is a corpus or an eval run (``corpus.artifacts`` tells which)."""
    sources = Sources()
    for d in dirs:
        try:
            found = kind_of(d)
            if found is not None and found[0] == "corpus":
                stored = open_corpus(d, whole=True)
                index = build(stored)
                sources.corpora.append(Corpus(_unique(d.name, [c.name for c in sources.corpora]), index, stored))
            elif found is not None and found[0] == "eval":
                run = open_eval_run(d)
                rows = list(r for _, r in run.numbered())
                sources.evals.append(
                    EvalRun(_unique(d.name, [e.name for e in sources.evals]), d.resolve(), run.summary, rows)
                )
            else:
                raise ViewError(f"{d} is {describe(d)}: neither a corpus nor an eval run")
        except (ArtifactError, JsonlError, IndexError_) as e:
            raise ViewError(str(e)) from None
    if len(sources.corpora) > MAX_ATTACHED:
        raise ViewError(f"at most {MAX_ATTACHED} corpora at once ({len(sources.corpora)} given)")
    try:
        read_drops(sources)
    except JsonlError as e:
        raise ViewError(str(e)) from None
    return sources


def refresh(sources: Sources) -> None:
    """Each corpus's index, rebuilt when its files changed since it was built (size, mtime)."""
    with sources.lock:
        for c in sources.corpora:
            if c.index.signature != signature(c.source):
                c.index = build(c.source)
        try:
            read_drops(sources)  # a filter run since
        except JsonlError as e:
            raise ViewError(str(e)) from None


def _unique(name: str, taken: list[str]) -> str:
    out, i = name, 2
    while out in taken:
        out, i = f"{name}-{i}", i + 1
    return out


class SlowQuery(ViewError):
    pass


class _Connection(sqlite3.Connection):
    """A connection that remembers whether its query ran out of time."""

    late: list[bool]


def connect(sources: Sources, deadline_s: float = QUERY_SECONDS) -> _Connection:
    """A connection with every corpus index attached read-only, and a deadline: past it the query is
    interrupted (between SQLite steps, and inside a regular expression, which has its own timeout)."""
    db = sqlite3.connect(":memory:", uri=True, check_same_thread=False, factory=_Connection)
    for i, c in enumerate(sources.corpora):
        db.execute(f"ATTACH DATABASE ? AS c{i}", (f"file:{c.index.path}?mode=ro",))
    started = time.monotonic()
    late = [False]

    def over() -> int:
        late[0] = late[0] or time.monotonic() - started > deadline_s
        return int(late[0])

    def regexp(pattern: str, text: str | None) -> bool:
        if text is None or late[0]:
            return False
        try:
            left = max(deadline_s - (time.monotonic() - started), 0.001)
            return _compiled(pattern).search(text, timeout=left) is not None
        except TimeoutError:
            late[0] = True
            return False

    def dropped(trace_id: str | None) -> str | None:
        found = sources.drops.get(str(trace_id))
        return found["reason"] if found else None

    db.set_progress_handler(over, 10_000)
    db.create_function("regexp", 2, regexp, deterministic=True)
    db.create_function("dropped", 1, dropped, deterministic=True)
    db.late = late
    return db


def check_deadline(db: _Connection) -> None:
    if db.late[0]:
        raise SlowQuery(f"the search took longer than {QUERY_SECONDS:g} s: narrow it")


_patterns: dict[str, Any] = {}


def _compiled(pattern: str):
    """A user's regular expression, with the ``regex`` module (its searches take a timeout)."""
    import regex

    if pattern not in _patterns:
        if len(_patterns) > 256:
            _patterns.clear()
        _patterns[pattern] = regex.compile(pattern, regex.IGNORECASE | regex.VERSION0)
    return _patterns[pattern]


@dataclass
class Filters:
    status: list[str] = field(default_factory=list)
    method: str = ""
    model: str = ""
    config: str = ""
    subject: str = ""
    level: str = ""
    min_words: int | None = None
    max_words: int | None = None
    words: str = ""  # words that must all occur in the question or the long thought (FTS)
    regex: str = ""  # a regular expression over the question and the long thought
    corpus: list[int] = field(default_factory=list)
    solved: list[int] = field(default_factory=list)  # problems verified in each of these corpora
    dropped: str = ""  # traces journey filter dropped for this reason ("any": for any reason)
    sort: str = "problem"
    page: int = 0
    per: int = PER_PAGE

    @classmethod
    def parse(cls, query: dict[str, list[str]]) -> Filters:
        def one(key: str) -> str:
            return (query.get(key) or [""])[0].strip()

        def number(key: str) -> int | None:
            value = one(key)
            return whole(key, value) if value else None

        regex = one("re")
        if regex:
            if len(regex) > 200:
                raise ViewError("the regular expression is longer than 200 characters")
            try:
                _compiled(regex)
            except Exception as e:  # regex.error: the user's pattern, said back in one line
                raise ViewError(f"bad regular expression: {e}") from None
        sort = one("sort") or "problem"
        if sort not in SORTS:
            raise ViewError(f"sort is one of {', '.join(SORTS)}")
        return cls(
            status=[s for v in query.get("status", []) for s in v.split(",") if s],
            method=one("method"),
            model=one("model"),
            config=one("config"),
            subject=one("subject"),
            level=one("level"),
            min_words=number("min_words"),
            max_words=number("max_words"),
            words=one("q"),
            regex=regex,
            corpus=[whole("corpus", c) for v in query.get("corpus", []) for c in v.split(",") if c.strip()],
            solved=[whole("solved", c) for v in query.get("solved", []) for c in v.split(",") if c.strip()],
            dropped=one("dropped"),
            sort=sort,
            page=number("page") or 0,
            per=min(number("per") or PER_PAGE, 500),
        )

    def where(self, i: int) -> tuple[str, list[Any]]:
        """The WHERE clause over corpus ``i``'s samples, and its parameters."""
        clauses, params = [], []
        if self.status:
            statuses = [s for s in self.status if s != "rejected"]
            either = [f"status IN ({', '.join('?' * len(statuses))})"] if statuses else []
            either += ["file = 'rejected'"] if "rejected" in self.status else []
            clauses.append("(" + " OR ".join(either) + ")")
            params += statuses
        for column, value in (("method", self.method), ("config", self.config), ("subject", self.subject)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.level:
            clauses.append("level = ?")
            params.append(self.level)
        if self.dropped:
            clauses.append("dropped(id) IS NOT NULL" if self.dropped == "any" else "dropped(id) = ?")
            params += [] if self.dropped == "any" else [self.dropped]
        if self.model:
            clauses.append("(' ' || models || ' ') LIKE ?")
            params.append(f"% {self.model} %")
        if self.min_words is not None:
            clauses.append("words >= ?")
            params.append(self.min_words)
        if self.max_words is not None:
            clauses.append("words <= ?")
            params.append(self.max_words)
        if self.words:
            # each word quoted: the search is for the words, not FTS5's query language
            query = " ".join('"' + w.replace('"', '""') + '"' for w in self.words.split())
            clauses.append(f"n IN (SELECT rowid FROM c{i}.thoughts WHERE thoughts MATCH ?)")
            params.append(query)
        if self.regex:
            clauses.append(f"n IN (SELECT rowid FROM c{i}.thoughts WHERE regexp(?, question || ' ' || thought))")
            params.append(self.regex)
        for other in self.solved:
            clauses.append(f"pkey IN (SELECT pkey FROM c{other}.samples WHERE verified = 1 AND file = 'traces')")
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _union(sources: Sources, filters: Filters | None) -> tuple[str, list[Any]]:
    parts, params = [], []
    chosen = [i for i in range(len(sources.corpora)) if not filters or not filters.corpus or i in filters.corpus]
    for i in chosen:
        where, p = filters.where(i) if filters else ("", [])
        parts.append(f"SELECT {i} AS c, * FROM c{i}.samples{where}")
        params += p
    if not parts:
        return "SELECT NULL AS c, * FROM c0.samples WHERE 0", []
    return " UNION ALL ".join(parts), params


def problems(sources: Sources, filters: Filters) -> dict[str, Any]:
    """A page of problems matching the filters, each with its samples' status in every corpus."""
    if not sources.corpora:
        return {"total": 0, "rows": [], "corpora": []}
    if bad := [c for c in filters.solved + filters.corpus if not 0 <= c < len(sources.corpora)]:
        raise ViewError(f"no corpus {bad[0]}")
    db = connect(sources)
    try:
        union, params = _union(sources, filters)
        # the matching samples once, in a temporary table: the count and the page both read it, so a
        # search (a regular expression over every long thought) runs once per request, not twice
        db.execute(
            f"CREATE TEMP TABLE hits AS SELECT pkey, problem_id, question, tokens, words, backtracks FROM ({union})",
            params,
        )
        check_deadline(db)
        total = db.execute("SELECT COUNT(DISTINCT pkey) FROM hits").fetchone()[0]
        page = db.execute(
            f"SELECT pkey, MIN(problem_id) AS problem_id, MIN(question) FROM hits GROUP BY pkey "
            f"ORDER BY {SORTS[filters.sort]}, pkey LIMIT ? OFFSET ?",
            [filters.per, filters.page * filters.per],
        ).fetchall()
        keys = [k for k, _, _ in page]
        cells: dict[str, dict[int, dict[str, Any]]] = {k: {} for k in keys}
        if keys:
            everything, _ = _union(sources, None)
            marks = ", ".join("?" * len(keys))
            for c, pkey, status, count, tokens, backtracks, first in db.execute(
                f"SELECT c, pkey, status, COUNT(*), AVG(tokens), AVG(backtracks), MIN(n) FROM ({everything}) "
                f"WHERE pkey IN ({marks}) GROUP BY c, pkey, status",
                keys,
            ):
                cell = cells[pkey].setdefault(
                    c, {"statuses": {}, "tokens": 0.0, "backtracks": 0.0, "n": first, "count": 0}
                )
                cell["statuses"][status] = count
                cell["count"] += count
                cell["tokens"] += tokens * count
                cell["backtracks"] += backtracks * count
                cell["n"] = min(cell["n"], first)
        rows = []
        for pkey, problem_id, question in page:
            corpora = {}
            for c, cell in cells[pkey].items():
                corpora[str(c)] = {
                    "statuses": cell["statuses"],
                    "tokens": round(cell["tokens"] / cell["count"]),
                    "backtracks": round(cell["backtracks"] / cell["count"], 2),
                    "n": cell["n"],
                }
            rows.append({"pkey": pkey, "problem_id": problem_id, "question": question[:300], "corpora": corpora})
        check_deadline(db)
        return {"total": total, "page": filters.page, "per": filters.per, "rows": rows}
    except sqlite3.OperationalError as e:
        if "interrupted" in str(e):
            raise SlowQuery(f"the search took longer than {QUERY_SECONDS:g} s: narrow it") from None
        raise
    finally:
        db.close()


def _locate(sources: Sources, c: int, n: int) -> tuple[Corpus, sqlite3.Row | tuple]:
    if not 0 <= c < len(sources.corpora):
        raise ViewError(f"no corpus {c}")
    corpus = sources.corpora[c]
    with corpus.index.connect() as db:
        found = db.execute("SELECT file, offset, length, pkey, id FROM samples WHERE n = ?", (n,)).fetchone()
    if found is None:
        raise ViewError(f"no sample {n} in {corpus.name}")
    return corpus, found


def trace(sources: Sources, c: int, n: int) -> dict[str, Any]:
    corpus, (file, offset, length, pkey, trace_id) = _locate(sources, c, n)
    try:
        row = read_row(corpus.source, file, offset, length)
    except IndexError_ as e:  # a bad line is a row of its own, shown with what is wrong with it
        row = {"id": trace_id, "unreadable": str(e)}
    with corpus.index.connect() as db:
        siblings = db.execute("SELECT n, id, status, file FROM samples WHERE pkey = ? ORDER BY n", (pkey,)).fetchall()
    try:
        label = corpus.source.labels().get(trace_id)
    except JsonlError as e:  # a bad labels line is named on the page; the trace still shows
        label = {"error": str(e)}
    name = corpus.source.file
    return {
        "corpus": c,
        "corpus_name": corpus.name,
        "n": n,
        "file": name(file).name,
        "row": row,
        "label": label,
        "dropped": sources.drops.get(str(trace_id)),
        "siblings": [{"n": s[0], "id": s[1], "status": s[2], "file": name(s[3]).name} for s in siblings],
        "pkey": pkey,
    }


def problem(sources: Sources, pkey: str) -> dict[str, Any]:
    columns = []
    for c, corpus in enumerate(sources.corpora):
        with corpus.index.connect() as db:
            found = db.execute(
                "SELECT n, file, offset, length FROM samples WHERE pkey = ? ORDER BY verified DESC, n LIMIT 20", (pkey,)
            ).fetchall()
        samples = [
            read_row(corpus.source, f, o, ln) | {"_n": n, "_file": corpus.source.file(f).name} for n, f, o, ln in found
        ]
        columns.append({"corpus": c, "name": corpus.name, "samples": samples})
    return {"pkey": pkey, "columns": columns}


def _score(samples: list[dict[str, Any]]) -> float:
    """A problem's share right (math, judged evals), or its mean judge score (``journey eval general``:
    a rating / 10 or a pairwise score; an unreadable judgment counts as 0 here, as it is shown)."""
    if any("score" in s for s in samples):
        return sum(s.get("score") or 0.0 for s in samples) / len(samples)
    return sum(bool(s.get("correct")) for s in samples) / len(samples)


def eval_samples(sources: Sources, run: int, other: int | None, only_disagree: bool) -> dict[str, Any]:
    if not 0 <= run < len(sources.evals) or (other is not None and not 0 <= other < len(sources.evals)):
        raise ViewError("no such eval run")

    def grouped(r: EvalRun) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for s in r.samples:
            out.setdefault(str(s.get("problem_id")), []).append(s)
        return out

    mine = grouped(sources.evals[run])
    theirs = grouped(sources.evals[other]) if other is not None else {}
    rows = []
    for pid, samples in mine.items():
        right = _score(samples)
        row = {
            "problem_id": pid,
            "question": samples[0].get("question", ""),
            "answer": samples[0].get("answer", ""),
            "accuracy": right,
            "samples": samples,
        }
        if other is not None:
            others = theirs.get(pid, [])
            row["other_accuracy"] = _score(others) if others else None
            row["other_samples"] = others
            if only_disagree and (row["other_accuracy"] is None or (right > 0.5) == (row["other_accuracy"] > 0.5)):
                continue
        rows.append(row)
    return {
        "run": sources.evals[run].name,
        "other": sources.evals[other].name if other is not None else None,
        "rows": rows,
    }


def add_label(sources: Sources, c: int, n: int, label: str, note: str, who: str) -> dict[str, Any]:
    if label not in ("keep", "drop"):
        raise ViewError("label is keep or drop")
    corpus, (_, _, _, _, trace_id) = _locate(sources, c, n)
    row = {
        "trace_id": trace_id,
        "label": label,
        "note": note[:2000],
        "who": who,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with sources.lock:  # appended on a line of its own, after a torn last line is cut
        corpus.source.add_label(row)
    return row


def export_rows(sources: Sources, filters: Filters):
    """Every sample matching the filters, whole, as JSON lines (streamed from the corpus files)."""
    db = connect(sources, deadline_s=60.0)
    try:
        union, params = _union(sources, filters)
        for c, file, offset, length in db.execute(
            f"SELECT c, file, offset, length FROM ({union}) ORDER BY c, n", params
        ):
            corpus = sources.corpora[c]
            yield (
                json.dumps(read_row(corpus.source, file, offset, length) | {"_corpus": corpus.name}, ensure_ascii=False)
                + "\n"
            )
    finally:
        db.close()


WHOLE = re.compile(r"[0-9]{1,9}")  # ASCII digits only (str.isdigit takes "²"), and no number past 10^9


def whole(key: str, value: Any) -> int:
    """A request's whole number: digits in a string, or an int (never a bool or a float), at most 10^9."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ViewError(f"{key} must be a whole number, not {value!r}"[:200])
    if isinstance(value, str):
        if not WHOLE.fullmatch(value.strip()):
            raise ViewError(f"{key} must be a whole number, not {value!r}"[:200])
        value = int(value)
    if not 0 <= value <= 10**9:
        raise ViewError(f"{key} must be between 0 and 10^9")
    return value


def query_int(query: dict[str, list[str]], key: str) -> int:
    return whole(key, (query.get(key) or [""])[0])
