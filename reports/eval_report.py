"""``journey report``: eval runs side by side (e.g. base versus trained) as Markdown and one HTML page.

Reads each run's ``summary.json``; math runs also get one combined accuracy-versus-tokens plot.
The HTML embeds its plots (base64 PNG) and loads nothing from the network.
"""

from __future__ import annotations

import html
from pathlib import Path

from corpus.artifacts import ArtifactError, open_eval_run, output
from corpus.jsonl import JsonlError
from eval.intervals import bootstrap, paired, per_problem
from eval.protocol import differences as protocol_differences
from reports.pages import figure, html_table, markdown_table, page

COLUMNS = ("run", "kind", "model", "dataset", "items", "metric", "value", "95% CI", "tokens_out_mean", "truncated")


class ReportError(ValueError):
    pass


def load_runs(dirs: list[Path]) -> dict[str, dict]:
    """Each run's summary; a math run's also gets its pass@1 interval (bootstrap over problems) and
    its per-problem scores (``_scores``) for paired differences."""
    runs: dict[str, dict] = {}
    for d in dirs:
        try:
            run = open_eval_run(d)
            summary = dict(run.summary)
            if summary.get("kind") == "math":
                scores = per_problem([row for _, row in run.numbered()])
                summary["_scores"] = scores
                summary["_interval"] = bootstrap(list(scores.values())) if scores else None
        except (ArtifactError, JsonlError) as e:
            raise ReportError(str(e)) from None
        runs[str(d)] = summary
    return runs


def differences(runs: dict[str, dict]) -> list[list[str]]:
    """Each math run against the first, pass@1 on the problems both scored (paired bootstrap)."""
    math = [(name, s["_scores"]) for name, s in runs.items() if s.get("_scores")]
    out = []
    for name, scores in math[1:]:
        base_name, base = math[0]
        try:
            d = paired(scores, base)
        except ValueError:
            continue
        out.append([f"{name} - {base_name}", f"{d['mean']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}]", str(d["n"])])
    return out


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1 else f"{value:.0f}"
    return "" if value is None else str(value)


def _ci(interval: dict | None) -> str:
    """A summary's 95% interval as the report prints it (a percentage stays a percentage)."""
    if not interval:
        return ""
    digits = 1 if interval["hi"] > 1 else 3
    return f"[{interval['lo']:.{digits}f}, {interval['hi']:.{digits}f}]"


def _row(name: str, s: dict) -> dict:
    """Every kind of summary names its headline metric; math also reports maj@k as a second row."""
    return {
        "run": name,
        "kind": s.get("kind"),
        "model": s.get("model"),
        "dataset": s.get("dataset"),
        "items": s.get("problems", s.get("items")),
        "metric": s.get("headline"),
        "value": s.get(s.get("headline", ""), None),
        "ci": _ci(s.get("_interval") or s.get("intervals", {}).get(s.get("headline", ""))),
        "tokens_out_mean": s.get("tokens_out_mean"),
        "truncated": s.get("truncated_thinking"),  # thinking that never closed: no answer, not a wrong one
    }


def rows(runs: dict[str, dict]) -> list[list[str]]:
    out = []
    for name, s in runs.items():
        out.append([_cell(v) for v in _row(name, s).values()])
        if s.get("kind") == "general" and s.get("mode") == "both" and s.get("win_rate") is not None:
            extra = {"metric": "win_rate", "value": s["win_rate"], "ci": _ci(s["intervals"].get("win_rate"))}
            out.append([_cell(v) for v in (_row(name, s) | extra).values()])
        if s.get("kind") == "math" and "maj@k" in s:
            out.append(
                [
                    _cell(v)
                    for v in (
                        _row(name, s) | {"metric": f"maj@{s['samples_per_problem']}", "value": s["maj@k"], "ci": ""}
                    ).values()
                ]
            )
    return out


DIFF_COLUMNS = ("difference in pass@1", "mean [95% CI]", "problems")
FORCING_COLUMNS = ("run", "thinking budget", "waits", "accuracy [95% CI]", "mean thinking tokens", "answered", "cut")


