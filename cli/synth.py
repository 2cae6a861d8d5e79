"""``journey synth`` and ``journey problems``: flags in, one call to ``synth.setup`` out."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.common import err, fail, interrupt_on_sigterm, preflight

IO, MODELS, SAMPLING, BUDGET, JOURNEY, TREE, DISTILL, RUN = (
    "Problems and output",
    "Models (a role given to a method that has no such role is an error)",
    "Sampling",
    "Per-trace budgets: journey, debate, tree",
    "journey",
    "tree",
    "distill",
    "Scale and run budgets",
)
# the role flags (a role given to a method that has no such role is an error, in synth.setup)
ROLE_FLAGS = ("policy", "critic", "reflector", "teacher", "rewriter", "prm")
# flags of one method or a few: None means "not given", the method's options type holds the default
METHOD_OPTION = "Default: the method's own."


def synth(
    ctx: typer.Context,
    problems: Annotated[
        str | None,
        typer.Option(
            help="Problem file (.jsonl/.json/.csv/.parquet), a Hugging Face dataset (NAME or NAME:CONFIG), or 'demo'.",
            rich_help_panel=IO,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Corpus directory: traces.jsonl, failures.jsonl, manifest.json.", rich_help_panel=IO),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="A YAML file of these settings, keyed by the flags' names (method: distill, problems: FILE, "
            "teacher: SPEC, samples: 2, out: DIR, a method's options by their names); flags given here override it.",
            rich_help_panel=IO,
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="KEY=VALUE over the --config file (repeatable; VALUE read as YAML).", rich_help_panel=IO
        ),
    ] = None,
    method: Annotated[str, typer.Option(help="Synthesis method (graph) to run.", rich_help_panel=IO)] = "journey",
    limit: Annotated[int | None, typer.Option(min=1, help="Use only the first N problems.", rich_help_panel=IO)] = None,
    resume: Annotated[
        bool,
        typer.Option(help="Continue a corpus in --out: skip finished samples, retry failures.", rich_help_panel=IO),
    ] = False,
    add_config: Annotated[
        bool,
        typer.Option(
            help="Start this config in an --out that holds another (a resume with a changed config is refused): "
            "both are recorded, and compare and train see each as its own corpus.",
            rich_help_panel=IO,
        ),
    ] = False,
    split: Annotated[
        str | None,
        typer.Option(help="Split of a Hugging Face dataset (default: test, else its only split).", rich_help_panel=IO),
    ] = None,
    question_field: Annotated[
        str | None, typer.Option(help="Field holding the question (found if omitted).", rich_help_panel=IO)
    ] = None,
    answer_field: Annotated[
        str | None, typer.Option(help="Field holding the reference answer.", rich_help_panel=IO)
    ] = None,
    fix_escapes: Annotated[
        bool,
        typer.Option(
            help="Repair control characters that a JSON writer left for LaTeX escapes (\\frac as a form feed, "
            "\\times as a tab); without it they are reported.",
            rich_help_panel=IO,
        ),
    ] = False,
    id_field: Annotated[
        str | None,
        typer.Option(help="Field holding a stable problem id (else a hash of the question).", rich_help_panel=IO),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            help="Policy model: local, local:PATH, openai:MODEL or MODEL@http://HOST:PORT/v1 (default local).",
            rich_help_panel=MODELS,
        ),
    ] = None,
    critic: Annotated[str | None, typer.Option(help="Critique model (default local).", rich_help_panel=MODELS)] = None,
    reflector: Annotated[
        str | None, typer.Option(help="Reflection model, journey (default local).", rich_help_panel=MODELS)
    ] = None,
    teacher: Annotated[
        str | None,
        typer.Option(
            help="Teacher model: distill samples from it (default local); journey asks it for hints when given.",
            rich_help_panel=MODELS,
        ),
    ] = None,
    rewriter: Annotated[
        str | None,
        typer.Option(
            help="Rewriter model: tree and reformat (default local), journey with --rewrite (default the policy's).",
            rich_help_panel=MODELS,
        ),
    ] = None,
    samples: Annotated[int, typer.Option(min=1, help="Samples per problem.", rich_help_panel=SAMPLING)] = 1,
    temperature: Annotated[
        float,
        typer.Option(
            min=0.0, help="Temperature of the policy and teacher (critic, reflector use 0.3).", rich_help_panel=SAMPLING
        ),
    ] = 0.7,
    step_tokens: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Max new tokens per step-by-step agent call (default: 64 for compact prompts, 1024 for full).",
            rich_help_panel=SAMPLING,
        ),
    ] = None,
    prompts: Annotated[
        str,
        typer.Option(
            help="Prompt profile: auto (compact for local models, full for endpoints and APIs), compact (one-line "
            "few-shot, for small base models), full (steps as long as they need, critiques that reason), or a "
            "directory written by `journey prompts export` and edited.",
            rich_help_panel=MODELS,
        ),
    ] = "auto",
    teacher_tokens: Annotated[
        int,
        typer.Option(
            min=1, help="Max new tokens per teacher or rewriter call (a whole long thought).", rich_help_panel=SAMPLING
        ),
    ] = 2048,
    seed: Annotated[
        int | None, typer.Option(help="Sampling seed for the endpoints that accept one.", rich_help_panel=SAMPLING)
    ] = None,
    reasoning_effort: Annotated[
        str | None, typer.Option(help="o-series teachers: low, medium or high.", rich_help_panel=SAMPLING)
    ] = None,
    max_steps: Annotated[
        int | None,
        typer.Option(min=1, help=f"Policy steps per trace (tree: depth). {METHOD_OPTION}", rich_help_panel=BUDGET),
    ] = None,
    max_backtracks: Annotated[
        int | None,
        typer.Option(min=0, help=f"Backtracks per trace (journey, debate). {METHOD_OPTION}", rich_help_panel=BUDGET),
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option(min=1, help=f"Tokens (in + out) per trace. {METHOD_OPTION}", rich_help_panel=BUDGET)
    ] = None,
    teacher_after: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"With --teacher: ask for a hint after this many backtracks. {METHOD_OPTION}",
            rich_help_panel=JOURNEY,
        ),
    ] = None,
    rewrite: Annotated[
        bool | None,
        typer.Option(
            "--rewrite",
            help="Rewrite each verified journey into one first-person monologue that keeps every wrong step, why "
            "it is wrong and the backtrack (--rewriter, default the policy's model); a rewrite that loses the answer "
            f"or a reflection is discarded for the draft. {METHOD_OPTION}",
            rich_help_panel=JOURNEY,
        ),
    ] = None,
    width: Annotated[
        int | None,
        typer.Option(min=1, help=f"Candidate next steps sampled per node. {METHOD_OPTION}", rich_help_panel=TREE),
    ] = None,
    beam: Annotated[
        int | None,
        typer.Option(min=1, help=f"Best correct steps kept per level. {METHOD_OPTION}", rich_help_panel=TREE),
    ] = None,
    wrong_trials: Annotated[
        int | None,
        typer.Option(
            min=0, help=f"Wrong branches visited on purpose per correct step. {METHOD_OPTION}", rich_help_panel=TREE
        ),
    ] = None,
    wrong_depth: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"Steps a visited wrong branch is followed before the long thought backtracks. {METHOD_OPTION}",
            rich_help_panel=TREE,
        ),
    ] = None,
    prm: Annotated[
        str | None,
        typer.Option(
            help="Process reward model as the tree's step judge instead of the critic: NAME@http://HOST:PORT/v1 "
            "of a vLLM server in pooling mode (Math-Shepherd style; see agents/prm.py).",
            rich_help_panel=TREE,
        ),
    ] = None,
    keep: Annotated[
        str | None,
        typer.Option(
            help=f"Keep the first verified sample of a problem, or all verified ones. {METHOD_OPTION}",
            rich_help_panel=DISTILL,
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, help="Problems explored at once (over all workers).", rich_help_panel=RUN)
    ] = 8,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Processes sharing --concurrency (default: one per core, at most 8; one with local models).",
            rich_help_panel=RUN,
        ),
    ] = None,
    batch: Annotated[
        int,
        typer.Option(
            min=1,
            help="Batched methods (distill): problems per graph run. Pays against fast endpoints; "
            "keep 1 for slow teachers.",
            rich_help_panel=RUN,
        ),
    ] = 1,
    ray: Annotated[
        str | None,
        typer.Option(
            help="Run shards on Ray: 'local' starts a cluster, HOST:PORT joins one (OUT on shared storage).",
            rich_help_panel=RUN,
        ),
    ] = None,
    shards: Annotated[
        int | None,
        typer.Option(min=1, help="--ray: number of shards (default: the cluster's CPUs).", rich_help_panel=RUN),
    ] = None,
    max_cost: Annotated[
        float | None,
        typer.Option(
            min=0.0, help="Run budget in USD (from --prices): no new problem starts once spent.", rich_help_panel=RUN
        ),
    ] = None,
    max_total_tokens: Annotated[
        int | None,
        typer.Option(
            min=1, help="Run budget in tokens (all roles): no new problem starts once spent.", rich_help_panel=RUN
        ),
    ] = None,
    prices: Annotated[
        str | None,
        typer.Option(
            help="YAML/JSON of MODEL: {input, output} USD per million tokens, added to the built-in table.",
            rich_help_panel=RUN,
        ),
    ] = None,
) -> None:
    """Synthesize a corpus of long-thought traces, verified against the reference answers.

    Methods: journey (policy, critique, reflection, backtracking; --teacher adds hints when stuck),
    debate (the policy keeps reasoning, the critic says continue or backtrack; kept once verified),
    tree (beam search over policy steps judged by the critic, walked depth first into a long thought, rewritten),
    distill (rejection sampling from --teacher, --samples K tries per problem, --keep first|all),
    reformat (reference solutions rewritten step by step by --rewriter),
    human (annotated thought processes imported from JSONL or Markdown; no model).
    """
    from agents import local

    # the layers of settings: the file, then --set, then the flags given here (defaults stay underneath)
    given = {
        name: value
        for name, value in ctx.params.items()
        # by name: typer's click is not always the click package's
        if name not in ("config", "set_") and getattr(ctx.get_parameter_source(name), "name", None) != "DEFAULT"
    }
    raw = _layers(config, set_ or [])
    guess = raw | given  # read before any heavy import: which engines to start early
    with local.EarlyEngines() as early:
        if guess.get("ray") is None:
            # a guess, before the imports below (seconds): the engines of local models converted before
            # load meanwhile; once the roles are resolved, those the run does not use are stopped
            early.start(_engine_guess(guess), convert=False)
        from corpus.problems import Fields, ProblemFileError
        from synth import setup
        from synth.request import RequestError, configure, settings

        try:
            values = settings(raw, given)
            cfg = configure(values)
            loaded = load_warning(
                values["problems"],
                Fields(values["question_field"], values["answer_field"], values["id_field"]),
                values["split"],
                values["limit"],
                values["fix_escapes"],
            )
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


def _layers(config: Path | None, sets: list[str]) -> dict:
    """The settings of --config and --set, over which the flags given go (light: no registry import)."""
    from synth.request import RequestError, parse_sets, read_file

    try:
        return (read_file(config) if config is not None else {}) | parse_sets(sets)
    except RequestError as e:
        fail(str(e))
    return {}


def _engine_guess(values: dict) -> list[str]:
    """Local models to start before the imports: every local model named, and the embedded one for
    any role not named (the engines a run does not use are stopped once its roles are resolved)."""
    from agents import local

    named = [v for k, v in values.items() if k in ROLE_FLAGS and isinstance(v, str)]
    unnamed = [r for r in ROLE_FLAGS if r != "prm" and values.get(r) is None]
    return [s for s in named if s == "local" or s.startswith("local:")] + ([local.EMBEDDED] if unnamed else [])


def _run_with_progress(loaded, cfg, out: Path, **kwargs) -> dict:
    """``synth.setup.run`` behind a progress bar; the errors a user can act on are one line."""
    from agents.models import SpecError
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


def load_warning(source: str, fields, split: str | None, limit: int | None, fix_escapes: bool):
    """Problems of ``source``, its warnings (broken escapes) printed: the first five, then how many more."""
    from corpus.problems import load_problems

    warnings: list[str] = []
    loaded = load_problems(
        source, fields=fields, split=split, limit=limit, repair_escapes=fix_escapes, warn=warnings.append
    )
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
    from corpus.problems import Fields, ProblemFileError

    if str(out).strip() in ("", ".") or out.is_dir():
        fail(f"--out {out}: name the JSONL file to write")
    if Path(source).exists() and Path(source).resolve() == out.resolve():
        fail(f"--out {out} is the input: choose another file")
    try:
        loaded = load_warning(source, Fields(question_field, answer_field, id_field), split, limit, fix_escapes)
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
    """Write every role's prompt (system text, few-shot turns, stricter reminder), to edit and use with --prompts DIR."""
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
