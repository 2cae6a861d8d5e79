"""Problem sets from JSONL / JSON / CSV / Parquet files, a saved or hub Hugging Face dataset.

Field names are found automatically for MATH-500 (problem/answer/unique_id), AIME
(problem/answer/id, zero-padded answers such as "025"), GSM8K (question/answer with
"#### <number>") and SimpleQA-like files, or given explicitly. Problem files are untrusted:
a bad line raises :class:`ProblemFileError` naming the file and the line.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus.schema import Problem

QUESTION_FIELDS = ("problem", "question", "prompt", "query", "input")
ANSWER_FIELDS = ("answer", "final_answer", "expected_answer", "true_answer", "target", "solution")
ID_FIELDS = ("id", "unique_id", "problem_id", "idx", "qid")
MAX_FIELD_CHARS = 100_000
MAX_LINE_BYTES = 4_000_000  # a JSONL line this long is not a problem; reading it whole would be the error

# control characters that a JSON writer leaves when it reads the backslash of a LaTeX command as an
# escape ("\frac" written unescaped becomes a form feed + "rac"): character -> the commands it ate
BROKEN_ESCAPES = {
    "\t": ("times", "theta", "tan", "text", "tfrac", "tau", "triangle", "tilde"),
    "\f": ("frac", "forall"),
    "\b": ("beta", "binom", "boxed", "bar", "bmod", "bigcup", "big"),
    "\r": ("right", "rho", "rangle", "rfloor", "rceil"),
    "\a": ("alpha", "approx", "angle", "arccos", "arcsin", "arctan"),
    "\v": ("vec", "varphi", "vee", "vert", "varepsilon"),
}
_ESCAPE_LETTER = {"\t": "t", "\f": "f", "\b": "b", "\r": "r", "\a": "a", "\v": "v"}  # what JSON read it as
_BROKEN = re.compile(
    "|".join(
        f"{re.escape(c)}(?:{'|'.join(sorted((w[1:] for w in words), key=len, reverse=True))})"
        for c, words in BROKEN_ESCAPES.items()
    )
)


_CONTROL = re.compile("[\t\f\b\r\a\v]")


def broken_escapes(text: str) -> list[str]:
    """The LaTeX commands in ``text`` that a JSON writer turned into control characters (``\\frac``, ...)."""
    return [
        "\\" + {"\t": "t", "\f": "f", "\b": "b", "\r": "r", "\a": "a", "\v": "v"}[m[0][0]] + m[0][1:]
        for m in _BROKEN.finditer(text)
    ]


def fix_escapes(text: str) -> str:
    """``text`` with those control characters turned back into the backslash they were."""
    return _BROKEN.sub(lambda m: "\\" + _ESCAPE_LETTER[m[0][0]] + m[0][1:], text)


class ProblemFileError(ValueError):
    """Bad input in a problem file; ``str()`` is one line: ``path:line: what is wrong``."""

    def __init__(self, path: str, line: int | None, message: str):
        self.path, self.line, self.message = path, line, message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Fields:
    """Explicit field names; None means "find it"."""

    question: str | None = None
    answer: str | None = None
    id: str | None = None


def load_problems(
    source: str,
    *,
    fields: Fields = Fields(),
    split: str | None = None,
    limit: int | None = None,
    repair_escapes: bool = False,
    warn=None,
) -> list[Problem]:
    """Load problems from a file path, ``demo``, or a Hugging Face dataset (a hub name ``org/name``, a
    ``save_to_disk`` folder or a dataset folder, each optionally ``:CONFIG``). ``split``: the one
    asked for; None: ``test`` when there is one, else the dataset's only split. Control characters
    that look like LaTeX escapes a JSON writer ate (``\\frac`` as a form feed) are reported through
    ``warn(message)``, or repaired with ``repair_escapes``."""
    if source == "demo":
        from corpus.demo import demo_problems

        problems = demo_problems()
        return problems[:limit] if limit else problems
    rows = rows_of(source, split)
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        problem = to_problem(row, fields=fields, source=source, line=line)
        problem = _escapes(problem, source, line, repair_escapes, warn)
        if problem.id in seen:
            raise ProblemFileError(source, line, f"duplicate problem id {problem.id!r} (first at {seen[problem.id]})")
        seen[problem.id] = line
        problems.append(problem)
        if limit and len(problems) >= limit:
            break
    if not problems:
        raise ProblemFileError(source, None, "no problems found")
    return problems


def _escapes(problem: Problem, source: str, line: int, repair: bool, warn) -> Problem:
    texts = {"question": problem.question, "answer": problem.answer}
    texts |= {k: v for k, v in problem.meta.items() if k in ("solution", "thought") and isinstance(v, str)}
    broken = {k: found for k, v in texts.items() if _CONTROL.search(v) and (found := broken_escapes(v))}
    if not broken:
        return problem
    if repair:
        meta = problem.meta | {k: fix_escapes(v) for k, v in texts.items() if k in problem.meta}
        return problem.model_copy(
            update={"question": fix_escapes(problem.question), "answer": fix_escapes(problem.answer), "meta": meta}
        )
    if warn is not None:
        for field_name, found in broken.items():
            warn(
                f"{source}:{line}: field {field_name!r} holds control characters where {', '.join(found[:3])} was meant "
                "(a JSON writer read the backslash as an escape); --fix-escapes repairs them"
            )
    return problem


def _looks_like_path(source: str) -> bool:
    return source.startswith((".", "/", "~")) or Path(source).suffix.lower() in {".jsonl", ".json", ".csv", ".parquet"}


def _text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of a UTF-8 file: a BOM is dropped, CRLF is fine; bad bytes or an overlong
    line raise ``ProblemFileError`` naming the line (and the byte, for encodings)."""
    name = str(path)
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, 1):
            if len(raw) > MAX_LINE_BYTES:
                raise ProblemFileError(name, lineno, f"line longer than {MAX_LINE_BYTES:,} bytes")
            if lineno == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            try:
                yield lineno, raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise ProblemFileError(
                    name,
                    lineno,
                    f"not UTF-8: byte 0x{raw[e.start]:02x} at column {e.start + 1}; save the file as UTF-8",
                ) from None


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for lineno, text in _text_lines(path):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as e:
            raise ProblemFileError(str(path), lineno, f"invalid JSON: {e.msg}") from None
        if not isinstance(row, dict):
            raise ProblemFileError(str(path), lineno, "expected a JSON object")
        yield lineno, row


