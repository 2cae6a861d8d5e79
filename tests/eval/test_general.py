"""`journey eval general`: Auto-J / LIMA style queries answered by a model, judged on a rubric and
pairwise in both orders, through a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from corpus.problems import ProblemFileError
from eval.general import Query, is_planning, load_queries, model_score, parse_decision, parse_rating
from tests.openai_server import OpenAIServer, last_user

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "journey", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("The response is thin.\n\nRating: [[6]] ", 6),  # Auto-J's form
        ("Good.\nRating: [[10]]", 10),
        ("First I thought [[3]], but on reflection: Rating: [[7]]", 7),  # the last one stands
        ("Rating: 8/10", 8),  # a bare rating line
        ("**Rating:** 4", 4),
        ("I would rate it highly.", None),
        ("Rating: [[0]]", None),  # outside 1-10
        ("Rating: [[11]]", None),
    ],
)
def test_parse_rating(text, rating):
    assert parse_rating(text) == rating


@pytest.mark.parametrize(
    ("text", "decision"),
    [
        ("Response 1 is more specific.\nSo, the final decision is Response 1", "1"),
        ("So, the final decision is response 2.", "2"),
        ("So, the final decision is Tie", "tie"),
        ("so the final decision is: **Response 2**", "2"),
        ("Response 1 is better.", None),  # no decision statement: unreadable, never a guess
    ],
)
def test_parse_decision(text, decision):
    assert parse_decision(text) == decision


def test_a_comparison_scores_the_model_by_its_position():
    assert [model_score("1", "1"), model_score("2", "1"), model_score("tie", "2"), model_score(None, "2")] == [
        1.0,
        0.0,
        0.5,
        None,
    ]


def test_planning_is_autoj_s_label_where_there_is_one_else_the_query_s_words():
    assert is_planning(Query("a", "Summarize this post", "planning"))
    assert not is_planning(Query("b", "Make a plan for my week", "writing_advertisement"))  # its label decides
    assert is_planning(Query("c", "Make a 3-month study schedule for the GRE"))
    assert is_planning(Query("d", "Give me an itinerary for 5 days in Rome"))
    assert not is_planning(Query("e", "Explain why the sky is blue"))
    assert not is_planning(Query("f", "The airplane landed"))  # whole words only


def test_autoj_and_lima_shaped_files_load_with_repeats_dropped(tmp_path):
    autoj = tmp_path / "autoj.jsonl"
    rows = [
        {"scenario": "planning", "prompt": "Plan a week of meals.", "response": "x", "critiques": {"autoj": "y"}},
        {"scenario": "planning", "prompt": "Plan a week of meals.", "response": "z", "critiques": {"autoj": "w"}},
        {"scenario": "chitchat", "prompt": "How are you?", "response": "x", "critiques": {}},
    ]
    autoj.write_text("".join(json.dumps(r) + "\n" for r in rows))
    queries, repeats, _ = load_queries(str(autoj))
    assert [q.query for q in queries] == ["Plan a week of meals.", "How are you?"] and repeats == 1
    planning, _, _ = load_queries(str(autoj), subset="planning")
    assert [q.scenario for q in planning] == ["planning"]
    lima = tmp_path / "lima.jsonl"
    lima.write_text(json.dumps({"conversations": ["Write a schedule for my garden."], "source": "test"}) + "\n")
    [query], _, _ = load_queries(str(lima), subset="planning")
    assert query.query == "Write a schedule for my garden." and query.scenario is None
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"query": "fine"}) + "\n" + json.dumps({"text": "no query"}) + "\n")
    with pytest.raises(ProblemFileError, match=r"bad.jsonl:2: no query field"):
        load_queries(str(bad))


QUERIES = [
    ("q1", "Plan a week of meals for a family of four.", "planning"),
    ("q2", "Plan my study schedule for the next three months.", "planning"),
    ("q3", "How are you today?", "chitchat"),
    ("q4", "Write a haiku about rain.", "creative_writing"),
]
# what each model answers, and the rating the judge gives each answer
ANSWERS = {
    "Plan a week of meals for a family of four.": ("Monday: pasta. Tuesday: fish. Wednesday: soup.", "Meals."),
    "Plan my study schedule for the next three months.": ("Month 1: basics. Month 2: practice.", "Study."),
    "How are you today?": ("Fine, thanks for asking!", "Fine, and you?"),
    "Write a haiku about rain.": ("Rain taps the window", "Rain falls down on me"),
}
RATINGS = {"Monday: pasta.": 9, "Month 1: basics.": 7, "Fine, thanks": 5}


def scripted(body: dict) -> str:
    """The model (m), the reference (r) and the judge (j), told apart by the model name the request carries."""
    text = last_user(body)
    who = body["model"]
    if who in ("m", "r"):
        mine, theirs = ANSWERS[text]
        return mine if who == "m" else theirs
    if "[Response 1]:" in text:  # pairwise: the longer response wins; a haiku pair is a tie
        first = text.split("[Response 1]: ", 1)[1].split("\n***", 1)[0]
        second = text.split("[Response 2]: ", 1)[1].split("\n***", 1)[0]
        if "Rain" in first:
            return "Both are fine.\nSo, the final decision is Tie"
        return f"One is more complete.\nSo, the final decision is Response {1 if len(first) > len(second) else 2}"
    response = text.split("[Response]: ", 1)[1].split("\n***", 1)[0]
    if response.startswith("Rain"):
        return "A haiku that I cannot rate." if "Rating: [[N]]" not in text else "Still no rating."
    rating = next(v for k, v in RATINGS.items() if response.startswith(k))
    return f"The response is on topic but short.\n\nRating: [[{rating}]]"


@pytest.mark.integration
def test_eval_general_rubric_and_pairwise_both_orders(tmp_path):
    data = tmp_path / "q.jsonl"
    data.write_text("".join(json.dumps({"id": i, "prompt": q, "scenario": s}) + "\n" for i, q, s in QUERIES))
    with OpenAIServer(scripted) as server:
        args = ["eval", "general", "--dataset", str(data), "--judge", f"j@{server.base_url}"]
        args += ["--model", f"m@{server.base_url}", "--reference", f"r@{server.base_url}", "--mode", "both"]
        result = run(*args, "--out", str(tmp_path / "g"))
        assert result.returncode == 0, result.stderr
        asked = len(server.requests)
        again = run(*args, "--out", str(tmp_path / "g"))  # a rerun reads every reply back
        assert again.returncode == 0 and len(server.requests) == asked
        planning = run(*args, "--out", str(tmp_path / "p"), "--subset", "planning")
        assert planning.returncode == 0, planning.stderr
    summary = json.loads((tmp_path / "g" / "summary.json").read_text())
    # ratings 9, 7, 5 (the haiku's cannot be read, even after the strict reminder): mean 7 -> 70%
    assert summary["rubric_score"] == pytest.approx(70.0) and summary["rubric_score_unparseable"] == 1
    assert summary["rating_mean"] == pytest.approx(7.0)
    ci = summary["intervals"]["rubric_score"]
    assert ci["lo"] <= 70.0 <= ci["hi"] and ci["n"] == 3 and 50.0 <= ci["lo"] and ci["hi"] <= 90.0
    # pairwise: the model's answers are longer on q1-q3 (won in both orders), the haiku a tie
    assert summary["win_rate"] == pytest.approx((1 + 1 + 1 + 0.5) / 4)
    assert (summary["wins"], summary["ties"], summary["losses"]) == (3, 1, 0) and summary["orders_agree"] == 1.0
    assert summary["rubric_score_planning"] == pytest.approx(80.0)
    assert summary["protocol"]["prompt"]["form"] == "autoj" and summary["protocol"]["dataset"]["items"] == 4
    items = {r["id"]: r for r in map(json.loads, (tmp_path / "g" / "items.jsonl").read_text().splitlines())}
    kinds = [(j["kind"], j.get("order")) for j in items["q1"]["judgments"]]
    assert kinds == [("rubric", None), ("pairwise", "model first"), ("pairwise", "model second")]
    assert "on topic but short" in items["q1"]["judgments"][0]["output"]  # the judge's reasoning is kept
    assert items["q1"]["score"] == pytest.approx(0.9) and items["q4"]["rating"] is None
    # both orders were asked: the model's answer once as Response 1, once as Response 2
    pairwise = [json.loads(line)["prompt"] for line in (tmp_path / "g" / "pairwise.jsonl").open()]
    assert (
        sum("[Response 1]: Monday" in p for p in pairwise) == 1
        and sum("[Response 2]: Monday" in p for p in pairwise) == 1
    )
    assert (tmp_path / "g" / "rubric.strict.jsonl").exists()  # the unreadable one was asked again
    report = run("report", str(tmp_path / "g"), "--out", str(tmp_path / "r"))
    assert report.returncode == 0, report.stderr
    table = (tmp_path / "r" / "report.md").read_text()
    lo, hi = summary["intervals"]["rubric_score"]["lo"], summary["intervals"]["rubric_score"]["hi"]
    assert f"| rubric_score | 70 | [{lo:.1f}, {hi:.1f}] |" in table and "| win_rate | 0.875 | [" in table
    sub = json.loads((tmp_path / "p" / "summary.json").read_text())
    assert sub["items"] == 2 and sub["subset"] == "planning" and sub["rubric_score"] == pytest.approx(80.0)


def test_pairwise_without_a_reference_is_exit_2(tmp_path):
    data = tmp_path / "q.jsonl"
    data.write_text(json.dumps({"query": "Plan my week."}) + "\n")
    result = run("eval", "general", "--model", "m@http://127.0.0.1:9/v1", "--judge", "j@http://127.0.0.1:9/v1",
                 "--dataset", str(data), "--out", str(tmp_path / "x"), "--mode", "pairwise")  # fmt: skip
    assert result.returncode == 2 and "--reference SPEC" in result.stderr
