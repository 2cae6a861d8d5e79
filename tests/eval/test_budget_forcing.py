"""Budget forcing (`journey eval math --think-budget N[,N...] [--wait K]`): the state machine, a
scripted thinking model behind a real `/v1/completions` server on 127.0.0.1, and the embedded model."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from eval.forcing import Forced, Forcing, Result, close_box, run_rounds
from tests.openai_server import OpenAIServer

ROOT = Path(__file__).resolve().parents[2]
THOUGHT = 20  # words the scripted model thinks before it ends its thought


def run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "journey", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_a_cut_thought_is_closed_and_its_answer_asked_for():
    state = Forced("PROMPT", Forcing(budget=10))
    first = state.request()
    assert first.prompt == "PROMPT<think>\n" and first.max_tokens == 10 and first.stop == ("</think>",)
    state.take(Result("one two three four five six seven eight nine ten", 10, "length"))
    answer = state.request()
    assert answer.prompt.endswith("ten\n</think>\n\nThe final answer is \\boxed{") and answer.stop == ("\n",)
    state.take(Result("\\frac{1}{2}} and more", 5, "stop"))
    assert state.request() is None and state.cut and state.answer == "\\frac{1}{2}}"
    assert state.output().endswith("</think>\n\nThe final answer is \\boxed{\\frac{1}{2}}")
    assert state.record()["thinking_tokens"] == 10 and state.record()["tokens_out"] == 15


def test_an_early_end_becomes_wait_while_waits_and_budget_remain():
    state = Forced("P<think>\n", Forcing(budget=12, waits=2))  # a template that opens the thought itself
    assert state.request().prompt == "P<think>\n"
    state.take(Result("short thought ", 2, "stop"))
    assert state.request().prompt == "P<think>\nshort thought\nWait" and state.request().max_tokens == 10
    state.take(Result(", more", 2, "stop"))
    state.take(Result(", still more", 3, "stop"))  # the second wait used: this end stands
    assert (
        state.waits_used == 2 and not state.cut and state.request().prompt.endswith("\n</think>\n\n" + Forcing(1).cue)
    )


def test_a_box_left_open_is_closed_here_and_said_so():
    assert close_box("42}. Done") == ("42}", False)
    assert close_box("\\frac{1}{2") == ("\\frac{1}{2}}", True)
    assert close_box("x") == ("x}", True)


def test_rounds_batch_every_pending_sample():
    calls: list[int] = []

    def batch(requests):
        calls.append(len(requests))
        return [Result("a b c", 3, "length" if r.max_tokens <= 3 else "stop") for r in requests]

    states = run_rounds(["x", "y"], Forcing(budget=3), batch)
    assert calls == [2, 2] and all(s.cut and s.answer == "a b c}" for s in states)


def thinking_model(body: dict) -> str:
    """A thinking model: it thinks THOUGHT words, then ends its thought and answers. Asked for its
    answer, it knows it only when it thought at least THOUGHT words; after a "Wait" it checks again
    in five words."""
    prompt = body["prompt"]
    a, b = map(int, re.findall(r"What is (\d+) times (\d+)\?", prompt)[-1])
    thought = prompt.rsplit("<think>", 1)[1]
    words = len(thought.split())
    if prompt.endswith("\\boxed{"):
        right = len(thought.split("</think>")[0].split()) >= THOUGHT
        return f"{a * b if right else a * b + 1}}}.\nMore text"
    if thought.rstrip().endswith("Wait"):
        return " let me check it again. </think> done"
    more = " ".join(f"step{i}" for i in range(words, THOUGHT))
    return f"{more} </think>\n\nThe final answer is \\boxed{{{a * b}}}."


@pytest.mark.integration
def test_budget_curve_through_a_completions_server(tmp_path):
    from tests.trainer.tiny import build_tiny_model

    template = build_tiny_model(tmp_path / "tok", ["What is 2 times 3?", "The final answer is"])
    data = tmp_path / "p.jsonl"
    data.write_text(
        "".join(json.dumps({"question": f"What is {i} times 3?", "answer": str(3 * i)}) + "\n" for i in range(1, 5))
    )
    with OpenAIServer(lambda body: 400, text=thinking_model) as server:
        model = f"m@{server.base_url}"
        refused = run(
            "eval",
            "math",
            "--model",
            model,
            "--dataset",
            str(data),
            "--out",
            str(tmp_path / "x"),
            "--think-budget",
            "8",
        )
        assert refused.returncode == 2 and "--template DIR" in refused.stderr
        args = ["eval", "math", "--model", model, "--dataset", str(data), "--template", str(template)]
        result = run(*args, "--out", str(tmp_path / "e"), "--think-budget", "8,16,32")
        assert result.returncode == 0, result.stderr
        plain = list(server.requests)
        waited = run(
            *args, "--out", str(tmp_path / "w"), "--think-budget", "32", "--wait", "1", "--samples", "2", "--seed", "3"
        )
        assert waited.returncode == 0, waited.stderr
        seeded = server.requests[len(plain) :]
    # each phase of a sample is sent that sample's seed: 3 for the first of a problem, 4 for the second
    assert sorted({b["seed"] for b in seeded}) == [3, 4] and all(b.get("seed") is None for b in plain)
    # the template rendered here, sent without added special tokens, the thought opened after it
    assert all(b["prompt"].startswith("<bos>") and b["add_special_tokens"] is False for b in plain)
    assert all("<start_of_turn>model\n<think>\n" in b["prompt"] for b in plain)
    summary = json.loads((tmp_path / "e" / "summary.json").read_text())
    curve = {p["budget"]: p for p in summary["budget_forcing"]}
    assert sorted(curve) == [8, 16, 32]
    # cut at 8 and 16 (and then wrong: this model needs its whole thought), whole at 32 (right)
    assert [curve[b]["accuracy"] for b in (8, 16, 32)] == [0.0, 0.0, 1.0]
    assert [curve[b]["thinking_tokens_mean"] for b in (8, 16, 32)] == [8, 16, THOUGHT]
    assert [curve[b]["cut"] for b in (8, 16, 32)] == [4, 4, 0]
    for budget in (8, 16, 32):
        samples = [json.loads(line) for line in (tmp_path / "e" / f"budget-{budget}" / "samples.jsonl").open()]
        assert len(samples) == 4 and all(s["extracted"] is not None for s in samples)  # every sample answered
        assert all(s["thinking_tokens"] <= budget for s in samples)
        assert curve[budget]["interval"]["lo"] <= curve[budget]["accuracy"] <= curve[budget]["interval"]["hi"]
    assert summary["headline_budget"] == 32 and summary["pass@1"] == 1.0
    assert summary["protocol"]["decoding"]["forcing"]["budget"] == 32
    assert (tmp_path / "e" / "accuracy_vs_thinking.png").stat().st_size > 0
    report = run("report", str(tmp_path / "e"), "--out", str(tmp_path / "r"))
    assert report.returncode == 0, report.stderr
    table = (tmp_path / "r" / "report.md").read_text()
    assert "| thinking budget |" in table and f"| 32 | 0 | 1.000 [1.000, 1.000] | {THOUGHT}.0 | 4/4 | 0 |" in table
    assert (tmp_path / "r" / "accuracy_vs_thinking.png").exists()
    assert "| 1.000 | [1.000, 1.000] |" in table  # the headline (largest) budget's pass@1, with its interval
    # --wait 1: the early end became "Wait", five more words were thought, within the budget
    samples = [json.loads(line) for line in (tmp_path / "w" / "budget-32" / "samples.jsonl").open()]
    assert all(s["waits_used"] == 1 and s["thinking_tokens"] == THOUGHT + 5 for s in samples)
    assert all("\nWait let me check it again.\n</think>" in s["output"] for s in samples)
    # the thinking tokens are the usage the server reported for the thinking requests
    assert len(samples) == 8 and sum(s["thinking_tokens"] for s in samples) == 8 * (THOUGHT + 5)


@pytest.mark.slow
@pytest.mark.integration
def test_budget_forcing_on_the_embedded_model(tmp_path):
    """The embedded model (a 270M base model) under three budgets: every sample answered, none over
    its budget; the curve has three points."""
    data = tmp_path / "p.jsonl"
    data.write_text(
        "".join(
            json.dumps({"question": q, "answer": a}) + "\n"
            for q, a in (("What is 6 times 7?", "42"), ("Tom has 9 apples and eats 4. How many are left?", "5"))
        )
    )
    out = tmp_path / "e"
    result = run(
        "eval", "math", "--model", "local", "--dataset", str(data), "--out", str(out), "--think-budget", "8,24,48",
        timeout=1200,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert [p["budget"] for p in summary["budget_forcing"]] == [8, 24, 48]
    for point in summary["budget_forcing"]:
        samples = [json.loads(line) for line in (out / f"budget-{point['budget']}" / "samples.jsonl").open()]
        assert len(samples) == 2 and point["answered"] == 2
        assert all(s["extracted"] is not None and 0 < s["thinking_tokens"] <= point["budget"] for s in samples)
        assert all(s["output"].startswith("<think>\n") and "\n</think>\n\nThe final answer is \\boxed{" in s["output"]
                   for s in samples)  # fmt: skip
    assert summary["budget_forcing"][0]["thinking_tokens_mean"] == 8  # the 270M model does not stop within 8
