"""`journey experiment` on the tiny version of experiments/part1_toy.yaml: every step runs through the
commands' own code (synth, pairs, train, eval), a rerun does nothing, and a changed learning rate of
one arm reruns only that arm's training and evals."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.test_synth_cli import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def journey(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "journey", *args], cwd=ROOT, capture_output=True, text=True, timeout=900
    )


def tiny_version(tiny_model, tmp_path, lr: float = 5e-3):
    """The shipped file with the sizes of a test: a tiny model, a few problems, two training steps."""
    exp = yaml.safe_load((ROOT / "experiments" / "part1_toy.yaml").read_text())
    exp["out"] = str(tmp_path / "run")
    exp["problems"] |= {"train": 12, "heldout": {"same": 6, "harder": 6}}
    exp["training"] |= {"model": str(tiny_model), "max_steps": 2, "per_device_train_batch_size": 4}
    exp["arms"]["shortcut"]["stages"][0]["learning_rate"] = lr
    exp["eval"] |= {"samples": 1, "max_tokens": 8, "concurrency": 4}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(exp, sort_keys=False))
    return path


def test_the_experiment_runs_resumes_and_reruns_what_changed(tiny_model, tmp_path):
    path = tiny_version(tiny_model, tmp_path)
    first = journey("experiment", "run", str(path))
    assert first.returncode == 0, first.stderr[-3000:]
    out = tmp_path / "run"
    summary = json.loads((out / "report" / "summary.json").read_text())
    same = summary["sets"]["same"]
    arms = {(r["arm"], r["seed"]) for r in same["rows"]}
    assert {("base", None), ("shortcut", 0), ("shortcut", 1), ("journey", 0), ("journey_dpo", 1)} <= arms
    assert all(0 <= r["pass@1"]["lo"] <= r["pass@1"]["mean"] <= r["pass@1"]["hi"] <= 1 for r in same["rows"])
    assert {(d["a"], d["b"]) for d in same["differences"]} >= {("journey", "shortcut"), ("journey_dpo", "journey")}
    assert "pass@1 [95% CI]" in (out / "report" / "report.md").read_text()
    assert summary["chain"]["corpus"]["config_hash"] and summary["chain"]["problems"]["train"].startswith("sha256:")
    # the shortcut arm trained on the corrected path, the journey arm on the long thought too
    short = [json.loads(x) for x in (out / "train/shortcut/0/model/data/sft/mixture.jsonl").read_text().splitlines()]
    long = [json.loads(x) for x in (out / "train/journey/0/model/data/sft/mixture.jsonl").read_text().splitlines()]
    assert all("<think>" not in r["messages"][-1]["content"] for r in short)
    assert any("Wait," in r["messages"][-1]["content"] for r in long)

    again = journey("experiment", "run", str(path))
    assert again.returncode == 0 and "running" not in again.stderr  # every step done: nothing runs

    path = tiny_version(tiny_model, tmp_path, lr=1e-3)
    status = journey("experiment", "status", str(path))
    changed = {line.split()[1] for line in status.stdout.splitlines() if line.split()[0] != "done"}
    assert changed == {
        "train:shortcut:0",
        "train:shortcut:1",
        *(f"eval:shortcut:{s}:{name}" for s in (0, 1) for name in ("same", "harder")),
    }
    third = journey("experiment", "run", str(path))
    assert third.returncode == 0, third.stderr[-3000:]
    ran = {line.split()[1] for line in third.stderr.splitlines() if line.strip().startswith("running")}
    assert ran == changed