def forcing_rows(forced: dict[str, list[dict]]) -> list[list[str]]:
    """Each budget-forced run's curve, one row per budget."""
    return [
        [
            name,
            str(p["budget"]),
            str(p["waits"]),
            f"{p['accuracy']:.3f} {_ci(p['interval'])}",
            f"{p['thinking_tokens_mean']:.1f}",
            f"{p['answered']}/{p['samples']}",
            str(p["cut"]),
        ]
        for name, points in forced.items()
        for p in points
    ]


INTERVALS = "95% intervals: percentile bootstrap over problems (2000 resamples, seed 0); differences paired by problem."


def protocol_notes(runs: dict[str, dict], allow: tuple[str, ...] = ()) -> str:
    """What the reader must know about the runs' protocols: the differences allowed, and the runs
    that recorded none (written before protocols were recorded: nothing could be checked)."""
    notes = [f"Allowed difference: {d}" for d in check_protocols(runs, allow)]
    notes += [
        f"No protocol recorded by {name}: its comparability is not checked."
        for name, s in runs.items()
        if not s.get("protocol")
    ]
    return "\n".join(notes)


def markdown(runs: dict[str, dict], allow: tuple[str, ...] = ()) -> str:
    out = markdown_table(COLUMNS, rows(runs))
    if diffs := differences(runs):
        out += "\n\n" + markdown_table(DIFF_COLUMNS, diffs)
    if notes := protocol_notes(runs, allow):
        out += "\n\n" + notes
    return out + "\n\n" + INTERVALS + "\n"


def check_protocols(runs: dict[str, dict], allow: tuple[str, ...] = ()) -> list[str]:
    """Runs that differ in anything that moves a score besides the model are refused (one line
    naming the fields); the differences the user allowed are returned, to be printed in the report."""
    protocols = {name: s.get("protocol") for name, s in runs.items()}
    refused = protocol_differences(protocols)
    if unexpected := [d for d in refused if not any(d.startswith(a + ".") or d.startswith(a + ":") for a in allow)]:
        raise ReportError(
            "these runs differ in more than the model: "
            + "; ".join(unexpected)[:600]
            + " (give --allow FIELD for each difference you intend)"
        )
    return refused


def write_report(dirs: list[Path], out: Path, allow: tuple[str, ...] = ()) -> Path:

    runs = load_runs(dirs)
    check_protocols(runs, allow)
    try:
        with output(out, "report", tuple(dirs)) as out:
            return _write(runs, out, allow)
    except ArtifactError as e:
        raise ReportError(str(e)) from None


def _write(runs: dict[str, dict], out: Path, allow: tuple[str, ...] = ()) -> Path:
    from eval.math_eval import plot_budget, plot_thinking

    markdown_text = markdown(runs, allow)
    forced = {name: s["budget_forcing"] for name, s in runs.items() if s.get("budget_forcing")}
    if forced:
        markdown_text += "\n" + markdown_table(FORCING_COLUMNS, forcing_rows(forced)) + "\n"
    (out / "report.md").write_text(markdown_text)
    math_runs = {name: s for name, s in runs.items() if s.get("kind") == "math"}
    figures = ""
    if math_runs:
        plot_budget(math_runs, out / "accuracy_vs_tokens.png")
        figures = figure("Accuracy against average output tokens", out / "accuracy_vs_tokens.png")
    if forced:  # budget forcing: accuracy against thinking tokens, one line per run
        plot_thinking(forced, out / "accuracy_vs_thinking.png")
        figures += html_table(FORCING_COLUMNS, forcing_rows(forced), table_id="forcing")
        figures += figure("Accuracy against thinking tokens (budget forcing)", out / "accuracy_vs_thinking.png")
    (out / "report.html").write_text(
        page(
            "Evaluation report",
            html_table(COLUMNS, rows(runs), table_id="runs")
            + (html_table(DIFF_COLUMNS, differences(runs), table_id="differences") if differences(runs) else "")
            + "".join(f"<p>{html.escape(line)}</p>" for line in protocol_notes(runs, allow).splitlines())
            + f"<p>{INTERVALS}</p>"
            + figures,
        )
    )
    return out / "report.html"
