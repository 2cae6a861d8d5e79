"""DPO stages: real TRL runs on the tiny model, on pairs written by trainer.pairs; config rules; variants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from tests.trainer.test_sft import CPU, weights
from tests.trainer.tiny import arithmetic, write_corpus
from trainer.config import ConfigError, load_config, stage_configs
from trainer.format import GEMMA_TRAINING_TEMPLATE
from trainer.pairs import PairOptions, build_pairs, corpus_ref
from trainer.sft import train


def recipe(tmp_path: Path, body: dict, name: str = "recipe.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(CPU | body))
    return path


@pytest.fixture
def corpus_and_pairs(tmp_path):
    corpus = write_corpus(tmp_path / "journey", arithmetic(24))
    pairs = tmp_path / "pairs"
    build_pairs([corpus_ref(str(corpus))], PairOptions(kind="journey-vs-shortcut"), pairs)
    return corpus, pairs


def completion_logp(model, tokenizer, prompt, turn) -> float:
    """The summed log-probability of an assistant turn after its prompt, computed here, not by TRL."""
    head = tokenizer.apply_chat_template(
        prompt, chat_template=GEMMA_TRAINING_TEMPLATE, add_generation_prompt=True, tokenize=True, return_dict=True
    )["input_ids"]
    full = tokenizer.apply_chat_template(
        prompt + turn, chat_template=GEMMA_TRAINING_TEMPLATE, tokenize=True, return_dict=True
    )["input_ids"]
    assert full[: len(head)] == head
    ids = torch.tensor([full])
    with torch.no_grad():
        logits = model(ids).logits[0, :-1].float()
    logps = torch.log_softmax(logits, -1).gather(1, ids[0, 1:, None])[:, 0]
    return float(logps[len(head) - 1 :].sum())


def margins(path: Path, pairs: Path) -> list[float]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model, tokenizer = AutoModelForCausalLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)
    rows = [json.loads(line) for line in (pairs / "pairs.jsonl").read_text().splitlines()]
    return [
        completion_logp(model, tokenizer, r["prompt"], r["chosen"])
        - completion_logp(model, tokenizer, r["prompt"], r["rejected"])
        for r in rows[:8]
    ]


def test_sft_then_dpo_prefers_the_chosen_side_against_the_stage_start(tiny_model, corpus_and_pairs, tmp_path):
    corpus, pairs = corpus_and_pairs
    out = tmp_path / "run"
    body = {
        "model": str(tiny_model),
        "output_dir": str(out),
        "max_steps": 6,
        "logging_steps": 1,
        "per_device_train_batch_size": 4,
        "stages": [
            {"name": "sft", "learning_rate": 5e-3, "sources": [{"corpus": str(corpus)}]},
            {"name": "dpo", "type": "dpo", "beta": 0.1, "learning_rate": 5e-3, "sources": [{"pairs": str(pairs)}]},
        ],
    }
    manifest = train(load_config(str(recipe(tmp_path, body))))
    sft, dpo = manifest["stages"]
    assert (sft["type"], dpo["type"]) == ("sft", "dpo")
    # DPO starts from the SFT stage's model, which is also its reference
    assert dpo["model_in"] == sft["output_dir"] == str(out / "stages" / "sft")
    assert dpo["config"]["dpo"]["beta"] == 0.1 and dpo["config"]["learning_rate"] == 5e-3
    assert dpo["mixture"]["sources"][str(pairs)]["selected"] == 24
    assert dpo["sources"][str(pairs)]["fingerprint"].startswith("sha256:")
    pref = dpo["preference"]
    assert pref["reward_accuracy_last"] > pref["reward_accuracy_first"] and pref["reward_margin_last"] > 0
    # measured here, outside TRL: the log-ratio of chosen over rejected grew against the reference
    before, after = margins(Path(sft["output_dir"]), pairs), margins(out, pairs)
    assert sum(a - b for a, b in zip(after, before, strict=True)) / len(before) > 1.0
    rows = [json.loads(line) for line in (out / "data" / "dpo" / "mixture.jsonl").read_text().splitlines()]
    assert set(rows[0]) >= {"prompt", "chosen", "rejected"} and "messages" not in rows[0]
    # both models are evaluated in the chat format they were trained with, the SFT stage's too
    from eval.math_eval import prompt_format

    assert prompt_format(f"local:{out}") == prompt_format(f"local:{sft['output_dir']}") == "chat"
    # a rerun with the same config does no work
    again = train(load_config(str(recipe(tmp_path, body))))
    assert [s["hash"] for s in again["stages"]] == [sft["hash"], dpo["hash"]]


def test_dpo_with_lora_saves_a_merged_model(tiny_model, corpus_and_pairs, tmp_path):
    _, pairs = corpus_and_pairs
    out = tmp_path / "lora"
    body = {
        "model": str(tiny_model),
        "output_dir": str(out),
        "type": "dpo",
        "use_lora": True,
        "lora_r": 4,
        "max_steps": 3,
        "per_device_train_batch_size": 4,
        "dpo": {"beta": 0.2},
        "sources": [{"pairs": str(pairs)}],
    }
    manifest = train(load_config(str(recipe(tmp_path, body))))
    (stage,) = manifest["stages"]
    assert stage["type"] == "dpo" and stage["config"]["dpo"]["beta"] == 0.2
    # one stage, no learning rate given: DPO's own default, not SFT's
    assert stage["config"]["learning_rate"] == 1e-6
    trained, base = weights(out), weights(tiny_model)
    assert not any("lora" in k for k in trained)
    assert set(trained) == set(base) and any(not torch.equal(trained[k], base[k]) for k in base)


def test_stage_rules(tmp_path):
    base = {"model": "local", "output_dir": str(tmp_path / "o")}

    def stages(*items):
        return stage_configs(load_config(str(recipe(tmp_path, base | {"stages": list(items)}))))

    (_, cfg), (_, dpo) = stages(
        {"name": "a", "learning_rate": 3e-5, "sources": [{"corpus": "c"}]},
        {"name": "b", "type": "dpo", "beta": 0.3, "loss_type": ["ipo"], "sources": [{"pairs": "p"}]},
    )
    assert cfg.type == "sft" and cfg.learning_rate == 3e-5
    assert dpo.type == "dpo" and dpo.dpo["beta"] == 0.3 and dpo.dpo["loss_type"] == ["ipo"]
    assert dpo.learning_rate == 1e-6 and dpo.dpo["max_length"] == cfg.max_length
    with pytest.raises(ConfigError, match="not DPOConfig fields"):
        stages({"name": "d", "type": "dpo", "dpo": {"betta": 0.1}})
    with pytest.raises(ConfigError, match="packing applies to sft stages only"):
        stages({"name": "d", "type": "dpo", "packing": True})
    with pytest.raises(ConfigError, match="type is sft or dpo"):
        stages({"name": "d", "type": "ppo"})


def test_sources_must_match_the_stage_type(tiny_model, corpus_and_pairs, tmp_path):
    corpus, pairs = corpus_and_pairs
    body = {"model": str(tiny_model), "output_dir": str(tmp_path / "x"), "max_steps": 1}
    with pytest.raises(ConfigError, match="must be pairs"):
        train(load_config(str(recipe(tmp_path, body | {"type": "dpo", "sources": [{"corpus": str(corpus)}]}))))
    with pytest.raises(ConfigError, match="need type: dpo"):
        train(load_config(str(recipe(tmp_path, body | {"sources": [{"pairs": str(pairs)}]}))))


def test_variants_are_named_overrides(tmp_path):
    body = {
        "model": "local",
        "output_dir": str(tmp_path / "arms"),
        "sources": [{"corpus": "runs/j"}],
        "variants": {"journey": {}, "shortcut": {"sources": [{"corpus": "runs/j", "thought": "shortcut"}]}},
    }
    path = str(recipe(tmp_path, body))
    ((_, journey),) = stage_configs(load_config(path, ["--variant", "journey"]))
    ((_, shortcut),) = stage_configs(load_config(path, ["--variant", "shortcut"]))
    assert journey.output_dir == str(tmp_path / "arms" / "journey") and journey.sources == body["sources"]
    assert shortcut.output_dir == str(tmp_path / "arms" / "shortcut") and shortcut.sources[0]["thought"] == "shortcut"
    with pytest.raises(ConfigError, match="no variant 'long'"):
        stage_configs(load_config(path, ["--variant", "long"]))
