"""``journey eval math``: generate K samples per problem, grade them, write metrics and a plot.

Writes ``OUT/samples.jsonl`` (prompt, output, extracted answer, correct, tokens per sample),
``OUT/summary.json`` (pass@1, pass@k, maj@k, tokens, the token-budget curve, per subject/level)
and ``OUT/accuracy_vs_tokens.png``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agents.checkpoints import is_local
from agents.models import Sampling
from agents.specs import prompt_style, public_spec
from answers.extract import answer_section
from corpus.artifacts import check_output, mark
from corpus.schema import Problem
from eval import intervals, metrics, protocol
from eval.generate import Job, identity, run_jobs
from eval.math import GradeConfig, Grader

SYSTEM = "Solve the math problem. Reason step by step, then finish with: The final answer is \\boxed{<answer>}."
SHOTS = (
    (
        "A box holds 6 eggs. How many eggs are in 5 boxes?",
        "Each box holds 6 eggs and there are 5 boxes, so 6 * 5 = 30. The final answer is \\boxed{30}.",
    ),
    ("Solve for x: 2x + 3 = 11.", "Subtract 3: 2x = 8. Divide by 2: x = 4. The final answer is \\boxed{4}."),
)


class EvalSetupError(ValueError):
    """A model and engine that cannot run as asked; ``str()`` is one line."""


def check_engine(model: str, engine: str, vllm_python: str | None = None) -> str | None:
    """Check that ``model`` can run on ``engine``; return the python of vLLM's environment for ``vllm``."""
    from agents.specs import SpecError, parse_spec
    from eval.vllm_offline import VLLMError, model_dir
    from eval.vllm_offline import vllm_python as find_vllm

    if engine not in ("endpoint", "vllm"):
        raise EvalSetupError(f"--engine must be endpoint or vllm, not {engine!r}")
    try:
        if engine == "endpoint":
            parse_spec(model)
            return None
        python = find_vllm(vllm_python)
        if not is_local(model):
            model_dir(model)  # a checkpoint vLLM loads itself; refuses served specs (openai:, MODEL@URL)
        return python
    except (SpecError, VLLMError) as e:
        raise EvalSetupError(str(e)) from None


PROMPTS = ("fewshot", "chat")


def trained_by_journey(model: str) -> bool:
    """``local:DIR`` written by ``journey train``: a run (its manifest says how to load it), or one of
    its stages (``stage.json``, written once the stage's model is saved)."""
    if not model.startswith("local:"):
        return False
    folder = Path(model.removeprefix("local:")).expanduser()
    try:
        if (folder / "manifest.json").exists():
            return str(json.loads((folder / "manifest.json").read_text()).get("load_with", "")).startswith("local:")
        stage = json.loads((folder / "stage.json").read_text())
        return isinstance(stage, dict) and {"hash", "model_in", "output_dir"} <= set(stage)
    except (OSError, ValueError):
        return False


def prompt_format(model: str, requested: str = "auto") -> str:
    """How to prompt: ``chat`` (the question as the one user turn, as the trainer formats a sample)
    for a checkpoint ``journey train`` wrote, ``fewshot`` ("Problem: ... Solution:" with two worked
    examples) for the rest; or what was asked."""
    if requested == "auto":
        return "chat" if trained_by_journey(model) else "fewshot"
    if requested not in PROMPTS:
        raise EvalSetupError(f"--prompt must be auto, fewshot or chat, not {requested!r}")
    return requested


def default_stop(model: str, prompt: str = "fewshot") -> tuple[str, ...]:
    """A newline for local models prompted few-shot: base models that cannot end their turn reliably
    answer the one-line prompt in one line. Nothing for the rest, nor for a chat-prompted model,
    which thinks over many lines (a trained model's "<think>\\n" would otherwise end at once)."""
    return prompt_style(model).stop if prompt == "fewshot" else ()


def _turn(question: str) -> str:
    # "Problem: ... Solution:" anchors small base models, which otherwise repeat a shot's question
    return f"Problem: {question}\nSolution:"


# budget forcing prompts a base model few-shot with thoughts in tags, as its continuation is read
THINKING_SYSTEM = (
    "Solve the math problem. Think it through inside <think> </think>, then finish with: "
    "The final answer is \\boxed{<answer>}."
)


def _thinking_shot(answer: str) -> str:
    reasoning, _, final = answer.rpartition(" The final answer is ")
    return f"<think>\n{reasoning}\n</think>\n\nThe final answer is {final}"


def messages(problem: Problem, prompt: str = "fewshot", thinking: bool = False) -> list[BaseMessage]:
    if prompt == "chat":  # the user turn exactly as trainer/format.py writes it
        return [HumanMessage(problem.question.strip())]
    return fewshot_messages(problem, thinking)


