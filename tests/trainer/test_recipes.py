"""Every recipe in recipes/ loads: its fields exist, its stages and sources validate, its header says how to launch it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from trainer.config import TrainConfig, load_config, stage_configs
from trainer.mixture import parse_sources

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
TRAIN_RECIPES = sorted(RECIPES.glob("*.yaml"))
ACCELERATE = sorted((RECIPES / "accelerate").glob("*.yaml"))


def test_there_are_recipes():
    names = {p.name for p in TRAIN_RECIPES}
    assert {
        "smoke_cpu.yaml",
        "two_stage.yaml",
        "journey_vs_shortcut.yaml",
        "sft_then_dpo.yaml",
    } <= names
    assert {"multi_gpu.yaml", "zero2.yaml", "zero3.yaml"} <= {p.name for p in ACCELERATE}


@pytest.mark.parametrize("path", TRAIN_RECIPES, ids=lambda p: p.name)
def test_recipe_loads(path):
    header = [line for line in path.read_text().splitlines() if line.startswith("#")]
    assert any(f"--config recipes/{path.name}" in line for line in header), (
        "the header comment holds the launch command"
    )
    # GPU recipes ask for bf16, which TrainingArguments refuses on a machine without one
    config = load_config(str(path), ["--use_cpu", "true", "--bf16", "false"])
    assert isinstance(config, TrainConfig)
    for variant in config.variants or [None]:
        if variant is not None:
            assert any(f"--variant {variant}" in line for line in header), f"the header launches variant {variant}"
        on_cpu = ["--use_cpu", "true", "--bf16", "false"] + (["--variant", variant] if variant else [])
        for _, stage in stage_configs(load_config(str(path), on_cpu)):
            specs = parse_sources(stage.sources)
            assert all(bool(s.pairs) == (stage.type == "dpo") for s in specs)


def test_the_two_stage_recipe_is_part_2():
    config = load_config(str(RECIPES / "two_stage.yaml"), ["--use_cpu", "true", "--bf16", "false"])
    (name1, first), (name2, second) = stage_configs(config)
    assert (name1, name2) == ("format", "distill")
    assert first.output_dir.endswith("stages/format") and second.output_dir == config.output_dir


def test_the_journey_and_shortcut_arms_differ_only_in_the_thought():
    path = str(RECIPES / "journey_vs_shortcut.yaml")
    arms = {}
    for arm in ("journey", "shortcut"):
        ((_, stage),) = stage_configs(load_config(path, ["--use_cpu", "true", "--bf16", "false", "--variant", arm]))
        arms[arm] = stage
    journey, shortcut = arms["journey"], arms["shortcut"]
    assert [s["thought"] for s in journey.sources] == ["journey"]
    assert [s["thought"] for s in shortcut.sources] == ["shortcut"]
    assert journey.output_dir.endswith("/journey") and shortcut.output_dir.endswith("/shortcut")
    same = {"sources", "output_dir", "logging_dir", "variant"}
    a = {k: v for k, v in journey.to_dict().items() if k not in same}
    b = {k: v for k, v in shortcut.to_dict().items() if k not in same}
    assert a == b


def test_sft_then_dpo_starts_dpo_from_the_sft_stage():
    config = load_config(str(RECIPES / "sft_then_dpo.yaml"), ["--use_cpu", "true", "--bf16", "false"])
    (n1, sft), (n2, dpo) = stage_configs(config)
    assert (n1, sft.type, n2, dpo.type) == ("sft", "sft", "dpo", "dpo")
    assert dpo.learning_rate < sft.learning_rate and dpo.dpo["beta"] == 0.1
    assert [s["pairs"] for s in dpo.sources] == ["runs/pairs/verified_vs_wrong"]


@pytest.mark.parametrize("path", ACCELERATE, ids=lambda p: p.name)
def test_accelerate_config_loads(path):
    config = yaml.safe_load(path.read_text())
    assert config["distributed_type"] in {"MULTI_GPU", "DEEPSPEED"}
    assert config["mixed_precision"] == "bf16" and config["num_processes"] >= 2
    if config["distributed_type"] == "DEEPSPEED":
        assert config["deepspeed_config"]["zero_stage"] == int(path.stem[-1])
    assert f"--config_file recipes/accelerate/{path.name}" in path.read_text().splitlines()[1]
