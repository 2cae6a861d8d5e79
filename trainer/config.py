"""The training config: TRL's ``SFTConfig`` plus the mixture, the stages and LoRA, parsed from YAML recipes.

    config = load_config("recipes/smoke_cpu.yaml", ["--max_steps", "4"])

Every SFTConfig field can be set in the recipe or overridden on the command line (``TrlParser``).
A recipe with ``stages`` runs them in order, each a mapping of overrides (``name`` and any field
below, ``sources`` included) on top of the recipe's top level; each stage starts from the model
the previous one saved. Without ``stages`` the recipe is one stage.

A stage is ``type: sft`` (the default) or ``type: dpo``: a DPO stage trains on ``{pairs: DIR}``
sources with TRL's DPOTrainer, its reference model being the model the stage starts from. Its
``DPOConfig`` fields (``beta``, ``loss_type``, ...) are written in the stage, or in a ``dpo:``
mapping; training fields (batch size, steps, LoRA, ...) come from the stage and the top level as
for SFT, except ``learning_rate``, which a DPO stage sets itself (else DPOConfig's 1e-6: an SFT
learning rate is far too large for DPO).

``variants`` names alternative overrides of one recipe, e.g. the journey and shortcut arms of an
ablation: ``--variant NAME`` applies one, writing under OUTPUT_DIR/NAME.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from transformers import TrainingArguments
from trl import DPOConfig, SFTConfig, TrlParser


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
    type: str = field(
        default="sft",
        metadata={"help": "sft (traces) or dpo (preference pairs from journey pairs).", "choices": ["sft", "dpo"]},
    )
    dpo: dict[str, Any] | None = field(
        default=None, metadata={"help": "DPOConfig fields (beta, loss_type, ...) for dpo stages."}
    )
    variants: dict[str, dict[str, Any]] | None = field(
        default=None, metadata={"help": "Named alternative overrides of this recipe; pick one with --variant."}
    )
    variant: str | None = field(
        default=None, metadata={"help": "The variant to run; it writes under OUTPUT_DIR/VARIANT."}
    )


NOT_STAGE_FIELDS = {"stages", "variants", "variant"}
_TRAINING_ARGUMENTS = {f.name for f in dataclasses.fields(TrainingArguments)}
# DPOConfig's own fields; loss_type is SFT's too, but in a DPO stage it means DPO's loss
DPO_FIELDS = {f.name for f in dataclasses.fields(DPOConfig)} - _TRAINING_ARGUMENTS
# SFTConfig's own fields that mean nothing to DPO: refused in a DPO stage rather than ignored
SFT_ONLY = {f.name for f in dataclasses.fields(SFTConfig)} - _TRAINING_ARGUMENTS - DPO_FIELDS
# fields both share that a DPO stage takes from the recipe unless it sets them
DPO_INHERITS = ("max_length", "model_init_kwargs", "pad_token", "pad_to_multiple_of", "dataset_num_proc")
DPO_LEARNING_RATE = 1e-6  # DPOConfig's default


def load_config(path: str, overrides: list[str] | None = None) -> TrainConfig:
    """Parse a YAML recipe plus ``--field value`` overrides into a TrainConfig."""
    parser = TrlParser(TrainConfig)
    try:
        (config,) = parser.parse_args_and_config(["--config", str(path), *(overrides or [])])
    except ValueError as e:  # an unknown field, a bad value: one line naming the recipe
        raise ConfigError(f"{path}: {' '.join(str(e).split())}") from None
    except SystemExit:  # argparse's own exit on a bad --flag value has printed its message
        raise ConfigError(f"{path}: the recipe's fields or the --field overrides do not parse (see above)") from None
    return config


def apply_variant(config: TrainConfig) -> TrainConfig:
    """The recipe with its ``--variant`` applied (output under OUTPUT_DIR/VARIANT), or as it is."""
    if config.variant is None or config.variants == {}:  # none asked for, or applied already
        return config
    variants = config.variants or {}
    if config.variant not in variants:
        raise ConfigError(f"no variant {config.variant!r} in the recipe (it has {', '.join(variants) or 'none'})")
    overrides = dict(variants[config.variant] or {})
    known = {f.name for f in dataclasses.fields(TrainConfig)} - NOT_STAGE_FIELDS | {"stages"}
    if unknown := sorted(set(overrides) - known):
        raise ConfigError(f"variant {config.variant!r}: unknown fields {', '.join(unknown)}")
    overrides.setdefault("output_dir", f"{config.output_dir}/{config.variant}")
    # the variant's name stays on the config (the manifest records it); the table is emptied
    return dataclasses.replace(config, variants={}, **overrides)


def _dpo_stage(name: str, stage: dict[str, Any], config: TrainConfig, staged: bool) -> dict[str, Any]:
    """Move a DPO stage's DPOConfig fields into its ``dpo`` mapping; refuse SFT-only fields."""
    dpo = dict(config.dpo or {}) | dict(stage.pop("dpo", None) or {})
    for key in [k for k in stage if k in DPO_FIELDS]:
        dpo[key] = stage.pop(key)
    if unknown := sorted(set(dpo) - DPO_FIELDS):
        raise ConfigError(f"stage {name!r}: {', '.join(unknown)} not DPOConfig fields")
    sft_only = sorted(k for k in set(stage) & SFT_ONLY if k not in DPO_INHERITS)
    if sft_only:
        raise ConfigError(f"stage {name!r} is a dpo stage: {', '.join(sft_only)} applies to sft stages only")
    for key in DPO_INHERITS:
        dpo.setdefault(key, stage.pop(key, getattr(config, key)))
    if "learning_rate" not in stage and (staged or config.learning_rate == SFTConfig.learning_rate):
        stage["learning_rate"] = DPO_LEARNING_RATE
    stage["dpo"] = dpo
    return stage


