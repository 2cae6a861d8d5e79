"""The real embedded model (Gemma 3 270M from PyPI, served by agents/engine.py): journey, debate and
distill on demo problems, and ``journey eval math`` on 20 problems in GSM8K's format.

Slow: the first run converts the GGUF (about a minute on 2 cores), then each command starts its own
server (about 5 s) and runs for seconds to a minute. Runs in CI; skip locally with ``-m "not slow"``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _servers() -> list[str]:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if "agents.engine" in line and "o1-journey" in line]


def journey(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "journey", *args], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_embedded_model_synthesizes_a_trace(tmp_path):
    before = _servers()
    out = tmp_path / "corpus"
    command = [
        sys.executable,
        "-m",
        "journey",
        "synth",
        "--problems",
        "demo",
        "--limit",
        "2",
        "--out",
        str(out),
        "--max-steps",
        "3",
        "--max-backtracks",
        "1",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    traces = read(out / "traces.jsonl")
    assert len(traces) == 2
    trace = traces[0]
    kinds = [e["kind"] for e in trace["events"]]
    assert kinds[0] in ("attempt", "answer") and "critique" in kinds
    assert all(e["model"] == "local" for e in trace["events"] if e["calls"])
    assert all(e["tokens_in"] > 0 and e["tokens_out"] > 0 for e in trace["events"] if e["calls"])
    if "reflection" in kinds:  # a step judged wrong is reflected on and backtracked from
        assert kinds[kinds.index("reflection") + 1] == "backtrack"
    assert isinstance(trace["verified"], bool) and trace["long_thought"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["this_run"]["attempted"] == 2 and manifest["config"]["roles"]["policy"]["spec"] == "local"
    # the embedded base model runs the compact profile: one-line few-shot prompts, a newline ends a reply
    assert {p["profile"] for p in manifest["config"]["prompts"].values()} == {"compact"}
    assert manifest["config"]["roles"]["policy"]["sampling"]["stop"] == ["\n"]
    assert _servers() == before  # the server the run started is gone


@pytest.mark.slow
def test_smoke_recipe_trains_the_embedded_model_and_eval_loads_it(tmp_path):
    """recipes/smoke_cpu.yaml, two steps of full SFT, then ``journey eval math --model local:DIR``."""
    from tests.trainer.tiny import arithmetic, write_corpus

    corpus = write_corpus(tmp_path / "corpus", arithmetic(4))
    model = tmp_path / "model"
    overrides = ["--output_dir", str(model), "--max_steps", "2"]
    recipe = tmp_path / "smoke.yaml"
    text = (ROOT / "recipes" / "smoke_cpu.yaml").read_text().replace("runs/demo", str(corpus))
    recipe.write_text(text)
    train = subprocess.run(
        [sys.executable, "-m", "journey", "train", "--config", str(recipe), *overrides],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert train.returncode == 0, train.stderr[-3000:]
    stage = json.loads((model / "stage.json").read_text())
    assert stage["figures"]["steps"] == 2 and stage["mixture"]["total"] == 4
    assert json.loads((model / "o1_journey.json").read_text())["junk_tail"]  # the junk-tail rule carries over
    problems = tmp_path / "p.jsonl"
    problems.write_text(json.dumps({"id": "p1", "question": "What is 2 plus 3?", "answer": "5"}) + "\n")
    evaluate = subprocess.run(
        [
            sys.executable,
            "-m",
            "journey",
            "eval",
            "math",
            "--model",
            f"local:{model}",
            "--dataset",
            str(problems),
            "--max-tokens",
            "16",
            "--out",
            str(tmp_path / "eval"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert evaluate.returncode == 0, evaluate.stderr[-3000:]
    [row] = [json.loads(line) for line in (tmp_path / "eval" / "samples.jsonl").read_text().splitlines()]
    assert row["tokens_out"] > 0 and row["output"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "options"),
    [("debate", ["--max-steps", "3"]), ("distill", ["--teacher", "local", "--teacher-tokens", "128"])],
)
def test_embedded_model_runs_debate_and_distill(tmp_path, method, options):
    out = tmp_path / method
    journey("synth", "--method", method, "--problems", "demo", "--limit", "2", "--out", str(out), *options)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["this_run"]["attempted"] == 2 and manifest["this_run"]["failed"] == 0
    # every sample is kept somewhere: verified ones in traces.jsonl, the rest in rejected.jsonl
    samples = read(out / "traces.jsonl") + read(out / "rejected.jsonl")
    assert len({s["problem_id"] for s in samples}) == 2
    assert all(s["method"] == method and s["long_thought"] for s in samples)
    usage = manifest["this_run"]["usage"]
    assert usage and all(u["tokens_out"] > 0 and u["model"] == "local" for u in usage.values())
    served = {m["source"]["dtype"] for m in manifest["models"].values()}
    assert served <= {"bfloat16", "float32"} and len(served) == 1


@pytest.mark.slow
def test_embedded_model_evaluates_twenty_gsm8k_style_problems(tmp_path):
    out = tmp_path / "eval"
    dataset = ROOT / "tests" / "assets" / "gsm8k_style.jsonl"
    journey("eval", "math", "--model", "local", "--dataset", str(dataset), "--out", str(out))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["problems"] == 20 and summary["samples_per_problem"] == 1
    assert 0.0 <= summary["pass@1"] <= 1.0 and summary["tokens_out_mean"] > 0
    assert summary["produced_by"]["dtype"] in ("bfloat16", "float32")
    graded = read(out / "samples.jsonl")
    assert len(graded) == 20 and all(isinstance(g["correct"], bool) and g["tokens_out"] > 0 for g in graded)
    # the headline is what the grader said of each reply: recount pass@1 from the rows
    assert sum(g["correct"] for g in graded) / 20 == pytest.approx(summary["pass@1"])