def fewshot_messages(problem: Problem, thinking: bool = False) -> list[BaseMessage]:
    out: list[BaseMessage] = [SystemMessage(THINKING_SYSTEM if thinking else SYSTEM)]
    for question, answer in SHOTS:
        out += [HumanMessage(_turn(question)), AIMessage(_thinking_shot(answer) if thinking else answer)]
    out.append(HumanMessage(_turn(problem.question)))
    return out


def prompt_record(prompt: str, thinking: bool = False) -> dict[str, Any]:
    """The prompt form and the digest of its fixed text, as a summary's protocol records it."""
    if prompt != "fewshot":
        return {"form": prompt, "sha256": protocol.digest("chat")}
    system = THINKING_SYSTEM if thinking else SYSTEM
    shots = [[q, _thinking_shot(a) if thinking else a] for q, a in SHOTS]
    return {"form": prompt, "sha256": protocol.digest([system, shots] if thinking else [SYSTEM, SHOTS])}


@dataclass(frozen=True)
class Decoding:
    """How each problem is sampled: K samples of at most ``max_tokens`` at ``temperature``, with these stops."""

    samples: int = 1
    max_tokens: int = 1024
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    seed: int | None = None  # sent to the engine (the endpoints that accept one)

    def sampling(self) -> Sampling:
        return Sampling(temperature=self.temperature, max_tokens=self.max_tokens, stop=self.stop, seed=self.seed)

    def record(self) -> dict[str, Any]:
        return {"samples": self.samples, "max_tokens": self.max_tokens, "temperature": self.temperature} | {
            "top_p": None,
            "stop": list(self.stop),
            "seed": self.seed,
        }


def _grade(rows: list[dict], rescue_judge: str | None = None, out: Path | None = None) -> tuple[list[dict], dict]:
    """Each generation graded (extracted answer, correct, truncated thinking), the rule's negatives
    put to the rescue judge when there is one (``eval.rescue``), then each one's maj@k vote; and
    the rescue's counts."""
    counts: dict = {}
    with Grader(GradeConfig()) as grader:
        found = grader.grade_outputs([r["answer"] for r in rows], [r["output"] for r in rows])
        graded = [
            r | {"extracted": a, "correct": ok, "truncated": answer_section(r["output"]) is None}
            for r, (a, ok) in zip(rows, found, strict=True)
        ]
        if rescue_judge is not None:
            from eval.rescue import rescue

            counts = rescue(graded, judge=rescue_judge, out=out, golds_parse=grader.verifier.golds_parse)
        by_problem: dict[str, list[dict]] = {}
        for row in graded:
            by_problem.setdefault(row["problem_id"], []).append(row)
        for group in by_problem.values():  # maj@k votes by equivalence, judged by the same verifier
            votes = metrics.vote_groups([r["extracted"] for r in group], [r["correct"] for r in group], grader.same)
            for row, vote in zip(group, votes, strict=True):
                row["vote"] = vote
    return graded, counts


def _listed(problems: list[Problem]) -> list[list[str]]:
    return sorted([p.id, p.question, p.answer] for p in problems)


