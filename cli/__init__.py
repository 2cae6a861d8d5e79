"""The ``journey`` command line: one thin module per command group, each parsing flags and calling one function.

    journey synth --problems demo --limit 6 --out runs/demo        # embedded model, no network
    journey synth --problems data.jsonl --policy M@http://127.0.0.1:8000/v1 --critic ... --out DIR
    journey problems demo --out demo.jsonl                         # write the demo problem set

Heavy packages (LangGraph, torch, the SDK) are imported inside the commands, so ``--help`` is quick.
"""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from cli import curate, experiment, graph, reports, serve, synth, train, view
from cli import eval as eval_cli


class Commands(TyperGroup):
    """The command group, with ``synth`` built on first use: its flags are generated from the method
    registry, whose import (LangGraph, the SDK) the other commands and ``--help`` of one of them skip."""

    def list_commands(self, ctx) -> list[str]:
        return ["synth", *super().list_commands(ctx)]

    def get_command(self, ctx, name: str):
        if name == "synth":
            return typer.main.get_command(synth.synth_command())
        return super().get_command(ctx, name)

    def resolve_command(self, ctx, args: list[str]):
        if args and args[0] == "synth":
            synth.start_engines_early(args[1:])  # before the registry import that building synth takes
        return super().resolve_command(ctx, args)

    def invoke(self, ctx):
        from agents import local

        try:
            return super().invoke(ctx)
        finally:
            local.EarlyEngines().keep([])  # engines a guess started for a command that stopped early


# tracebacks never show local variables: they can hold keys and environments
app = typer.Typer(
    cls=Commands,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    help="Synthesize, train on and evaluate long-thought reasoning traces.",
)
app.command("problems")(synth.problems)
app.add_typer(synth.prompts_app, name="prompts")
app.add_typer(serve.app, name="serve")
app.add_typer(graph.app, name="graph")
app.command()(reports.compare)
app.add_typer(eval_cli.app, name="eval")
app.command()(reports.report)
app.command()(reports.export)
app.command("filter")(curate.filter_command)
app.command("select")(curate.select_command)
app.command()(view.view)
app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(train.train)
app.command()(train.pairs)
app.add_typer(experiment.app, name="experiment")
