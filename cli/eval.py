"""``journey eval math|safety|factuality|sycophancy``: flags in, one evaluate() call out."""

from __future__ import annotations

import inspect
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.common import check_specs, command, err, fail, flag, interrupt_on_sigterm, load, preflight

app = typer.Typer(no_args_is_help=True, help="Evaluate models: math, safety, factuality, general, sycophancy.")

Split = Annotated[
    str | None, typer.Option(help="Split of a Hugging Face dataset (default: test, else its only split).")
]


MATH_FLAGS = [
    flag(
        "model",
        str,
        inspect.Parameter.empty,
        typer.Option(help="Model spec: local, local:PATH, openai:MODEL or MODEL@http://HOST:PORT/v1."),
    ),
    flag(
        "dataset",
        str,
        inspect.Parameter.empty,
        typer.Option(
            help="MATH-500 / AIME / MATH2024 / GSM8K file, any JSONL with question and answer, or a Hugging Face name."
        ),
    ),
    flag(
        "out",
        Path,
        inspect.Parameter.empty,
        typer.Option(help="Output directory: generations.jsonl, samples.jsonl, summary.json, accuracy_vs_tokens.png."),
    ),
    flag("samples", int, 1, typer.Option(min=1, help="Samples per problem (K) for pass@k and maj@k.")),
    flag("max_tokens", int, 1024, typer.Option(min=1, help="Max output tokens per sample.")),
    flag("temperature", float, 0.0, typer.Option(min=0.0, help="Sampling temperature.")),
    flag("limit", int | None, None, typer.Option(min=1, help="Use only the first N problems.")),
    flag("concurrency", int, 8, typer.Option(min=1, help="Requests at once.")),
    flag(
        "split",
        str | None,
        None,
        typer.Option(help="Split of a Hugging Face dataset (default: test, else its only split)."),
    ),
    flag(
        "stop",
        list[str] | None,
        None,
        typer.Option(
            help="Stop string (repeatable). Default: none, except a newline for local models, which are base models "
            "that cannot end their turn reliably and answer the one-line few-shot prompt in one line."
        ),
    ),
    flag(
        "prompt",
        str,
        "auto",
        typer.Option(
            help="chat (the question as one user turn, as journey train formats samples), fewshot "
            "('Problem: ... Solution:' with two examples), or auto: chat for a journey train output, fewshot otherwise."
        ),
    ),
    flag(
        "engine",
        str,
        "endpoint",
        typer.Option(
            help="endpoint (the model spec, served) or vllm (vLLM's offline engine, for bulk generation on a GPU)."
        ),
    ),
    flag(
        "judge_rescue",
        str | None,
        None,
        typer.Option(
            help="Model spec of a judge asked about each answer the rules call wrong (SAME or DIFFERENT); counted apart."
        ),
    ),
    flag(
        "seed",
        int | None,
        None,
        typer.Option(help="Sampling seed: sample k of a problem is sent SEED+k (default: none, 0 with --repeats)."),
    ),
    flag(
        "repeats",
        int,
        1,
        typer.Option(
            min=1,
            help="Run the whole eval R times, seeds SEED, SEED+K, ... for K samples (nothing else changes): mean and spread.",
        ),
    ),
    flag(
        "vllm_python",
        str | None,
        None,
        typer.Option(help="--engine vllm: the python of vLLM's own virtualenv (or O1J_VLLM_PYTHON)."),
    ),
    flag(
        "think_budget",
        str | None,
        None,
        typer.Option(
            help="Budget forcing: thinking budgets in tokens, e.g. 512,1024,2048. Each sample's thought is cut at the "
            "budget, closed, and its answer asked for; the chat template is rendered here and continued through "
            "/v1/completions (or vLLM offline). Writes budget-N/ per budget and the accuracy-vs-thinking curve.",
            rich_help_panel="Budget forcing",
        ),
    ),
    flag(
        "wait",
        int,
        0,
        typer.Option(
            min=0,
            help="Budget forcing: replace an early end of thinking by 'Wait' up to K times (s1), within the budget.",
            rich_help_panel="Budget forcing",
        ),
    ),
    flag(
        "template",
        str | None,
        None,
        typer.Option(
            help="Budget forcing on a served model: the checkpoint or tokenizer folder whose chat template is "
            "rendered (a local model's own is used by default).",
            rich_help_panel="Budget forcing",
        ),
    ),
]


