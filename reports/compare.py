"""``journey compare``: synthesis methods side by side, over corpora made on the same problems.

Per corpus: acceptance rate (verified samples / attempted samples, failures included), tokens per
sample and per accepted trace (mean, median, p90), tokens spent per accepted trace (rejected samples
cost too), LLM calls, reflections and backtracks per sample, wall time, estimated cost; which
problems each method solved (an overlap matrix); distributions as PNG plots; and a transparency
card per corpus. Writes ``summary.json``, ``report.md`` and a self-contained ``report.html``.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus.artifacts import ArtifactError, open_corpus, output
from corpus.artifacts import Corpus as StoredCorpus
from corpus.jsonl import JsonlError
from reports.pages import figure, html_table, markdown_table, page


class CompareError(ValueError):
    pass


@dataclass
class Corpus:
    """What compare reads of one corpus (one config of a directory): compact rows of each file."""

    name: str
    source: StoredCorpus
    traces: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    failures: list[dict[str, Any]]

    @property
    def path(self) -> Path:
        return self.source.path

    @property
    def manifest(self) -> dict[str, Any]:
        return self.source.manifest or {}

    @property
    def samples(self) -> list[dict[str, Any]]:
        return self.traces + self.rejected

    @property
    def problems(self) -> set[str]:
        return {r["problem_id"] for r in self.samples + self.failures}

    @property
    def solved(self) -> set[str]:
        return {t["problem_id"] for t in self.traces if t["verified"]}


# what compare reads of a row; the rest (events, long thought, question) is dropped as it is read, so
# a million-trace corpus fits in memory
_KEPT = ("id", "problem_id", "config_hash", "verified", "usage", "reason", "shape")


def _compact(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in _KEPT if k in row}
    if "events" in row:
        out["events"] = bool(row["events"]) or row["events"] == []  # released with its events
    # one counting rule for reflections and backtracks: the trace's shape (events where the method
    # wrote them, else the cues of a free-form thought); a trace from before shapes falls back
    shape = row.get("shape") or {}
    events = row.get("events") or []
    out["n_reflections"] = shape.get("reflections", sum(e.get("kind") == "reflection" for e in events))
    out["n_backtracks"] = shape.get("backtracks", row.get("n_backtracks", 0))
    return out


# what every sample row must have for the figures (failures need only their problem)
_SAMPLE_FIELDS = ("id", "problem_id", "config_hash", "verified", "usage", "n_backtracks")


def _rows(corpus: StoredCorpus, which: str, required: tuple[str, ...] = _SAMPLE_FIELDS) -> list[dict[str, Any]]:
    rows = []
    try:
        for line, row in corpus.numbered(which):
            if missing := [k for k in required if k not in row]:
                raise CompareError(f"{corpus.where(which, line)}: not a trace (missing {', '.join(missing)})")
            rows.append(_compact(row))
    except JsonlError as e:
        raise CompareError(str(e)) from None
    return rows


def load_corpora(ref: str | Path) -> list[Corpus]:
    """A finished corpus (``DIR``, or ``DIR@HASH`` for one config) as one corpus per config it holds
    (``--add-config``): ``NAME@HASH`` each."""
    try:
        stored = open_corpus(ref, finished=True, whole=True)
    except ArtifactError as e:
        raise CompareError(str(e)) from None
    return [
        Corpus(
            part.label, part, _rows(part, "traces"), _rows(part, "rejected"), _rows(part, "failures", ("problem_id",))
        )
        for part in stored.split()
    ]


def _tokens(trace: dict[str, Any]) -> int:
    return sum(u["tokens_in"] + u["tokens_out"] for u in trace["usage"].values())


def _dist(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "median": None, "p90": None}
    ordered = sorted(values)
    return {
        "mean": round(statistics.fmean(ordered), 1),
        "median": round(statistics.median(ordered), 1),
        "p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 1),
    }


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 3) if values else None


def _curated(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """What journey filter or journey select did to make this corpus (read, kept, dropped by reason)."""
    for by in ("filter", "selection"):
        if by in manifest:
            record = manifest[by]
            return {"by": f"journey {'filter' if by == 'filter' else 'select'}", "read": record["read"]} | {
                "kept": record["kept"],
                "dropped": record.get("dropped", {}),
            }
    return None


def stats(c: Corpus) -> dict[str, Any]:
    samples = c.samples
    accepted = [t for t in c.traces if t["verified"]]
    attempted = len(samples) + len(c.failures)
    spent = sum(_tokens(t) for t in samples)
    return {
        "method": c.manifest.get("method"),
        "models": {role: m.get("spec") for role, m in c.manifest.get("models", {}).items()},
        "problems": len(c.problems),
        "solved": len(c.solved),
        "attempted": attempted,
        "accepted": len(accepted),
        "acceptance_rate": round(len(accepted) / attempted, 4) if attempted else None,
        "tokens_per_trace": _dist([_tokens(t) for t in samples]),
        "tokens_per_accepted": _dist([_tokens(t) for t in accepted]),
        "tokens_spent_per_accepted": round(spent / len(accepted), 1) if accepted else None,
        "calls_per_trace": _mean([sum(u["calls"] for u in t["usage"].values()) for t in samples]),
        "reflections_per_trace": _mean([t["n_reflections"] for t in samples]),
        "backtracks_per_trace": _mean([t["n_backtracks"] for t in samples]),
        "wall_s": c.manifest.get("corpus", {}).get("wall_s", c.manifest.get("this_run", {}).get("wall_s")),
        "cost_usd": c.manifest.get("corpus", {}).get("cost_usd", {}).get("total"),
        "curation": _curated(c.manifest),
    }


SHAPE_FIELDS = ("thought_words", "thought_tokens", "steps", "reflections", "backtracks", "dead_end_depth")


def shapes(c: Corpus) -> dict[str, Any]:
    """The distribution of each long-thought shape figure over the corpus's samples that record one
    (traces from before shapes were recorded are counted as missing, not as zeros)."""
    recorded = [t["shape"] for t in c.samples if t.get("shape")]
    out: dict[str, Any] = {f: _dist([float(s[f]) for s in recorded]) for f in SHAPE_FIELDS}
    out["rewritten_share"] = round(sum(bool(s["rewritten"]) for s in recorded) / len(recorded), 4) if recorded else None
    out["samples"] = len(recorded)
    return out


def transparency(c: Corpus) -> dict[str, Any]:
    """A machine-made checklist in the spirit of Part 2's Technical Transparency Index, scored."""
    m = c.manifest
    models = m.get("models", {})
    checks = {
        "data source named": bool(m.get("problems", {}).get("source")),
        "problem count recorded": m.get("problems", {}).get("count") is not None,
        "method and config recorded": bool(m.get("method")) and bool(m.get("config")),
        "prompts fixed by a config hash": bool(m.get("config_hash")),
        "every model named": bool(models) and all(v.get("spec") for v in models.values()),
        "model versions pinned (weights digest or API snapshot)": bool(models)
        and all(_pinned(v) for v in models.values()),
        "package versions recorded": bool(m.get("versions")),
        "verification settings recorded": "math-verify" in m.get("versions", {})
        and "verify_timeout_s" in m.get("config", {}),
        "token usage recorded": bool(m.get("this_run", {}).get("usage")),
        "cost estimated": m.get("corpus", {}).get("cost_usd", {}).get("total") is not None,
        # released: every failure and rejected sample the manifest counts is in its file, with its reason
        "failures released": _released(c.failures, m.get("corpus", {}).get("failures"), "reason"),
        "rejected samples released": _released(c.rejected, m.get("corpus", {}).get("rejected"), "events"),
        "traces released with their events": bool(c.traces) and all(t.get("events") for t in c.traces),
    }
    return {"checks": checks, "score": round(sum(checks.values()) / len(checks), 3)}


