"""Training on a source mixture in one or more stages: SFT with TRL's SFTTrainer, DPO with its DPOTrainer.

    journey train --config recipes/smoke_cpu.yaml [--max_steps 4 ...]
    accelerate launch --config_file recipes/accelerate/zero3.yaml -m trainer --config recipes/two_stage.yaml

Each stage builds its mixture (written under OUTPUT_DIR/data/STAGE/), checks that the loss mask
covers the whole assistant turn, trains, and saves a model the next stage starts from; the last
stage saves into OUTPUT_DIR, which ``journey synth`` and ``journey eval`` load as ``local:OUTPUT_DIR``.
A ``type: dpo`` stage trains on preference pairs (``{pairs: DIR}`` sources, written by ``journey
pairs``) against the model it starts from as the reference. A stage that finished is skipped on a
rerun with the same config; one that was interrupted resumes from its last checkpoint. ``OUTPUT_DIR/manifest.json`` is written last and ties the model to the
exact corpora (hashes), mixtures and configs.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from agents.checkpoints import checkpoint_dir
from corpus.artifacts import MARKER, ArtifactError, check_output, mark
from trainer.config import ConfigError, TrainConfig, apply_variant, dpo_args, stage_configs
from trainer.format import check_labels, token_length, training_template
from trainer.mixture import build_mixture, fingerprint, load_eval_sets, parse_sources

STAGE_DONE = "stage.json"
MANIFEST = "manifest.json"
SIDECAR = "o1_journey.json"  # agents.local reads it: keep the junk-tail rule of the embedded model


@dataclass
class Meter:
    """What the collator hands to the model, batch by batch: real tokens and padded slots.

    The data loader makes a batch ahead of the step that uses it, so batches queue here until the
    step that consumed them takes them off.
    """

    batches: deque = field(default_factory=deque)

    def wrap(self, collator):
        def counting(examples):
            batch = collator(examples)
            mask = batch.get("attention_mask")
            slots = batch["input_ids"].numel()
            self.batches.append((int(mask.sum()) if mask is not None else slots, slots))
            return batch

        return counting

    def take(self, n: int) -> tuple[int, int]:
        taken = [self.batches.popleft() for _ in range(min(n, len(self.batches)))]
        return sum(t for t, _ in taken), sum(s for _, s in taken)


@dataclass
class Figures(TrainerCallback):
    """Per optimizer step: tokens/s and the share of padding; logged with the loss and summed at the end."""

    meter: Meter
    steps: list[dict[str, float]] = field(default_factory=list)
    _t: float = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        self._t = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        now = time.perf_counter()
        tokens, slots = self.meter.take(args.gradient_accumulation_steps)
        if slots:
            self.steps.append(
                {
                    "step": state.global_step,
                    "tokens": tokens,
                    "tokens_per_s": tokens / max(now - self._t, 1e-9),
                    "padding_share": 1 - tokens / slots,
                }
            )
        self._t = now

    def on_log(self, args, state, control, logs=None, **kwargs):
        recent = [s for s in self.steps if s["step"] > state.global_step - args.logging_steps]
        if logs is not None and recent:
            logs["tokens_per_s"] = round(sum(s["tokens_per_s"] for s in recent) / len(recent), 1)
            logs["padding_share"] = round(sum(s["padding_share"] for s in recent) / len(recent), 4)

    def summary(self) -> dict[str, Any]:
        if not self.steps:
            return {"steps": 0}
        # the first step pays for warm-up (allocation, compilation): report the rest when there is a rest
        steady = self.steps[1:] or self.steps
        return {
            "steps": len(self.steps),
            "tokens": sum(s["tokens"] for s in self.steps),
            "tokens_per_s": round(sum(s["tokens_per_s"] for s in steady) / len(steady), 1),
            "padding_share": round(sum(s["padding_share"] for s in self.steps) / len(self.steps), 4),
        }


def _public(config: TrainConfig) -> dict[str, Any]:
    return {k: v for k, v in config.to_dict().items() if not k.endswith("_token")}


def _stage_hash(config: TrainConfig, model_path: str, fingerprints: dict[str, str]) -> str:
    public = _public(config)
    for volatile in ("output_dir", "logging_dir", "resume_from_checkpoint"):
        public.pop(volatile, None)
    blob = json.dumps({"config": public, "model": model_path, "data": fingerprints}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _check_source_kinds(name: str, config: TrainConfig, specs) -> None:
    if config.type == "dpo" and (wrong := [s.label for s in specs if not s.pairs]):
        raise ConfigError(
            f"stage {name!r} is a dpo stage: its sources must be pairs (journey pairs), not {', '.join(wrong)}"
        )
    if config.type == "sft" and (wrong := [s.label for s in specs if s.pairs]):
        raise ConfigError(f"stage {name!r} is an sft stage: pairs sources ({', '.join(wrong)}) need type: dpo")


def _make_trainer(config: TrainConfig, model_path: str, dataset, tokenizer, peft_config, callbacks):
    if config.type == "dpo":
        from trl import DPOTrainer

        # no ref_model: TRL copies the starting model (or, with LoRA, disables the adapters) as the reference
        return DPOTrainer(
            model=model_path,
            args=dpo_args(config),
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=callbacks,
        )
    from trl import SFTTrainer

    return SFTTrainer(
        model=model_path,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=callbacks,
    )


def _preference_figures(history: list[dict[str, Any]]) -> dict[str, Any]:
    """DPO's own figures from the training logs: the first and last reward accuracy and margin."""
    logged = [h for h in history if "rewards/accuracies" in h]
    if not logged:
        return {}
    first, last = logged[0], logged[-1]
    return {
        "reward_accuracy_first": round(first["rewards/accuracies"], 4),
        "reward_accuracy_last": round(last["rewards/accuracies"], 4),
        "reward_margin_first": round(first.get("rewards/margins", 0.0), 4),
        "reward_margin_last": round(last.get("rewards/margins", 0.0), 4),
    }


