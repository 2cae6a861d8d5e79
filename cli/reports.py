"""``journey compare`` (corpora side by side) and ``journey report`` (eval runs side by side)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import err, fail


def compare(
    corpora: Annotated[
        list[Path], typer.Argument(help="Corpus directories written by journey synth, on the same problems.")
    ],
    out: Annotated[Path, typer.Option(help="Report directory: summary.json, report.md, report.html, plots.")] = Path(
        "compare"
    ),
) -> None:
    """Compare synthesis methods side by side: acceptance, tokens, calls, backtracks, cost, overlap, transparency."""
    from reports.compare import COLUMNS, CompareError, markdown_table, table_rows
    from reports.compare import compare as run_compare

    try:
        summary = run_compare(corpora, out)
    except CompareError as e:
        fail(str(e))
    for warning in summary["warnings"]:
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    print(markdown_table(COLUMNS, table_rows(summary)))
    err.print(f"wrote {out / 'report.html'}", highlight=False)


def report(
    runs: Annotated[list[Path], typer.Argument(help="Eval output directories (each with summary.json).")],
    out: Annotated[Path, typer.Option(help="Report directory: report.md, report.html, plots.")] = Path("report"),
) -> None:
    """Put several eval runs side by side (e.g. base versus trained): Markdown table and HTML page."""
    from reports.eval_report import ReportError, load_runs, markdown, write_report

    try:
        page = write_report(runs, out)
    except ReportError as e:
        fail(str(e))
    print(markdown(load_runs(runs)))
    err.print(f"wrote {page}")
