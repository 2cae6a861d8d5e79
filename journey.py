"""The ``journey`` command line: one subcommand per job, each parsing flags and calling one function.

    journey synth --problems demo --limit 6 --out runs/demo        # embedded model, no network
    journey synth --problems data.jsonl --policy M@http://127.0.0.1:8000/v1 --critic ... --out DIR
    journey problems demo --out demo.jsonl                         # write the demo problem set
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

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
    concurrency: Annotated[int, typer.Option(min=1, help="Problems explored at once (over all workers).")] = 8,
    workers: Annotated[int | None, typer.Option(min=1, help="Processes exploring at once, sharing --concurrency (default: one per core, at most 8; one with local models).")] = None,
    batch: Annotated[int, typer.Option(min=1, help="distill: problems per graph run (at most --concurrency). Pays against fast endpoints (hundreds of traces/s); a batch waits for its slowest problem, so keep 1 for slow teachers.")] = 1,
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
    teacher: Annotated[str | None, typer.Option(help="Model spec of the teacher: distill samples from it (default local); journey asks it for hints when given.")] = None,
    rewriter: Annotated[str, typer.Option(help="Model spec of the rewriter (reformat method).")] = "local",
    keep: Annotated[str, typer.Option(help="distill: keep the first verified sample of each problem, or all verified ones.")] = "first",
    teacher_after: Annotated[int, typer.Option(min=1, help="journey with --teacher: ask for a hint after this many backtracks.")] = 1,
    teacher_tokens: Annotated[int, typer.Option(min=1, help="Max new tokens per teacher or rewriter call (a whole long thought).")] = 2048,
    reasoning_effort: Annotated[str | None, typer.Option(help="o-series teachers: low, medium or high.")] = None,
    width: Annotated[int, typer.Option(min=1, help="tree: candidate next steps sampled per node.")] = 2,
    beam: Annotated[int, typer.Option(min=1, help="tree: correct steps kept per level (beam search); depth is --max-steps.")] = 2,
    wrong_trials: Annotated[int, typer.Option(min=0, help="tree: wrong branches visited on purpose per correct step of the long thought.")] = 1,
    ray: Annotated[str | None, typer.Option(help="Run the shards on Ray: 'local' starts a local cluster, HOST:PORT joins one (OUT must be on shared storage).")] = None,
    shards: Annotated[int | None, typer.Option(min=1, help="--ray: number of shards (default: the cluster's CPUs).")] = None,
    max_cost: Annotated[float | None, typer.Option(min=0.0, help="Run budget in USD (estimated from --prices): no new problem starts once spent.")] = None,
    max_total_tokens: Annotated[int | None, typer.Option(min=1, help="Run budget in tokens (in + out, all roles): no new problem starts once spent.")] = None,
    prices: Annotated[str | None, typer.Option(help="YAML/JSON of MODEL: {input, output} USD per million tokens, added to the built-in table.")] = None,
) -> None:
    """Synthesize a corpus of long-thought traces, verified against the reference answers.

    Methods: journey (policy, critique, reflection, backtracking; --teacher adds hints when stuck),
    debate (the policy keeps reasoning, the critic says continue or backtrack; kept once verified),
    tree (beam search over policy steps judged by the critic, walked depth first into a long thought, rewritten fluently),
    distill (rejection sampling from --teacher, --samples K tries per problem, --keep first|all),
    reformat (reference solutions rewritten step by step by --rewriter),
    human (annotated thought processes imported from JSONL or Markdown; no model).
    """
    from agents.models import Sampling, SpecError, parse_spec
    from agents.structured import ONE_LINE
    from graphs.journey import Budget
    from graphs.problems import Fields, ProblemFileError, load_problems
    from graphs.runner import METHODS, CorpusExistsError, SynthConfig
    from graphs.workers import WorkerError, synthesize, workers_for

    if method not in METHODS:
        _fail(f"unknown --method {method!r}; available: {', '.join(METHODS)}")
    if keep not in ("first", "all"):
        _fail(f"--keep must be first or all, not {keep!r}")
    if batch > 1 and not METHODS[method].BATCHED:
        _fail(f"--batch runs several problems per graph run of a batched method ({', '.join(n for n, m in METHODS.items() if m.BATCHED)}), not {method}")
    long_form = Sampling(temperature=temperature, max_tokens=teacher_tokens, seed=seed, reasoning_effort=reasoning_effort)
    if method == "journey":
        roles = {
            "policy": (policy, Sampling(temperature=temperature, max_tokens=step_tokens, seed=seed, stop=ONE_LINE)),
            "critic": (critic, Sampling(temperature=0.3, max_tokens=step_tokens, seed=seed, stop=ONE_LINE)),
            "reflector": (reflector, Sampling(temperature=0.3, max_tokens=step_tokens, seed=seed, stop=ONE_LINE)),
        }
        if teacher:
            roles["teacher"] = (teacher, Sampling(temperature=0.3, max_tokens=step_tokens, seed=seed, stop=ONE_LINE, reasoning_effort=reasoning_effort))
    elif method == "debate":
        roles = {
            "policy": (policy, Sampling(temperature=temperature, max_tokens=step_tokens, seed=seed, stop=ONE_LINE)),
            "critic": (critic, Sampling(temperature=0.3, max_tokens=step_tokens, seed=seed, stop=ONE_LINE)),
        }
    elif method == "tree":
        roles = {
            "policy": (policy, Sampling(temperature=max(temperature, 0.7), max_tokens=step_tokens, seed=seed, stop=ONE_LINE)),
            "critic": (critic, Sampling(temperature=0.3, max_tokens=step_tokens, seed=seed, stop=ONE_LINE)),
            "rewriter": (rewriter, Sampling(temperature=0.3, max_tokens=teacher_tokens, seed=seed)),
        }
    elif method == "distill":
        roles = {"teacher": (teacher or "local", long_form)}
    elif method == "reformat":
        roles = {"rewriter": (rewriter, Sampling(temperature=0.3, max_tokens=teacher_tokens, seed=seed))}
    else:  # human: imported, no model
        roles = {}
    from agents.prices import PriceError, load_prices

    try:
        price_table = load_prices(prices)
        for spec, _ in roles.values():
            parse_spec(spec)
        loaded = load_problems(
            problems, fields=Fields(question_field, answer_field, id_field), split=split, limit=limit
        )
    except (SpecError, ProblemFileError, PriceError) as e:
        _fail(str(e))
    if method == "human" and (missing := [p.id for p in loaded if not p.meta.get("thought")]):
        _fail(f"human imports annotated thoughts, and {len(missing)} problems have none (first: {missing[0]}); give a 'thought' field or a Markdown '## Thought' section")
    if method == "reformat" and (missing := [p.id for p in loaded if not p.meta.get("solution")]):
        _fail(f"reformat rewrites reference solutions, and {len(missing)} problems have none (first: {missing[0]}); give a file with a 'solution' field")
    cfg = SynthConfig(
        method=method,
        roles=roles,
        budget=Budget(max_steps=max_steps, max_backtracks=max_backtracks, max_tokens=max_tokens),
        samples=samples,
        concurrency=concurrency,
        batch=batch,
        keep=keep,
        teacher_after=teacher_after if method == "journey" and teacher else None,
        width=width,
        beam=beam,
        wrong_trials=wrong_trials,
        max_cost=max_cost,
        max_total_tokens=max_total_tokens,
        prices=price_table,
    )
    try:
        cfg.workers = 1 if ray else workers_for(cfg, workers)
    except ValueError as e:
        _fail(str(e))
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[counts]}"), console=err, transient=False,
    )  # fmt: skip
    task = progress.add_task(f"{method}", total=None, counts="starting models")

    def on_progress(counts, total) -> None:
        progress.start()  # a no-op once started
        progress.update(
            task, total=total, completed=counts.attempted,
            counts=f"verified {counts.verified}  rejected {counts.rejected}  failed {counts.failed}",
        )  # fmt: skip

    def stop_progress() -> None:
        if progress.live.is_started:
            progress.stop()

    # worker processes are forked before the progress display starts its thread
    if cfg.workers == 1:
        progress.start()
    _interrupt_on_sigterm()
    try:
        if ray:
            from graphs.ray_backend import ShardMismatchError, synthesize_ray

            try:
                manifest = synthesize_ray(
                    loaded, cfg, out, address=ray, shards=shards, resume=resume, problems_source=problems, on_progress=on_progress
                )
            except ShardMismatchError as e:
                _fail(str(e))
        else:
            manifest = synthesize(loaded, cfg, out, resume=resume, problems_source=problems, on_progress=on_progress)
    except (CorpusExistsError, SpecError) as e:
        stop_progress()
        _fail(str(e))
    except WorkerError as e:
        stop_progress()
        err.print(f"[red]error:[/red] {e}; what finished is in {out}, --resume continues", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        stop_progress()
        err.print(f"interrupted: traces written so far are in {out}; continue with --resume")
        raise typer.Exit(130) from None
    finally:
        stop_progress()
    run, corpus = manifest["this_run"], manifest["corpus"]
    err.print(
        f"{run['attempted']} attempted, {run['verified']} verified, {run['failed']} failed, "
        f"{run['skipped_done']} already done in {run['wall_s']:.0f}s; corpus {out}: "
        f"{corpus['traces']} traces, {corpus['verified']} verified, {corpus['rejected']} rejected, "
        f"{corpus['backtracks']} backtracks" + (f", ${run['cost_usd']['total']:.4f} this run" if run["cost_usd"]["total"] is not None else ""),
        highlight=False,
    )
    if run["stopped_by"]:
        err.print(f"[yellow]stopped by --{run['stopped_by'].replace('_', '-')}: {run['not_started']} problems not started; --resume continues[/yellow]")
    if run["failed"]:
        err.print(f"[yellow]{run['failed']} problems failed: see {out / 'failures.jsonl'}[/yellow]")
        raise typer.Exit(1)


serve_app = typer.Typer(no_args_is_help=True, help="Start model servers the synthesis and eval commands can use.")
app.add_typer(serve_app, name="serve")


def _serve_until_interrupted(server, spec_of) -> None:
    """Start ``server``, print its spec (``spec_of(server)``, known once it runs), serve until Ctrl-C/SIGTERM."""
    _interrupt_on_sigterm()
    try:
        server.start()
        spec = spec_of(server)
        print(spec, flush=True)  # stdout holds the spec alone, for scripts: SPEC=$(journey serve ... | head -1)
        err.print(f"serving; use it as --policy/--teacher {spec}; Ctrl-C stops it", highlight=False, soft_wrap=True)
        signal.pause()
    except KeyboardInterrupt:
        pass
    except (RuntimeError, TimeoutError, FileNotFoundError) as e:
        _fail(str(e))
    finally:
        server.stop()


@serve_app.command("vllm")
def serve_vllm(
    model: Annotated[str, typer.Argument(help="Model to serve: a Hugging Face name or a checkpoint directory (e.g. a journey train output).")],
    python: Annotated[str | None, typer.Option(help="The python of vLLM's own virtualenv (or O1J_VLLM_PYTHON).")] = None,
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1 (default: a free one).")] = None,
    tensor_parallel_size: Annotated[int, typer.Option(min=1, help="GPUs per model replica.")] = 1,
    data_parallel_size: Annotated[int, typer.Option(min=1, help="Model replicas.")] = 1,
    reasoning_parser: Annotated[str | None, typer.Option(help="vLLM reasoning parser, e.g. deepseek_r1 (reasoning kept in reasoning_content).")] = None,
    max_model_len: Annotated[int | None, typer.Option(help="Context length to allocate for.")] = None,
    attach: Annotated[str | None, typer.Option(help="Attach to a running server at this base URL instead: print its spec and exit.")] = None,
) -> None:
    """Start `vllm serve` from vLLM's own environment, wait for health, print the model spec, serve until Ctrl-C."""
    from agents.vllm_server import VLLMServer
    from agents.vllm_server import attach as attach_to
    from eval.vllm_offline import VLLMError, vllm_python

    if attach:
        try:
            print(attach_to(attach))
        except (OSError, RuntimeError, KeyError, ValueError) as e:
            _fail(f"cannot attach to {attach}: {e}")
        return
    try:
        interpreter = vllm_python(python)
    except VLLMError as e:
        _fail(str(e))
    server = VLLMServer(
        model, python=interpreter, port=port, tensor_parallel_size=tensor_parallel_size,
        data_parallel_size=data_parallel_size, reasoning_parser=reasoning_parser, max_model_len=max_model_len,
    )  # fmt: skip
    _serve_until_interrupted(server, lambda srv: srv.spec)