def _finished(name: str, out: Path, stage_hash: str) -> dict[str, Any] | None:
    """The record of this stage when it finished already with the same hash; another hash is refused."""
    done = out / STAGE_DONE
    if not done.exists():
        return None
    record = json.loads(done.read_text())
    if record["hash"] != stage_hash:
        raise FileExistsError(f"{out} holds a stage trained with another config or data; choose another output_dir")
    print(f"stage {name}: done already ({out}), skipped")
    return record


def _stage_data(config: TrainConfig, specs, tokenizer, data_dir: Path):
    """The stage's mixture (written to ``data_dir`` by the first process) and its dataset; the
    tokenizer gets the training chat template, checked for assistant-only labels."""
    import datasets

    template = (
        Path(config.chat_template_path).read_text() if config.chat_template_path else training_template(tokenizer)
    )
    deco = None
    if config.decontaminate:
        deco = load_eval_sets(config.decontaminate, config.decontamination_ngram, config.decontamination_threshold)
    mixture = build_mixture(
        specs,
        length=lambda messages: token_length(tokenizer, template, messages),
        max_length=config.max_length,
        decontaminator=deco,
        size=config.mixture_size,
        upsample=config.upsample,
        seed=config.mixture_seed,
    )
    if config.process_index == 0:  # every process builds the same mixture (same seed); one writes it
        mixture.write(data_dir)
    if config.assistant_only_loss:
        conversations = [c for s in mixture.samples[: config.label_check_samples] for c in s.conversations()]
        check_labels(tokenizer, template, conversations)
    tokenizer.chat_template = template
    return mixture, datasets.Dataset.from_list([s.row() for s in mixture.samples])


def _peft_config(config: TrainConfig):
    if not config.use_lora:
        return None
    from peft import LoraConfig

    target = config.lora_target_modules
    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=target[0] if target == ["all-linear"] else target,
        task_type="CAUSAL_LM",
    )


def _save(trainer, config: TrainConfig, out: Path, model_path: str, tokenizer) -> None:
    """The trained model (LoRA merged), with the base model's sidecar saying where it came from."""
    if config.use_lora:
        merged = trainer.model.merge_and_unload()
        if trainer.is_world_process_zero():
            merged.save_pretrained(out)
            tokenizer.save_pretrained(out)
    else:
        trainer.save_model(str(out))  # gathers ZeRO-3 shards; saves the tokenizer with the model
    if trainer.is_world_process_zero():
        base_sidecar = Path(model_path) / SIDECAR
        if base_sidecar.exists():
            sidecar = json.loads(base_sidecar.read_text()) | {"fine_tuned_from": model_path}
            (out / SIDECAR).write_text(json.dumps(sidecar, indent=2))


