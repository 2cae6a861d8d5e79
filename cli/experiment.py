"""``journey experiment run|status``: an experiment file run step by step, and where it stands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import err, fail, interrupt_on_sigterm

app = typer.Typer(no_args_is_help=True, help="Experiments: arms, seeds and an eval suite, with intervals.")

FILE = Annotated[Path, typer.Argument(help="The experiment file (YAML), e.g. experiments/part1_toy.yaml.")]
OUT = Annotated[Path | None, typer.Option(help="Run directory (default: the file's out).")]


def _plan(path: Path, out: Path | None):
    from experiment.run import ExperimentError, Plan, load

    try:
        return Plan(load(path, {"out": str(out)} if out else None))
    except ExperimentError as e:
        fail(str(e))


@app.command("run")
def run(path: FILE, out: OUT = None) -> None:
    """Run every step not done (a changed step and what follows it run again), then write the report."""
    from corpus.artifacts import ArtifactError
    from experiment import report
    from experiment.run import ExperimentError
    from experiment.run import run as run_steps
    from synth.request import RequestError
    from synth.setup import SetupError
    from trainer.config import ConfigError
    from trainer.mixture import MixtureError

    plan = _plan(path, out)
    interrupt_on_sigterm()
    try:
        run_steps(plan, on_step=lambda name, state: err.print(f"{state:>8}  {name}", highlight=False))
    except (ExperimentError, ArtifactError, RequestError, SetupError, ConfigError, MixtureError) as e:
        fail(str(e))
    except KeyboardInterrupt:
        err.print(f"interrupted: finished steps are kept in {plan.exp.out}; run the same command to continue")
        raise typer.Exit(130) from None
    where = report.write(plan)
    print((where / "report.md").read_text())
    err.print(f"wrote {where / 'report.html'}", highlight=False)


@app.command("status")
def status(path: FILE, out: OUT = None) -> None:
    """Each step and whether it is done, changed (it will run again) or still to do."""
    from experiment.run import status as step_status

    for name, state in step_status(_plan(path, out)):
        print(f"{state:>8}  {name}")
