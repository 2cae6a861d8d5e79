"""General-task evaluation (``journey eval general``): Part 2's Auto-J and LIMA queries, an LLM judge
in place of its expert graders.

- **rubric**: the judge writes a critique of the model's response and rates it 1-10 (Auto-J's
  ``single`` prompt); reported as a percentage (mean rating x 10), as Part 2 reports it.
- **pairwise**: the judge compares the model's response with a reference model's (Auto-J's
  ``pairwise_tie`` prompt), in both orders to cancel position bias; an order scores the model 1
  (better), 0.5 (tie) or 0 (worse), an item the mean of its readable orders; the win rate is the
  mean over items, with how often the two orders agree.

Datasets: ``auto-j`` (GAIR-NLP/auto-j ``data/test/testdata_critique.jsonl``, 232 queries with
Auto-J's scenario labels; fetched once from GitHub at a pinned commit, or a local copy of that
file), ``lima`` (the Hugging Face dataset ``GAIR/lima``, test split: 300 prompts), or a JSONL /
JSON / CSV / Parquet file with a ``query`` (or ``prompt`` / ``instruction`` / ``question`` /
``conversations``) field and an optional ``scenario``. A query asked twice is evaluated once.

``--subset planning`` keeps long-term planning queries by a stated rule (``is_planning``): Auto-J's
own ``planning`` scenario where the row has a scenario; otherwise a query that asks for a plan, by
the words of ``PLANNING``.

The judge's reply is kept per item (its critique, or both orders' comparisons) and shown in
``journey view``. A reply that cannot be read is asked once more with a strict reminder, then
counted as unparseable and left out of the mean (never scored as a 1 or a loss).
"""

from __future__ import annotations

import re
import statistics
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agents.models import Sampling
from answers.extract import answer_section
from corpus.problems import ProblemFileError, rows_of
from eval import intervals, protocol
from eval.judge_prompts import AUTOJ_PAIRWISE, AUTOJ_PAIRWISE_STRICT, AUTOJ_SINGLE, AUTOJ_SINGLE_STRICT

AUTOJ_COMMIT = "c272c387d4c038cefbef529f40eb4e113edfca12"
AUTOJ_URL = f"https://raw.githubusercontent.com/GAIR-NLP/auto-j/{AUTOJ_COMMIT}/data/test/testdata_critique.jsonl"
LIMA = "GAIR/lima"
MODES = ("rubric", "pairwise", "both")
JUDGE_PROMPTS = ("autoj", "fewshot")
QUERY_FIELDS = ("query", "prompt", "instruction", "question")
# a query that asks for a plan: these words, whole, any case
PLANNING = re.compile(
    r"\b(?:plan|plans|planning|schedule|itinerary|roadmap|timeline|curriculum|agenda|routine|"
    r"step-by-step guide|strategy|strategies)\b",
    re.IGNORECASE,
)

