"""`journey export`: corpora and pairs as Hugging Face datasets, loaded back and compared row by row."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.trainer.tiny import arithmetic, write_corpus
from trainer.format import trace_messages
from trainer.pairs import PairOptions, build_pairs, corpus_ref

ROOT = Path(__file__).resolve().parents[2]


def export_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "journey", "export", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def corpus(tmp_path):
    traces = arithmetic(5) + arithmetic(2, offset=50, verified=False)
    traces[0].tree = {"directed": True, "nodes": [{"id": "0", "text": ""}], "edges": []}
    return write_corpus(tmp_path / "journey", traces)


def load_parquet(out: Path):
    from datasets import load_dataset

    return load_dataset(
        "parquet", data_files=str(out / "data" / "*.parquet"), split="train", cache_dir=str(out.parent / "hf")
    )


def test_traces_export_reads_back_whole(corpus, tmp_path):
    out = tmp_path / "ds"
    result = export_cli(str(corpus), "--as", "traces", "--out", str(out), "--shard-rows", "3", "--save-to-disk")
    assert result.returncode == 0, result.stderr
    rows = lines(corpus / "traces.jsonl")
    ds = load_parquet(out)
    assert len(ds) == len(rows) == 7 and len(list((out / "data").glob("*.parquet"))) == 3
    for got, want in zip(ds, rows, strict=True):
        assert got["id"] == want["id"] and got["long_thought"] == want["long_thought"]
        assert [e["text"] for e in got["events"]] == [e["text"] for e in want["events"]]
        assert {u["role"]: u["tokens_out"] for u in got["usage"]} == {
            r: u["tokens_out"] for r, u in want["usage"].items()
        }
        assert (json.loads(got["tree"]) if got["tree"] else None) == want.get("tree")
        assert got["corpus"] == str(corpus)
    from datasets import load_from_disk

    assert load_from_disk(str(out / "arrow"))["id"] == [r["id"] for r in rows]
    card = (out / "README.md").read_text()
    assert card.startswith("---\nconfigs:") and "path: data/train-*.parquet" in card
    assert "Transparency card" in card and str(corpus) in card
    export = json.loads((out / "export.json").read_text())
    assert [f["rows"] for f in export["files"]] == [3, 3, 1]
    assert export["sources"][0]["traces_sha256"].startswith("sha256:")


def test_sft_export_is_the_trainers_formatting_of_verified_traces(corpus, tmp_path):
    out = tmp_path / "sft"
    assert export_cli(str(corpus), "--as", "sft", "--out", str(out)).returncode == 0
    verified = [r for r in lines(corpus / "traces.jsonl") if r["verified"]]
    ds = load_parquet(out)
    assert [r["messages"] for r in ds] == [trace_messages(r) for r in verified]
    assert json.loads((out / "export.json").read_text())["skipped_unverified"] == 2
    assert "Unverified traces left out: 2." in (out / "README.md").read_text()


def test_pairs_export(corpus, tmp_path):
    pairs = tmp_path / "pairs"
    build_pairs([corpus_ref(str(corpus))], PairOptions(kind="journey-vs-shortcut"), pairs)
    out = tmp_path / "pairs_ds"
    assert export_cli(str(pairs), "--as", "pairs", "--out", str(out)).returncode == 0
    want = lines(pairs / "pairs.jsonl")
    ds = load_parquet(out)
    assert len(ds) == len(want) == 5
    for got, row in zip(ds, want, strict=True):
        assert (got["prompt"], got["chosen"], got["rejected"]) == (row["prompt"], row["chosen"], row["rejected"])
        assert got["kind"] == "journey-vs-shortcut" and got["chosen_as"] == "journey" and got["node"] is None
    card = (out / "README.md").read_text()
    assert "journey-vs-shortcut" in card and f"`{corpus}`" in card


def test_bad_input_writes_nothing(corpus, tmp_path):
    out = tmp_path / "none"
    result = export_cli(str(tmp_path / "missing"), "--out", str(out))
    assert result.returncode == 2 and "no manifest.json" in result.stderr and not out.exists()
    result = export_cli(str(corpus), "--as", "pairs", "--out", str(out))
    assert result.returncode == 2 and "not written by journey pairs" in result.stderr and not out.exists()
    (corpus / "traces.jsonl").write_text((corpus / "traces.jsonl").read_text() + '{"id": "x"}\n')
    result = export_cli(str(corpus), "--as", "traces", "--out", str(out))
    assert result.returncode == 2 and f"{corpus / 'traces.jsonl'}:8: not a trace" in result.stderr
    assert not out.exists()
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    result = export_cli(str(corpus), "--out", str(taken))
    assert result.returncode == 2 and "not empty" in result.stderr and (taken / "keep.txt").read_text() == "mine"
