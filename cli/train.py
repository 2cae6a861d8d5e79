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
    """Train on a source mixture with TRL's SFTTrainer, in the stages the recipe lists."""
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
    err.print(f"model saved: load it with --model {manifest['load_with']}", soft_wrap=True, highlight=False)