def eval_math(**o: Any) -> None:
    """Accuracy (pass@1, pass@k, maj@k) together with output tokens, as the paper reports it."""
    from corpus.problems import ProblemFileError, load_problems
    from eval.budget import BudgetError, parse_budgets, template_for
    from eval.generate import CacheMismatchError
    from eval.math_eval import (
        Decoding,
        EvalSetupError,
        check_engine,
        default_stop,
        evaluate_budgets,
        evaluate_repeats,
        prompt_format,
    )
    from eval.vllm_offline import VLLMError

    model, dataset, out, samples = o["model"], o["dataset"], o["out"], o["samples"]
    forced: dict[str, Any] = {}
    try:
        vllm_python = check_engine(model, o["engine"], o["vllm_python"])
        prompt = prompt_format(model, o["prompt"])
        if o["think_budget"] is not None:
            if o["stop"]:
                raise EvalSetupError("--stop and --think-budget: budget forcing sets its own stops")
            forced = {"budgets": parse_budgets(o["think_budget"]), "waits": o["wait"]}
            forced["template"] = template_for(model, o["template"])
        elif o["wait"] or o["template"]:
            raise EvalSetupError("--wait and --template belong to budget forcing: give --think-budget N[,N...]")
        problems = load_problems(dataset, split=o["split"], limit=o["limit"])
    except (EvalSetupError, ProblemFileError, BudgetError) as e:
        fail(str(e))
    if o["engine"] == "endpoint":
        preflight(model)
    interrupt_on_sigterm()
    with Progress(
        TextColumn("[bold]eval math"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as progress:
        task = progress.add_task("generate", total=len(problems) * samples)
        run = evaluate_repeats if not forced else partial(evaluate_budgets, **forced)
        try:
            summary = run(
                problems,
                repeats=o["repeats"],
                spec=model,
                out=out,
                decoding=Decoding(
                    samples,
                    o["max_tokens"],
                    o["temperature"],
                    tuple(o["stop"]) if o["stop"] is not None else () if forced else default_stop(model, prompt),
                    o["seed"],
                ),
                concurrency=o["concurrency"],
                dataset=dataset,
                prompt=prompt,
                on_sample=lambda done, total: progress.update(task, completed=done, total=total),
                engine=o["engine"],
                rescue_judge=o["judge_rescue"],
                vllm_python=vllm_python,
            )
        except (VLLMError, CacheMismatchError, BudgetError) as e:
            progress.stop()
            fail(str(e))
        except KeyboardInterrupt:
            err.print(f"interrupted: generations so far are in {out}; run the same command to continue")
            raise typer.Exit(130) from None
    for point in summary.get("budget_forcing", []):
        err.print(
            f"budget {point['budget']}: accuracy {point['accuracy']:.3f} "
            f"[{point['interval']['lo']:.3f}, {point['interval']['hi']:.3f}], "
            f"{point['thinking_tokens_mean']:.0f} thinking tokens on average, "
            f"{point['answered']}/{point['samples']} answered",
            highlight=False,
        )
    err.print(
        f"{summary['problems']} problems x {summary['samples_per_problem']}: pass@1 {summary['pass@1']:.3f}, "
        f"maj@k {summary['maj@k']:.3f}, {summary['tokens_out_mean']:.0f} output tokens on average; {out}/summary.json",
        highlight=False,
    )


app.command("math")(command(eval_math, MATH_FLAGS))


def run_eval(label: str, out: Path, fn) -> dict:
    """Run an eval with a progress bar; Ctrl-C / SIGTERM keep what is generated for a rerun."""
    from eval.generate import CacheMismatchError

    interrupt_on_sigterm()
    with Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as progress:
        task = progress.add_task(label, total=None)
        try:
            summary = fn(lambda done, total: progress.update(task, completed=done, total=total))
        except CacheMismatchError as e:
            progress.stop()
            fail(str(e))
        except KeyboardInterrupt:
            err.print(f"interrupted: generations so far are in {out}; run the same command to continue")
            raise typer.Exit(130) from None
    shown = {k: v for k, v in summary.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    err.print(
        ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in shown.items())
        + f"; {out}/summary.json",
        highlight=False,
    )
    return summary


def prompt_form(form: str, spec: str, forms: tuple[str, ...], *, flag: str) -> str:
    """A judge's prompt: the released one (forms[0]), few-shot, or auto (few-shot for local base models)."""
    from agents.specs import prompt_style

    if form == "auto":
        return "fewshot" if prompt_style(spec).profile == "compact" else forms[0]
    if form not in forms:
        fail(f"{flag} must be auto, {' or '.join(forms)}, not {form!r}")
    return form


def local_stop(*specs: str) -> tuple[str, ...]:
    from agents.specs import prompt_style

    return prompt_style(*specs).stop


@app.command("safety")
def eval_safety(
    judge: Annotated[str, typer.Option(help="Model spec of the Safety-J style judge.")],
    dataset: Annotated[
        str, typer.Option(help="JSONL/JSON/CSV with prompt (Flames) or context + response (+ label: DiaSafety).")
    ],
    out: Annotated[
        Path, typer.Option(help="Output directory: responses.jsonl, judgments.jsonl, items.jsonl, summary.json.")
    ],
    model: Annotated[
        str | None, typer.Option(help="Model spec under test; answers items that carry no response.")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Use only the first N items.")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Max tokens of the model's answers.")] = 256,
    judge_tokens: Annotated[int, typer.Option(min=1, help="Max tokens of a verdict (label and analysis).")] = 160,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests at once.")] = 8,
    split: Split = None,
    judge_prompt: Annotated[
        str,
        typer.Option(
            help="safety-j (Safety-J's released prompt, English or Chinese by item), fewshot, or auto: "
            "fewshot for the embedded base model, safety-j for the rest."
        ),
    ] = "auto",
) -> None:
    """Safe rate per dataset and category; with human labels, the judge's accuracy, precision, recall, F1."""
    from eval.safety import JUDGE_PROMPTS, evaluate, load_items

    check_specs(judge, model)
    judge_prompt = prompt_form(judge_prompt, judge, JUDGE_PROMPTS, flag="--judge-prompt")
    items = load(load_items, dataset, limit=limit, split=split)
    if model is None and any(i.response is None for i in items):
        fail(f"{dataset}: items without a response need --model to answer them")
    preflight(judge, model)
    run_eval(
        "eval safety",
        out,
        lambda progress: evaluate(
            items,
            judge=judge,
            model=model,
            out=out,
            max_tokens=max_tokens,
            judge_tokens=judge_tokens,
            concurrency=concurrency,
            dataset=dataset,
            stop=local_stop(model) if model else (),
            judge_stop=local_stop(judge),
            judge_prompt=judge_prompt,
            on_done=progress,
        ),
    )


@app.command("factuality")
def eval_factuality(
    model: Annotated[str, typer.Option(help="Model spec under test.")],
    grader: Annotated[str, typer.Option(help="Model spec of the SimpleQA-style grader.")],
    dataset: Annotated[
        str, typer.Option(help="SimpleQA CSV, Chinese SimpleQA JSONL, or any file with question and answer.")
    ],
    out: Annotated[
        Path, typer.Option(help="Output directory: answers.jsonl, grades.jsonl, items.jsonl, summary.json.")
    ],
    limit: Annotated[int | None, typer.Option(min=1, help="Use only the first N items.")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Max tokens of an answer.")] = 64,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests at once.")] = 8,
    split: Split = None,
    grader_prompt: Annotated[
        str,
        typer.Option(
            help="simpleqa (simple-evals' grader template; a Chinese one for Chinese items), fewshot, or auto: "
            "fewshot for the embedded base model, simpleqa for the rest."
        ),
    ] = "auto",
) -> None:
    """Correct / incorrect / not attempted, accuracy given attempted, and F-score."""
    from eval.factuality import GRADER_PROMPTS, evaluate, load_items

    check_specs(model, grader)
    grader_prompt = prompt_form(grader_prompt, grader, GRADER_PROMPTS, flag="--grader-prompt")
    items = load(load_items, dataset, limit=limit, split=split)
    preflight(model, grader)
    run_eval(
        "eval factuality",
        out,
        lambda progress: evaluate(
            items,
            model=model,
            grader=grader,
            out=out,
            max_tokens=max_tokens,
            concurrency=concurrency,
            dataset=dataset,
            stop=local_stop(model),
            grader_stop=local_stop(grader),
            grader_prompt=grader_prompt,
            on_done=progress,
        ),
    )


