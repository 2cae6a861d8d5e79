"""``journey compare`` (corpora side by side), ``journey report`` (eval runs side by side), ``journey export``."""

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
    allow: Annotated[
        list[str] | None,
        typer.Option(
            help="A protocol field the runs may differ in besides the model (repeatable: decoding.seed, dataset, "
            "engine, prompt, ...); any other difference is refused."
        ),
    ] = None,
) -> None:
    """Put several eval runs side by side (e.g. base versus trained): Markdown table and HTML page."""
    from reports.eval_report import ReportError, load_runs, markdown, write_report

    try:
        page = write_report(runs, out, allow=tuple(allow or ()))
    except ReportError as e:
        fail(str(e))
    print(markdown(load_runs(runs), allow=tuple(allow or ())))
    err.print(f"wrote {page}")


def export(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Corpus directories (DIR@HASH for one config of several), or pairs directories with --as pairs."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Dataset directory: data/*.parquet, README.md (the card), export.json.")],
    as_: Annotated[
        str,
        typer.Option(
            "--as", help="traces (whole traces), sft (verified traces as trainer messages) or pairs (journey pairs)."
        ),
    ] = "sft",
    shard_rows: Annotated[int, typer.Option(min=1, help="Rows per Parquet shard.")] = 50_000,
    save_to_disk: Annotated[
        bool, typer.Option(help="Also write an Arrow copy to OUT/arrow for datasets.load_from_disk.")
    ] = False,
    think_tags: Annotated[bool, typer.Option(help="sft: wrap the long thought in <think> tags.")] = True,
) -> None:
    """Export corpora or pairs as a Hugging Face dataset: Parquet shards and a dataset card."""
    from reports.export import ExportError
    from reports.export import export as run_export

    try:  # an export that fails removes what it wrote (corpus.artifacts.output)
        card = run_export(sources, as_, out, shard_rows=shard_rows, save_to_disk=save_to_disk, think_tags=think_tags)
    except ExportError as e:
        fail(str(e))
    err.print(f"{card['rows']} rows in {len(card['files'])} shards; card: {out / 'README.md'}", highlight=False)