def evaluate_repeats(problems: list[Problem], *, repeats: int, out: Path, decoding: Decoding, **kwargs) -> dict:
    """``evaluate`` ``repeats`` times, each with its own seed (``decoding.seed`` + r x K for K samples
    per problem, each sample adding its index; 0 when none) and nothing else changed, each run under ``out/repeats/seed-S``; ``out``'s summary has the mean and
    the spread of pass@1 across repeats, and an interval over problems of their mean score."""
    if repeats == 1:
        return evaluate(problems, out=out, decoding=decoding, **kwargs)
    check_output(out, "eval")
    mark(out, "eval")
    base = decoding.seed or 0
    runs, rows = [], []
    # sample k of repeat r is sent base + r * K + k: no two draws of the whole eval share a seed
    seeds = [base + r * decoding.samples for r in range(repeats)]
    for seed in seeds:
        seeded = dataclasses.replace(decoding, seed=seed)
        runs.append(evaluate(problems, out=out / "repeats" / f"seed-{seed}", decoding=seeded, **kwargs))
        rows += [
            json.loads(line) for line in (out / "repeats" / f"seed-{seed}" / "samples.jsonl").read_text().splitlines()
        ]
    with (out / "samples.jsonl").open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    scores = [run["pass@1"] for run in runs]
    summary = runs[0] | {
        "pass@1": statistics.fmean(scores),
        "repeats": {
            "n": repeats,
            "seeds": seeds,
            "pass@1": scores,
            "mean": statistics.fmean(scores),
            "sd": statistics.stdev(scores),
            "min": min(scores),
            "max": max(scores),
        },
        # over problems, each scored by its mean over every sample of every repeat
        "intervals": {"pass@1": intervals.bootstrap(list(intervals.per_problem(rows).values()))},
        "truncated_thinking": sum(run["truncated_thinking"] for run in runs),
        "wall_s": round(sum(run["wall_s"] for run in runs), 3),
        "first_repeat_only": "maj@k, pass@k, the budget curve and the subject tables are the first repeat's "
        f"(seed {base}); each repeat's summary is under repeats/",
    }
    recorded = summary["protocol"]["decoding"]  # the first repeat's, forcing included
    summary["protocol"] = summary["protocol"] | {"decoding": recorded | {"seed": base, "repeats": repeats}}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def evaluate(
    problems: list[Problem],
    *,
    spec: str,
    out: Path,
    decoding: Decoding = Decoding(),
    dataset: str = "",
    prompt: str = "fewshot",
    concurrency: int = 8,
    on_sample=None,
    engine: str = "endpoint",
    vllm_python: str | None = None,
    rescue_judge: str | None = None,
    forced=None,
) -> dict:
    """Generate, grade and summarize; with ``forced`` (``eval.budget.BudgetRun``: a budget and the
    template) every sample is budget-forced."""
    check_output(out, "eval")  # never into a corpus, pairs or a model
    mark(out, "eval")
    start = time.perf_counter()
    sampling = decoding.sampling()
    jobs = [
        Job(
            id=p.id,
            sample=s,
            messages=messages(p, prompt, thinking=forced is not None),
            fields={"problem_id": p.id, "question": p.question, "answer": p.answer}
            | {k: p.meta[k] for k in ("subject", "level") if k in p.meta},
        )
        for p in problems
        for s in range(decoding.samples)
    ]
    rows = _generate(
        jobs,
        spec=spec,
        sampling=sampling,
        path=out / "generations.jsonl",
        engine=engine,
        vllm_python=vllm_python,
        concurrency=concurrency,
        on_sample=on_sample,
        forced=forced,
    )
    graded, rescued = _grade(rows, rescue_judge, out)
    with (out / "samples.jsonl").open("w", encoding="utf-8") as f:
        for row in graded:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    summary = {
        "kind": "math",
        "headline": "pass@1",
        "model": public_spec(spec),
        "dataset": dataset,
        "produced_by": identity(spec, sampling, engine=engine),
        "prompt": {"format": prompt, "system": THINKING_SYSTEM if forced else SYSTEM, "shots": len(SHOTS)}
        if prompt == "fewshot"
        else {"format": prompt},
        "grading": "answers/extract.py then math-verify in workers; maj@k by equivalence, ties split",
        "sampling": decoding.record(),
        "engine": engine,
        "protocol": protocol.record(
            produced_by=identity(spec, sampling, engine=engine),
            decoding=decoding.record(),
            prompt=prompt_record(prompt, thinking=forced is not None),
            dataset={"name": dataset, "problems": len(problems), "sha256": protocol.digest(_listed(problems))},
            engine=protocol.engine_record(engine, spec),
        ),
        **metrics.summarize(graded),
        # pass@1 with its 95% interval over problems (percentile bootstrap, seed stated)
        "intervals": {"pass@1": intervals.bootstrap(list(intervals.per_problem(graded).values()))},
        # samples whose thinking never closed (the budget ran out): no answer, counted apart from wrong ones
        "truncated_thinking": sum(r["truncated"] for r in graded),
        "wall_s": round(time.perf_counter() - start, 3),
    }
    if forced is not None:
        summary["forcing"] = _forced_summary(graded, forced)
        # the template by its digest: where it lies on this machine does not move a score
        summary["protocol"]["decoding"]["forcing"] = forced.forcing.record() | {
            "template_sha256": forced.template.digest
        }
    if rescue_judge is not None:  # the rule's own pass@1 beside the rescued one, and what the judge did
        rule_only = [r | {"correct": r["correct"] and r["verdict_source"] == "rule"} for r in graded]
        summary["rescue"] = rescued | {
            "judge": public_spec(rescue_judge),
            "pass@1_rule": metrics.summarize(rule_only)["pass@1"],
        }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    plot_budget({f"{public_spec(spec)} · {dataset}": summary}, out / "accuracy_vs_tokens.png")
    return summary


def _generate(jobs: list[Job], *, spec: str, sampling, path: Path, engine: str, forced, **backend) -> list[dict]:
    """Every job's row: budget-forced (``forced``), from vLLM's offline engine, or from the endpoint."""
    if forced is not None:
        from eval.budget import generate_forced

        return generate_forced(
            jobs,
            spec=spec,
            sampling=sampling,
            forcing=forced.forcing,
            template=forced.template,
            path=path,
            engine=engine,
            vllm_python=backend["vllm_python"],
            concurrency=backend["concurrency"],
            on_done=backend["on_sample"],
        )
    if engine == "vllm":  # vLLM's offline engine, in its own environment, for bulk generation
        from eval.vllm_offline import generate_offline

        return generate_offline(jobs, spec=spec, sampling=sampling, path=path, python=backend["vllm_python"])
    return run_jobs(
        jobs,
        spec=spec,
        sampling=sampling,
        path=path,
        concurrency=backend["concurrency"],
        on_done=backend["on_sample"],
    )


