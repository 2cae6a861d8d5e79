"""`journey pairs` on corpora written by `journey synth` through a real server on 127.0.0.1, each kind."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.graphs.test_tree import searcher
from tests.openai_server import OpenAIServer, last_user
from tests.test_distill_cli import distill
from tests.test_synth_cli import ROOT, problems_file, synth, tutor
from trainer.format import THINK_CLOSE, THINK_OPEN, trace_messages
from trainer.mixture import build_mixture, parse_sources

pytestmark = pytest.mark.integration


def chatty_teacher():
    """Sample 1 of an odd problem is wrong; the others are right, each longer than the one before."""
    seen: Counter = Counter()

    def reply(body: dict) -> dict:
        a, b = map(int, re.search(r"What is (\d+) \+ (\d+)\?", last_user(body)).groups())
        seen[a] += 1
        n = seen[a]
        answer = a + b + (1 if a % 2 and n == 1 else 0)
        checks = " ".join(f"Check {k}: {a} plus {b} makes {a + b}, so nothing changes." for k in range(4 * (n - 1)))
        return {
            "content": f"So {a} + {b} = {answer}. The answer is \\boxed{{{answer}}}.",
            "reasoning_content": f"I add {a} and {b}. {checks}".strip(),
        }

    return reply


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("corpora")
    problems = problems_file(root, 6)
    out = {name: root / name for name in ("journey", "distill", "tree")}
    with OpenAIServer(tutor) as server:
        assert synth(server, problems, out["journey"]).returncode == 0
    with OpenAIServer(chatty_teacher()) as server:
        result = distill(server, problems, out["distill"], "--samples", "3", "--keep", "all")
        assert result.returncode == 0, result.stderr
    with OpenAIServer(searcher()) as server:
        spec = f"m@{server.base_url}"
        result = synth(
            server, problems, out["tree"], "--method", "tree", "--rewriter", spec, "--width", "2", "--beam", "1"
        )
        assert result.returncode == 0, result.stderr
    return out


def pairs_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "journey", "pairs", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def read(out: Path) -> tuple[list[dict], dict]:
    rows = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    return rows, json.loads((out / "manifest.json").read_text())


def traces_by_id(*dirs: Path) -> dict[str, dict]:
    found = {}
    for d in dirs:
        for name in ("traces.jsonl", "rejected.jsonl"):
            if (d / name).exists():
                for line in (d / name).read_text().splitlines():
                    row = json.loads(line)
                    found[row["id"]] = row
    return found


def test_verified_vs_wrong_pairs_each_problem_that_has_both(corpora, tmp_path):
    out = tmp_path / "vw"
    result = pairs_cli(str(corpora["distill"]), "--kind", "verified-vs-wrong", "--per-problem", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows, manifest = read(out)
    by_id = traces_by_id(corpora["distill"])
    # odd problems (1, 3, 5) have one wrong sample and two verified ones: two pairs each, sharing the wrong side
    assert Counter(r["problem_id"] for r in rows) == {"q1": 2, "q3": 2, "q5": 2}
    for r in rows:
        chosen, rejected = by_id[r["chosen_trace"]], by_id[r["rejected_trace"]]
        assert chosen["verified"] and not rejected["verified"] and chosen["problem_id"] == rejected["problem_id"]
        # the assistant turn is exactly the SFT formatting of each trace
        assert r["prompt"] + r["chosen"] == trace_messages(chosen)
        assert r["prompt"] + r["rejected"] == trace_messages(rejected)
        assert r["chosen"][0]["content"].startswith(THINK_OPEN) and THINK_CLOSE in r["chosen"][0]["content"]
    assert len({(r["chosen_trace"], r["rejected_trace"]) for r in rows}) == 6
    assert manifest["kind"] == "verified-vs-wrong" and manifest["counts"] == {"pairs": 6, "problems": 3}
    assert manifest["dropped"]["problem without both a verified and a wrong sample"] == 3
    source = manifest["sources"][0]
    assert source["corpus"] == str(corpora["distill"]) and source["traces_sha256"].startswith("sha256:")
    assert source["rejected_sha256"].startswith("sha256:")


def test_wrong_samples_of_another_corpus_of_the_same_problems_pair_too(corpora, tmp_path):
    # the journey corpus is all verified; the distill corpus's rejected samples give the wrong sides
    out = tmp_path / "vw2"
    result = pairs_cli(
        str(corpora["journey"]), str(corpora["distill"]), "--kind", "verified-vs-wrong", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    rows, _ = read(out)
    assert sorted(r["problem_id"] for r in rows) == ["q1", "q3", "q5"]


def test_short_vs_long_needs_the_ratio(corpora, tiny_model, tmp_path):
    out = tmp_path / "sl"
    result = pairs_cli(
        str(corpora["distill"]), "--kind", "short-vs-long", "--tokenizer", str(tiny_model), "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    rows, manifest = read(out)
    by_id = traces_by_id(corpora["distill"])
    # even problems have three verified samples (0, 4 and 8 checks); odd ones two (4 and 8 checks)
    assert sorted(r["problem_id"] for r in rows) == [f"q{i}" for i in range(6)]
    for r in rows:
        assert r["rejected_tokens"] >= 1.5 * r["chosen_tokens"]
        assert by_id[r["chosen_trace"]]["verified"] and by_id[r["rejected_trace"]]["verified"]
        assert len(r["chosen"][0]["content"]) < len(r["rejected"][0]["content"])
    assert manifest["length_unit"].startswith(f"tokens of {tiny_model}")
    # a ratio no pair reaches: every problem is dropped, with the reason
    strict = tmp_path / "strict"
    result = pairs_cli(
        str(corpora["distill"]),
        "--kind",
        "short-vs-long",
        "--ratio",
        "1000",
        "--tokenizer",
        str(tiny_model),
        "--out",
        str(strict),
    )
    # nothing passes the ratio: an error naming why each was left out, and no empty files
    assert result.returncode == 2 and "6 lengths within the ratio 1000.0" in result.stderr
    assert not strict.exists()


def test_journey_vs_shortcut_is_one_trace_rendered_twice(corpora, tmp_path):
    out = tmp_path / "js"
    assert pairs_cli(str(corpora["journey"]), "--kind", "journey-vs-shortcut", "--out", str(out)).returncode == 0
    rows, manifest = read(out)
    by_id = traces_by_id(corpora["journey"])
    assert len(rows) == 6 and manifest["counts"]["pairs"] == 6
    for r in rows:
        trace = by_id[r["chosen_trace"]]
        assert r["chosen_trace"] == r["rejected_trace"]
        assert r["prompt"] + r["chosen"] == trace_messages(trace, thought="journey")
        assert r["prompt"] + r["rejected"] == trace_messages(trace, thought="shortcut")
        assert "Wait," in r["chosen"][0]["content"] and "Wait," not in r["rejected"][0]["content"]
    flipped = tmp_path / "sj"
    args = ("--kind", "journey-vs-shortcut", "--prefer", "shortcut", "--out", str(flipped))
    assert pairs_cli(str(corpora["journey"]), *args).returncode == 0
    other, _ = read(flipped)
    assert {r["problem_id"]: r["chosen"] for r in other} == {r["problem_id"]: r["rejected"] for r in rows}


def test_step_pairs_come_from_the_saved_trees(corpora, tmp_path):
    out = tmp_path / "step"
    result = pairs_cli(str(corpora["tree"]), "--kind", "step", "--per-problem", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows, manifest = read(out)
    by_id = traces_by_id(corpora["tree"])
    # each tree: the root has a right and a wrong first step, and the right one a right and a wrong answer
    assert Counter(r["problem_id"] for r in rows) == {f"q{i}": 2 for i in range(6)}
    for r in rows:
        tree = by_id[r["chosen_trace"]]["tree"]
        nodes = {str(n["id"]): n for n in tree["nodes"]}
        good, bad = nodes[r["chosen_node"]], nodes[r["rejected_node"]]
        assert good["correct"] and not bad["correct"]
        assert (r["chosen_score"], r["rejected_score"], r["scorer"]) == (1.0, 0.0, "critic")
        assert r["rejected_reason"] == bad["reason"]
        chosen, rejected = r["chosen"][0]["content"], r["rejected"][0]["content"]
        assert chosen.startswith(THINK_OPEN) and THINK_CLOSE not in chosen
        assert chosen.endswith(good["text"]) and rejected.endswith(bad["text"])
        # the same path up to the node: the texts differ only in the last step
        assert chosen.removesuffix(good["text"]) == rejected.removesuffix(bad["text"])
        assert r["depth"] == (0 if r["node"] == "0" else 1)
    assert manifest["counts"]["pairs"] == 12


def test_step_pairs_skip_unparseable_replies_and_use_scores(tmp_path):
    from tests.trainer.tiny import journey_trace, write_corpus

    trace = journey_trace("q0", "What is 1 plus 2?", "3", method="tree")
    nodes = [
        {"id": "0", "text": "", "correct": True, "depth": 0},
        {"id": "1", "text": "1 + 2 = 3.", "correct": True, "score": 0.6, "depth": 1},
        {"id": "2", "text": "1 + 2 = 4.", "correct": False, "score": 0.3, "reason": "off by one", "depth": 1},
        {"id": "3", "text": "1 + 2 is 3, surely.", "correct": True, "score": 0.9, "depth": 1},
        {"id": "4", "text": "gibberish", "correct": False, "reason": "unparseable step", "depth": 1},
    ]
    trace.tree = {"nodes": nodes, "edges": [{"source": "0", "target": str(i)} for i in range(1, 5)]}
    corpus = write_corpus(tmp_path / "c", [trace])
    out = tmp_path / "p"
    assert pairs_cli(str(corpus), "--kind", "step", "--per-problem", "5", "--out", str(out)).returncode == 0
    rows, manifest = read(out)
    # the best-scored right step first; the unparseable reply is never a side
    assert [(r["chosen_node"], r["rejected_node"]) for r in rows] == [("3", "2"), ("1", "2")]
    assert rows[0]["chosen_score"] == 0.9 and manifest["dropped"]["unparseable reply"] == 1


def test_pairs_are_decontaminated_and_deduplicated_with_the_trainers_rules(corpora, tmp_path):
    evalset = tmp_path / "eval.jsonl"
    evalset.write_text(json.dumps({"id": "e1", "question": "What is 1 + 3?", "answer": "4"}) + "\n")
    out = tmp_path / "clean"
    args = ("--kind", "verified-vs-wrong", "--decontaminate", str(evalset), "--ngram", "3", "--out", str(out))
    # the same corpus twice: each of its samples is used once
    result = pairs_cli(str(corpora["distill"]), str(corpora["distill"]), *args)
    assert result.returncode == 0, result.stderr
    rows, manifest = read(out)
    assert sorted(r["problem_id"] for r in rows) == ["q3", "q5"]
    assert [d["problem_id"] for d in manifest["decontamination"]["dropped_problems"]] == ["q1"]
    assert manifest["dropped"]["contaminated"] == 1
    assert manifest["dropped"]["duplicate sample"] == 18  # 6 problems x 3 samples, found twice
    # the pairs load as a trainer source, and the trainer's dedup keeps one problem per source
    specs = parse_sources([{"pairs": str(out)}])
    mixture = build_mixture(specs, length=lambda m: sum(len(x["content"]) for x in m), max_length=None)
    assert {s.problem_id for s in mixture.samples} == {"q3", "q5"}
    assert all(set(s.row()) == {"prompt", "chosen", "rejected"} for s in mixture.samples)


def test_bad_input_is_one_line(corpora, tmp_path):
    result = pairs_cli(str(tmp_path), "--kind", "step", "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "is an empty directory, not a corpus" in result.stderr
    result = pairs_cli(str(corpora["journey"]), "--kind", "best-vs-worst", "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "--kind is one of" in result.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "traces.jsonl").write_text('{"id": "t1", "problem_id": "q"}\n')
    result = pairs_cli(str(bad), "--kind", "journey-vs-shortcut", "--out", str(tmp_path / "y"))
    assert result.returncode == 2 and f"{bad / 'traces.jsonl'}:1: not a trace" in result.stderr
    out = tmp_path / "once"
    assert pairs_cli(str(corpora["journey"]), "--kind", "journey-vs-shortcut", "--out", str(out)).returncode == 0
    again = pairs_cli(str(corpora["journey"]), "--kind", "journey-vs-shortcut", "--out", str(out))
    assert again.returncode == 2 and "already holds pairs" in again.stderr
    # pairs are not a corpus, and a corpus is no place for pairs: one line each, nothing touched
    result = pairs_cli(str(out), "--kind", "journey-vs-shortcut", "--out", str(tmp_path / "z"))
    assert result.returncode == 2 and "is a pairs directory, not a corpus" in result.stderr
    manifest = (corpora["journey"] / "manifest.json").read_bytes()
    result = pairs_cli(str(corpora["journey"]), "--kind", "journey-vs-shortcut", "--out", str(corpora["journey"]))
    assert result.returncode == 2 and "is an input" in result.stderr
    assert (corpora["journey"] / "manifest.json").read_bytes() == manifest
    result = pairs_cli(str(corpora["journey"]), "--kind", "journey-vs-shortcut", "--out", "")
    assert result.returncode == 2 and "--out is empty" in result.stderr