def run_stage(name: str, config: TrainConfig, model_path: str, data_dir: Path) -> dict[str, Any]:
    from transformers import AutoTokenizer
    from transformers.trainer_utils import get_last_checkpoint

    out = Path(config.output_dir)
    specs = parse_sources(config.sources)
    _check_source_kinds(name, config, specs)
    fingerprints = {s.label: fingerprint(s) for s in specs}
    stage_hash = _stage_hash(config, model_path, fingerprints)
    if (record := _finished(name, out, stage_hash)) is not None:
        return record

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    mixture, dataset = _stage_data(config, specs, tokenizer, data_dir)
    attention = (config.model_init_kwargs or {}).get("attn_implementation", "")
    if config.type == "sft" and config.packing and "flash" not in attention:
        # packed sequences attend across their boundaries unless the kernel knows where they start
        print(
            f"warning: packing without FlashAttention (attn_implementation={attention or 'default'}) lets samples attend to each other"
        )
    meter = Meter()
    figures = Figures(meter)
    trainer = _make_trainer(config, model_path, dataset, tokenizer, _peft_config(config), [figures])
    trainer.data_collator = meter.wrap(trainer.data_collator)
    last = get_last_checkpoint(str(out)) if out.exists() else None
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=last)
    wall_s = time.perf_counter() - started
    _save(trainer, config, out, model_path, tokenizer)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    record = {
        "name": name,
        "type": config.type,
        "hash": stage_hash,
        "model_in": model_path,
        "output_dir": str(out),
        "sources": {s.label: {"location": s.location, "fingerprint": fingerprints[s.label]} for s in specs},
        "mixture": mixture.report,
        "figures": figures.summary() | {"wall_s": round(wall_s, 1), "resumed_from": last},
        "train_loss": round(result.training_loss, 4),
        "loss_first": round(losses[0], 4) if losses else None,
        "loss_last": round(losses[-1], 4) if losses else None,
        **({"preference": _preference_figures(trainer.state.log_history)} if config.type == "dpo" else {}),
        "config": _public(config),
    }
    if trainer.is_world_process_zero():
        # written after the model: its existence means the stage finished
        (out / STAGE_DONE).write_text(json.dumps(record, indent=2, default=str))
    return record


def _inputs(config: TrainConfig) -> list[str]:
    """The directories a run reads (its sources'): output_dir must be none of them."""
    found = []
    for _, stage in stage_configs(config):
        for source in stage.sources or []:
            found += [str(source[k]).rpartition("@")[0] or str(source[k]) for k in ("corpus", "pairs") if source.get(k)]
    return found


def train(config: TrainConfig) -> dict[str, Any]:
    """Run every stage; return (and write, last) the run manifest."""
    started = datetime.now(UTC)
    config = apply_variant(config)
    try:
        check_output(config.output_dir, "model", tuple(_inputs(config)))
    except ArtifactError as e:
        raise ConfigError(f"output_dir: {e}") from None
    out = Path(config.output_dir)
    existed = out.exists()
    mark(out, "model")
    base = checkpoint_dir(config.model)
    model_path = base
    stages = []
    try:
        for name, stage_config in stage_configs(config):
            record = run_stage(name, stage_config, model_path, out / "data" / name)
            stages.append(record)
            model_path = record["output_dir"]
    except BaseException:
        if not existed and [p.name for p in out.iterdir()] == [MARKER]:
            shutil.rmtree(out)  # failed before it wrote anything: leave no directory behind
        raise
    manifest = {
        "model": config.model,
        "base_checkpoint": base,
        "output_dir": config.output_dir,
        "load_with": f"local:{config.output_dir}",
        "variant": config.variant,
        "stages": stages,
        "versions": {
            p: metadata.version(p) for p in ("o1-journey", "torch", "transformers", "trl", "datasets", "accelerate")
        },
        "python": platform.python_version(),
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
    return manifest


def main(argv: list[str] | None = None) -> None:
    import sys

    from trainer.config import load_config

    args = sys.argv[1:] if argv is None else argv
    if "--config" not in args:
        raise SystemExit("usage: python -m trainer --config RECIPE.yaml [--field value ...]")
    i = args.index("--config")
    config = load_config(args[i + 1], args[:i] + args[i + 2 :])
    manifest = train(config)
    for stage in manifest["stages"]:
        print(json.dumps({"stage": stage["name"], **stage["figures"], "train_loss": stage["train_loss"]}))
