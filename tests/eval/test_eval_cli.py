"""`journey eval math` and `journey report` through a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.openai_server import OpenAIServer, last_user

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def knows_even(body: dict) -> str:
    """Right on problems with an even first number, wrong on odd ones: a known 50% accuracy."""
    a, b = map(int, re.search(r"What is (\d+) times (\d+)\?", last_user(body)).groups())
    return f"{a} times {b} is {a * b if a % 2 == 0 else a * b + 1}. The final answer is \\boxed{{{a * b if a % 2 == 0 else a * b + 1}}}."


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "journey", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_eval_math_reports_the_known_share_and_report_puts_runs_side_by_side(tmp_path):
    data = tmp_path / "gsm.jsonl"
    data.write_text(
        "".join(
            json.dumps({"question": f"What is {i} times 3?", "answer": f"x\n#### {3 * i}"}) + "\n" for i in range(1, 21)
        )
    )
    with OpenAIServer(knows_even) as server:
        result = run(
            "eval",
            "math",
            "--model",
            f"m@{server.base_url}",
            "--dataset",
            str(data),
            "--out",
            str(tmp_path / "a"),
            "--samples",
            "2",
            "--temperature",
            "0.5",
            "--max-tokens",
            "64",
        )
        assert result.returncode == 0, result.stderr
        again = run(
            "eval",
            "math",
            "--model",
            f"m@{server.base_url}",
            "--dataset",
            str(data),
            "--out",
            str(tmp_path / "a"),
            "--samples",
            "2",
            "--temperature",
            "0.5",
            "--max-tokens",
            "64",
        )
        assert len(server.requests) == 40  # the rerun (same model and sampling) found every sample done
    assert again.returncode == 0, again.stderr
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["problems"] == 20 and summary["samples_per_problem"] == 2
    assert summary["pass@1"] == 0.5 and summary["pass@2"] == 0.5 and summary["maj@k"] == 0.5
    interval = summary["intervals"]["pass@1"]  # 10 of 20 problems always right: bootstrap seed 0
    assert (interval["lo"], interval["hi"], interval["n"], interval["seed"]) == (0.3, 0.7, 20, 0)
    assert summary["tokens_out_mean"] > 0 and [c["samples"] for c in summary["budget_curve"]] == [1, 2]
    samples = [json.loads(line) for line in (tmp_path / "a" / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 40 and {"prompt", "output", "extracted", "correct", "tokens_out"} <= samples[0].keys()
    assert (tmp_path / "a" / "accuracy_vs_tokens.png").read_bytes()[:4] == b"\x89PNG"

    shutil.copytree(tmp_path / "a", tmp_path / "b")  # a second run that journey eval wrote, then rescored
    (tmp_path / "b" / "summary.json").write_text(json.dumps(summary | {"model": "trained", "pass@1": 0.75}))
    report = run("report", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "report"))
    assert report.returncode == 0, report.stderr
    md = (tmp_path / "report" / "report.md").read_text()
    assert "| 0.500 |" in md and "| 0.750 |" in md and "trained" in md
    # pass@1's interval over the 20 problems (10 solved, 2 samples each), and the paired difference
    # of b (the same samples, rescored in its summary only) against a: zero, with no spread
    assert "| [0.300, 0.700] |" in md  # bootstrap seed 0; the normal approximation says 0.5 +- 0.22
    assert f"| {tmp_path / 'b'} - {tmp_path / 'a'} | +0.000 [+0.000, +0.000] | 20 |" in md
    page = (tmp_path / "report" / "report.html").read_text()
    assert "data:image/png;base64," in page and "http" not in page.replace(server.base_url, "")
    # a run that differs in more than the model is refused, unless the difference is allowed
    assert summary["protocol"]["decoding"]["max_tokens"] == 64 and summary["protocol"]["dataset"]["problems"] == 20
    shutil.copytree(tmp_path / "a", tmp_path / "c")
    other = summary | {
        "protocol": summary["protocol"] | {"decoding": summary["protocol"]["decoding"] | {"max_tokens": 512}}
    }
    (tmp_path / "c" / "summary.json").write_text(json.dumps(other))
    refused = run("report", str(tmp_path / "a"), str(tmp_path / "c"), "--out", str(tmp_path / "r2"))
    assert refused.returncode == 2 and "decoding.max_tokens: 512 | 64" in refused.stderr and "--allow" in refused.stderr
    assert not (tmp_path / "r2").exists()
    allowed = run(
        "report",
        str(tmp_path / "a"),
        str(tmp_path / "c"),
        "--out",
        str(tmp_path / "r3"),
        "--allow",
        "decoding.max_tokens",
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "Allowed difference: decoding.max_tokens" in (tmp_path / "r3" / "report.md").read_text()


def test_repeats_change_only_the_seed(tmp_path):
    """--repeats 3 --seed 5: three runs whose requests differ in the seed alone (5, 6, 7); the summary
    gives their mean and spread."""
    data = tmp_path / "gsm.jsonl"
    data.write_text(
        "".join(json.dumps({"question": f"What is {i} times 3?", "answer": str(3 * i)}) + "\n" for i in range(1, 5))
    )
    with OpenAIServer(knows_even) as server:
        args = ["eval", "math", "--model", f"m@{server.base_url}", "--dataset", str(data), "--max-tokens", "32"]
        result = run(*args, "--out", str(tmp_path / "r"), "--repeats", "3", "--seed", "5", "--concurrency", "1")
        assert result.returncode == 0, result.stderr
        bodies = list(server.requests)
    assert len(bodies) == 12 and [b["seed"] for b in bodies] == [5] * 4 + [6] * 4 + [7] * 4
    strip = [{k: v for k, v in b.items() if k != "seed"} for b in bodies]
    assert strip[:4] == strip[4:8] == strip[8:]  # nothing but the seed changes between repeats
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["repeats"]["n"] == 3 and summary["repeats"]["seeds"] == [5, 6, 7]
    assert summary["repeats"]["pass@1"] == [0.5, 0.5, 0.5] and summary["repeats"]["sd"] == 0.0
    assert summary["protocol"]["decoding"]["repeats"] == 3 and summary["protocol"]["decoding"]["seed"] == 5
    for seed in (5, 6, 7):
        assert json.loads((tmp_path / "r" / "repeats" / f"seed-{seed}" / "summary.json").read_text())["pass@1"] == 0.5


def test_with_a_seed_each_sample_of_a_problem_is_its_own_draw(tmp_path):
    """--samples 3 --seed 5: a problem's samples are sent seeds 5, 6, 7 (one seed for all would make
    three copies of one draw); with --repeats 2, the second repeat starts at 8, sharing none."""
    data = tmp_path / "gsm.jsonl"
    data.write_text(
        "".join(json.dumps({"question": f"What is {i} times 3?", "answer": str(3 * i)}) + "\n" for i in (2, 3))
    )
    with OpenAIServer(knows_even) as server:
        args = ["eval", "math", "--model", f"m@{server.base_url}", "--dataset", str(data), "--max-tokens", "32"]
        result = run(*args, "--out", str(tmp_path / "s"), "--samples", "3", "--seed", "5", "--repeats", "2")
        assert result.returncode == 0, result.stderr
        sent = [(last_user(b), b["seed"]) for b in server.requests]
    for question in ("What is 2 times 3?", "What is 3 times 3?"):
        assert sorted(seed for q, seed in sent if question in q) == [5, 6, 7, 8, 9, 10]
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["repeats"]["seeds"] == [5, 8] and summary["produced_by"]["sampling"]["seeds"] == "seed + sample"


def test_eval_math_bad_dataset_is_exit_2(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "What is 1 times 3?"}\n')
    result = run(
        "eval", "math", "--model", "m@http://127.0.0.1:9/v1", "--dataset", str(bad), "--out", str(tmp_path / "o")
    )
    assert result.returncode == 2 and f"{bad}:1: no answer field" in result.stderr


def test_a_rerun_with_another_model_refuses_and_never_reuses(tmp_path):
    data = tmp_path / "gsm.jsonl"
    data.write_text(
        "".join(json.dumps({"question": f"What is {i} times 3?", "answer": str(3 * i)}) + "\n" for i in range(1, 5))
    )
    out = tmp_path / "out"
    with OpenAIServer(knows_even) as base, OpenAIServer(lambda body: "The answer is \\boxed{0}.") as trained:
        first = run("eval", "math", "--model", f"base@{base.base_url}", "--dataset", str(data), "--out", str(out))
        assert first.returncode == 0, first.stderr
        second = run(
            "eval", "math", "--model", f"trained@{trained.base_url}", "--dataset", str(data), "--out", str(out)
        )
        assert second.returncode == 2 and len(second.stderr.strip().splitlines()) <= 4, second.stderr
        assert "model differ" in " ".join(second.stderr.split()) and not trained.requests
        # the same model with another token limit is another run too
        third = run(
            "eval",
            "math",
            "--model",
            f"base@{base.base_url}",
            "--dataset",
            str(data),
            "--out",
            str(out),
            "--max-tokens",
            "7",
        )
        assert third.returncode == 2 and "sampling.max_tokens" in " ".join(third.stderr.split())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["produced_by"]["model"] == f"base@{base.base_url}" and summary["pass@1"] == 0.5


def test_a_changed_dataset_row_is_generated_again(tmp_path):
    data = tmp_path / "gsm.jsonl"
    rows = [{"id": f"q{i}", "question": f"What is {i} times 3?", "answer": str(3 * i)} for i in range(1, 5)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    with OpenAIServer(knows_even) as server:
        assert (
            run("eval", "math", "--model", f"m@{server.base_url}", "--dataset", str(data), "--out", str(out)).returncode
            == 0
        )
        rows[0]["question"] = "What is 8 times 3?"  # the row under id q1 changed: its old output must not be reused
        data.write_text("".join(json.dumps(r) + "\n" for r in rows))
        again = run("eval", "math", "--model", f"m@{server.base_url}", "--dataset", str(data), "--out", str(out))
        assert again.returncode == 0, again.stderr
        assert len(server.requests) == 5
    generations = [json.loads(line) for line in (out / "generations.jsonl").read_text().splitlines()]
    assert len(generations) == 4 and [g["question"] for g in generations if g["id"] == "q1"] == ["What is 8 times 3?"]


def test_a_journey_train_checkpoint_is_evaluated_the_way_it_was_trained(tmp_path):
    """A checkpoint journey train wrote gets the chat format and no newline stop: with the few-shot
    prompt and a newline stop, a model trained to open with "<think>\\n" scored 0.00 for 0.94."""
    from eval.math_eval import default_stop, prompt_format

    trained = tmp_path / "trained"
    trained.mkdir()
    (trained / "manifest.json").write_text(json.dumps({"load_with": f"local:{trained}", "stages": []}))
    assert prompt_format(f"local:{trained}") == "chat" and default_stop(f"local:{trained}", "chat") == ()
    assert prompt_format("local") == "fewshot" and default_stop("local", "fewshot") == ("\n",)
    assert prompt_format(f"local:{tmp_path}") == "fewshot"  # a directory journey train did not write
    data = tmp_path / "gsm.jsonl"
    data.write_text(
        "".join(json.dumps({"question": f"What is {i} times 3?", "answer": str(3 * i)}) + "\n" for i in (2, 4))
    )
    with OpenAIServer(knows_even) as server:
        result = run(
            "eval",
            "math",
            "--model",
            f"m@{server.base_url}",
            "--dataset",
            str(data),
            "--out",
            str(tmp_path / "o"),
            "--prompt",
            "chat",
        )
        bodies = list(server.requests)
    assert result.returncode == 0, result.stderr
    assert all([m["role"] for m in b["messages"]] == ["user"] and "stop" not in b for b in bodies)
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["prompt"] == {"format": "chat"} and summary["pass@1"] == 1.0


def test_judge_rescue_a_rescue_a_refusal_an_abstain(tmp_path):
    """--judge-rescue: the rule's negatives with an answer go to the judge; SAME rescues, DIFFERENT
    refuses, an unreadable reply (twice) rescues nothing, and a gold that cannot be read abstains
    without asking."""
    rows = [
        ("What is 1 + 1?", "2", "\\boxed{II}"),  # rescued: a form the rules do not read
        ("What is 1 + 2?", "3", "\\boxed{4}"),  # refused
        ("What is 2 + 3?", "\\frac{", "\\boxed{5}"),  # abstain: the gold cannot be read
        ("What is 0 + 2?", "2", "\\boxed{2}"),  # right by the rule: not asked
        ("What is 3 + 4?", "7", "\\boxed{VII}"),  # the judge's reply cannot be read
    ]
    data = tmp_path / "p.jsonl"
    data.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a, _ in rows))
    outputs = {q: out for q, _, out in rows}
    judged: list[str] = []

    def reply(body: dict) -> str:
        text = last_user(body)
        if "Reference answer:" in text:  # the judge
            judged.append(text)
            if "VII" in text:
                return "Hmm, hard to say."
            return "SAME\nII is 2." if "answer: II" in text else "DIFFERENT\n4 is not 3."
        return next(out for q, out in outputs.items() if q in text)

    with OpenAIServer(reply) as server:
        result = run(
            "eval",
            "math",
            "--model",
            f"m@{server.base_url}",
            "--dataset",
            str(data),
            "--out",
            str(tmp_path / "e"),
            "--judge-rescue",
            f"j@{server.base_url}",
        )
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "e" / "summary.json").read_text())
    rescue = summary["rescue"]
    assert {k: rescue[k] for k in ("asked", "rescued", "refused", "unreadable", "abstained")} == {
        "asked": 3,
        "rescued": 1,
        "refused": 1,
        "unreadable": 1,
        "abstained": 1,
    }
    assert summary["pass@1"] == 0.4 and rescue["pass@1_rule"] == 0.2
    assert len(judged) == 4 and "Reply with one word only" in judged[-1]  # three asked, one strict retry
    samples = {s["question"]: s for s in map(json.loads, (tmp_path / "e" / "samples.jsonl").read_text().splitlines())}
    assert samples["What is 1 + 1?"]["verdict_source"] == "judge" and samples["What is 1 + 1?"]["correct"]
    assert samples["What is 2 + 3?"]["rescue"] == "abstain" and not samples["What is 2 + 3?"]["correct"]
    assert samples["What is 0 + 2?"]["verdict_source"] == "rule" and "rescue" not in samples["What is 0 + 2?"]