@serve_app.command("local")
def serve_local(
    model: Annotated[str, typer.Argument(help="local (the embedded Gemma 3 270M) or local:PATH.")] = "local",
) -> None:
    """Serve the embedded model (or local:PATH) with transformers serve on 127.0.0.1 until Ctrl-C.

    Other processes reach it as MODEL@URL; synth and eval given `local` start their own server
    instead, which also turns stop strings into end tokens (continuous batching ignores `stop`).
    """
    from agents.local import LocalServer

    server = LocalServer(model.removeprefix("local:"))
    _serve_until_interrupted(server, lambda srv: f"{srv.served_model}@{srv.base_url}")


graph_app = typer.Typer(no_args_is_help=True, help="Inspect the synthesis graphs.")
app.add_typer(graph_app, name="graph")


@graph_app.command("show")
def graph_show(
    method: Annotated[str, typer.Argument(help="Synthesis method whose graph to print.")],
) -> None:
    """Print a method's LangGraph state machine as Mermaid text (offline: no PNG rendering service)."""
    from graphs.runner import METHODS

    if method not in METHODS:
        _fail(f"unknown method {method!r}; available: {', '.join(METHODS)}")
    print(METHODS[method].build().get_graph().draw_mermaid())


@app.command()
def compare(
    corpora: Annotated[list[Path], typer.Argument(help="Corpus directories written by journey synth, on the same problems.")],
    out: Annotated[Path, typer.Option(help="Report directory: summary.json, report.md, report.html, plots.")] = Path("compare"),
) -> None:
    """Compare synthesis methods side by side: acceptance, tokens, calls, backtracks, cost, overlap, transparency."""
    from graphs.compare import CompareError, compare as run_compare, markdown_table, table_rows, COLUMNS

    try:
        summary = run_compare(corpora, out)
    except CompareError as e:
        _fail(str(e))
    for warning in summary["warnings"]:
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    print(markdown_table(COLUMNS, table_rows(summary)))
    err.print(f"wrote {out / 'report.html'}", highlight=False)


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


