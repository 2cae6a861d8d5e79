"""The ``journey`` command line: one subcommand per job, each parsing flags and calling one function.

    journey synth --problems demo --limit 6 --out runs/demo        # embedded model, no network
    journey synth --problems data.jsonl --policy M@http://127.0.0.1:8000/v1 --critic ... --out DIR
    journey problems demo --out demo.jsonl                         # write the demo problem set
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Synthesize, train on and evaluate long-thought reasoning traces.")
err = Console(stderr=True)

EXIT_BAD_INPUT = 2


def _interrupt_on_sigterm() -> None:
    """Make SIGTERM behave like Ctrl-C, so local model servers are stopped and files closed."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def synth(
    problems: Annotated[str, typer.Option(help="Problem file (.jsonl/.json/.csv/.parquet), a Hugging Face dataset name, or 'demo'.")],
    out: Annotated[Path, typer.Option(help="Corpus directory: traces.jsonl, failures.jsonl, manifest.json.")],
    method: Annotated[str, typer.Option(help="Synthesis method (graph) to run.")] = "journey",
    limit: Annotated[int | None, typer.Option(help="Use only the first N problems.")] = None,
    samples: Annotated[int, typer.Option(min=1, help="Traces per problem.")] = 1,
    concurrency: Annotated[int, typer.Option(min=1, help="Problems explored at once.")] = 8,
    policy: Annotated[str, typer.Option(help="Model spec of the policy: local, local:PATH, openai:MODEL or MODEL@http://HOST:PORT/v1.")] = "local",
    critic: Annotated[str, typer.Option(help="Model spec of the critique agent.")] = "local",
    reflector: Annotated[str, typer.Option(help="Model spec of the reflection agent.")] = "local",
    resume: Annotated[bool, typer.Option(help="Continue a corpus in --out: skip finished traces, retry failures.")] = False,
    max_steps: Annotated[int, typer.Option(min=1, help="Budget: policy steps per trace.")] = 6,
    max_backtracks: Annotated[int, typer.Option(min=0, help="Budget: backtracks per trace.")] = 2,
    max_tokens: Annotated[int, typer.Option(min=1, help="Budget: tokens (in + out) per trace.")] = 8192,
    temperature: Annotated[float, typer.Option(min=0.0, help="Sampling temperature of the policy (critic and reflector use 0.3).")] = 0.7,
    step_tokens: Annotated[int, typer.Option(min=1, help="Max new tokens per agent call.")] = 64,
    seed: Annotated[int | None, typer.Option(help="Sampling seed passed to the endpoints that accept one.")] = None,
    split: Annotated[str, typer.Option(help="Split, for Hugging Face datasets.")] = "test",
    question_field: Annotated[str | None, typer.Option(help="Field holding the question (found automatically if omitted).")] = None,
    answer_field: Annotated[str | None, typer.Option(help="Field holding the reference answer.")] = None,
    id_field: Annotated[str | None, typer.Option(help="Field holding a stable problem id (else a hash of the question).")] = None,
) -> None:
    """Synthesize a corpus of long-thought traces, verified against the reference answers."""
    from agents.models import Sampling, SpecError, parse_spec
    from agents.structured import ONE_LINE
    from graphs.journey import Budget
    from graphs.problems import Fields, ProblemFileError, load_problems
    from graphs.runner import METHODS, CorpusExistsError, SynthConfig, synthesize

    if method not in METHODS:
        _fail(f"unknown --method {method!r}; available: {', '.join(METHODS)}")
    try:
        for spec in (policy, critic, reflector):
            parse_spec(spec)
        loaded = load_problems(
            problems, fields=Fields(question_field, answer_field, id_field), split=split, limit=limit
        )
    except (SpecError, ProblemFileError) as e:
        _fail(str(e))
    cfg = SynthConfig(
        method=method,
        roles={
            "policy": (policy, Sampling(temperature=temperature, max_tokens=step_tokens, seed=seed, stop=ONE_LINE)),
            "critic": (critic, Sampling(temperature=0.3, max_tokens=step_tokens, seed=seed, stop=ONE_LINE)),
            "reflector": (reflector, Sampling(temperature=0.3, max_tokens=step_tokens, seed=seed, stop=ONE_LINE)),
        },
        budget=Budget(max_steps=max_steps, max_backtracks=max_backtracks, max_tokens=max_tokens),
        samples=samples,
        concurrency=concurrency,
    )
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[counts]}"), console=err, transient=False,
    ) as progress:  # fmt: skip
        task = progress.add_task(f"{method}", total=None, counts="starting models")

        def on_progress(counts, total) -> None:
            progress.update(
                task, total=total, completed=counts.attempted,
                counts=f"verified {counts.verified}  failed {counts.failed}",
            )  # fmt: skip

        _interrupt_on_sigterm()
        try:
            manifest = asyncio.run(
                synthesize(loaded, cfg, out, resume=resume, problems_source=problems, on_progress=on_progress)
            )
        except CorpusExistsError as e:
            _fail(str(e))
        except KeyboardInterrupt:
            err.print(f"interrupted: traces written so far are in {out}; continue with --resume")
            raise typer.Exit(130) from None
    run, corpus = manifest["this_run"], manifest["corpus"]
    err.print(
        f"{run['attempted']} attempted, {run['verified']} verified, {run['failed']} failed, "
        f"{run['skipped_done']} already done in {run['wall_s']:.0f}s; corpus {out}: "
        f"{corpus['traces']} traces, {corpus['verified']} verified, {corpus['backtracks']} backtracks",
        highlight=False,
    )
    if run["failed"]:
        err.print(f"[yellow]{run['failed']} problems failed: see {out / 'failures.jsonl'}[/yellow]")
        raise typer.Exit(1)