def _forced_summary(graded: list[dict], forced) -> dict[str, Any]:
    """What budget forcing did: thinking tokens, cut thoughts, "Wait"s, answers found."""
    thinking = [r["thinking_tokens"] for r in graded]
    template = forced.template
    return {
        "settings": forced.forcing.record() | {"template": str(template.folder), "template_sha256": template.digest},
        "thinking_tokens_mean": statistics.fmean(thinking),
        "thinking_tokens_max": max(thinking),
        "cut": sum(r["cut"] for r in graded),
        "waits_used_mean": statistics.fmean(r["waits_used"] for r in graded),
        "answered": sum(r["extracted"] is not None for r in graded),
        "answer_closed_here": sum(r["answer_closed_here"] for r in graded),
    }


def evaluate_budgets(problems: list[Problem], *, budgets: list[int], waits: int, template, out: Path, **kwargs) -> dict:
    """``evaluate_repeats`` under each thinking budget (``out/budget-N``), the same problems, prompt
    and sampling; ``out``'s summary is the largest budget's with the curve of accuracy against
    thinking tokens (``budget_forcing``, each point with its interval) and ``accuracy_vs_thinking.png``."""
    from eval.budget import BudgetRun
    from eval.forcing import Forcing

    check_output(out, "eval")
    mark(out, "eval")
    points, runs = [], {}
    for budget in budgets:
        forced = BudgetRun(Forcing(budget, waits), template)
        run = evaluate_repeats(problems, out=out / f"budget-{budget}", forced=forced, **kwargs)
        runs[budget] = run
        rows = [json.loads(line) for line in (out / f"budget-{budget}" / "samples.jsonl").read_text().splitlines()]
        points.append(
            {
                "budget": budget,
                "waits": waits,
                "accuracy": run["pass@1"],
                "interval": run["intervals"]["pass@1"],
                "thinking_tokens_mean": statistics.fmean(r["thinking_tokens"] for r in rows),
                "thinking_tokens_max": max(r["thinking_tokens"] for r in rows),
                "samples": len(rows),
                "answered": sum(r["extracted"] is not None for r in rows),
                "cut": sum(r["cut"] for r in rows),
                "repeats": run.get("repeats", {}).get("n", 1),
            }
        )
    # the headline budget's samples beside its summary: what report's intervals and view read
    shutil.copyfile(out / f"budget-{budgets[-1]}" / "samples.jsonl", out / "samples.jsonl")
    summary = runs[budgets[-1]] | {
        "headline_budget": budgets[-1],
        "budget_forcing": points,
        "budget_runs": {str(b): f"budget-{b}" for b in budgets},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    plot_thinking({f"{summary['model']} · wait {waits}": points}, out / "accuracy_vs_thinking.png")
    return summary


@contextlib.contextmanager
def _accuracy_figure(path: Path, xlabel: str, ylabel: str):
    """An accuracy plot's axes (drawn on by the caller), then labelled, saved to ``path`` and closed."""
    import matplotlib

    matplotlib.use("Agg")  # no display, no network
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    try:
        yield ax
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(path, dpi=120)
    finally:
        plt.close(fig)


def plot_thinking(curves: dict[str, list[dict]], path: Path) -> None:
    """Accuracy (with its 95% interval) against mean thinking tokens, one line per run, budgets marked."""
    with _accuracy_figure(path, "mean thinking tokens per sample", "accuracy (pass@1)") as ax:
        for label, points in curves.items():
            x = [p["thinking_tokens_mean"] for p in points]
            y = [p["accuracy"] for p in points]
            err = [
                [p["accuracy"] - p["interval"]["lo"] for p in points],
                [p["interval"]["hi"] - p["accuracy"] for p in points],
            ]
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=label)
            for p in points:
                ax.annotate(f"≤{p['budget']}", (p["thinking_tokens_mean"], p["accuracy"]), fontsize=7)


def plot_budget(runs: dict[str, dict], path: Path) -> None:
    """Accuracy against average output tokens per problem, one line per run (maj@k to the right)."""
    with _accuracy_figure(path, "average output tokens per problem", "accuracy") as ax:
        for label, summary in runs.items():
            curve = summary["budget_curve"]
            ax.plot([c["avg_output_tokens"] for c in curve], [c["accuracy"] for c in curve], marker="o", label=label)
            for c in curve:
                ax.annotate(f"maj@{c['samples']}", (c["avg_output_tokens"], c["accuracy"]), fontsize=7)