def _pinned(model: dict[str, Any]) -> bool:
    """A weights digest (a local checkpoint's, or its GGUF source's) or a dated API snapshot."""
    source = model.get("source") or {}
    return bool(source.get("gguf_sha256") or source.get("checkpoint_sha256") or _dated(model.get("spec", "")))


def _released(rows: list[dict[str, Any]], counted: int | None, field: str) -> bool:
    return counted is not None and len(rows) == counted and all(row.get(field) for row in rows)


def _dated(spec: str) -> bool:
    # an API model pinned to a dated snapshot (o1-mini-2024-09-12) rather than a moving alias
    tail = spec.rsplit(":", 1)[-1].split("@", 1)[0]
    parts = tail.split("-")
    return len(parts) >= 3 and all(p.isdigit() for p in parts[-3:])


def warnings(corpora: list[Corpus]) -> list[str]:
    out = []
    base = corpora[0]
    for c in corpora[1:]:
        if c.problems != base.problems:
            only_a, only_b = len(base.problems - c.problems), len(c.problems - base.problems)
            out.append(
                f"{c.name} and {base.name} differ in problems ({only_a} only in {base.name}, {only_b} only in {c.name}): "
                "rates are not comparable problem for problem"
            )
    specs = {c.name: sorted({m.get("spec") for m in c.manifest.get("models", {}).values()}) for c in corpora}
    if len({tuple(v) for v in specs.values()}) > 1:
        out.append(
            "corpora use different models: " + "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in specs.items())
        )
    return out


