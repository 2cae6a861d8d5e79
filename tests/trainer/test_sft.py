"""Real TRL training runs on a tiny model: one and two stages, LoRA, resume, the manifest, the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from tests.trainer.tiny import arithmetic, write_corpus
from trainer.config import load_config
from trainer.sft import train

CPU = {"use_cpu": True, "bf16": False, "report_to": "none", "gradient_checkpointing": False, "save_strategy": "no"}


def recipe(tmp_path: Path, body: dict) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(CPU | body))
    return path


@pytest.fixture
def corpora(tmp_path):
    return (
        write_corpus(tmp_path / "journey", arithmetic(24)),
        write_corpus(tmp_path / "distill", arithmetic(24, offset=100, method="distill")),
    )


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path / "model.safetensors"))


def test_one_stage_lowers_the_loss_and_changes_every_parameter(tiny_model, corpora, tmp_path):
    out = tmp_path / "run"
    config = load_config(
        str(
            recipe(
                tmp_path,
                {
                    "model": str(tiny_model),
                    "output_dir": str(out),
                    "max_steps": 12,
                    "learning_rate": 5e-3,
                    "logging_steps": 1,
                    "per_device_train_batch_size": 4,
                    "sources": [{"corpus": str(corpora[0]), "weight": 1}, {"corpus": str(corpora[1]), "weight": 1}],
                },
            )
        )
    )
    manifest = train(config)
    (stage,) = manifest["stages"]
    assert stage["loss_last"] < stage["loss_first"]
    before, after = weights(tiny_model), weights(out)
    assert before.keys() == after.keys()
    unchanged = [name for name in before if torch.equal(before[name], after[name])]
    assert unchanged == []
    # the manifest ties the model to the exact bytes it was trained on
    digest = hashlib.sha256((corpora[0] / "traces.jsonl").read_bytes()).hexdigest()
    assert stage["sources"][str(corpora[0])]["fingerprint"] == f"sha256:{digest}"
    assert json.loads((out / "manifest.json").read_text())["load_with"] == f"local:{out}"
    assert stage["mixture"]["total"] == 48 and stage["figures"]["steps"] == 12
    assert 0 <= stage["figures"]["padding_share"] < 1 and stage["figures"]["tokens_per_s"] > 0
    mixture = (out / "data" / "sft" / "mixture.jsonl").read_text().splitlines()
    assert len(mixture) == 48


def test_two_stages_chain_and_a_rerun_skips_finished_work(tiny_model, corpora, tmp_path):
    out = tmp_path / "run"
    path = recipe(
        tmp_path,
        {
            "model": str(tiny_model),
            "output_dir": str(out),
            "max_steps": 3,
            "learning_rate": 5e-3,
            "logging_steps": 1,
            "stages": [
                {"name": "format", "sources": [{"corpus": str(corpora[0])}]},
                {"name": "distill", "max_steps": 4, "sources": [{"corpus": str(corpora[1])}]},
            ],
        },
    )
    manifest = train(load_config(str(path)))
    first, second = manifest["stages"]
    assert first["output_dir"] == str(out / "stages" / "format") and second["output_dir"] == str(out)
    assert second["model_in"] == first["output_dir"] and first["model_in"] == str(tiny_model)
    assert (first["figures"]["steps"], second["figures"]["steps"]) == (3, 4)
    assert set(first["sources"]) == {str(corpora[0])} and set(second["sources"]) == {str(corpora[1])}
    # each stage learns from where the last one stopped: its loss falls and every weight moves
    assert all(stage["loss_last"] < stage["loss_first"] for stage in (first, second)), (first, second)
    before, after = weights(out / "stages" / "format"), weights(out)
    initial = weights(tiny_model)
    assert [k for k, v in before.items() if torch.equal(v, initial[k])] == []
    assert [k for k, v in after.items() if torch.equal(v, before[k])] == []
    trained = weights(out)
    again = train(load_config(str(path)))
    assert [s["hash"] for s in again["stages"]] == [first["hash"], second["hash"]]
    assert all(torch.equal(trained[k], v) for k, v in weights(out).items())
    with pytest.raises(FileExistsError, match="another config"):
        train(load_config(str(path), ["--learning_rate", "1e-4"]))


def test_an_interrupted_stage_resumes_from_its_last_checkpoint(tiny_model, corpora, tmp_path):
    out = tmp_path / "run"
    path = recipe(
        tmp_path,
        {
            "model": str(tiny_model),
            "output_dir": str(out),
            "max_steps": 4,
            "save_strategy": "steps",
            "save_steps": 2,
            "sources": [{"corpus": str(corpora[0])}],
        },
    )
    train(load_config(str(path)))
    # what a crash after the last checkpoint leaves: checkpoints, but no finished stage
    (out / "stage.json").unlink()
    (out / "model.safetensors").unlink()
    (stage,) = train(load_config(str(path)))["stages"]
    assert stage["figures"]["resumed_from"] == str(out / "checkpoint-4")
    assert (out / "model.safetensors").exists()


def test_lora_trains_adapters_and_saves_a_merged_model(tiny_model, corpora, tmp_path):
    out = tmp_path / "run"
    path = recipe(
        tmp_path,
        {
            "model": str(tiny_model),
            "output_dir": str(out),
            "max_steps": 6,
            "learning_rate": 2e-2,
            "logging_steps": 1,
            "use_lora": True,
            "lora_r": 4,
            "lora_alpha": 8,
            "sources": [{"corpus": str(corpora[0])}],
        },
    )
    (stage,) = train(load_config(str(path)))["stages"]
    assert stage["loss_last"] < stage["loss_first"]
    before, after = weights(tiny_model), weights(out)
    assert before.keys() == after.keys()  # merged: a plain model, no adapter weights left
    projections = [k for k in before if k.endswith("q_proj.weight")]
    assert projections and all(not torch.equal(before[k], after[k]) for k in projections)
    assert torch.equal(before["model.embed_tokens.weight"], after["model.embed_tokens.weight"])


def test_cli_trains_and_reports_bad_recipes(tiny_model, corpora, tmp_path):
    out = tmp_path / "run"
    path = recipe(
        tmp_path,
        {"model": str(tiny_model), "output_dir": str(out), "max_steps": 2, "sources": [{"corpus": str(corpora[0])}]},
    )
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "journey", "train", "--config", str(path), "--max_steps", "3"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"evaluate it with journey eval math --model local:{out}" in run.stderr
    assert json.loads((out / "stage.json").read_text())["figures"]["steps"] == 3
    bad = recipe(
        tmp_path,
        {
            "model": str(tiny_model),
            "output_dir": str(tmp_path / "bad"),
            "sources": [{"corpus": str(tmp_path / "nowhere")}],
        },
    )
    run = subprocess.run(
        [sys.executable, "-m", "journey", "train", "--config", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 2 and "nowhere is no such directory, not a corpus" in run.stderr
    assert not (tmp_path / "bad").exists()  # a run that failed before its first stage leaves nothing


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bf16_on_gpu(tiny_model, corpora, tmp_path):
    out = tmp_path / "run"
    body = {"model": str(tiny_model), "output_dir": str(out), "max_steps": 4, "sources": [{"corpus": str(corpora[0])}]}
    path = recipe(tmp_path, body | {"use_cpu": False, "bf16": True})
    (stage,) = train(load_config(str(path)))["stages"]
    assert stage["figures"]["steps"] == 4 and stage["config"]["bf16"] is True