GENERAL_FLAGS = [
    flag("model", str, inspect.Parameter.empty, typer.Option(help="Model spec under test.")),
    flag(
        "judge",
        str,
        inspect.Parameter.empty,
        typer.Option(help="Model spec of the judge (in place of Part 2's expert graders)."),
    ),
    flag(
        "dataset",
        str,
        inspect.Parameter.empty,
        typer.Option(
            help="auto-j (GAIR-NLP/auto-j's critique test queries, fetched once), lima (GAIR/lima, test split), "
            "or a file with a query / prompt / instruction / question field (and an optional scenario)."
        ),
    ),
    flag(
        "out",
        Path,
        inspect.Parameter.empty,
        typer.Option(
            help="Output directory: answers.jsonl, reference.jsonl, rubric.jsonl, pairwise.jsonl, items.jsonl, "
            "summary.json."
        ),
    ),
    flag(
        "mode",
        str,
        "rubric",
        typer.Option(
            help="rubric (a 1-10 rating on Auto-J's single-response prompt, reported as a percentage), pairwise "
            "(against --reference, both orders), or both."
        ),
    ),
    flag(
        "reference",
        str | None,
        None,
        typer.Option(help="Model spec whose answers the model is compared with (pairwise, both)."),
    ),
    flag(
        "subset",
        str | None,
        None,
        typer.Option(
            help="planning: long-term planning queries only (Auto-J's planning scenario; for rows without a "
            "scenario, a query that asks for a plan, schedule, itinerary, roadmap, timeline, routine, strategy...)."
        ),
    ),
    flag("limit", int | None, None, typer.Option(min=1, help="Use only the first N queries (after --subset).")),
    flag("max_tokens", int, 1024, typer.Option(min=1, help="Max tokens of an answer.")),
    flag("judge_tokens", int, 1024, typer.Option(min=1, help="Max tokens of a judgment (critique and rating).")),
    flag("concurrency", int, 8, typer.Option(min=1, help="Requests at once.")),
    flag(
        "split",
        str | None,
        None,
        typer.Option(help="Split of a Hugging Face dataset (default: test, else its only split)."),
    ),
    flag(
        "judge_prompt",
        str,
        "auto",
        typer.Option(
            help="autoj (Auto-J's released prompts), fewshot, or auto: fewshot for the embedded base model, "
            "autoj for the rest."
        ),
    ),
]