def _read_json(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads("".join(text for _, text in _text_lines(path)))
    except json.JSONDecodeError as e:
        raise ProblemFileError(str(path), e.lineno, f"invalid JSON: {e.msg}") from None
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(data, list):
        raise ProblemFileError(str(path), None, "expected a JSON array of objects")
    for i, row in enumerate(data, 1):
        if not isinstance(row, dict):
            raise ProblemFileError(str(path), None, f"record {i} is not a JSON object")
        yield i, row


def _read_csv(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(text for _, text in _text_lines(path))
    for row in reader:
        yield reader.line_num, dict(row)


def _read_parquet(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow.parquet as pq

    yield from enumerate(pq.read_table(path).to_pylist(), 1)


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line or record number, row) of a JSONL / JSON / CSV / Parquet / Markdown file; bad input
    raises ProblemFileError."""
    readers = {".jsonl": _read_jsonl, ".json": _read_json, ".csv": _read_csv, ".md": _read_markdown}
    reader = (readers | {".parquet": _read_parquet}).get(path.suffix.lower())
    if reader is None:
        raise ProblemFileError(
            str(path), None, f"unsupported file type {path.suffix.lower()!r} (use .jsonl, .json, .csv, .parquet or .md)"
        )
    yield from reader(path)


_MD_PROBLEM = re.compile(r"^#\s+Problem(?::\s*(.*))?\s*$")
_MD_SECTION = re.compile(r"^##\s+(Answer|Thought|Solution)\s*$", re.IGNORECASE)


def _read_markdown(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Human annotations in Markdown, one block per problem (the line of its header is its line)::

    # Problem: ID
    question text
    ## Answer
    reference answer
    ## Thought
    the annotated thought process, any number of paragraphs
    """
    name = str(path)
    row: dict[str, Any] | None = None
    start, section, buffer = 0, "question", []

    def close() -> tuple[int, dict[str, Any]]:
        row[section] = "\n".join(buffer).strip()
        return start, row

    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if match := _MD_PROBLEM.match(line):
            if row is not None:
                yield close()
            row, start, section, buffer = {}, lineno, "question", []
            if match.group(1):
                row["id"] = match.group(1).strip()
        elif match := _MD_SECTION.match(line):
            if row is None:
                raise ProblemFileError(name, lineno, "a section before the first '# Problem' header")
            row[section] = "\n".join(buffer).strip()
            section, buffer = match.group(1).lower(), []
            if section in row:
                raise ProblemFileError(name, lineno, f"a second '## {match.group(1)}' section in one problem")
        elif row is not None:
            buffer.append(line)
        elif line.strip():
            raise ProblemFileError(name, lineno, "text before the first '# Problem' header")
    if row is not None:
        yield close()


def split_config(source: str) -> tuple[str, str | None]:
    """``NAME:CONFIG`` -> (NAME, CONFIG); a name without a configuration, or an existing path, as is."""
    name, sep, config = source.rpartition(":")
    if not sep or not name or not config or "/" in config or Path(source).exists():
        return source, None
    return name, config


def _pick_split(available: list[str], split: str | None, default: str, source: str) -> str:
    """The split asked for; not asked: ``default`` when there is one, else the only split there is."""
    if split is not None:
        if split not in available:
            raise ProblemFileError(source, None, f"no split {split!r} (has {', '.join(available)})")
        return split
    if default in available:
        return default
    if len(available) == 1:
        return available[0]
    raise ProblemFileError(source, None, f"no split {default!r}; choose one with --split ({', '.join(available)})")


def open_dataset(source: str, split: str | None = None, *, default: str = "test"):
    """A ``datasets.Dataset`` from a ``save_to_disk`` folder, a dataset folder, or a hub name, each
    optionally ``:CONFIG``. Every failure is a ``ProblemFileError``: one line with the name and the
    reason (a missing configuration lists the ones there are)."""
    import datasets

    name, config = split_config(source)
    path = Path(name)
    # save_to_disk writes one of these; any other folder is a dataset repository (data files, a card)
    saved = path.is_dir() and any((path / f).exists() for f in ("dataset_dict.json", "state.json"))
    try:
        if saved:
            data = datasets.load_from_disk(str(path))
        else:
            data = datasets.load_dataset(name, config)
    except Exception as e:  # the hub raises many types; the user needs the name and the reason
        raise ProblemFileError(source, None, _dataset_error(name, e)) from None
    if isinstance(data, datasets.DatasetDict):
        data = data[_pick_split(list(data), split, default, source)]
    return data


def rows_of(source: str, split: str | None = None) -> Iterable[tuple[int, dict[str, Any]]]:
    """(line or row number, row) of a file (JSONL/JSON/CSV/Parquet/Markdown) or of a dataset."""
    path = Path(source)
    if path.is_file():
        if path.stat().st_size == 0:  # a problem or eval file with nothing in it is a mistake, not a set
            raise ProblemFileError(source, None, "empty file")
        return read_rows(path)
    name = split_config(source)[0]
    if not Path(name).is_dir() and _looks_like_path(name):
        raise ProblemFileError(source, None, "file not found")
    return enumerate(open_dataset(source, split), 1)


def _dataset_error(name: str, e: Exception) -> str:
    message = " ".join(str(e).split())
    if "config name is missing" in message.lower() or "pick one among the available configs" in message.lower():
        configs = re.search(r"\[([^\]]*)\]", message)
        listed = configs.group(1).replace("'", "") if configs else "see the dataset's card"
        first = listed.split(",")[0].strip()
        return f"needs a configuration ({listed}): write {name}:{first}"
    return f"cannot load Hugging Face dataset: {type(e).__name__}: {message[:500]}"


def _pick(row: dict[str, Any], explicit: str | None, candidates: tuple[str, ...]) -> str | None:
    if explicit is not None:
        return explicit if explicit in row else None
    return next((k for k in candidates if row.get(k) not in (None, "")), None)


_SCALAR = (str, int, float)  # bool is an int; a tuple, not ``str | int``, which is rebuilt on every call


def to_problem(row: dict[str, Any], *, fields: Fields, source: str, line: int) -> Problem:
    q_key = _pick(row, fields.question, QUESTION_FIELDS)
    if q_key is None:
        wanted = fields.question or " / ".join(QUESTION_FIELDS)
        raise ProblemFileError(source, line, f"no question field ({wanted})")
    a_key = _pick(row, fields.answer, ANSWER_FIELDS)
    if a_key is None:
        wanted = fields.answer or " / ".join(ANSWER_FIELDS)
        raise ProblemFileError(source, line, f"no answer field ({wanted})")
    question, answer = row[q_key], row[a_key]
    for key, value in ((q_key, question), (a_key, answer)):
        if not isinstance(value, _SCALAR) or isinstance(value, bool):
            raise ProblemFileError(source, line, f"field {key!r} must be text or a number")
        if isinstance(value, float) and not math.isfinite(value):  # NaN from JSON, pandas or Parquet
            raise ProblemFileError(source, line, f"field {key!r} is {value}, not an answer")
        if len(str(value)) > MAX_FIELD_CHARS:
            raise ProblemFileError(source, line, f"field {key!r} is longer than {MAX_FIELD_CHARS} characters")
    question = str(question).strip()
    answer = normalize_answer(str(answer), from_solution=a_key == "solution")
    if not question or not answer:
        raise ProblemFileError(source, line, "empty question or answer")
    id_key = _pick(row, fields.id, ID_FIELDS)
    pid = str(row[id_key]) if id_key else "p-" + hashlib.sha256(question.encode()).hexdigest()[:12]
    taken = (q_key, a_key, id_key)
    meta = {k: v for k, v in row.items() if k not in taken and isinstance(v, _SCALAR)}
    if a_key == "solution":  # the answer was read out of it; the reformat method still needs the text
        meta["solution"] = str(row["solution"])
    return Problem(id=pid, question=question, answer=answer, source=source, meta=meta)


_GSM8K = re.compile(r"####\s*(.+?)\s*$", re.DOTALL)


def normalize_answer(answer: str, *, from_solution: bool = False) -> str:
    """GSM8K's "#### 1,234" -> "1234"; AIME's "025" -> "25"; a solution -> its last \\boxed{}."""
    answer = answer.strip()
    if from_solution:
        from answers.extract import last_boxed

        answer = last_boxed(answer) or ""
    if match := _GSM8K.search(answer):
        answer = match.group(1).replace(",", "").strip()
    if re.fullmatch(r"0+\d+", answer):
        answer = answer.lstrip("0") or "0"
    return answer