# "Rating: [[7]]" (Auto-J's form), "[[7]]", or a last line "Rating: 7"
_RATING = re.compile(r"\[\[\s*(10|[1-9])(?:\.\d+)?\s*\]\]")
_RATING_LINE = re.compile(r"^\s*\**rating\**\s*[:：]\s*\**\s*(10|[1-9])(?:\.\d+)?\s*(?:/\s*10)?\**\s*$", re.I | re.M)
_DECISION = re.compile(r"final decision is\s*[:：]?\s*\**\s*(response\s*1|response\s*2|tie)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Query:
    id: str
    query: str
    scenario: str | None = None


def is_planning(query: Query) -> bool:
    """Auto-J's own label where the row has one; else the query's words (``PLANNING``)."""
    if query.scenario is not None:
        return query.scenario == "planning"
    return PLANNING.search(query.query) is not None


def _autoj_file() -> Path:
    """Auto-J's critique test file: fetched once into the cache (a clear error offline)."""
    from agents.checkpoints import cache_root

    path = cache_root() / "data" / f"autoj-{AUTOJ_COMMIT[:12]}-testdata_critique.jsonl"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with urllib.request.urlopen(AUTOJ_URL, timeout=60) as reply:
                data = reply.read()
        except OSError as e:
            raise ProblemFileError(
                "auto-j",
                None,
                f"cannot fetch {AUTOJ_URL} ({type(e).__name__}); download it and pass --dataset PATH",
            ) from None
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(path)
    return path


def _query_text(row: dict[str, Any]) -> str | None:
    for key in QUERY_FIELDS:
        if isinstance(row.get(key), str) and row[key].strip():
            return row[key].strip()
    turns = row.get("conversations")
    if isinstance(turns, list) and turns and isinstance(turns[0], str) and turns[0].strip():
        return turns[0].strip()  # LIMA: the first turn is the user's
    return None


def load_queries(dataset: str, *, split: str | None = None, subset: str | None = None, limit: int | None = None):
    """(the queries, how many were dropped as repeats, the source read)."""
    source = str(_autoj_file()) if dataset == "auto-j" else dataset
    if dataset == "lima":
        source, split = LIMA, split or "test"
    if subset not in (None, "planning"):
        raise ProblemFileError(dataset, None, f"--subset is planning or nothing, not {subset!r}")
    queries: list[Query] = []
    seen: set[str] = set()
    repeats = 0
    stem = Path(source).stem if Path(source).is_file() else dataset.replace("/", "-")
    for line, row in rows_of(source, split):
        text = _query_text(row)
        if text is None:
            raise ProblemFileError(source, line, f"no query field ({' / '.join(QUERY_FIELDS)} / conversations)")
        scenario = row.get("scenario") if isinstance(row.get("scenario"), str) else None
        query = Query(str(row.get("id", f"{stem}-{line}")), text, scenario)
        if text in seen:
            repeats += 1
            continue
        seen.add(text)
        if subset == "planning" and not is_planning(query):
            continue
        queries.append(query)
        if limit and len(queries) >= limit:
            break
    if not queries:
        raise ProblemFileError(source, None, "no queries" + (" in the planning subset" if subset else ""))
    return queries, repeats, source


# ---------------------------------------------------------------------------------------------
# prompts

ANSWER_SYSTEM = "Answer the user's request helpfully and completely."
ANSWER_SHOTS = (
    (
        "Give me a plan to read more books this year.",
        "Set a goal of two books a month, read 20 minutes every evening, keep a list of what to read next, "
        "and check your progress at the end of each month.",
    ),
)
RUBRIC_SYSTEM = "Critique the response to the user's query, then rate it from 1 (useless) to 10 (excellent)."
RUBRIC_SHOTS = (
    (
        "Query: Give me a plan to learn French in three months.\nResponse: Learn French.",
        "The response gives no plan: no schedule, no resources, no milestones. Rating: [[2]]",
    ),
    (
        "Query: How do I boil an egg?\nResponse: Put the egg in boiling water for 9 minutes, then cool it in cold water.",
        "Correct, clear and complete for the question. Rating: [[8]]",
    ),
)
PAIRWISE_SYSTEM = "Compare two responses to the user's query and say which is better, or that they are tied."
PAIRWISE_SHOTS = (
    (
        "Query: How do I boil an egg?\nResponse 1: Boil it.\nResponse 2: Put the egg in boiling water for 9 minutes, "
        "then cool it.",
        "Response 2 gives the time and the steps; Response 1 does not. So, the final decision is Response 2",
    ),
    (
        "Query: Name a primary colour.\nResponse 1: Red.\nResponse 2: Blue.",
        "Both are correct and equally complete. So, the final decision is Tie",
    ),
)


def _fewshot(system: str, shots, user: str) -> list[BaseMessage]:
    """System, worked examples, the turn; every shot's reply is one line, as a base model stopped at
    a newline (``agents.specs.prompt_style``) must reply."""
    out: list[BaseMessage] = [SystemMessage(system)]
    for q, a in shots:
        out += [HumanMessage(q), AIMessage(a)]
    return [*out, HumanMessage(user)]


def answer_messages(query: Query, compact: bool) -> list[BaseMessage]:
    """The query as the one user turn; few-shot for the small base models (``compact`` profile)."""
    return _fewshot(ANSWER_SYSTEM, ANSWER_SHOTS, query.query) if compact else [HumanMessage(query.query)]


def rubric_messages(query: Query, response: str, form: str) -> list[BaseMessage]:
    if form == "autoj":
        return [HumanMessage(AUTOJ_SINGLE.format(prompt=query.query, response=response))]
    return _fewshot(RUBRIC_SYSTEM, RUBRIC_SHOTS, f"Query: {query.query}\nResponse: {response}")


def pairwise_messages(query: Query, first: str, second: str, form: str) -> list[BaseMessage]:
    if form == "autoj":
        return [HumanMessage(AUTOJ_PAIRWISE.format(prompt=query.query, response=first, response_another=second))]
    return _fewshot(PAIRWISE_SYSTEM, PAIRWISE_SHOTS, f"Query: {query.query}\nResponse 1: {first}\nResponse 2: {second}")


def prompt_digest(form: str) -> str:
    texts = [AUTOJ_SINGLE, AUTOJ_PAIRWISE] if form == "autoj" else [RUBRIC_SYSTEM, RUBRIC_SHOTS, PAIRWISE_SYSTEM]
    return protocol.digest([*texts, AUTOJ_SINGLE_STRICT, AUTOJ_PAIRWISE_STRICT, PAIRWISE_SHOTS, ANSWER_SHOTS])


# ---------------------------------------------------------------------------------------------
# the judge's replies


def parse_rating(text: str) -> int | None:
    """The 1-10 rating: the last ``[[N]]``, else a ``Rating: N`` line; None when there is neither."""
    found = _RATING.findall(text)
    if found:
        return int(found[-1])
    lines = _RATING_LINE.findall(text)
    return int(lines[-1]) if lines else None


def parse_decision(text: str) -> str | None:
    """``1``, ``2`` or ``tie`` from the last "final decision is ..."; None when there is none."""
    found = _DECISION.findall(text)
    if not found:
        return None
    last = found[-1].lower().replace(" ", "")
    return {"response1": "1", "response2": "2", "tie": "tie"}[last]


def model_score(decision: str | None, model_is: str) -> float | None:
    """What an order's decision gives the model: 1 better, 0.5 tie, 0 worse; None unreadable."""
    if decision is None:
        return None
    return 0.5 if decision == "tie" else float(decision == model_is)


# ---------------------------------------------------------------------------------------------
# the run


@dataclass(frozen=True)
class Pair:
    """One order of a pairwise comparison: ``first`` is Response 1."""

    id: str
    query: Query
    first: str
    second: str
    model_is: str  # "1" or "2"


def judged_text(output: str) -> str:
    """What the judge reads: the answer after a closed thought, else the whole output."""
    after = answer_section(output)
    return after.strip() if after is not None and after.strip() else output.strip()


@dataclass(frozen=True)
class Setup:
    """Who answers and who judges, and how: the model under test, the judge, the reference model
    (pairwise), the judge's prompt form, each one's token limit and stop strings."""

    model: str
    judge: str
    mode: str = "rubric"
    reference: str | None = None
    judge_prompt: str = "autoj"
    max_tokens: int = 1024
    judge_max_tokens: int = 1024
    stop: tuple[str, ...] = ()
    judge_stop: tuple[str, ...] = ()
    reference_stop: tuple[str, ...] = ()

    def check(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"--mode is one of {', '.join(MODES)}, not {self.mode!r}")
        if self.mode != "rubric" and self.reference is None:
            raise ValueError(f"--mode {self.mode} compares with a reference model's answers: give --reference SPEC")

    @property
    def answering(self) -> Sampling:
        return Sampling(temperature=0.0, max_tokens=self.max_tokens, stop=self.stop)

    @property
    def judging(self) -> Sampling:
        return Sampling(temperature=0.0, max_tokens=self.judge_max_tokens, stop=self.judge_stop)

    @property
    def referencing(self) -> Sampling:
        return Sampling(temperature=0.0, max_tokens=self.max_tokens, stop=self.reference_stop)


def _answers(queries: list[Query], spec: str, sampling: Sampling, path: Path, common: dict) -> dict[str, dict]:
    """Each query's answer by ``spec`` (resumable in ``path``), by query id."""
    from agents.specs import prompt_style
    from eval.generate import Job, run_jobs

    compact = prompt_style(spec).profile == "compact"
    jobs = [Job(q.id, answer_messages(q, compact), fields={"query": q.query}) for q in queries]
    return {r["id"]: r for r in run_jobs(jobs, spec=spec, sampling=sampling, path=path, **common)}


def _rubric(queries, rows: dict[str, dict], setup: Setup, out: Path, common: dict) -> None:
    """The judge's critique and 1-10 rating of each answer, onto its row."""
    from eval.judged import Speaker, run_judged

    speaker = Speaker(
        setup.judge,
        setup.judging,
        "rubric.jsonl",
        lambda q, response: rubric_messages(q, response, setup.judge_prompt),
        readable=lambda text: parse_rating(text) is not None,
        strict=AUTOJ_SINGLE_STRICT,
    )
    given = {q.id: judged_text(rows[q.id]["output"]) for q in queries}
    for j in run_judged(queries, out=out, judge=speaker, model=None, given=lambda q: given[q.id], **common):
        rating = parse_rating(j.judgment["output"])
        rows[j.item.id]["rating"] = rating
        rows[j.item.id]["judgments"].append({"kind": "rubric", "output": j.judgment["output"], "rating": rating})


def _pairwise(queries, rows: dict[str, dict], setup: Setup, out: Path, common: dict) -> None:
    """The reference model's answers, then the judge's comparison in both orders, onto each row."""
    from eval.judged import Speaker, run_judged

    theirs = _answers(queries, setup.reference, setup.referencing, out / "reference.jsonl", common)
    pairs = []
    for q in queries:
        a, b = judged_text(rows[q.id]["output"]), judged_text(theirs[q.id]["output"])
        pairs += [Pair(f"{q.id}::model-first", q, a, b, "1"), Pair(f"{q.id}::model-second", q, b, a, "2")]
    speaker = Speaker(
        setup.judge,
        setup.judging,
        "pairwise.jsonl",
        lambda p, _: pairwise_messages(p.query, p.first, p.second, setup.judge_prompt),
        readable=lambda text: parse_decision(text) is not None,
        strict=AUTOJ_PAIRWISE_STRICT,
    )
    for j in run_judged(pairs, out=out, judge=speaker, model=None, given=lambda p: p.first, **common):
        decision = parse_decision(j.judgment["output"])
        row = rows[j.item.query.id]
        row["answer"] = theirs[j.item.query.id]["output"]  # the reference model's, beside the model's
        row["judgments"].append(
            {
                "kind": "pairwise",
                "order": "model first" if j.item.model_is == "1" else "model second",
                "output": j.judgment["output"],
                "decision": decision,
                "model_score": model_score(decision, j.item.model_is),
            }
        )


def _protocol(queries: list[Query], setup: Setup, dataset: str, subset: str | None) -> dict[str, Any]:
    from eval.generate import identity

    reference = setup.reference
    return protocol.record(
        produced_by=identity(setup.model, setup.answering),
        decoding={
            "model": dict(vars(setup.answering)),
            "judge": dict(vars(setup.judging)),
            "reference": dict(vars(setup.referencing)) if reference else None,
        },
        prompt={
            "judge": identity(setup.judge, setup.judging)["model"],
            "form": setup.judge_prompt,
            "sha256": prompt_digest(setup.judge_prompt),
            "reference": identity(reference, setup.referencing)["model"] if reference else None,
        },
        dataset={
            "name": dataset,
            "subset": subset,
            "items": len(queries),
            "sha256": protocol.digest(sorted([q.id, q.query, q.scenario or ""] for q in queries)),
        },
        engine=protocol.engine_record("endpoint", setup.model),
    )


def evaluate(
    queries: list[Query],
    setup: Setup,
    *,
    out: Path,
    concurrency: int = 8,
    dataset: str = "",
    repeats_dropped: int = 0,
    subset: str | None = None,
    on_done=None,
) -> dict:
    """The model answers every query; the judge rates (rubric) and/or compares with the reference."""
    from agents.specs import public_spec
    from corpus.artifacts import check_output, mark
    from eval.generate import write_outputs

    setup.check()
    check_output(out, "eval")
    mark(out, "eval")
    common = {"concurrency": concurrency, "on_done": on_done}
    mine = _answers(queries, setup.model, setup.answering, out / "answers.jsonl", common)
    rows = {
        q.id: {
            "id": q.id,
            "problem_id": q.id,
            "question": q.query,
            "scenario": q.scenario,
            "planning": is_planning(q),
            "output": mine[q.id]["output"],
            "tokens_out": mine[q.id]["tokens_out"],
            "judgments": [],
        }
        for q in queries
    }
    if setup.mode in ("rubric", "both"):
        _rubric(queries, rows, setup, out, common)
    if setup.mode in ("pairwise", "both"):
        _pairwise(queries, rows, setup, out, common)
    graded = [_score(row, setup.mode) for row in rows.values()]
    summary = {
        "kind": "general",
        "headline": "rubric_score" if setup.mode != "pairwise" else "win_rate",
        "model": public_spec(setup.model),
        "judge": public_spec(setup.judge),
        "reference": public_spec(setup.reference) if setup.reference else None,
        "mode": setup.mode,
        "judge_prompt": setup.judge_prompt,
        "dataset": dataset,
        "subset": subset,
        "items": len(graded),
        "repeats_dropped": repeats_dropped,
        **summarize(graded, setup.mode),
        "protocol": _protocol(queries, setup, dataset, subset),
    }
    return write_outputs(out, graded, summary)


def _score(row: dict, mode: str) -> dict:
    """The row's scores: rubric (rating / 10), pairwise (mean over its readable orders); ``score``
    (what ``journey view`` shows) is the headline one."""
    if "rating" in row:
        row["rubric_score"] = row["rating"] / 10 if row["rating"] is not None else None
    orders = [j["model_score"] for j in row["judgments"] if j["kind"] == "pairwise"]
    if orders:
        readable = [s for s in orders if s is not None]
        row["pairwise_score"] = statistics.fmean(readable) if readable else None
        row["orders_agree"] = len(readable) == 2 and readable[0] == readable[1]
    row["score"] = row["rubric_score"] if mode != "pairwise" else row["pairwise_score"]
    return row


def summarize(rows: list[dict], mode: str) -> dict[str, Any]:
    """Rubric score (percent) and win rate, each with its 95% interval over the items they could be
    read for; unparseable counts; by scenario; the planning subset apart."""
    out: dict[str, Any] = {"intervals": {}}
    if mode != "pairwise":
        out |= _metric(rows, "rubric_score", "rubric_score", 100.0, out["intervals"])  # 8.2 / 10 is 82%
        if out["rubric_score"] is not None:
            out["rating_mean"] = out["rubric_score"] / 10
    if mode != "rubric":
        out |= _metric(rows, "win_rate", "pairwise_score", 1.0, out["intervals"])
        both = [r for r in rows if r.get("pairwise_score") is not None]
        out["wins"] = sum(r["pairwise_score"] > 0.5 for r in both)
        out["ties"] = sum(r["pairwise_score"] == 0.5 for r in both)
        out["losses"] = sum(r["pairwise_score"] < 0.5 for r in both)
        out["orders_agree"] = sum(r["orders_agree"] for r in rows) / len(rows) if rows else 0.0
    out["tokens_out_mean"] = statistics.fmean(r["tokens_out"] for r in rows) if rows else 0.0
    return out


def _metric(rows: list[dict], name: str, field: str, scale: float, found: dict) -> dict[str, Any]:
    """One metric over the rows whose ``field`` could be read: its mean x ``scale``, its interval (into
    ``found``), the unreadable count, the mean by scenario and over the planning subset."""
    scores = [r[field] for r in rows if r.get(field) is not None]
    out: dict[str, Any] = {name: None, f"{name}_unparseable": len(rows) - len(scores)}
    if not scores:
        return out
    ci = intervals.bootstrap(scores)
    out[name] = ci["mean"] * scale
    found[name] = ci | {"mean": ci["mean"] * scale, "lo": ci["lo"] * scale, "hi": ci["hi"] * scale}
    by: dict[str, list[float]] = {}
    for r in rows:
        if r.get(field) is not None:
            by.setdefault(r["scenario"] or "(none)", []).append(r[field] * scale)
    out[f"{name}_by_scenario"] = {k: statistics.fmean(v) for k, v in sorted(by.items())}
    planning = [r[field] * scale for r in rows if r["planning"] and r.get(field) is not None]
    out[f"{name}_planning"] = statistics.fmean(planning) if planning else None
    return out


def describe(summary: dict) -> str:
    """One line for the terminal."""
    parts = []
    for name in ("rubric_score", "win_rate"):
        if summary.get(name) is not None:
            ci = summary["intervals"][name]
            if name == "rubric_score":
                parts.append(f"rubric score {summary[name]:.1f}% [{ci['lo']:.1f}, {ci['hi']:.1f}]")
            else:
                parts.append(f"win rate {summary[name]:.3f} [{ci['lo']:.3f}, {ci['hi']:.3f}]")
    return f"{summary['items']} queries: " + ", ".join(parts)
