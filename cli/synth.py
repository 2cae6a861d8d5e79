"""``journey synth`` and ``journey problems``: flags in, one call to ``synth.setup`` out."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.common import command, err, fail, flag, interrupt_on_sigterm, preflight


def synth(ctx: typer.Context, config: Path | None, set_: list[str] | None, **flags) -> None:
    """Synthesize a corpus of long-thought traces, verified against the reference answers."""
    from agents import local

    # the layers of settings: the file, then --set, then the flags given here (defaults stay underneath)
    given = {
        # by name: typer's click is not always the click package's
        name: value
        for name, value in flags.items()
        if getattr(ctx.get_parameter_source(name), "name", None) != "DEFAULT"
    }
    raw = _layers(config, set_ or [])
    with local.EarlyEngines() as early:  # holds the engines start_engines_early began
        from corpus.problems import ProblemFileError
        from synth import setup
        from synth.request import RequestError, configure, settings

        try:
            values = settings(raw, given)
            cfg = configure(values)
            loaded = load_warning(values)
            setup.check_problems(cfg, loaded)
        except (setup.SetupError, ProblemFileError, RequestError) as e:
            fail(str(e))
        out = Path(values["out"])
        preflight(*(spec for spec, _ in cfg.roles.values()))  # before any file exists: a wrong key or URL is one line
        # the engines of the local models the run uses (a first run converts here); Ray workers start their own
        ray = values["ray"]
        used = [] if ray else [spec for spec, _ in cfg.roles.values()]
        early.keep(used)
        early.start(used)
        manifest = _run_with_progress(
            loaded,
            cfg,
            out,
            resume=values["resume"],
            ray=ray,
            shards=values["shards"],
            problems_source=values["problems"],
            add_config=values["add_config"],
        )
    _print_outcome(manifest, out)


CONFIG_HELP = (
    "A YAML file of these settings, keyed by the flags' names (method: distill, problems: FILE, teacher: SPEC, "
    "samples: 2, out: DIR, a method's options by their names); flags given here override it."
)


def synth_command(name: str = "synth") -> typer.Typer:
    """``journey synth`` as a one-command Typer app whose flags are generated: the run's settings
    (``synth.request.RunSettings``) and every registered method's roles and options, with their help."""
    import inspect

    from graphs.registry import METHODS
    from synth.request import IO, flags

    params = [
        inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context),
        flag("config", Path | None, None, typer.Option(help=CONFIG_HELP, rich_help_panel=IO)),
        flag(
            "set_",
            list[str] | None,
            None,
            typer.Option(
                "--set", help="KEY=VALUE over the --config file (repeatable; VALUE read as YAML).", rich_help_panel=IO
            ),
        ),
    ]
    for setting in flags():
        dashed = "--" + setting.name.replace("_", "-")
        bounds = {} if setting.min is None or setting.type is bool else {"min": setting.min}
        decls = [f"{dashed}/--no-{dashed[2:]}"] if setting.type is bool else [dashed]
        option = typer.Option(*decls, help=setting.help, rich_help_panel=setting.panel, **bounds)
        kind = setting.type if setting.default is not None else setting.type | None
        params.append(flag(setting.name, kind, setting.default, option))

    def run(ctx: typer.Context, config: Path | None, set_: list[str] | None, **given) -> None:
        synth(ctx, config, set_, **given)

    methods = "\n\n".join(f"{m.name}: {m.description}" for m in METHODS.values())
    app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
    app.command(name)(command(run, params, f"{synth.__doc__}\n\nMethods (--method):\n\n{methods}"))
    return app


def start_engines_early(args: list[str]) -> None:
    """Start the engines of the local models ``journey synth ARGS`` will likely use, before the
    registry import (seconds) that building its flags takes: a guess from the raw arguments, refined
    once the roles are resolved (``EarlyEngines.keep`` stops the unused ones)."""
    from agents import checkpoints, local

    if any(a in ("--help", "-h") for a in args) or any(a == "--ray" or a.startswith("--ray=") for a in args):
        return
    values: list[str] = []
    for i, arg in enumerate(args):
        value = arg.partition("=")[2] if arg.startswith("--") and "=" in arg else arg
        if arg == "--config" and i + 1 < len(args):
            values += _config_values(args[i + 1])
        values.append(value)
    named = [v for v in values if checkpoints.is_local(v)]
    endpoint = any("@" in v and "://" in v or v.startswith("openai:") for v in values)
    local.EarlyEngines().start(named + ([] if endpoint else [checkpoints.EMBEDDED]), convert=False)


