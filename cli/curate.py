"""``journey filter`` and ``journey select``: curation of corpora into new corpora."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import typer

from cli.common import command, err, fail, flag

REQUIRED = inspect.Parameter.empty
CHECKS = "Filters (each on unless turned off)"
BOUNDS = "Length and contamination (opt-in)"

FILTER_FLAGS = [
    flag("corpora", list[str], REQUIRED, typer.Argument(help="Corpora to filter: DIR or DIR@HASH.")),
    flag("out", Path, REQUIRED, typer.Option(help="Directory for the filtered corpus (new or empty).")),
    flag(
        "truncated",
        bool,
        True,
        typer.Option(
            help="Drop unclosed thoughts, token-budget stops and traces with no answer.", rich_help_panel=CHECKS
        ),
    ),
    flag(
        "malformed",
        bool,
        True,
        typer.Option(
            help="Drop a backtrack with no reflection, a rewrite that lost the answer or reflections.",
            rich_help_panel=CHECKS,
        ),
    ),
    flag(
        "repetition",
        bool,
        True,
        typer.Option(help="Drop loops: a repeated sentence, or a tail of repeated 4-grams.", rich_help_panel=CHECKS),
    ),
    flag(
        "sentence_repeats",
        int,
        4,
        typer.Option(
            min=2,
            help="--repetition: a sentence (or a cycle of 2-3, 6+ words) said this many times back to back is a loop.",
            rich_help_panel=CHECKS,
        ),
    ),
    flag(
        "tail_novelty",
        float,
        0.3,
        typer.Option(
            min=0.0,
            max=1.0,
            help="--repetition: a tail (last 40% of the words) whose distinct 4-gram share is under this is a loop.",
            rich_help_panel=CHECKS,
        ),
    ),
    flag(
        "language",
        bool,
        True,
        typer.Option(
            help="Drop a long thought in another script than its question, or mixing scripts.", rich_help_panel=CHECKS
        ),
    ),
    flag(
        "language_share",
        float,
        0.2,
        typer.Option(
            min=0.0,
            max=1.0,
            help="--language: the share of letters outside the question's script that trips it.",
            rich_help_panel=CHECKS,
        ),
    ),
    flag(
        "dedup",
        bool,
        True,
        typer.Option(
            help="Drop exact and near-duplicate long thoughts (the first read is kept).", rich_help_panel=CHECKS
        ),
    ),
    flag(
        "near_threshold",
        float,
        0.8,
        typer.Option(
            min=0.0,
            max=1.0,
            help="--dedup: MinHash Jaccard similarity at which two long thoughts are near duplicates.",
            rich_help_panel=CHECKS,
        ),
    ),
    flag(
        "min_tokens",
        int | None,
        None,
        typer.Option(min=1, help="Drop long thoughts shorter than this (tokens).", rich_help_panel=BOUNDS),
    ),
    flag(
        "max_tokens",
        int | None,
        None,
        typer.Option(min=1, help="Drop long thoughts longer than this (tokens).", rich_help_panel=BOUNDS),
    ),
    flag(
        "tokenizer",
        str,
        "local",
        typer.Option(
            help="--min-tokens/--max-tokens: a checkpoint directory, or local (the embedded model's).",
            rich_help_panel=BOUNDS,
        ),
    ),
    flag(
        "decontaminate",
        list[str] | None,
        None,
        typer.Option(
            help="Evaluation set (file or dataset, repeatable): drop questions whose 8-grams overlap it by half or more.",
            rich_help_panel=BOUNDS,
        ),
    ),
]


def filter_corpora(**o: Any) -> None:
    """Drop traces nobody should train on, each for a stated reason: a corpus of the rest, and filtered.jsonl."""
    from corpus.artifacts import ArtifactError
    from curate.detectors import Thresholds
    from curate.filter import FilterError, FilterOptions
    from curate.filter import filter_corpora as run

    options = FilterOptions(
        truncated=o["truncated"],
        malformed=o["malformed"],
        repetition=o["repetition"],
        language=o["language"],
        dedup=o["dedup"],
        near_threshold=o["near_threshold"],
        min_tokens=o["min_tokens"],
        max_tokens=o["max_tokens"],
        tokenizer=o["tokenizer"],
        decontaminate=tuple(o["decontaminate"] or ()),
        thresholds=Thresholds(o["sentence_repeats"], o["tail_novelty"], o["language_share"]),
    )
    try:
        manifest = run(o["corpora"], o["out"], options)
    except (FilterError, ArtifactError) as e:
        fail(str(e))
    f = manifest["filter"]
    dropped = ", ".join(f"{reason} {n}" for reason, n in f["dropped"].items()) or "none"
    err.print(
        f"read {f['read']}, kept {f['kept']} in {o['out']}; dropped: {dropped} (see filtered.jsonl)", highlight=False
    )


filter_command = command(filter_corpora, FILTER_FLAGS)


SELECT_FLAGS = [
    flag("corpora", list[str], REQUIRED, typer.Argument(help="Corpora to select from: DIR or DIR@HASH.")),
    flag("out", Path, REQUIRED, typer.Option(help="Directory for the selected corpus (new or empty).")),
    flag("n", int, REQUIRED, typer.Option("--n", min=1, help="How many traces to keep.")),
    flag(
        "preset",
        str | None,
        None,
        typer.Option(
            help="s1 (drop what --reference solves, subjects at random, longer thoughts likelier) or longest (longest first, round-robin over subjects)."
        ),
    ),
    flag(
        "reference",
        str | None,
        None,
        typer.Option(
            help="Model spec whose pass rate on each problem measures difficulty (run through journey eval math's code, cached)."
        ),
    ),
    flag("reference_samples", int, 1, typer.Option(min=1, help="--reference: samples per problem.")),
    flag("reference_tokens", int, 1024, typer.Option(min=1, help="--reference: max output tokens per sample.")),
    flag("drop_solved", bool, False, typer.Option(help="Leave out problems --reference solves in any sample.")),
    flag("order", str, "length", typer.Option(help="length (longest thoughts first) or random.")),
    flag("spread", str, "subject", typer.Option(help="subject (round-robin over the problems' subjects) or none.")),
    flag("per_problem", int, 1, typer.Option(min=1, help="At most this many traces of one problem.")),
    flag("verified_only", bool, True, typer.Option(help="Choose among verified traces only.")),
    flag("seed", int, 0, typer.Option(help="Seed of every random draw (the same seed, the same selection).")),
]


def select(**o: Any) -> None:
    """Keep N traces chosen by stated rules (difficulty, length, subjects): a corpus, and selected.jsonl with each one's reason."""
    from corpus.artifacts import ArtifactError
    from curate.select import Reference, SelectError, SelectOptions, select_corpora
    from eval.generate import CacheMismatchError

    reference = Reference(o["reference"], o["reference_samples"], o["reference_tokens"]) if o["reference"] else None
    options = SelectOptions(
        n=o["n"],
        preset=o["preset"],
        reference=reference,
        drop_solved=o["drop_solved"],
        order=o["order"],
        spread=o["spread"],
        per_problem=o["per_problem"],
        verified_only=o["verified_only"],
        seed=o["seed"],
    )
    try:
        manifest = select_corpora(o["corpora"], o["out"], options)
    except (SelectError, ArtifactError, CacheMismatchError) as e:
        fail(str(e))
    s = manifest["selection"]
    err.print(
        f"kept {s['kept']} of {s['read']} traces in {o['out']} ({s['rule']}); reasons in selected.jsonl",
        highlight=False,
    )


select_command = command(select, SELECT_FLAGS)
