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
    assert {"smoke_cpu.yaml", "two_stage.yaml", "shortcut.yaml", "journey.yaml"} <= names
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
    for _, stage in stage_configs(config):
        assert parse_sources(stage.sources)


def test_the_two_stage_recipe_is_part_2():
    config = load_config(str(RECIPES / "two_stage.yaml"), ["--use_cpu", "true", "--bf16", "false"])
    (name1, first), (name2, second) = stage_configs(config)
    assert (name1, name2) == ("format", "distill")
    assert first.output_dir.endswith("stages/format") and second.output_dir == config.output_dir


def test_shortcut_and_journey_differ_only_in_the_thought():
    def load(name):
        return yaml.safe_load((RECIPES / name).read_text())

    shortcut, journey = load("shortcut.yaml"), load("journey.yaml")
    assert shortcut.pop("sources")[0].pop("thought") == "shortcut"
    assert journey.pop("sources")[0].pop("thought") == "journey"
    assert shortcut.pop("output_dir") != journey.pop("output_dir")
    assert shortcut == journey


@pytest.mark.parametrize("path", ACCELERATE, ids=lambda p: p.name)
def test_accelerate_config_loads(path):
    config = yaml.safe_load(path.read_text())
    assert config["distributed_type"] in {"MULTI_GPU", "DEEPSPEED"}
    assert config["mixed_precision"] == "bf16" and config["num_processes"] >= 2
    if config["distributed_type"] == "DEEPSPEED":
        assert config["deepspeed_config"]["zero_stage"] == int(path.stem[-1])
    assert f"--config_file recipes/accelerate/{path.name}" in path.read_text().splitlines()[1]
