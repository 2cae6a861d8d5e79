"""``journey train``: a YAML recipe (and field overrides) in, trainer.sft.train out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import err, fail, interrupt_on_sigterm


def train(
    ctx: typer.Context,
    config: Annotated[
        Path, typer.Option(help="YAML recipe (see recipes/); any SFTConfig field can follow as --field value.")
    ],
) -> None:
    """Train on a source mixture in the stages the recipe lists: SFT (TRL's SFTTrainer) and DPO (its DPOTrainer)."""
    from trainer.config import ConfigError, load_config
    from trainer.format import TemplateError
    from trainer.mixture import MixtureError
    from trainer.sft import train as run_training

    if not config.exists():
        fail(f"{config}: recipe not found")
    interrupt_on_sigterm()
    try:
        manifest = run_training(load_config(str(config), ctx.args))
    except (ConfigError, MixtureError, TemplateError, FileExistsError) as e:
        fail(str(e))
    except KeyboardInterrupt:
        err.print("interrupted: rerun the same command to resume from the last checkpoint")
        raise typer.Exit(130) from None
    for stage in manifest["stages"]:
        fig = stage["figures"]
        err.print(
            f"stage {stage['name']}: {fig.get('steps', 0)} steps, {fig.get('tokens_per_s', 0):,.0f} tokens/s, "
            f"padding {fig.get('padding_share', 0):.1%}, loss {stage['loss_first']} -> {stage['loss_last']}, "
            f"{stage['mixture']['total']} samples",
            soft_wrap=True,
        )
    err.print(
        f"model saved: evaluate it with journey eval math --model {manifest['load_with']}",
        soft_wrap=True,
        highlight=False,
    )


def pairs(
    corpora: Annotated[
        list[str],
        typer.Argument(help="Corpus directories written by journey synth; DIR@HASH takes one config of several."),
    ],
    out: Annotated[Path, typer.Option(help="Output directory: pairs.jsonl and manifest.json.")],
    kind: Annotated[
        str,
        typer.Option(help="verified-vs-wrong, short-vs-long, journey-vs-shortcut, or step (from saved search trees)."),
    ],
    per_problem: Annotated[
        int, typer.Option(min=1, help="Pairs per problem (verified-vs-wrong), or per tree node (step).")
    ] = 1,
    ratio: Annotated[
        float, typer.Option(min=1.0, help="short-vs-long: the longest needs this many times the shortest's tokens.")
    ] = 1.5,
    prefer: Annotated[str, typer.Option(help="journey-vs-shortcut: the chosen side, journey or shortcut.")] = "journey",
    tokenizer: Annotated[
        str,
        typer.Option(
            help="short-vs-long: whose tokens to count: local (the embedded model), local:PATH or a directory."
        ),
    ] = "local",
    decontaminate: Annotated[
        list[str] | None,
        typer.Option(help="Evaluation set (file, saved dataset or hub name) whose problems get no pair; repeatable."),
    ] = None,
    ngram: Annotated[int, typer.Option(min=1, help="Word n-gram size of the decontamination test.")] = 8,
    threshold: Annotated[float, typer.Option(help="Share of a question's n-grams that marks it contaminated.")] = 0.5,
    think_tags: Annotated[
        bool, typer.Option(help="Wrap the long thought in <think> tags, as the trainer does.")
    ] = True,
    seed: Annotated[int, typer.Option(help="Seed of the choice among samples.")] = 0,
) -> None:
    """Build preference pairs (TRL's prompt / chosen / rejected) from corpora, for a DPO stage."""
    from trainer.mixture import MixtureError
    from trainer.pairs import KINDS, PairOptions, PairsError, build_pairs, corpus_ref

    if kind not in KINDS:
        fail(f"--kind is one of {', '.join(KINDS)}, not {kind!r}")
    if prefer not in ("journey", "shortcut"):
        fail(f"--prefer is journey or shortcut, not {prefer!r}")
    length = unit = None
    try:
        refs = [corpus_ref(c) for c in corpora]
        options = PairOptions(
            kind=kind,
            per_problem=per_problem,
            ratio=ratio,
            prefer=prefer,
            seed=seed,
            think_tags=think_tags,
            decontaminate=tuple(decontaminate or ()),
            decontamination_ngram=ngram,
            decontamination_threshold=threshold,
        )
        if kind == "short-vs-long":
            length, unit = _token_counter(tokenizer)
        manifest = build_pairs(refs, options, out, length=length, length_unit=unit)
    except (PairsError, MixtureError) as e:
        fail(str(e))
    dropped = ", ".join(f"{n} {why}" for why, n in manifest["dropped"].items()) or "nothing"
    err.print(
        f"{manifest['counts']['pairs']} {kind} pairs over {manifest['counts']['problems']} problems; dropped: {dropped}",
        highlight=False,
        soft_wrap=True,
    )
    err.print(f"wrote {out / 'pairs.jsonl'}", highlight=False)


def _token_counter(spec: str):
    """(tokens of an assistant turn, the unit's name) under the tokenizer of a local model or directory."""
    from transformers import AutoTokenizer

    from agents.checkpoints import checkpoint_digest, checkpoint_dir, is_local

    local = spec if is_local(spec) else f"local:{spec}"
    try:
        tok = AutoTokenizer.from_pretrained(checkpoint_dir(local))
        digest = checkpoint_digest(local)
    except (FileNotFoundError, OSError) as e:
        fail(f"--tokenizer {spec}: {e}")

    def length(messages: list[dict[str, str]]) -> int:
        return len(tok(messages[-1]["content"], add_special_tokens=False)["input_ids"])

    return length, f"tokens of {spec} (weights {digest[:16]})"