def _config_values(path: str) -> list[str]:
    from synth.request import RequestError, read_file

    try:
        return [str(v) for v in read_file(path).values() if isinstance(v, str)]
    except RequestError:
        return []  # synth reports it


def _layers(config: Path | None, sets: list[str]) -> dict:
    """The settings of --config and --set, over which the flags given go."""
    from synth.request import RequestError, parse_sets, read_file

    try:
        return (read_file(config) if config is not None else {}) | parse_sets(sets)
    except RequestError as e:
        fail(str(e))
    return {}


def _run_with_progress(loaded, cfg, out: Path, **kwargs) -> dict:
    """``synth.setup.run`` behind a progress bar; the errors a user can act on are one line."""
    from agents.specs import SpecError
    from corpus.artifacts import ArtifactError
    from corpus.files import CorpusConfigError, CorpusExistsError
    from corpus.jsonl import JsonlError
    from graphs.method import ContractError
    from synth import setup
    from synth.ray_backend import ShardMismatchError
    from synth.workers import WorkerError

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[counts]}"),
        console=err,
        transient=False,
    )
    task = progress.add_task(cfg.method, total=None, counts="starting models")

    def on_progress(counts, total) -> None:
        progress.start()  # a no-op once started
        shown = f"verified {counts.verified}  rejected {counts.rejected}  failed {counts.failed}"
        progress.update(task, total=total, completed=counts.attempted, counts=shown)

    # worker processes are forked before the progress display starts its thread
    if cfg.workers == 1:
        progress.start()
    interrupt_on_sigterm()
    # what exists now (modules, problems) lives as long as the run: kept out of the collector's way.
    # The cyclic GC's passes over it took a sixth of a distill run's CPU (5 s of 31 over 6,000
    # traces; 2 s frozen); forked workers then also keep those pages shared. This process is ours to
    # tune; a library call (synth.setup.run from a notebook) leaves its caller's collector alone
    gc.freeze()
    try:
        return setup.run(loaded, cfg, out, on_progress=on_progress, **kwargs)
    except (
        CorpusExistsError,
        CorpusConfigError,
        SpecError,
        ShardMismatchError,
        setup.SetupError,
        ArtifactError,
        JsonlError,
        ContractError,
    ) as e:
        progress.stop()
        fail(str(e))
    except WorkerError as e:
        progress.stop()
        err.print(
            f"[red]error:[/red] {e}; what finished is in {out}, --resume continues", highlight=False, soft_wrap=True
        )
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        progress.stop()
        err.print(f"interrupted: traces written so far are in {out}; continue with --resume")
        raise typer.Exit(130) from None
    finally:
        gc.unfreeze()
        if progress.live.is_started:
            progress.stop()


def _print_outcome(manifest: dict, out: Path) -> None:
    from corpus.files import corpus_file

    run, corpus = manifest["this_run"], manifest["corpus"]
    cost = run["cost_usd"]["total"]
    err.print(
        f"{run['attempted']} {run['job_unit']}s attempted ({run['failed']} failed, {run['skipped_done']} already done), "
        f"{run['verified']} samples verified in {run['wall_s']:.0f}s; corpus {out}: "
        f"{corpus['traces']} traces, {corpus['verified']} verified, {corpus['rejected']} rejected, "
        f"{corpus['backtracks']} backtracks" + (f", ${cost:.4f} this run" if cost is not None else ""),
        highlight=False,
    )
    if run["stopped_by"] == "endpoint_refused":
        err.print(
            f"[red]stopped: an endpoint refused the requests (401/403/404, see {corpus_file(out, 'failures')}); "
            f"{run['not_started']} problems not started: fix the key, URL or model, then --resume[/red]",
            highlight=False,
        )
    elif run["stopped_by"]:
        flag = "--" + run["stopped_by"].replace("_", "-")
        err.print(f"[yellow]stopped by {flag}: {run['not_started']} problems not started; --resume continues[/yellow]")
    if run["failed"]:
        err.print(f"[yellow]{run['failed']} problems failed: see {corpus_file(out, 'failures')}[/yellow]")
        raise typer.Exit(1)