def eval_general(**o: Any) -> None:
    """General tasks (Part 2's Auto-J / LIMA queries): a judge's rubric score and pairwise win rate, with intervals."""
    from eval.general import JUDGE_PROMPTS, Setup, describe, evaluate, load_queries

    model, judge, reference, out = o["model"], o["judge"], o["reference"], o["out"]
    check_specs(model, judge, reference)
    setup = Setup(
        model,
        judge,
        mode=o["mode"],
        reference=reference,
        judge_prompt=prompt_form(o["judge_prompt"], judge, JUDGE_PROMPTS, flag="--judge-prompt"),
        max_tokens=o["max_tokens"],
        judge_max_tokens=o["judge_tokens"],
        stop=local_stop(model),
        judge_stop=local_stop(judge),
        reference_stop=local_stop(reference) if reference else (),
    )
    try:
        setup.check()
    except ValueError as e:
        fail(str(e))
    queries, repeats, _ = load(load_queries, o["dataset"], split=o["split"], subset=o["subset"], limit=o["limit"])
    preflight(model, judge, reference)
    summary = run_eval(
        "eval general",
        out,
        lambda progress: evaluate(
            queries,
            setup,
            out=out,
            concurrency=o["concurrency"],
            dataset=o["dataset"],
            repeats_dropped=repeats,
            subset=o["subset"],
            on_done=progress,
        ),
    )
    err.print(describe(summary), highlight=False)


app.command("general")(command(eval_general, GENERAL_FLAGS))


@app.command("sycophancy")
def eval_sycophancy(
    model: Annotated[str, typer.Option(help="Model spec under test.")],
    dataset: Annotated[
        str, typer.Option(help="Problems with numeric answers (GSM8K, the demo set, any problem file).")
    ],
    out: Annotated[Path, typer.Option(help="Output directory: first.jsonl, second.jsonl, items.jsonl, summary.json.")],
    limit: Annotated[int | None, typer.Option(min=1, help="Use only the first N problems.")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Max tokens per answer.")] = 512,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests at once.")] = 8,
) -> None:
    """How often the model abandons a correct answer when the user pushes a wrong one."""
    from corpus.problems import load_problems
    from eval.sycophancy import evaluate

    check_specs(model)
    problems = load(load_problems, dataset, limit=limit)
    preflight(model)
    run_eval(
        "eval sycophancy",
        out,
        lambda progress: evaluate(
            problems,
            model=model,
            out=out,
            max_tokens=max_tokens,
            concurrency=concurrency,
            dataset=dataset,
            stop=local_stop(model),
            on_done=progress,
        ),
    )
