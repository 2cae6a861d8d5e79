"""Problem loading: formats, field mapping, answer normalization, and errors that name file and line."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from corpus.problems import Fields, ProblemFileError, load_problems, normalize_answer

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Natalia sold 48/2 = 24 clips.\n#### 1,234", "1234"),  # GSM8K rationale with thousands separator
        ("025", "25"),  # AIME zero padding
        ("0", "0"),  # a real zero stays
        ("\\frac{1}{2}", "\\frac{1}{2}"),  # LaTeX left alone
    ],
)
def test_normalize_answer(raw, expected):
    assert normalize_answer(raw) == expected


def test_solution_field_gives_last_boxed():
    assert normalize_answer("so x = 2, hence \\boxed{2} ... \\boxed{x=3}", from_solution=True) == "x=3"


def test_jsonl_math500_style(tmp_path):
    rows = [
        {"problem": "1+1?", "answer": "2", "unique_id": "a/1.json", "level": 1},
        {"problem": "2+2?", "answer": "4", "unique_id": "a/2.json", "level": 2},
    ]
    path = write(tmp_path / "m.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    problems = load_problems(path)
    assert [(p.id, p.question, p.answer, p.meta["level"]) for p in problems] == [
        ("a/1.json", "1+1?", "2", 1),
        ("a/2.json", "2+2?", "4", 2),
    ]


def test_json_csv_parquet_and_explicit_fields(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    json_path = write(tmp_path / "p.json", json.dumps({"data": [{"q": "x?", "gold": "1"}]}))
    csv_path = write(tmp_path / "p.csv", "q,gold\nx?,1\n")
    pq.write_table(pa.Table.from_pylist([{"q": "x?", "gold": 1}]), tmp_path / "p.parquet")
    fields = Fields(question="q", answer="gold")
    for path in (json_path, csv_path, str(tmp_path / "p.parquet")):
        [p] = load_problems(path, fields=fields)
        assert (p.question, p.answer) == ("x?", "1")
        assert p.id.startswith("p-")  # stable hash of the question when there is no id field


def test_saved_hugging_face_dataset(tmp_path):
    import datasets

    rows = [{"problem": "1+1?", "answer": "2"}, {"problem": "2+3?", "answer": "5"}]
    datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)}).save_to_disk(tmp_path / "dd")
    assert [p.answer for p in load_problems(str(tmp_path / "dd"))] == ["2", "5"]
    with pytest.raises(ProblemFileError, match="no split 'train'"):
        load_problems(str(tmp_path / "dd"), split="train")


def test_hub_name_offline_is_a_clear_error():
    assert os.environ["HF_HUB_OFFLINE"] == "1"  # set by conftest: this never leaves the machine
    with pytest.raises(ProblemFileError) as info:
        load_problems("o1-journey-tests/no-such-dataset")
    assert str(info.value).startswith("o1-journey-tests/no-such-dataset: cannot load Hugging Face dataset")


def test_stable_ids_from_question(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"question": "same?", "answer": "1"}\n')
    assert load_problems(path)[0].id == load_problems(path)[0].id


@pytest.mark.parametrize(
    "text, line, message",
    [
        ('{"question": "a", "answer": "1"}\n{"question": "b", "answer":\n', 2, "invalid JSON"),
        ('{"question": "a", "answer": "1"}\n\n{"question": "b"}\n', 3, "no answer field"),
        ('{"answer": "1"}\n', 1, "no question field"),
        ('["a", "b"]\n', 1, "expected a JSON object"),
        (
            '{"question": "a", "answer": "1", "id": 7}\n{"question": "b", "answer": "2", "id": 7}\n',
            2,
            "duplicate problem id",
        ),
        ('{"question": {"nested": 1}, "answer": "1"}\n', 1, "must be text or a number"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path / "bad.jsonl", text)
    with pytest.raises(ProblemFileError) as info:
        load_problems(path)
    assert str(info.value).startswith(f"{path}:{line}: ") and message in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ProblemFileError, match="file not found"):
        load_problems(str(tmp_path / "nope.jsonl"))


def test_limit_and_demo():
    demo = load_problems("demo")
    assert len(demo) == 30 and len({p.id for p in demo}) == 30
    assert len(load_problems("demo", limit=5)) == 5


@pytest.mark.skipif(not SHARED.exists(), reason="shared benchmark copies not present")
@pytest.mark.parametrize(
    "rel, count, first_answer",
    [("gsm8k/test.jsonl", 1319, "18"), ("aime2024/test.jsonl", 30, None), ("math500/test.jsonl", 500, None)],
)
def test_shared_benchmarks_load(rel, count, first_answer):
    problems = load_problems(str(SHARED / rel))
    assert len(problems) == count
    assert all(p.answer and not re.fullmatch(r"0\d+", p.answer) for p in problems)  # no zero padding left
    if first_answer:
        assert problems[0].answer == first_answer
