"""Problem loading: formats, field mapping, answer normalization, and errors that name file and line."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from corpus.problems import Fields, ProblemFileError, load_problems, normalize_answer

ROOT = Path(__file__).resolve().parents[2]

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


def dataset_folder(root: Path) -> Path:
    """A dataset repository with two configurations (like openai/gsm8k's main and socratic), train only."""
    for config, q in (("main", "What is 1 + 1?"), ("socratic", "What is 2 + 2?")):
        (root / config).mkdir(parents=True)
        (root / config / "train.jsonl").write_text(json.dumps({"question": q, "answer": "x\n#### 2"}) + "\n")
    cards = "".join(
        f"- config_name: {c}\n  data_files:\n  - split: train\n    path: {c}/train.jsonl\n"
        for c in ("main", "socratic")
    )
    (root / "README.md").write_text(f"---\nconfigs:\n{cards}---\n")
    return root


def test_a_dataset_that_needs_a_configuration_says_which_in_one_line(tmp_path):
    folder = dataset_folder(tmp_path / "gsm")
    with pytest.raises(ProblemFileError) as e:
        load_problems(str(folder))
    assert str(e.value) == f"{folder}: needs a configuration (main, socratic): write {folder}:main"
    # NAME:CONFIG, and a train-only dataset needs no --split
    assert [p.question for p in load_problems(f"{folder}:socratic")] == ["What is 2 + 2?"]
    with pytest.raises(ProblemFileError, match=r"no split 'test' \(has train\)"):
        load_problems(f"{folder}:main", split="test")


def test_a_saved_dataset_with_only_a_train_split_loads(tmp_path):
    import datasets

    rows = {"problem": ["What is 3 + 4?"], "answer": ["7"]}
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows)}).save_to_disk(str(tmp_path / "saved"))
    assert [p.answer for p in load_problems(str(tmp_path / "saved"))] == ["7"]


def test_synth_with_a_dataset_missing_its_configuration_is_exit_2(tmp_path):
    import subprocess
    import sys

    folder = dataset_folder(tmp_path / "gsm")
    command = [sys.executable, "-m", "journey", "synth", "--problems", str(folder), "--out", str(tmp_path / "o")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "needs a configuration (main, socratic)" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3 and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "content, message",
    [
        (
            b'{"question": "What is 1 + 1?", "answer": "2"}\n{"question": "caf\xe9?", "answer": "3"}\n',
            ":2: not UTF-8: byte 0xe9 at column 18; save the file as UTF-8",
        ),
        (b"", ": empty file"),
        (b'{"question": "What is 1 + 1?", "answer": NaN}\n', ":1: field 'answer' is nan, not an answer"),
        (
            b'{"id": "a", "question": "q1", "answer": "1"}\n{"id": "a", "question": "q2", "answer": "2"}\n',
            ":2: duplicate problem id 'a' (first at 1)",
        ),
        (b'{"question": "' + b"x" * 4_100_000 + b'", "answer": "1"}\n', ":1: line longer than 4,000,000 bytes"),
    ],
)
def test_bad_files_are_one_line_with_file_and_line(tmp_path, content, message):
    path = tmp_path / "p.jsonl"
    path.write_bytes(content)
    with pytest.raises(ProblemFileError) as e:
        load_problems(str(path))
    assert str(e.value) == f"{path}{message}"


def test_bom_and_crlf_are_read_as_text(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"question": "What is 1 + 1?", "answer": "2"}\r\n{"question": "And 2 + 2?", "answer": "4"}\r\n'
    )
    assert [p.answer for p in load_problems(str(path))] == ["2", "4"]
    csv_path = tmp_path / "p.csv"
    csv_path.write_bytes(b"\xef\xbb\xbfquestion,answer\r\nWhat is 1 + 1?,2\r\n")
    assert [p.question for p in load_problems(str(csv_path))] == ["What is 1 + 1?"]


def test_latex_escapes_eaten_by_a_json_writer_are_reported_and_repaired(tmp_path):
    # what a writer that did not escape backslashes leaves: \f of \frac is a form feed, \t of \times a tab
    path = tmp_path / "aime.jsonl"
    path.write_text(json.dumps({"id": "p1", "question": "Find \frac{1}{2} \times 6.", "answer": "3"}) + "\n")
    warnings: list[str] = []
    (plain,) = load_problems(str(path), warn=warnings.append)
    assert "\x0c" in plain.question and len(warnings) == 1
    assert warnings[0].startswith(
        f"{path}:1: field 'question' holds control characters where \\frac, \\times was meant"
    )
    (fixed,) = load_problems(str(path), repair_escapes=True)
    assert fixed.question == "Find \\frac{1}{2} \\times 6."
    from corpus.problems import broken_escapes

    assert broken_escapes("name\tother\tvalue") == []  # a real tab before ordinary words is left alone


def test_journey_problems_warns_repairs_and_takes_synths_field_options(tmp_path):
    """The normalizer reports broken LaTeX escapes as synth does, repairs them with --fix-escapes, and
    takes --split and the field options."""
    import subprocess
    import sys

    from datasets import Dataset, DatasetDict

    root = Path(__file__).resolve().parents[2]

    def problems(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "journey", "problems", *args], cwd=root, capture_output=True, text=True, timeout=120
        )

    src = tmp_path / "p.jsonl"
    src.write_text('{"key": "a", "q": "Compute \\frac{1}{2}.", "gold": "0.5"}\n')  # \f: a form feed
    out = tmp_path / "n.jsonl"
    flags = ("--question-field", "q", "--answer-field", "gold", "--id-field", "key")
    result = problems(str(src), "--out", str(out), *flags)
    assert result.returncode == 0, result.stderr
    assert "--fix-escapes repairs them" in result.stderr and "\f" in json.loads(out.read_text())["question"]
    result = problems(str(src), "--out", str(out), *flags, "--fix-escapes")
    row = json.loads(out.read_text())
    assert result.returncode == 0 and row["question"] == "Compute \\frac{1}{2}." and row["id"] == "a"
    saved = tmp_path / "saved"
    DatasetDict(
        {
            "train": Dataset.from_list([{"problem": "What is 1 + 1?", "answer": "2"}]),
            "dev": Dataset.from_list([{"problem": f"What is {i} + {i}?", "answer": str(2 * i)} for i in (2, 3)]),
        }
    ).save_to_disk(str(saved))
    result = problems(str(saved), "--split", "dev", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["answer"] for line in out.read_text().splitlines()] == ["4", "6"]
    assert problems(str(src), "--out", str(src)).returncode == 2
    assert problems(str(src), "--out", "").returncode == 2
