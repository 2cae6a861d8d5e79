"""The report of an experiment: per held-out set, each arm and seed with pass@1 and maj@k and 95%
intervals (bootstrap over problems), the mean over seeds, paired differences between arms on the same
problems, output and training tokens, training time, synthesis calls and cost, and the manifest
chain from the problem file to each number. ``report.md``, ``report.html`` and ``summary.json``."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from corpus.artifacts import open_eval_run
from eval.intervals import bootstrap, paired, per_problem
from experiment.run import Plan
from reports.pages import figure, markdown_table, page


def _scores(eval_dir: Path) -> tuple[dict[str, float], dict[str, Any]]:
    run = open_eval_run(eval_dir)
    return per_problem([row for _, row in run.numbered()]), run.summary


def _cell(b: dict[str, Any]) -> str:
    return f"{b['mean']:.3f} [{b['lo']:.3f}, {b['hi']:.3f}]"


def _arm_rows(plan: Plan, arm: str, name: str, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, float]]]:
    """One arm's rows on one held-out set (a row per seed that finished) and its per-problem scores."""
    rows, runs = [], []
    for s in [None] if arm == "base" else plan.exp.seeds:
        step = plan.steps[f"eval:base:{name}" if arm == "base" else f"eval:{arm}:{s}:{name}"]
        if not step.done:
            continue
        scores, summary = _scores(step.dir / "eval")
        b = bootstrap([scores[p] for p in sorted(scores)], seed=seed)  # in problem order: reproducible
        runs.append(scores)
        rows.append(
            {
                "arm": arm,
                "seed": s,
                "pass@1": b,
                "maj@k": summary["maj@k"],
                "samples": summary["samples_per_problem"],
                "tokens_out_mean": summary["tokens_out_mean"],
                "problems": summary["problems"],
            }
        )
    return rows, runs


def _heldout_set(plan: Plan, name: str, seed: int) -> dict[str, Any]:
    """Every arm's rows on one held-out set, with the arms' seed means and their paired differences."""
    per_arm: dict[str, dict[str, float]] = {}
    rows = []
    for arm in ["base", *plan.exp.arms]:
        arm_rows, runs = _arm_rows(plan, arm, name, seed)
        rows += arm_rows
        if runs:  # the arm's per-problem score, averaged over its seeds
            common = set.intersection(*(set(r) for r in runs))
            per_arm[arm] = {p: statistics.fmean(r[p] for r in runs) for p in sorted(common)}
            rows.append({"arm": arm, "seed": "mean", "pass@1": bootstrap(list(per_arm[arm].values()), seed=seed)})
    names = list(per_arm)
    diffs = [
        {"a": b, "b": a, **paired(per_arm[b], per_arm[a], seed=seed)}
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    ]
    return {"rows": rows, "differences": diffs}


def summarize(plan: Plan, *, seed: int = 0) -> dict[str, Any]:
    exp = plan.exp
    out: dict[str, Any] = {"experiment": exp.name, "bootstrap_seed": seed, "sets": {}, "arms": {}, "chain": {}}
    for name in plan.heldout():
        out["sets"][name] = _heldout_set(plan, name, seed)
    for arm in exp.arms:
        for s in exp.seeds:
            step = plan.steps[f"train:{arm}:{s}"]
            if step.done:
                out["arms"].setdefault(arm, {})[str(s)] = step.recorded()["stages"]
    corpus = plan.steps["corpus"]
    problems = plan.steps["problems"]
    if corpus.done and problems.done:
        out["chain"] = {
            "problems": problems.recorded()["sha256"],
            "corpus": {k: corpus.recorded()[k] for k in ("corpus", "config_hash", "counts")},
            "steps": {name: step.hash for name, step in plan.steps.items()},
        }
    return out


def markdown(summary: dict[str, Any]) -> str:
    lines = [f"# Experiment {summary['experiment']}", ""]
    for name, s in summary["sets"].items():
        lines += [f"## Held-out set `{name}`", ""]
        lines.append(
            markdown_table(
                ["arm", "seed", "pass@1 [95% CI]", "maj@k", "output tokens", "problems x samples"],
                [
                    [
                        r["arm"],
                        "–" if r["seed"] is None else str(r["seed"]),
                        _cell(r["pass@1"]),
                        f"{r['maj@k']:.3f}" if "maj@k" in r else "",
                        f"{r['tokens_out_mean']:.0f}" if "tokens_out_mean" in r else "",
                        f"{r['problems']} x {r['samples']}" if "problems" in r else "",
                    ]
                    for r in s["rows"]
                ],
            )
        )
        if s["differences"]:
            lines += [
                "",
                "Paired differences (pass@1 per problem, averaged over seeds; paired bootstrap over problems):",
                "",
            ]
            lines.append(
                markdown_table(
                    ["difference", "mean [95% CI]", "problems"],
                    [[f"{d['a']} - {d['b']}", _cell(d), str(d["n"])] for d in s["differences"]],
                )
            )
        lines.append("")
    if summary["arms"]:
        lines += ["## Training", ""]
        rows = []
        for arm, seeds in summary["arms"].items():
            for seed, stages in seeds.items():
                for st in stages:
                    rows.append(
                        [arm, seed, st["name"], str(st.get("steps")), str(st.get("tokens")), f"{st.get('wall_s')}"]
                    )
        lines.append(markdown_table(["arm", "seed", "stage", "steps", "tokens", "wall s"], rows))
    lines += [
        "",
        f"Intervals: 95%, percentile bootstrap over problems, {2000} resamples, seed {summary['bootstrap_seed']}.",
    ]
    return "\n".join(lines) + "\n"


def _plot(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(summary["sets"])
    fig, axes = plt.subplots(1, len(sets), figsize=(4 * len(sets), 3.5), squeeze=False)
    for ax, name in zip(axes[0], sets, strict=True):
        means = [r for r in summary["sets"][name]["rows"] if r["seed"] == "mean"]
        ax.errorbar(
            range(len(means)),
            [r["pass@1"]["mean"] for r in means],
            yerr=[
                [r["pass@1"]["mean"] - r["pass@1"]["lo"] for r in means],
                [r["pass@1"]["hi"] - r["pass@1"]["mean"] for r in means],
            ],
            fmt="o",
            capsize=4,
        )
        ax.set_xticks(range(len(means)), [r["arm"] for r in means])
        ax.set_ylim(0, 1)
        ax.set_title(f"held-out: {name}")
        ax.set_ylabel("pass@1 (95% CI)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(plan: Plan) -> Path:
    summary = summarize(plan)
    out = plan.exp.out / "report"
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    md = markdown(summary)
    (out / "report.md").write_text(md)
    body = "".join(f"<pre>{_escape(md)}</pre>")
    if any(any(r["seed"] == "mean" for r in s["rows"]) for s in summary["sets"].values()):
        _plot(summary, out / "accuracy.png")
        body += figure("pass@1 per arm, mean over seeds, with 95% intervals", out / "accuracy.png")
    (out / "report.html").write_text(page(f"Experiment {summary['experiment']}", body))
    return out


def _escape(text: str) -> str:
    import html

    return html.escape(text)
