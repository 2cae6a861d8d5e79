"""The training config: TRL's ``SFTConfig`` plus the mixture, the stages and LoRA, parsed from YAML recipes.

    config = load_config("recipes/smoke_cpu.yaml", ["--max_steps", "4"])

Every SFTConfig field can be set in the recipe or overridden on the command line (``TrlParser``).
A recipe with ``stages`` runs them in order, each a mapping of overrides (``name`` and any field
below, ``sources`` included) on top of the recipe's top level; each stage starts from the model
the previous one saved. Without ``stages`` the recipe is one stage.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from trl import SFTConfig, TrlParser


class ConfigError(ValueError):
    pass


@dataclass
class TrainConfig(SFTConfig):
    model: str = field(
        default="local",
        metadata={
            "help": "Model to start from: local (the embedded Gemma 3 270M), local:PATH, a Hugging Face name or directory."
        },
    )
    sources: list[dict[str, Any]] | None = field(
        default=None,
        metadata={
            "help": "Mixture sources, each {corpus|dataset|jsonl: ..., weight, verified_only, methods, models, max_tokens, cap, thought}."
        },
    )
    stages: list[dict[str, Any]] | None = field(
        default=None, metadata={"help": "Stages run in order; each a mapping of overrides with a name."}
    )
    mixture_size: int | None = field(
        default=None,
        metadata={"help": "Samples in the mixture; by default as many as the scarcest source allows at its weight."},
    )
    upsample: bool = field(
        default=False, metadata={"help": "Repeat samples of a source when the mixture size asks for more than it has."}
    )
    mixture_seed: int = field(default=0, metadata={"help": "Seed of the sampling that builds the mixture."})
    decontaminate: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Evaluation sets (files, saved datasets or hub names) whose problems must not be trained on."
        },
    )
    decontamination_ngram: int = field(default=8, metadata={"help": "Word n-gram size of the overlap test."})
    decontamination_threshold: float = field(
        default=0.5,
        metadata={"help": "Drop a training problem when this share of its n-grams occurs in an evaluation question."},
    )
    use_lora: bool = field(
        default=False,
        metadata={"help": "Train LoRA adapters (peft) instead of all weights; merged into the saved model."},
    )
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha."})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout."})
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["all-linear"],
        metadata={"help": "Modules that get adapters; all-linear for every linear layer."},
    )
    label_check_samples: int = field(
        default=8,
        metadata={"help": "Samples whose loss mask is checked to cover the whole assistant turn before training."},
    )
    # the loss is on the assistant turn only, thinking included (checked before training starts)
    assistant_only_loss: bool = field(default=True, metadata={"help": "Compute the loss on assistant turns only."})


NOT_STAGE_FIELDS = {"stages"}


def load_config(path: str, overrides: list[str] | None = None) -> TrainConfig:
    """Parse a YAML recipe plus ``--field value`` overrides into a TrainConfig."""
    parser = TrlParser(TrainConfig)
    (config,) = parser.parse_args_and_config(["--config", str(path), *(overrides or [])])
    return config


def stage_configs(config: TrainConfig) -> list[tuple[str, TrainConfig]]:
    """(name, config) per stage; every stage but the last writes under OUTPUT_DIR/stages/NAME."""
    stages = config.stages or [{"name": "sft"}]
    known = {f.name for f in dataclasses.fields(TrainConfig)} - NOT_STAGE_FIELDS
    names: list[str] = []
    out: list[tuple[str, TrainConfig]] = []
    for i, stage in enumerate(stages, 1):
        stage = dict(stage)
        name = str(stage.pop("name", f"stage{i}"))
        if unknown := sorted(set(stage) - known):
            raise ConfigError(f"stage {name!r}: unknown fields {', '.join(unknown)}")
        if name in names:
            raise ConfigError(f"two stages are named {name!r}")
        names.append(name)
        last = i == len(stages)
        stage.setdefault("output_dir", config.output_dir if last else f"{config.output_dir}/stages/{name}")
        out.append((name, dataclasses.replace(config, stages=None, **stage)))
    return out
