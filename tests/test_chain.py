"""The chain as README documents it, on what each stage really wrote: every synthesis method's corpus
(``journey synth`` against scripted servers, tests/producers.py) -> ``journey compare`` -> the
viewer's API -> ``journey pairs`` -> ``journey export`` loaded back with ``datasets`` -> ``journey
train`` (SFT then DPO on a tiny model) -> ``journey eval math`` of the trained model -> ``journey
report``. It asserts on content carried from stage to stage (counts, ids, formatted rows), so a
writer and a reader that disagree on one field fail here."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from corpus.artifacts import open_corpus
from tests.producers import METHODS, problem_rows
from tests.test_synth_cli import ROOT
from tests.trainer.test_sft import CPU
from trainer.format import trace_messages

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def journey(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "journey", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_parquet(out: Path):
    from datasets import load_dataset

    return load_dataset(
        "parquet", data_files=str(out / "data" / "*.parquet"), split="train", cache_dir=str(out.parent / "hf")
    )


def get(base: str, path: str, **query) -> dict:
    with urllib.request.urlopen(f"{base}{path}?{urllib.parse.urlencode(query)}", timeout=30) as r:
        return json.loads(r.read())


def test_every_stage_reads_what_the_stage_before_wrote(corpora, tiny_model, tmp_path):
    names = list(METHODS)
    # -- synth: every method wrote a marked corpus; subjects and levels travelled into the traces ---
    traces = {m: rows_of(corpora[m] / "traces.jsonl") for m in names}
    rejected = {m: rows_of(corpora[m] / "rejected.jsonl") for m in names}
    subjects = {r["id"]: r["subject"] for r in problem_rows(6)}
    for m in names:
        assert json.loads((corpora[m] / "artifact.json").read_text())["kind"] == "corpus"
        assert traces[m], m
        assert all(t["subject"] == subjects[t["problem_id"]] and t["level"].startswith("Level") for t in traces[m])
    tree = traces["tree"][0]
    assert any(e["kind"] == "verification" for e in tree["events"])  # the tree trace keeps its verdicts
    human = traces["human"][0]
    kinds = [e["kind"] for e in human["events"]]
    assert kinds[:3] == ["attempt", "reflection", "backtrack"]  # "Wait, ... Let me go back" is both

    # -- compare: counts equal the files, and its two tables use one rule --------------------------
    report = tmp_path / "compare"
    result = journey("compare", *(str(corpora[m]) for m in names), "--out", str(report))
    assert result.returncode == 0, result.stderr
    summary = json.loads((report / "summary.json").read_text())
    for m in names:
        s, shape = summary["corpora"][m], summary["shapes"][m]
        assert s["accepted"] == sum(t["verified"] for t in traces[m])
        assert s["attempted"] == len(traces[m]) + len(rejected[m])
        assert s["reflections_per_trace"] == pytest.approx(shape["reflections"]["mean"], abs=0.05)
        assert s["backtracks_per_trace"] == pytest.approx(shape["backtracks"]["mean"], abs=0.05)
        assert s["wall_s"] == json.loads((corpora[m] / "manifest.json").read_text())["corpus"]["wall_s"]

    # -- the viewer's API over every corpus: every page answers, the subject filter matches --------
    from view.queries import load_sources
    from view.server import make_server

    server = make_server(load_sources([corpora[m] for m in names]))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        sources = get(base, "/api/sources")
        assert [c["name"] for c in sources["corpora"]] == names
        algebra = get(base, "/api/problems", subject="Algebra")
        assert algebra["total"] == 3  # q1, q3, q5
        page = get(base, "/api/problems")
        assert page["total"] == 6
        for c, m in enumerate(names):
            n_rows = len(traces[m]) + len(rejected[m]) + len(rows_of(corpora[m] / "failures.jsonl"))
            counted = sum(
                sum(p["corpora"][str(c)]["statuses"].values()) for p in page["rows"] if str(c) in p["corpora"]
            )
            assert counted == n_rows, m
        for p in page["rows"]:
            columns = get(base, "/api/problem", pkey=p["pkey"])["columns"]
            for c, column in enumerate(columns):
                for sample in column["samples"]:
                    got = get(base, "/api/trace", c=c, n=sample["_n"])
                    assert got["row"]["id"] == sample["id"] and got["file"] == sample["_file"]
    finally:
        server.shutdown()
        server.server_close()

    # -- pairs of every kind that applies ----------------------------------------------------------
    pairs = {}
    for kind, sources_ in (
        ("verified-vs-wrong", ["distill", "debate"]),
        ("journey-vs-shortcut", ["journey"]),
        ("step", ["tree"]),
        ("short-vs-long", ["distill"]),
    ):
        out = tmp_path / f"pairs-{kind}"
        extra = ["--tokenizer", str(tiny_model), "--ratio", "1.0"] if kind == "short-vs-long" else []
        result = journey("pairs", *(str(corpora[s]) for s in sources_), "--kind", kind, "--out", str(out), *extra)
        assert result.returncode == 0, result.stderr
        pairs[kind] = rows_of(out / "pairs.jsonl")
        assert pairs[kind], kind
        ids = {t["id"] for s in sources_ for t in traces[s] + rejected[s]}
        assert all(p["chosen_trace"] in ids and p["rejected_trace"] in ids for p in pairs[kind])
    assert len(pairs["journey-vs-shortcut"]) == len(traces["journey"])

    # -- export, loaded back row for row -----------------------------------------------------------
    for m in names:
        out = tmp_path / f"export-{m}"
        result = journey("export", str(corpora[m]), "--as", "traces", "--out", str(out))
        assert result.returncode == 0, result.stderr
        ds = load_parquet(out)
        assert [r["id"] for r in ds] == [t["id"] for t in traces[m]]
        assert [r["long_thought"] for r in ds] == [t["long_thought"] for t in traces[m]]
        assert [r["subject"] for r in ds] == [t["subject"] for t in traces[m]]
    sft = tmp_path / "export-sft"
    result = journey("export", str(corpora["journey"]), str(corpora["distill"]), "--as", "sft", "--out", str(sft))
    assert result.returncode == 0, result.stderr
    verified = [t for m in ("journey", "distill") for t in traces[m] if t["verified"]]
    exported = list(load_parquet(sft))
    assert [r["trace_id"] for r in exported] == [t["id"] for t in verified]
    assert [r["messages"] for r in exported] == [trace_messages(t) for t in verified]
    result = journey(
        "export",
        *(str(tmp_path / f"pairs-{k}") for k in ("verified-vs-wrong", "step")),
        "--as",
        "pairs",
        "--out",
        str(tmp_path / "export-pairs"),
    )
    assert result.returncode == 0, result.stderr
    assert len(load_parquet(tmp_path / "export-pairs")) == len(pairs["verified-vs-wrong"]) + len(pairs["step"])

    # -- train: SFT on the corpora, then DPO on the pairs; the trainer formats rows as export did ---
    model = tmp_path / "model"
    recipe = tmp_path / "recipe.yaml"
    body = {
        "model": str(tiny_model),
        "output_dir": str(model),
        "max_steps": 2,
        "per_device_train_batch_size": 4,
        "stages": [
            {
                "name": "sft",
                "learning_rate": 1e-3,
                "sources": [{"corpus": str(corpora["journey"])}],
            },
            {
                "name": "dpo",
                "type": "dpo",
                "learning_rate": 1e-3,
                "sources": [{"pairs": str(tmp_path / "pairs-journey-vs-shortcut")}],
            },
        ],
    }
    recipe.write_text(yaml.safe_dump(CPU | body))
    result = journey("train", "--config", str(recipe))
    assert result.returncode == 0, result.stderr
    trained_rows = rows_of(model / "data" / "sft" / "mixture.jsonl")
    from_journey = [r["messages"] for r in exported if r["corpus"] == str(corpora["journey"])]
    assert sorted(json.dumps(r["messages"]) for r in trained_rows) == sorted(json.dumps(m) for m in from_journey)
    assert json.loads((model / "artifact.json").read_text())["kind"] == "model"

    # -- eval math of the trained model, then the report ---------------------------------------------
    data = tmp_path / "heldout.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": f"h{i}", "question": f"What is {i} + 9?", "answer": str(i + 9)}) + "\n" for i in range(3)
        )
    )
    run = tmp_path / "eval-trained"
    result = journey(
        "eval", "math", "--model", f"local:{model}", "--dataset", str(data), "--out", str(run), "--max-tokens", "8"
    )
    assert result.returncode == 0, result.stderr
    samples = rows_of(run / "samples.jsonl")
    assert [s["problem_id"] for s in samples] == ["h0", "h1", "h2"]
    result = journey("report", str(run), "--out", str(tmp_path / "report"))
    assert result.returncode == 0, result.stderr
    assert "eval-trained" in (tmp_path / "report" / "report.md").read_text()
    # a stage never takes another's artifact for its own
    refused = journey("compare", str(sft), str(corpora["journey"]), "--out", str(tmp_path / "x"))
    assert refused.returncode == 2 and "is an export, not a corpus" in refused.stderr
    assert open_corpus(corpora["journey"]).manifest["corpus"]["runs"] == 1