def stage_configs(config: TrainConfig) -> list[tuple[str, TrainConfig]]:
    """(name, config) per stage; every stage but the last writes under OUTPUT_DIR/stages/NAME."""
    config = apply_variant(config)
    staged = bool(config.stages)
    stages = config.stages or [{"name": config.type}]
    known = {f.name for f in dataclasses.fields(TrainConfig)} - NOT_STAGE_FIELDS
    names: list[str] = []
    out: list[tuple[str, TrainConfig]] = []
    for i, stage in enumerate(stages, 1):
        stage = dict(stage)
        name = str(stage.pop("name", f"stage{i}"))
        kind = stage.setdefault("type", config.type if not staged else "sft")
        if kind not in ("sft", "dpo"):
            raise ConfigError(f"stage {name!r}: type is sft or dpo, not {kind!r}")
        if kind == "dpo":
            stage = _dpo_stage(name, stage, config, staged)
        if unknown := sorted(set(stage) - known):
            raise ConfigError(f"stage {name!r}: unknown fields {', '.join(unknown)}")
        if name in names:
            raise ConfigError(f"two stages are named {name!r}")
        names.append(name)
        last = i == len(stages)
        stage.setdefault("output_dir", config.output_dir if last else f"{config.output_dir}/stages/{name}")
        out.append((name, dataclasses.replace(config, stages=None, **stage)))
    return out


def dpo_args(config: TrainConfig) -> DPOConfig:
    """The DPOConfig of a dpo stage: its training fields, and the DPO fields of its ``dpo`` mapping."""
    init = {f.name for f in dataclasses.fields(DPOConfig) if f.init} & _TRAINING_ARGUMENTS
    # to_dict gives the values as they were given (enums as strings); keys are never carried over
    values = {k: v for k, v in config.to_dict().items() if k in init and not k.endswith("_token")}
    try:
        return DPOConfig(**values, **(config.dpo or {}))
    except (TypeError, ValueError) as e:
        raise ConfigError(f"dpo stage: {e}") from None
