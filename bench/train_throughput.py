"""SFT throughput of ``journey train``: tokens/s and padding share on a model built from a config.

    python bench/train_throughput.py --model-config DIR [--steps 30] [--batch 8] [--samples 512]

DIR holds a model's config.json and tokenizer files (no weights: the model is built from the
config with random weights, so the figures hold for the architecture, not the checkpoint). The
corpus is a chat JSONL of long thoughts whose lengths spread from ~100 to ~1,900 tokens, like
distilled traces do. It runs ``trainer.sft.train`` with ``recipes/gpu_sft.yaml`` (bf16 on a GPU;
fp32 with ``use_cpu`` where there is none) and prints the figures the trainer logged.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def long_thought(rng: random.Random, steps: int) -> tuple[str, str]:
    lines, total = [], 0
    for j in range(1, steps + 1):
        a, b = rng.randint(10, 999), rng.randint(10, 999)
        if rng.random() < 0.15:
            lines.append(
                f"Step {j}: {a} + {b} = {a + b + 10}. Wait, that is wrong: {a} + {b} is {a + b}, let me go back to step {j}."
            )
        else:
            lines.append(f"Step {j}: add {b} to the running total {a} to get {a + b}.")
        total += a + b
    return "\n".join(lines), f"The answer is \\boxed{{{total}}}."


def write_corpus(path: Path, samples: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w") as f:
        for i in range(samples):
            thought, answer = long_thought(rng, rng.randint(3, 70))
            messages = [
                {"role": "user", "content": f"Problem {i}: add up the numbers of each step and give the total."},
                {"role": "assistant", "content": f"<think>\n{thought}\n</think>\n\n{answer}"},
            ]
            f.write(json.dumps({"id": f"b{i}", "messages": messages}) + "\n")


def build_model(config_dir: Path, out: Path) -> Path:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    out.mkdir(parents=True)
    for item in config_dir.iterdir():
        if item.name.endswith(".gz"):
            with gzip.open(item, "rb") as src, (out / item.name.removesuffix(".gz")).open("wb") as dst:
                shutil.copyfileobj(src, dst)
        elif item.name != "model.safetensors":
            shutil.copy(item, out / item.name)
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(out)).save_pretrained(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-config", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--samples", type=int, default=512)
    args = parser.parse_args()

    import torch

    from trainer.config import load_config
    from trainer.sft import train

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = build_model(args.model_config, tmp / "model")
        write_corpus(tmp / "corpus.jsonl", args.samples)
        overrides = [
            "--model",
            str(model),
            "--output_dir",
            str(tmp / "run"),
            "--max_steps",
            str(args.steps),
            "--per_device_train_batch_size",
            str(args.batch),
            "--logging_steps",
            "10",
        ]
        if not torch.cuda.is_available():
            overrides += ["--use_cpu", "true", "--bf16", "false"]
        config = load_config(str(ROOT / "recipes" / "gpu_sft.yaml"), overrides)
        config.sources = [{"jsonl": str(tmp / "corpus.jsonl"), "name": "bench"}]
        (stage,) = train(config)["stages"]
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    lengths = stage["mixture"]["sources"]["bench"]
    print(
        json.dumps(
            {
                "device": device,
                "dtype": "bf16" if config.bf16 else "fp32",
                "batch": args.batch,
                "max_length": config.max_length,
                "samples": lengths["selected"],
                "dropped": lengths["dropped"],
                **stage["figures"],
                "loss_first": stage["loss_first"],
                "loss_last": stage["loss_last"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