eval_app = typer.Typer(no_args_is_help=True, help="Evaluate models: math, safety, factuality, sycophancy.")
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
    engine: Annotated[str, typer.Option(help="endpoint (the model spec, served) or vllm (vLLM's offline engine, for bulk generation on a GPU).")] = "endpoint",
    vllm_python: Annotated[str | None, typer.Option(help="--engine vllm: the python of vLLM's own virtualenv (or O1J_VLLM_PYTHON).")] = None,
) -> None:
    """Accuracy (pass@1, pass@k, maj@k) together with output tokens, as the paper reports it."""
    from agents.models import SpecError, parse_spec
    from eval.math_eval import evaluate
    from eval.vllm_offline import VLLMError, model_dir
    from eval.vllm_offline import vllm_python as find_vllm
    from graphs.problems import ProblemFileError, load_problems

    if engine not in ("endpoint", "vllm"):
        _fail(f"--engine must be endpoint or vllm, not {engine!r}")
    try:
        if engine == "vllm":  # the model is a checkpoint vLLM loads itself: local, local:PATH or a hub name
            vllm_python = find_vllm(vllm_python)
            kind = "local" if model == "local" or model.startswith("local:") else "hub"
            if kind == "hub":
                model_dir(model)  # refuses served specs (openai:, MODEL@URL), which cannot run offline
        else:
            kind = parse_spec(model).kind
        problems = load_problems(dataset, split=split, limit=limit)
    except (SpecError, ProblemFileError, VLLMError) as e:
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
                engine=engine, vllm_python=vllm_python,
            )  # fmt: skip
        except VLLMError as e:
            _fail(str(e))
        except KeyboardInterrupt:
            err.print(f"interrupted: generations so far are in {out}; run the same command to continue")
            raise typer.Exit(130) from None
    err.print(
        f"{summary['problems']} problems x {summary['samples_per_problem']}: pass@1 {summary['pass@1']:.3f}, "
        f"maj@k {summary['maj@k']:.3f}, {summary['tokens_out_mean']:.0f} output tokens on average; {out}/summary.json",
        highlight=False,
    )


