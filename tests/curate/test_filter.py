"""`journey filter` on corpora journey synth wrote: planted traces dropped each for its reason, the
rest copied byte for byte into a corpus the later stages read; each detector on traces made to trip
it and traces made not to."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from corpus.artifacts import open_corpus
from curate import dedup, detectors
from curate.filter import FilterError, FilterOptions, filter_corpora
from tests.producers import LEAKED, PLANTED, make_planted_corpus

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    return make_planted_corpus(tmp_path_factory.mktemp("planted"))


def journey_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "journey", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_each_planted_trace_is_dropped_for_its_reason_and_the_rest_kept(planted, tmp_path):
    evalset = tmp_path / "eval.jsonl"
    evalset.write_text(json.dumps({"id": "e1", "question": LEAKED, "answer": "58"}) + "\n")
    out = tmp_path / "filtered"
    result = journey_cli("filter", str(planted), "--out", str(out), "--decontaminate", str(evalset))
    assert result.returncode == 0, result.stderr
    dropped = {r["problem_id"]: r for r in map(json.loads, (out / "filtered.jsonl").read_text().splitlines())}
    assert {pid: r["reason"] for pid, r in dropped.items()} == {p: k for p, k in PLANTED.items() if k != "kept"}
    assert all(r["detail"] and r["from"].startswith(str(planted)) for r in dropped.values())
    corpus = open_corpus(str(out))
    kept = list(corpus.traces())
    assert sorted(t["problem_id"] for t in kept) == sorted(p for p, k in PLANTED.items() if k == "kept")
    # byte for byte: each kept line is the input's line
    source = {json.loads(line)["id"]: line for line in (planted / "traces.jsonl").read_text().splitlines()}
    assert all(source[json.loads(line)["id"]] == line for line in (out / "traces.jsonl").read_text().splitlines())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["filter"]["dropped"] == {k: 1 for k in PLANTED.values() if k != "kept"}
    assert manifest["filter"]["read"] == len(PLANTED) and manifest["filter"]["kept"] == 3
    assert corpus.config_hash == open_corpus(str(planted)).config_hash and manifest["method"] == "distill"
    # the next stages read it: compare, and a training source
    compared = journey_cli("compare", str(planted), str(out), "--out", str(tmp_path / "cmp"))
    assert compared.returncode == 0, compared.stderr
    from collections import Counter

    from trainer.mixture import SourceSpec, load_source

    assert len(load_source(SourceSpec(corpus=str(out)), Counter())) == 3
    exported = journey_cli("export", str(out), "--as", "sft", "--out", str(tmp_path / "export"))
    assert exported.returncode == 0, exported.stderr
    card = (tmp_path / "export" / "README.md").read_text()
    assert "9 traces read, 3 kept" in card and "repetition 1" in card and "near_duplicate 1" in card
    report = (tmp_path / "cmp" / "report.md").read_text()
    assert "## Curation" in report and "repetition 1" in report


def test_without_a_filter_nothing_is_dropped_for_it(planted, tmp_path):
    options = FilterOptions(repetition=False, language=False, truncated=False, dedup=False)
    manifest = filter_corpora([str(planted)], tmp_path / "out", options)
    assert manifest["filter"]["dropped"] == {} and manifest["filter"]["kept"] == len(PLANTED)
    # the same corpus given twice: each sample once
    twice = filter_corpora([str(planted), str(planted)], tmp_path / "twice", options)
    assert twice["filter"]["dropped"] == {"duplicate_id": len(PLANTED)}


def test_the_out_rule_and_bad_lines(planted, tmp_path):
    with pytest.raises(Exception, match="is an input"):
        filter_corpora([str(planted)], planted)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(Exception, match="not empty"):
        filter_corpora([str(planted)], tmp_path / "full")
    broken = tmp_path / "broken"
    subprocess.run(["cp", "-r", str(planted), str(broken)], check=True)
    lines = (broken / "traces.jsonl").read_text().splitlines(keepends=True)
    (broken / "traces.jsonl").write_text(lines[0] + "{not json\n" + "".join(lines[1:]))
    with pytest.raises(FilterError, match=r"traces.jsonl:2: "):
        filter_corpora([str(broken)], tmp_path / "never")
    assert not (tmp_path / "never").exists()


# -- each detector, on what it must catch and what it must let through --------------------------

THOUGHT = (
    "We need the sum of 15 and 27. Adding the tens gives 30 and the ones give 12. "
    "Wait, that is not right: 5 + 7 is 12, so the ones give 12 and the total is 42. "
    "Let me check it another way. 27 + 15 is 27 + 10 + 5, which is 42. So the answer is 42."
)


def test_repetition_catches_loops_and_lets_reflections_through():
    assert detectors.repetition(THOUGHT) is None
    reflective = " ".join(f"Step {i}: {i} + {i} = {2 * i}. Wait, let me check that again." for i in range(12))
    assert detectors.repetition(reflective) is None  # the same short check after each step is no loop
    looped = THOUGHT + " So the final sum of these numbers must be forty two." * 6
    assert "6 times over" in detectors.repetition(looped)  # the text ends in the loop
    inside = THOUGHT + " So the final sum of these numbers must be forty two." * 6 + " " + THOUGHT
    assert "said 6 times in a row" in detectors.repetition(inside)  # a loop the text came out of
    short = THOUGHT + " &= \\boxed{p - q}." * 7  # a short block, said until the budget ended
    assert "times over" in detectors.repetition(short)
    import random

    phrases = ["the sum is", "and then", "we get it"]
    rng = random.Random(0)
    babble = " ".join(rng.choice(phrases) for _ in range(150))  # no sentence end, no exact period
    assert "repeat" in detectors.repetition(THOUGHT + " " + babble)  # the tail's 4-grams catch it
    assert detectors.repetition(THOUGHT + " So the final sum of these numbers must be forty two." * 3) is None


def test_language_compares_scripts_not_math():
    assert detectors.language("What is 15 + 27?", THOUGHT) is None
    assert detectors.language("What is 15 + 27?", "We have $\\alpha + \\beta = \\pi$ and θ = 2.") is None
    chinese = "求十五加二十七的和。"
    assert detectors.language(chinese, "十五加二十七等于四十二，设 $x = 42$，所以答案是 \\boxed{42}。") is None
    assert "Latin" in detectors.language(chinese, "Fifteen plus twenty seven is forty two, so the answer is 42.")
    switched = (
        THOUGHT + " 我需要再检查一遍这个计算结果是否正确无误。十位相加得到三十，个位相加得到十二，一共四十二。" * 2
    )
    assert "Han" in detectors.language("What is 15 + 27?", switched)  # switched language mid-way
    assert detectors.language("What is 15 + 27?", THOUGHT + " 四十二。") is None  # under the 20% share
    assert "Cyrillic" in detectors.language("What is 15 + 27?", "Сумма пятнадцати и двадцати семи равна сорока двум.")
    assert detectors.language("日本語で答えてください。", "十五と二十七を足すと四十二になります。") is None


def test_truncated_and_malformed():
    ok = {"long_thought": THOUGHT, "final_answer": "42", "status": "verified"}
    assert detectors.truncated(ok) is None
    assert detectors.truncated(ok | {"long_thought": "<think>" + THOUGHT}) == "the thinking block never closed"
    assert detectors.truncated(ok | {"long_thought": f"<think>{THOUGHT}</think> 42"}) is None
    assert detectors.truncated(ok | {"status": "budget_tokens"}) == "the trace ran out of its token budget"
    assert detectors.truncated(ok | {"final_answer": None}) == "no answer could be read"
    journey = {"long_thought": THOUGHT, "shape": {"backtracks": 1, "reflections": 1}}
    assert detectors.malformed(journey) is None
    assert detectors.malformed(journey | {"shape": {"backtracks": 1, "reflections": 0}}) == (
        "a backtrack with no reflection"
    )
    rewritten = {"long_thought": "So it is 41.", "final_answer": "42", "shape": {"rewritten": True}, "events": []}
    assert detectors.malformed(rewritten) == "the rewrite lost the answer"


def test_near_duplicates_by_minhash():
    texts = [
        THOUGHT,
        THOUGHT.replace("Let me check it another way.", "Let me check it once more, another way."),
        "An entirely different long thought about the area of a triangle with sides 3, 4 and 5, which is 6.",
        THOUGHT[: len(THOUGHT) // 2],
    ]
    signatures = np.stack([dedup.signature(dedup.normalized(t)) for t in texts])
    found = dedup.near_duplicates(signatures, 0.8)
    assert found == {1: 0}  # a small edit is a near duplicate; half the text is not (Jaccard about 0.5)


DATA = ROOT.parent / "shared" / "data"


@pytest.mark.skipif(not (DATA / "math500" / "test.jsonl").exists(), reason="needs ../shared/data (public solutions)")
def test_the_repetition_detector_on_its_labelled_set():
    """bench/repetition_recall.py's set: loops planted at the end of MATH-500 solutions, and clean,
    checked and enumerating texts (README gives the figures)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from repetition_recall import labelled, measure

    result = measure(labelled(DATA))
    loops = [r for r in result.values() if r["loop"]]
    clean = [r for r in result.values() if not r["loop"]]
    assert sum(r["flagged"] for r in loops) / sum(r["n"] for r in loops) >= 0.95
    assert sum(r["flagged"] for r in clean) / sum(r["n"] for r in clean) <= 0.005


def test_the_viewer_filters_by_why_a_trace_was_dropped(planted, tmp_path, monkeypatch):
    """`journey view INPUT FILTERED`: the input's traces that journey filter dropped are found by reason,
    and a dropped trace's page says why."""
    monkeypatch.setenv("O1J_CACHE", str(tmp_path / "cache"))
    from view.queries import Filters, load_sources, problems, trace

    filter_corpora([str(planted)], tmp_path / "clean")
    sources = load_sources([planted, tmp_path / "clean"])
    found = problems(sources, Filters.parse({"dropped": ["repetition"], "corpus": ["0"]}))
    assert found["total"] == 1 and found["rows"][0]["problem_id"] == "loop"
    anything = problems(sources, Filters.parse({"dropped": ["any"], "corpus": ["0"]}))
    # truncated, repetition, language, near duplicate, and the duplicate (its question is clean0's)
    assert anything["total"] == 5
    n = found["rows"][0]["corpora"]["0"]["n"]
    page = trace(sources, 0, n)
    assert page["dropped"]["reason"] == "repetition" and "times" in page["dropped"]["detail"]