@app.command("problems")
def problems_cmd(
    source: Annotated[str, typer.Argument(help="'demo', a problem file or a Hugging Face dataset name.")],
    out: Annotated[Path, typer.Option(help="JSONL file to write (id, question, answer, ...).")],
    limit: Annotated[int | None, typer.Option(help="Only the first N problems.")] = None,
) -> None:
    """Normalize a problem set (or write the demo set) as JSONL that `journey synth` reads."""
    from graphs.problems import ProblemFileError, load_problems

    try:
        loaded = load_problems(source, limit=limit)
    except ProblemFileError as e:
        _fail(str(e))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for p in loaded:
            f.write(json.dumps(p.model_dump(), ensure_ascii=False) + "\n")
    err.print(f"wrote {len(loaded)} problems to {out}")


eval_app = typer.Typer(no_args_is_help=True, help="Evaluate models: math.")
app.add_typer(eval_app, name="eval")


@eval_app.command("math")
def eval_math(
    model: Annotated[str, typer.Option(help="Model spec: local, local:PATH, openai:MODEL or MODEL@http://HOST:PORT/v1.")],
    dataset: Annotated[str, typer.Option(help="MATH-500 / AIME / MATH2024 / GSM8K file, any JSONL with question and answer, or a Hugging Face name.")],
    out: Annotated[Path, typer.Option(help="Output directory: generations.jsonl, samples.jsonl, summary.json, accuracy_vs_tokens.png.")],
    samples: Annotated[int, typer.Option(min=1, help="Samples per problem (K) for pass@k and maj@k.")] = 1,
    max_tokens: Annotated[int, typer.Option(min=1, help="Max output tokens per sample.")] = 1024,
    temperature: Annotated[float, typer.Option(min=0.0, help="Sampling temperature.")] = 0.0,
    limit: Annotated[int | None, typer.Option(help="Use only the first N problems.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests at once.")] = 8,
    split: Annotated[str, typer.Option(help="Split, for Hugging Face datasets.")] = "test",
    stop: Annotated[list[str] | None, typer.Option(help="Stop string (repeatable). Default: none, except a newline for local models, which are base models that cannot end their turn reliably and answer the one-line few-shot prompt in one line.")] = None,
) -> None:
    """Accuracy (pass@1, pass@k, maj@k) together with output tokens, as the paper reports it."""
    from agents.models import SpecError, parse_spec
    from eval.math_eval import evaluate
    from graphs.problems import ProblemFileError, load_problems

    try:
        kind = parse_spec(model).kind
        problems = load_problems(dataset, split=split, limit=limit)
    except (SpecError, ProblemFileError) as e:
        _fail(str(e))
    _interrupt_on_sigterm()
    with Progress(TextColumn("[bold]eval math"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err) as progress:
        task = progress.add_task("generate", total=len(problems) * samples)
        try:
            summary = evaluate(
                problems, spec=model, out=out, samples=samples, max_tokens=max_tokens, temperature=temperature,
                concurrency=concurrency, dataset=dataset,
                stop=tuple(stop) if stop is not None else ("\n",) if kind == "local" else (),
                on_sample=lambda done, total: progress.update(task, completed=done, total=total),
            )  # fmt: skip
        except KeyboardInterrupt:
            err.print(f"interrupted: generations so far are in {out}; run the same command to continue")
            raise typer.Exit(130) from None
    err.print(
        f"{summary['problems']} problems x {summary['samples_per_problem']}: pass@1 {summary['pass@1']:.3f}, "
        f"maj@k {summary['maj@k']:.3f}, {summary['tokens_out_mean']:.0f} output tokens on average; {out}/summary.json",
        highlight=False,
    )


@app.command()
def report(
    runs: Annotated[list[Path], typer.Argument(help="Eval output directories (each with summary.json).")],
    out: Annotated[Path, typer.Option(help="Report directory: report.md, report.html, plots.")] = Path("report"),
) -> None:
    """Put several eval runs side by side (e.g. base versus trained): Markdown table and HTML page."""
    from eval.report import ReportError, markdown, load_runs, write_report

    try:
        page = write_report(runs, out)
    except ReportError as e:
        _fail(str(e))
    print(markdown(load_runs(runs)))
    err.print(f"wrote {page}")


if __name__ == "__main__":
    sys.exit(app())