def load_warning(values: dict):
    """The problems of a run's settings, their warnings (broken escapes) printed: the first five,
    then how many more."""
    from synth.request import load

    warnings: list[str] = []
    loaded = load(values, warn=warnings.append)
    for warning in warnings[:5]:
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    if len(warnings) > 5:
        err.print(f"[yellow]warning:[/yellow] {len(warnings) - 5} more fields like these", highlight=False)
    return loaded


def problems(
    source: Annotated[str, typer.Argument(help="'demo', a problem file or a Hugging Face dataset name.")],
    out: Annotated[Path, typer.Option(help="JSONL file to write (id, question, answer, ...).")],
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N problems.")] = None,
    split: Annotated[
        str | None, typer.Option(help="Split of a Hugging Face dataset (default: test, else its only split).")
    ] = None,
    question_field: Annotated[str | None, typer.Option(help="Field holding the question (found if omitted).")] = None,
    answer_field: Annotated[str | None, typer.Option(help="Field holding the reference answer.")] = None,
    id_field: Annotated[
        str | None, typer.Option(help="Field holding a stable problem id (else a hash of the question).")
    ] = None,
    fix_escapes: Annotated[
        bool,
        typer.Option(
            help="Repair control characters that a JSON writer left for LaTeX escapes (\\frac as a form feed, "
            "\\times as a tab); without it they are reported."
        ),
    ] = False,
) -> None:
    """Normalize a problem set (or write the demo set) as JSONL that `journey synth` reads."""
    from corpus.problems import ProblemFileError

    if str(out).strip() in ("", ".") or out.is_dir():
        fail(f"--out {out}: name the JSONL file to write")
    if Path(source).exists() and Path(source).resolve() == out.resolve():
        fail(f"--out {out} is the input: choose another file")
    try:
        fields = {"question_field": question_field, "answer_field": answer_field, "id_field": id_field}
        loaded = load_warning({"problems": source, "split": split, "limit": limit, "fix_escapes": fix_escapes} | fields)
    except ProblemFileError as e:
        fail(str(e))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for p in loaded:
            f.write(json.dumps(p.model_dump(), ensure_ascii=False) + "\n")
    err.print(f"wrote {len(loaded)} problems to {out}")


prompts_app = typer.Typer(no_args_is_help=True, help="Role prompts as files to read and edit.")


@prompts_app.command("export")
def export_prompts(
    out: Annotated[Path, typer.Argument(help="Directory to write one KEY.md file per role into.")],
    profile: Annotated[
        str, typer.Option(help="compact (small base models) or full (instruct and reasoning models).")
    ] = "full",
) -> None:
    """Write every role's prompt (system text, few-shot turns, stricter reminder), to edit and use with journey synth --prompts DIR."""
    from agents.prompt_files import PromptFileError
    from agents.prompt_files import export_prompts as write
    from agents.structured import PROFILES
    from graphs.registry import METHODS

    if profile not in PROFILES:
        fail(f"--profile is {' or '.join(PROFILES)}, not {profile!r}")
    table = {}
    for method in METHODS.values():
        for role in method.roles:
            if role.prompt is None:
                continue
            prompt = role.prompt.prompt(profile)
            # one file per key: methods that share a role's key share its prompt (policy in journey, debate, tree)
            assert table.get(role.prompt.key, (profile, prompt))[1] == prompt, role.prompt.key
            table[role.prompt.key] = (profile, prompt)
    try:
        written = write(out, table)
    except PromptFileError as e:
        fail(str(e))
    err.print(f"wrote {len(written)} prompt files to {out}: {', '.join(p.name for p in written)}", highlight=False)