COLUMNS = (
    "corpus",
    "method",
    "problems",
    "solved",
    "acceptance",
    "tokens/trace (mean · median · p90)",
    "tokens/accepted (mean)",
    "tokens spent/accepted",
    "calls/trace",
    "reflections/trace",
    "backtracks/trace",
    "wall s",
    "cost $",
    "transparency",
)


def _fmt(x: Any) -> str:
    return "–" if x is None else f"{x:g}" if isinstance(x, float) else str(x)


def table_rows(summary: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, s in summary["corpora"].items():
        t = s["tokens_per_trace"]
        rows.append(
            [
                name,
                s["method"],
                _fmt(s["problems"]),
                _fmt(s["solved"]),
                _fmt(s["acceptance_rate"]),
                f"{_fmt(t['mean'])} · {_fmt(t['median'])} · {_fmt(t['p90'])}",
                _fmt(s["tokens_per_accepted"]["mean"]),
                _fmt(s["tokens_spent_per_accepted"]),
                _fmt(s["calls_per_trace"]),
                _fmt(s["reflections_per_trace"]),
                _fmt(s["backtracks_per_trace"]),
                _fmt(s["wall_s"]),
                _fmt(s["cost_usd"]),
                _fmt(summary["transparency"][name]["score"]),
            ]
        )
    return rows


def shape_table(summary: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    columns = ["corpus", "samples", *(f.replace("_", " ") for f in SHAPE_FIELDS), "rewritten"]
    rows = []
    for name, sh in summary["shapes"].items():
        cells = [f"{_fmt(sh[f]['mean'])} · {_fmt(sh[f]['median'])} · {_fmt(sh[f]['p90'])}" for f in SHAPE_FIELDS]
        rows.append([name, str(sh["samples"]), *cells, _fmt(sh["rewritten_share"])])
    return columns, rows


def _plots(corpora: list[Corpus], summary: dict[str, Any], out: Path) -> list[tuple[str, Path]]:
    import matplotlib

    matplotlib.use("Agg")  # no display, no network
    import matplotlib.pyplot as plt

    names = [c.name for c in corpora]
    made = []
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(names, [summary["corpora"][n]["acceptance_rate"] or 0 for n in names])
    ax.set_ylabel("acceptance rate")
    ax.set_ylim(0, 1)
    fig.tight_layout()
    fig.savefig(out / "acceptance.png", dpi=110)
    plt.close(fig)
    made.append(("Acceptance rate (verified / attempted samples)", out / "acceptance.png"))
    for key, title, values in (
        ("tokens", "Tokens per trace", lambda c: [_tokens(t) for t in c.samples]),
        ("backtracks", "Backtracks per trace", lambda c: [t["n_backtracks"] for t in c.samples]),
    ):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        data = [values(c) or [0] for c in corpora]
        ax.boxplot(data)
        ax.set_xticks(range(1, len(names) + 1), names)
        ax.set_ylabel(title.lower())
        fig.tight_layout()
        fig.savefig(out / f"{key}.png", dpi=110)
        plt.close(fig)
        made.append((title, out / f"{key}.png"))
    return made


def compare(dirs: list[Path], out: Path) -> dict[str, Any]:
    corpora = [c for d in dirs for c in load_corpora(d)]
    try:
        with output(out, "report", tuple(dirs)) as out:
            return _compare(corpora, out)
    except ArtifactError as e:
        raise CompareError(str(e)) from None


def _summary(corpora: list[Corpus]) -> dict[str, Any]:
    return {
        "corpora": {c.name: stats(c) for c in corpora},
        "solved_overlap": {a.name: {b.name: len(a.solved & b.solved) for b in corpora} for a in corpora},
        "solved_by_all": len(set.intersection(*(c.solved for c in corpora))),
        "transparency": {c.name: transparency(c) for c in corpora},
        "shapes": {c.name: shapes(c) for c in corpora},
        "warnings": warnings(corpora),
    }


def _card(summary: dict[str, Any], names: list[str]) -> list[list[str]]:
    card = summary["transparency"]
    checks = list(next(iter(card.values()))["checks"])
    rows = [[check, *("yes" if card[n]["checks"][check] else "no" for n in names)] for check in checks]
    return [*rows, ["score", *(f"{card[n]['score']:.2f}" for n in names)]]


def _sections(summary: dict[str, Any], names: list[str]) -> list[tuple[str, list[str], list[list[str]], str]]:
    """The report's tables: (heading, columns, rows, html id), the methods table first (no heading)."""
    overlap_rows = [[a, *(str(summary["solved_overlap"][a][b]) for b in names)] for a in names]
    shape_columns, shape_rows = shape_table(summary)
    return [
        ("", COLUMNS, table_rows(summary), "methods"),
        ("Problems solved by both (overlap)", ["", *names], overlap_rows, "overlap"),
        ("Shape of the long thoughts (mean · median · p90 per sample)", shape_columns, shape_rows, "shapes"),
        ("Transparency card", ["check", *names], _card(summary, names), "transparency"),
        *_curation(summary, names),
    ]


def _curation(summary: dict[str, Any], names: list[str]) -> list[tuple[str, list[str], list[list[str]], str]]:
    """The curation table, when a corpus is the output of journey filter or journey select."""
    curated = {n: summary["corpora"][n].get("curation") for n in names if summary["corpora"][n].get("curation")}
    if not curated:
        return []
    rows = []
    for name, c in curated.items():
        dropped = ", ".join(f"{reason} {n}" for reason, n in c.get("dropped", {}).items()) or "none"
        rows.append([name, c["by"], str(c["read"]), str(c["kept"]), dropped])
    return [("Curation", ["corpus", "by", "read", "kept", "dropped by reason"], rows, "curation")]


def _compare(corpora: list[Corpus], out: Path) -> dict[str, Any]:
    import html

    if len(corpora) < 2:
        raise CompareError("compare needs at least two corpora (or one directory holding two configs)")
    names = [c.name for c in corpora]
    if len(set(names)) != len(names):
        corpora = [Corpus(c.source.name, c.source, c.traces, c.rejected, c.failures) for c in corpora]
        names = [c.name for c in corpora]
    summary = _summary(corpora)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    sections = _sections(summary, names)
    md = ["# Synthesis methods compared\n", *(f"> warning: {w}\n" for w in summary["warnings"])]
    body = "".join(f"<p class='warn'>warning: {html.escape(w)}</p>" for w in summary["warnings"])
    for heading, columns, rows, table_id in sections:
        md += [f"\n## {heading}\n"] if heading else []
        md.append(markdown_table(columns, rows))
        body += (f"<h2>{heading}</h2>" if heading else "") + html_table(columns, rows, table_id=table_id)
    (out / "report.md").write_text("\n".join(md))
    body += "".join(figure(title, png) for title, png in _plots(corpora, summary, out))
    (out / "report.html").write_text(page("Synthesis methods compared", body))
    return summary
