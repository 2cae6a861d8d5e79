"""`journey export`: corpora that journey synth wrote (tests/producers.py) and pairs that journey pairs
wrote, as Hugging Face datasets, loaded back and compared row by row."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.producers import METHODS
from trainer.format import trace_messages

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def journey(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "journey", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def export_cli(*args: str) -> subprocess.CompletedProcess:
    return journey("export", *args)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def load_parquet(out: Path):
    from datasets import load_dataset

    return load_dataset(
        "parquet", data_files=str(out / "data" / "*.parquet"), split="train", cache_dir=str(out.parent / "hf")
    )


@pytest.mark.parametrize("method", METHODS)
def test_traces_export_of_every_method_reads_back_row_for_row(corpora, method, tmp_path):
    corpus = corpora[method]
    out = tmp_path / "ds"
    result = export_cli(str(corpus), "--as", "traces", "--out", str(out), "--shard-rows", "2", "--save-to-disk")
    assert result.returncode == 0, result.stderr
    rows = lines(corpus / "traces.jsonl")
    ds = load_parquet(out)
    assert len(ds) == len(rows) and len(list((out / "data").glob("*.parquet"))) == (len(rows) + 1) // 2
    for got, want in zip(ds, rows, strict=True):
        assert got["id"] == want["id"] and got["long_thought"] == want["long_thought"]
        assert [e["text"] for e in got["events"]] == [e["text"] for e in want["events"]]
        assert {u["role"]: u["tokens_out"] for u in got["usage"]} == {
            r: u["tokens_out"] for r, u in want["usage"].items()
        }
        assert (json.loads(got["tree"]) if got["tree"] else None) == want.get("tree")
        assert (got["subject"], got["level"]) == (want["subject"], want["level"])
        assert got["corpus"] == str(corpus)
    from datasets import load_from_disk

    assert load_from_disk(str(out / "arrow"))["id"] == [r["id"] for r in rows]
    card = (out / "README.md").read_text()
    assert card.startswith("---\nconfigs:") and "path: data/train-*.parquet" in card
    assert "Transparency card" in card and str(corpus) in card
    export = json.loads((out / "export.json").read_text())
    assert sum(f["rows"] for f in export["files"]) == len(rows)
    assert export["sources"][0]["traces_sha256"].startswith("sha256:")
    # the config the corpus was made with is in the card (config.json, by hash)
    config = json.loads((corpus / "config.json").read_text())["configs"]
    assert export["corpora"][str(corpus)]["config"] == next(iter(config.values()))


def test_sft_export_is_the_trainers_formatting_of_verified_traces(corpora, tmp_path):
    out = tmp_path / "sft"
    result = export_cli(str(corpora["debate"]), "--as", "sft", "--out", str(out))
    assert result.returncode == 0, result.stderr
    traces = lines(corpora["debate"] / "traces.jsonl")
    verified = [r for r in traces if r["verified"]]
    ds = load_parquet(out)
    assert [r["messages"] for r in ds] == [trace_messages(r) for r in verified]
    unverified = len(traces) - len(verified)
    assert json.loads((out / "export.json").read_text())["skipped_unverified"] == unverified
    assert f"Unverified traces left out: {unverified}." in (out / "README.md").read_text()


def test_pairs_export(corpora, tmp_path):
    pairs = tmp_path / "pairs"
    assert (
        journey("pairs", str(corpora["journey"]), "--kind", "journey-vs-shortcut", "--out", str(pairs)).returncode == 0
    )
    out = tmp_path / "pairs_ds"
    assert export_cli(str(pairs), "--as", "pairs", "--out", str(out)).returncode == 0
    want = lines(pairs / "pairs.jsonl")
    ds = load_parquet(out)
    assert len(ds) == len(want) == len(lines(corpora["journey"] / "traces.jsonl"))
    for got, row in zip(ds, want, strict=True):
        assert (got["prompt"], got["chosen"], got["rejected"]) == (row["prompt"], row["chosen"], row["rejected"])
        assert got["kind"] == "journey-vs-shortcut" and got["chosen_as"] == "journey" and got["node"] is None
    card = (out / "README.md").read_text()
    assert "journey-vs-shortcut" in card and f"`{corpora['journey']}`" in card


def test_bad_input_writes_nothing(corpora, tmp_path):
    corpus = tmp_path / "journey"
    shutil.copytree(corpora["journey"], corpus)
    out = tmp_path / "none"
    result = export_cli(str(tmp_path / "missing"), "--out", str(out))
    assert result.returncode == 2 and "is no such directory, not a corpus" in result.stderr and not out.exists()
    result = export_cli(str(corpus), "--as", "pairs", "--out", str(out))
    assert result.returncode == 2 and "is a corpus, not a pairs directory" in result.stderr and not out.exists()
    n = len(lines(corpus / "traces.jsonl"))
    (corpus / "traces.jsonl").write_text((corpus / "traces.jsonl").read_text() + '{"id": "x"}\n')
    result = export_cli(str(corpus), "--as", "traces", "--out", str(out))
    assert result.returncode == 2 and f"{corpus / 'traces.jsonl'}:{n + 1}: not a trace" in result.stderr
    assert not out.exists()
    (corpus / "traces.jsonl").write_text((corpus / "traces.jsonl").read_text() + "{torn")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    result = export_cli(str(corpus), "--out", str(taken))
    assert result.returncode == 2 and "not empty" in result.stderr and (taken / "keep.txt").read_text() == "mine"
    result = export_cli(str(corpus), "--out", str(corpus))
    assert result.returncode == 2 and "is an input" in result.stderr
    result = export_cli(str(corpus), "--out", "")
    assert result.returncode == 2 and "--out is empty" in result.stderr


def test_an_unfinished_corpus_is_named_as_such(corpora, tmp_path):
    corpus = tmp_path / "journey"
    shutil.copytree(corpora["journey"], corpus)
    (corpus / "manifest.json").unlink()
    result = export_cli(str(corpus), "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "its run has not completed" in result.stderr
