"""`journey synth --method distill|reformat`, and the teacher inside journey, through a real server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest

from tests.openai_server import OpenAIServer, last_user
from tests.test_synth_cli import KEY, ROOT, finished, problems_file, synth, traces, tutor

pytestmark = pytest.mark.integration


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def r1_teacher(wrong_first: bool = True):
    """An R1-style teacher: reasoning in a separate field, the answer in the content.

    Its first sample for an odd problem is wrong (off by one); later samples are right.
    """
    seen: Counter = Counter()

    def reply(body: dict) -> dict:
        a, b = map(int, re.search(r"What is (\d+) \+ (\d+)\?", last_user(body)).groups())
        seen[a] += 1
        answer = a + b + (1 if wrong_first and a % 2 and seen[a] == 1 else 0)
        reasoning = f"I add {a} and {b}. First guess {a + b + 1}. Wait, let me recheck: {a} + {b} = {answer}."
        return {
            "content": f"So {a} + {b} = {answer}. The answer is \\boxed{{{answer}}}.",
            "reasoning_content": reasoning,
        }

    return reply


def distill(
    server: OpenAIServer, problems: Path, out: Path, *extra: str, timeout: int = 300
) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "O1J_ENDPOINT_API_KEY": KEY, "HOME": str(out.parent)}
    command = [
        sys.executable,
        "-m",
        "journey",
        "synth",
        "--method",
        "distill",
        "--problems",
        str(problems),
        "--out",
        str(out),
        "--teacher",
        f"r1@{server.base_url}",
        "--concurrency",
        "4",
        *extra,
    ]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_distill_keeps_the_first_verified_sample_and_the_rejected_ones_apart(tmp_path):
    out = tmp_path / "corpus"
    with OpenAIServer(r1_teacher()) as server:
        result = distill(server, problems_file(tmp_path, 6), out, "--samples", "3")
    assert result.returncode == 0, result.stderr
    kept, rejected = traces(out), rows(out / "rejected.jsonl")
    assert sorted(t["problem_id"] for t in kept) == [f"q{i}" for i in range(6)]
    assert all(t["verified"] and t["method"] == "distill" for t in kept)
    # odd problems: the first sample was wrong, rejected and kept for analysis; the second was kept
    assert sorted(r["problem_id"] for r in rejected) == ["q1", "q3", "q5"]
    assert all(r["status"] == "wrong_answer" and r["sample"] == 0 for r in rejected)
    assert {t["problem_id"]: t["sample"] for t in kept} == {"q0": 0, "q1": 1, "q2": 0, "q3": 1, "q4": 0, "q5": 1}
    q2 = next(t for t in kept if t["problem_id"] == "q2")
    # the reasoning field is kept, and the long thought is that reasoning followed by the answer text
    assert q2["events"][0]["reasoning"].startswith("I add 2 and 4.")
    assert q2["long_thought"].startswith("I add 2 and 4.") and q2["long_thought"].endswith("The answer is \\boxed{6}.")
    # one counting rule (the shape's): "Wait" is a reflection, "let me recheck" a backtrack
    assert q2["n_backtracks"] == 1 and q2["shape"]["reflections"] == 1 and q2["shape"]["backtracks"] == 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["this_run"]["rejected"] == 3 and manifest["corpus"]["rejected"] == 3
    assert len(server.requests) == 9
    assert all(r["max_tokens"] == 2048 for r in server.requests)
    for path in out.rglob("*"):
        assert KEY not in path.read_text(), path


def test_keep_all_and_problems_that_never_verify(tmp_path):
    out = tmp_path / "corpus"
    problems = problems_file(tmp_path, 4)

    def stubborn(body: dict) -> dict:
        reply = r1_teacher(wrong_first=False)(body)
        if "What is 3 + 5?" in last_user(body):  # q3 is always answered wrongly
            reply["content"] = "The answer is \\boxed{0}."
        return reply

    with OpenAIServer(stubborn) as server:
        result = distill(server, problems, out, "--samples", "2", "--keep", "all")
        assert result.returncode == 0, result.stderr
        calls = len(server.requests)
        again = distill(server, problems, out, "--samples", "2", "--keep", "all", "--resume")
        assert again.returncode == 0 and len(server.requests) == calls  # exhausted problems are finished too
    kept = Counter(t["problem_id"] for t in traces(out))
    assert kept == {"q0": 2, "q1": 2, "q2": 2}
    assert Counter(r["problem_id"] for r in rows(out / "rejected.jsonl")) == {"q3": 2}


# one process, one problem per graph run; and two worker processes with four problems per graph run
PARALLEL = pytest.mark.parametrize(
    "parallel",
    [("--workers", "1", "--batch", "1"), ("--workers", "2", "--batch", "4")],
    ids=["inprocess", "workers-batch"],
)


@PARALLEL
def test_distill_under_faults_and_drops_loses_no_problem(tmp_path, parallel):
    out = tmp_path / "corpus"
    with OpenAIServer(r1_teacher(wrong_first=False), fault_rate=0.2, drop_rate=0.05, seed=7) as server:
        result = distill(server, problems_file(tmp_path, 60), out, "--concurrency", "8", *parallel)
    assert result.returncode in (0, 1), result.stderr
    done = [t["problem_id"] for t in traces(out)] + [f["problem_id"] for f in rows(out / "failures.jsonl")]
    assert sorted(done) == sorted(f"q{i}" for i in range(60))  # every problem exactly once
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["this_run"]["failed"] == len(rows(out / "failures.jsonl"))
    assert (result.returncode == 1) == bool(manifest["this_run"]["failed"])
    assert manifest["config"]["workers"] == int(parallel[1]) and manifest["config"]["batch"] == int(parallel[3])
    assert len(server.requests) > 60  # faults were retried
    for path in out.rglob("*"):
        assert KEY not in path.read_text(), path
    assert KEY not in result.stdout + result.stderr


@PARALLEL
def test_distill_killed_midway_resumes_to_the_same_problems_without_duplicates(tmp_path, parallel):
    out = tmp_path / "corpus"
    problems = problems_file(tmp_path, 30)
    env = {"PATH": "/usr/bin:/bin", "O1J_ENDPOINT_API_KEY": KEY, "HOME": str(tmp_path)}
    with OpenAIServer(r1_teacher(), delay_s=0.05) as server:
        command = [
            sys.executable,
            "-m",
            "journey",
            "synth",
            "--method",
            "distill",
            "--problems",
            str(problems),
            "--out",
            str(out),
            "--teacher",
            f"r1@{server.base_url}",
            "--samples",
            "2",
            "--concurrency",
            "2",
            *parallel,
        ]
        run = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline and finished(out / "traces.jsonl") < 8:
            time.sleep(0.05)
        children = psutil.Process(run.pid).children(recursive=True)  # worker processes and their verifiers
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        gone, alive = psutil.wait_procs(children, timeout=20)
        assert not alive, f"outlived the killed run: {alive}"
        assert not (out / "manifest.json").exists()
        assert distill(server, problems, out, "--samples", "2", "--resume", *parallel).returncode == 0
    ids = [t["problem_id"] for t in traces(out)]
    assert sorted(ids) == sorted(f"q{i}" for i in range(30)) and len(ids) == len(set(ids))
    rejected = Counter(r["problem_id"] for r in rows(out / "rejected.jsonl"))
    assert all(n == 1 for n in rejected.values()) and set(rejected) <= {f"q{i}" for i in range(1, 30, 2)}


def test_reformat_rewrites_solutions_and_rejects_a_changed_answer(tmp_path):
    out = tmp_path / "corpus"
    problems = tmp_path / "p.jsonl"
    problems.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"s{i}",
                    "problem": f"What is {i} + {i}?",
                    "solution": f"{i} + {i} = {2 * i}, so \\boxed{{{2 * i}}}.",
                }
            )
            + "\n"
            for i in range(3)
        )
    )

    def rewriter(body: dict) -> str:
        text = last_user(body)
        assert "Reference solution:" in text
        i = int(re.search(r"What is (\d+)", text).group(1))
        answer = 2 * i if i != 2 else 5  # the third rewrite changes the result
        return f"I need {i} + {i}.\nAdding gives {answer}.\nCheck: fine.\nThe answer is \\boxed{{{answer}}}."

    def reformat(server: OpenAIServer, problems: Path, out: Path) -> subprocess.CompletedProcess:
        command = [
            sys.executable,
            "-m",
            "journey",
            "synth",
            "--method",
            "reformat",
            "--problems",
            str(problems),
            "--out",
            str(out),
            "--rewriter",
            f"rw@{server.base_url}",
        ]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)

    with OpenAIServer(rewriter) as server:
        result = reformat(server, problems, out)
        no_solutions = reformat(server, problems_file(tmp_path, 2), tmp_path / "x")
    assert result.returncode == 0, result.stderr
    assert sorted(t["problem_id"] for t in traces(out)) == ["s0", "s1"]
    assert [r["problem_id"] for r in rows(out / "rejected.jsonl")] == ["s2"]
    assert traces(out)[0]["long_thought"].startswith("I need")
    assert no_solutions.returncode == 2 and "reference solutions" in no_solutions.stderr


def test_journey_asks_the_teacher_for_a_hint_after_a_backtrack(tmp_path):
    out = tmp_path / "corpus"

    def with_teacher(body: dict) -> str:
        text = last_user(body)
        if text.endswith("Hint:"):
            return "Add the two numbers carefully, digit by digit."
        return tutor(body)

    with OpenAIServer(with_teacher) as server:
        result = synth(server, problems_file(tmp_path, 2), out, "--teacher", f"o1@{server.base_url}")
    assert result.returncode == 0, result.stderr
    for row in traces(out):
        kinds = [e["kind"] for e in row["events"]]
        assert kinds[:5] == ["attempt", "critique", "reflection", "backtrack", "teacher"]
        assert row["events"][4]["role"] == "teacher" and row["models"]["teacher"] == f"o1@{server.base_url}"
        # the hint is the policy's own turn of thought; the event keeps the teacher as its author
        assert "Let me look at this from another side: Add the two numbers carefully" in row["long_thought"]
        assert row["verified"] and [e["role"] for e in row["events"] if e["kind"] == "teacher"] == ["teacher"]


def test_cost_budget_stops_the_run_cleanly_and_resume_finishes(tmp_path):
    out = tmp_path / "corpus"
    problems = problems_file(tmp_path, 12)
    prices = tmp_path / "prices.yaml"
    prices.write_text("'r1@{url}': {input: 1000, output: 1000}\n")
    with OpenAIServer(r1_teacher(wrong_first=False)) as server:
        prices.write_text(prices.read_text().replace("{url}", server.base_url))
        # the cost of one problem (every problem here has the same number of tokens)
        assert distill(server, problems, tmp_path / "probe", "--prices", str(prices), "--limit", "1").returncode == 0
        one = json.loads((tmp_path / "probe" / "manifest.json").read_text())["this_run"]["cost_usd"]["total"]
        budget = 2.5 * one
        first = distill(server, problems, out, "--prices", str(prices), "--max-cost", str(budget), "--concurrency", "1")
        manifest = json.loads((out / "manifest.json").read_text())
        done_first = len(traces(out))
        rest = distill(server, problems, out, "--prices", str(prices), "--resume")
    assert first.returncode == 0, first.stderr
    assert "stopped by --max-cost" in first.stderr
    run = manifest["this_run"]
    assert run["stopped_by"] == "max_cost" and run["not_started"] == 12 - done_first > 0
    # the third problem crosses the budget; no fourth starts
    assert one > 0 and done_first == 3 and run["cost_usd"]["total"] == pytest.approx(3 * one)
    assert run["cost_usd"]["by_role"]["teacher"] == run["cost_usd"]["total"]
    assert rest.returncode == 0
    ids = [t["problem_id"] for t in traces(out)]
    assert sorted(ids) == sorted(f"q{i}" for i in range(12)) and len(ids) == len(set(ids))


def test_token_budget_and_unpriced_models(tmp_path):
    out = tmp_path / "corpus"
    with OpenAIServer(r1_teacher(wrong_first=False)) as server:
        result = distill(server, problems_file(tmp_path, 10), out, "--max-total-tokens", "100", "--concurrency", "1")
    assert result.returncode == 0, result.stderr
    run = json.loads((out / "manifest.json").read_text())["this_run"]
    assert run["stopped_by"] == "max_total_tokens" and 1 <= run["attempted"] < 10
    assert run["cost_usd"] == {"by_role": {"teacher": None}, "total": None}  # a self-hosted endpoint has no token price


ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI", 7: "VII"}


def test_judge_rescue_in_synthesis_a_rescue_a_refusal_an_unreadable_reply_an_abstain(tmp_path):
    """--judge-rescue: the teacher answers in Roman numerals, which the rules do not read. The judge
    rescues a right one (the trace is verified, its verification event names the judge), refuses a
    wrong one, rescues nothing when its reply cannot be read (even after the strict reminder), and
    is never asked about a reference that cannot be read."""
    problems = tmp_path / "p.jsonl"
    given = [("r", "What is 1 + 1?", "2"), ("w", "What is 1 + 2?", "3"), ("u", "What is 3 + 4?", "7")]
    given += [("a", "What is 2 + 3?", "\\frac{"), ("p", "What is 0 + 1?", "1")]
    problems.write_text("".join(json.dumps({"id": i, "question": q, "answer": a}) + "\n" for i, q, a in given))
    judged: list[str] = []

    def reply(body: dict) -> str:
        text = last_user(body)
        if "Reference answer:" in text:  # the judge
            judged.append(text)
            if "VII" in text:
                return "Hmm."
            return "SAME\nII is 2." if "answer: II\n" in text else "DIFFERENT\nIV is not 3."
        a, b = map(int, re.search(r"What is (\d+) \+ (\d+)\?", text).groups())
        said = {(1, 2): 4}.get((a, b), a + b)  # wrong on "w"
        answer = str(said) if (a, b) == (0, 1) else ROMAN[said]  # "p": plain digits, right by the rule
        return f"{a} + {b} makes {answer}. The answer is \\boxed{{{answer}}}."

    out = tmp_path / "corpus"
    with OpenAIServer(reply) as server:
        result = distill(server, problems, out, "--judge-rescue", f"judge@{server.base_url}")
    assert result.returncode == 0, result.stderr
    every = {t["problem_id"]: t for t in traces(out) + rows(out / "rejected.jsonl")}
    last = {pid: t["events"][-1] for pid, t in every.items()}
    assert every["r"]["verified"] and last["r"]["role"] == "rescue_judge" and last["r"]["correct"] is True
    assert "SAME" in last["r"]["reasoning"] and every["r"]["models"]["rescue_judge"].startswith("judge@")
    assert every["r"]["usage"]["rescue_judge"]["calls"] == 1
    assert not every["w"]["verified"] and last["w"]["role"] == "rescue_judge" and "different from" in last["w"]["text"]
    assert not every["u"]["verified"] and "unreadable" in last["u"]["text"] and last["u"]["calls"] == 2
    assert not every["a"]["verified"] and last["a"]["role"] == "verifier" and "abstain" in last["a"]["text"]
    assert every["p"]["verified"] and last["p"]["role"] == "verifier"  # right by the rule: the judge not asked
    strict = [t for t in judged if "Reply with one word only" in t]
    assert len(judged) == 4 and len(strict) == 1 and "VII" in strict[0]  # r, w, u and u's strict retry
    # the judge is part of the config: another judge (or none) is another corpus
    config = json.loads((out / "config.json").read_text())
    recorded = json.dumps(config)
    assert "rescue_judge" in recorded and "judge@" in recorded