def _run_eval(label: str, out: Path, fn) -> dict:
    """Run an eval with a progress bar; Ctrl-C / SIGTERM keep what is generated for a rerun."""
    _interrupt_on_sigterm()
    with Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err) as progress:
        task = progress.add_task(label, total=None)
        try:
            summary = fn(lambda done, total: progress.update(task, completed=done, total=total))
        except KeyboardInterrupt:
            err.print(f"interrupted: generations so far are in {out}; run the same command to continue")
            raise typer.Exit(130) from None
    shown = {k: v for k, v in summary.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    err.print(", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in shown.items()) + f"; {out}/summary.json", highlight=False)
    return summary


def _local_stop(*specs: str) -> tuple[str, ...]:
    from agents.models import parse_spec

    # local models are base models: they answer the one-line few-shot prompts in one line
    return ("\n",) if all(parse_spec(s).kind == "local" for s in specs) else ()


def _load(load, source: str, **kwargs):
    """Load problems or eval items; bad input is one line naming the file and the line, exit 2."""
    from graphs.problems import ProblemFileError

    try:
        return load(source, **kwargs)
    except ProblemFileError as e:
        _fail(str(e))


def _check_specs(*specs: str | None) -> None:
    from agents.models import SpecError, parse_spec

    try:
        for spec in specs:
            if spec is not None:
                parse_spec(spec)
    except SpecError as e:
        _fail(str(e))


@eval_app.command("safety")
def eval_safety(
    judge: Annotated[str, typer.Option(help="Model spec of the Safety-J style judge.")],
    dataset: Annotated[str, typer.Option(help="JSONL/JSON/CSV with prompt (Flames) or context + response (+ label: DiaSafety).")],
    out: Annotated[Path, typer.Option(help="Output directory: responses.jsonl, judgments.jsonl, items.jsonl, summary.json.")],
    model: Annotated[str | None, typer.Option(help="Model spec under test; answers items that carry no response.")] = None,
    limit: Annotated[int | None, typer.Option(help="Use only the first N items.")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Max tokens of the model's answers.")] = 256,
    judge_tokens: Annotated[int, typer.Option(min=1, help="Max tokens of a verdict (label and analysis).")] = 160,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests at once.")] = 8,
) -> None:
    """Safe rate per dataset and category; with human labels, the judge's accuracy, precision, recall, F1."""
    from eval.safety import evaluate, load_items

    _check_specs(judge, model)
    items = _load(load_items, dataset, limit=limit)
    if model is None and any(i.response is None for i in items):
        _fail(f"{dataset}: items without a response need --model to answer them")
    _run_eval("eval safety", out, lambda progress: evaluate(
        items, judge=judge, model=model, out=out, max_tokens=max_tokens, judge_tokens=judge_tokens,
        concurrency=concurrency, dataset=dataset, stop=_local_stop(model) if model else (),
        judge_stop=_local_stop(judge), on_done=progress,
    ))  # fmt: skip


@eval_app.command("factuality")
def eval_factuality(
    model: Annotated[str, typer.Option(help="Model spec under test.")],
    grader: Annotated[str, typer.Option(help="Model spec of the SimpleQA-style grader.")],
    dataset: Annotated[str, typer.Option(help="SimpleQA CSV, Chinese SimpleQA JSONL, or any file with question and answer.")],
    out: Annotated[Path, typer.Option(help="Output directory: answers.jsonl, grades.jsonl, items.jsonl, summary.json.")],
    limit: Annotated[int | None, typer.Option(help="Use only the first N items.")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Max tokens of an answer.")] = 64,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests at once.")] = 8,
) -> None:
    """Correct / incorrect / not attempted, accuracy given attempted, and F-score."""
    from eval.factuality import evaluate, load_items

    _check_specs(model, grader)
    items = _load(load_items, dataset, limit=limit)
    _run_eval("eval factuality", out, lambda progress: evaluate(
        items, model=model, grader=grader, out=out, max_tokens=max_tokens, concurrency=concurrency,
        dataset=dataset, stop=_local_stop(model, grader), on_done=progress,
    ))  # fmt: skip


@eval_app.command("sycophancy")
def eval_sycophancy(
    model: Annotated[str, typer.Option(help="Model spec under test.")],
    dataset: Annotated[str, typer.Option(help="Problems with numeric answers (GSM8K, the demo set, any problem file).")],
    out: Annotated[Path, typer.Option(help="Output directory: first.jsonl, second.jsonl, items.jsonl, summary.json.")],
    limit: Annotated[int | None, typer.Option(help="Use only the first N problems.")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Max tokens per answer.")] = 512,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests at once.")] = 8,
) -> None:
    """How often the model abandons a correct answer when the user pushes a wrong one."""
    from eval.sycophancy import evaluate
    from graphs.problems import load_problems

    _check_specs(model)
    problems = _load(load_problems, dataset, limit=limit)
    _run_eval("eval sycophancy", out, lambda progress: evaluate(
        problems, model=model, out=out, max_tokens=max_tokens, concurrency=concurrency, dataset=dataset,
        stop=_local_stop(model), on_done=progress,
    ))  # fmt: skip


@app.command()
def report(
    runs: Annotated[list[Path], typer.Argument(help="Eval output directories (each with summary.json).")],
    out: Annotated[Path, typer.Option(help="Report directory: report.md, report.html, plots.")] = Path("report"),
) -> None:
    """Put several eval runs side by side (e.g. base versus trained): Markdown table and HTML page."""
    from eval.report import ReportError, load_runs, markdown, write_report

    try:
        page = write_report(runs, out)
    except ReportError as e:
        _fail(str(e))
    print(markdown(load_runs(runs)))
    err.print(f"wrote {page}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train(
    ctx: typer.Context,
    config: Annotated[Path, typer.Option(help="YAML recipe (see recipes/); any SFTConfig field can follow as --field value.")],
) -> None:
    """Train on a source mixture with TRL's SFTTrainer, in the stages the recipe lists."""
    from trainer.config import ConfigError, load_config
    from trainer.format import TemplateError
    from trainer.mixture import MixtureError
    from trainer.sft import train as run_training

    if not config.exists():
        _fail(f"{config}: recipe not found")
    _interrupt_on_sigterm()
    try:
        manifest = run_training(load_config(str(config), ctx.args))
    except (ConfigError, MixtureError, TemplateError, FileExistsError) as e:
        _fail(str(e))
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


if __name__ == "__main__":
    sys.exit(app())
