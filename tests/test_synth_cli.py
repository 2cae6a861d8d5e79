"""`journey synth` end to end through a real OpenAI-compatible HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.openai_server import OpenAIServer, last_user

pytestmark = pytest.mark.integration

KEY = "sk-test-DO-NOT-LEAK-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[1]


def tutor(body: dict) -> str:
    """Answers like a policy that errs on every first step, a sharp critic and a reflector."""
    text = last_user(body)
    a, b = map(int, re.search(r"What is (\d+) \+ (\d+)\?", text).groups())
    right = a + b
    if text.endswith("Next step:"):
        steps = re.findall(r"^\d+\. .*= (\d+)", text, re.M)
        if steps:
            return f"Final answer: \\boxed{{{steps[-1]}}}"
        if "Note:" in text:
            return f"Step: {a} + {b} = {right}."
        return f"Step: {a} + {b} = {right + 1}."
    if text.endswith("Check:"):
        claimed = int(re.findall(r"(?:= |boxed\{)(\d+)", text.split("New step:")[1])[-1])
        if claimed == right:
            return f"Verdict: correct. Reason: {a} + {b} = {right}."
        return f"Verdict: incorrect. Reason: {a} + {b} is {right}, not {claimed}."
    if text.endswith("Reflection:"):
        return f"Wait, {a} + {b} is {right}, not {right + 1}. Let me redo step 1."
    raise AssertionError(f"unexpected prompt: {text[-80:]}")


def problems_file(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "problems.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "question": f"What is {i} + {i + 2}?", "answer": str(2 * i + 2)}) + "\n"
            for i in range(n)
        )
    )
    return path


def synth_command(server: OpenAIServer, problems: Path, out: Path, *extra: str) -> list[str]:
    """The tutor plays every step-by-step role the method has (a role it lacks is an error)."""
    spec = f"tutor@{server.base_url}"
    method = extra[extra.index("--method") + 1] if "--method" in extra else "journey"
    roles = {"journey": ("policy", "critic", "reflector"), "debate": ("policy", "critic"), "tree": ("policy", "critic")}
    given = [flag for role in roles.get(method, ()) if f"--{role}" not in extra for flag in (f"--{role}", spec)]
    command = [sys.executable, "-m", "journey", "synth", "--problems", str(problems), "--out", str(out)]
    return command + given + list(extra)


def synth(server: OpenAIServer, problems: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "O1J_ENDPOINT_API_KEY": KEY, "HOME": str(out.parent)}
    command = synth_command(server, problems, out, "--concurrency", "4", *extra)
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def traces(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "traces.jsonl").read_text().splitlines()]


def test_synth_writes_verified_backtracking_traces_and_never_leaks_the_key(tmp_path):
    out = tmp_path / "corpus"
    with OpenAIServer(tutor) as server:
        result = synth(server, problems_file(tmp_path, 6), out)
    assert result.returncode == 0, result.stderr
    rows = traces(out)
    assert sorted(r["problem_id"] for r in rows) == [f"q{i}" for i in range(6)]
    for row in rows:
        kinds = [e["kind"] for e in row["events"]]
        assert kinds == [
            "attempt",
            "critique",
            "reflection",
            "backtrack",
            "attempt",
            "critique",
            "answer",
            "critique",
            "verification",
        ]
        assert row["verified"] and row["status"] == "verified" and row["n_backtracks"] == 1
        assert "Wait," in row["long_thought"] and "\\boxed" in row["summary"]
        assert row["usage"]["policy"]["calls"] == 3 and row["usage"]["policy"]["tokens_out"] > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["this_run"]["attempted"] == 6 and manifest["corpus"]["verified"] == 6
    assert manifest["config"]["roles"]["policy"]["spec"] == f"tutor@{server.base_url}"
    # servers such as `transformers serve` ignore max_completion_tokens: the bound must be max_tokens;
    # endpoints get the full prompt profile: a step as long as it needs (1024 tokens), no newline stop
    assert all(r["max_tokens"] == 1024 and "max_completion_tokens" not in r for r in server.requests)
    assert not any(r.get("stop") for r in server.requests)
    prompts = manifest["config"]["prompts"]
    assert {role: p["profile"] for role, p in prompts.items()} == dict.fromkeys(
        ("critic", "policy", "reflector"), "full"
    )
    assert all(p["source"] == "built-in" and len(p["sha256"]) == 16 for p in prompts.values())
    # the key reached the server, and no file the run wrote holds it
    assert all(h.get("authorization") == f"Bearer {KEY}" for h in server.headers)
    for path in out.rglob("*"):
        assert KEY not in path.read_text(), path
    assert KEY not in result.stderr + result.stdout


def test_resume_skips_finished_traces_and_cuts_a_torn_line(tmp_path):
    out = tmp_path / "corpus"
    problems = problems_file(tmp_path, 8)
    with OpenAIServer(tutor) as server:
        assert synth(server, problems, out, "--limit", "5").returncode == 0
        # simulate a kill mid-write: half a line at the end of the corpus
        with (out / "traces.jsonl").open("a") as f:
            f.write('{"id": "torn", "problem_id": "q7", "ev')
        again = synth(server, problems, out)
        assert synth(server, problems, out).returncode == 2  # no --resume on an existing corpus
        before = len(server.requests)
        done = synth(server, problems, out, "--resume", "--limit", "5")
        assert len(server.requests) == before  # everything already done: no model call
    assert again.returncode == 2 and "--resume" in again.stderr
    assert done.returncode == 0, done.stderr
    ids = [r["problem_id"] for r in traces(out)]
    assert sorted(ids) == [f"q{i}" for i in range(5)]


def test_resume_completes_a_partial_corpus_exactly_once(tmp_path):
    out = tmp_path / "corpus"
    problems = problems_file(tmp_path, 8)
    with OpenAIServer(tutor) as server:
        assert synth(server, problems, out, "--limit", "3").returncode == 0
        result = synth(server, problems, out, "--resume", "--samples", "1")
    assert result.returncode == 0, result.stderr
    ids = [r["problem_id"] for r in traces(out)]
    assert sorted(ids) == [f"q{i}" for i in range(8)] and len(ids) == len(set(ids))


def test_transient_faults_are_retried(tmp_path):
    out = tmp_path / "corpus"
    faults = {0: 429, 1: 503, 2: "drop", 5: 500}
    with OpenAIServer(tutor, faults=faults) as server:
        result = synth(server, problems_file(tmp_path, 3), out)
    assert result.returncode == 0, result.stderr
    assert len(traces(out)) == 3 and all(r["verified"] for r in traces(out))


def test_client_errors_are_not_retried_and_land_in_failures(tmp_path):
    out = tmp_path / "corpus"

    with OpenAIServer(tutor, fault_rate=1.0, seed=1) as server:
        server.faults = {i: 400 for i in range(1000)}
        result = synth(server, problems_file(tmp_path, 2), out)
        calls = len(server.requests)
    assert result.returncode == 1
    failures = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert sorted(f["problem_id"] for f in failures) == ["q0", "q1"]
    assert all("400" in f["reason"] for f in failures)
    assert calls == 2  # one call per problem: a 400 is never retried
    assert json.loads((out / "manifest.json").read_text())["this_run"]["failed"] == 2


def test_bad_problem_file_is_one_line_naming_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "What is 1 + 2?", "answer": "3"}\n{"question": "What is 2 + 2?"}\n')
    with OpenAIServer(tutor) as server:
        result = synth(server, bad, tmp_path / "corpus")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{bad}:2: no answer field" in lines[0]


def _start(server: OpenAIServer, problems: Path, out: Path) -> subprocess.Popen:
    command = synth_command(server, problems, out, "--concurrency", "2")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(out.parent)}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(path: Path) -> int:
    """Lines a running synth has written whole: the one it is writing may be torn while we look."""
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _wait_for_traces(out: Path, n: int, process: subprocess.Popen) -> None:
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if finished(out / "traces.jsonl") >= n:
            return
        time.sleep(0.05)
    raise AssertionError("the run wrote too few traces before the deadline")


@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
def test_killed_run_resumes_to_every_problem_exactly_once(tmp_path, sig):
    import signal

    out = tmp_path / "corpus"
    problems = problems_file(tmp_path, 20)
    with OpenAIServer(tutor, delay_s=0.02) as server:
        process = _start(server, problems, out)
        _wait_for_traces(out, 3, process)
        process.send_signal(getattr(signal, sig))
        _, stderr = process.communicate(timeout=60)
        if sig == "SIGTERM":  # handled like Ctrl-C: a clean exit that says how to continue
            assert process.returncode == 130 and "--resume" in stderr
        assert not (out / "manifest.json").exists()  # the run did not complete
        written = len(traces(out))
        assert 3 <= written < 20
        resumed = synth(server, problems, out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    ids = [r["problem_id"] for r in traces(out)]
    assert sorted(ids) == sorted(f"q{i}" for i in range(20)) and len(ids) == 20
    assert json.loads((out / "manifest.json").read_text())["this_run"]["skipped_done"] == written
