"""A corpus is never silently wrong: each method's resume rule under faults and kill -9, one config per
corpus, no credential anywhere a run writes or prints, and bad setups refused before any file exists."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.graphs.test_tree import searcher
from tests.openai_server import OpenAIServer, last_user
from tests.test_debate_cli import debater
from tests.test_distill_cli import r1_teacher
from tests.test_synth_cli import KEY, ROOT, finished, problems_file, synth, synth_command, tutor

pytestmark = pytest.mark.integration
FILES = ("traces.jsonl", "rejected.jsonl", "failures.jsonl")


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def rewriter(body: dict) -> str:
    i = int(re.search(r"What is (\d+) \+", last_user(body)).group(1))
    answer = 2 * i + 2 if i % 3 else 0  # every third rewrite changes the result: rejected
    return f"Adding the two numbers.\nThe answer is \\boxed{{{answer}}}."


def solutions_file(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "solutions.jsonl"
    rows = [
        {
            "id": f"q{i}",
            "question": f"What is {i} + {i + 2}?",
            "answer": str(2 * i + 2),
            "solution": f"\\boxed{{{2 * i + 2}}}",
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# method -> (scripted server, extra flags, problems): every branch of each resume rule gets exercised
METHODS = {
    "journey": (lambda: tutor, (), problems_file),
    "debate": (lambda: debater({1, 4}), ("--method", "debate"), problems_file),
    "tree": (searcher, ("--method", "tree", "--width", "2", "--beam", "1", "--rewriter", "SPEC"), problems_file),
    "distill": (
        lambda: r1_teacher(wrong_first=True),
        ("--method", "distill", "--samples", "2", "--teacher", "SPEC"),
        problems_file,
    ),
    "reformat": (lambda: rewriter, ("--method", "reformat", "--rewriter", "SPEC"), solutions_file),
}


def check_integrity(out: Path) -> dict[str, list[str]]:
    """Each sample id in exactly one of the three files, once; the manifest's counts equal the lines."""
    ids = {name: [r["id"] for r in lines(out / name)] for name in FILES}
    for name, found in ids.items():
        assert len(found) == len(set(found)), f"a duplicate id in {name}"
    traces, rejected, failures = (set(ids[n]) for n in FILES)
    assert not (traces & rejected) and not (traces & failures) and not (rejected & failures)
    corpus = json.loads((out / "manifest.json").read_text())["corpus"]
    assert (corpus["traces"], corpus["rejected"], corpus["failures"]) == tuple(len(ids[n]) for n in FILES)
    return ids


@pytest.mark.parametrize("method", list(METHODS))
def test_faults_kill_and_two_resumes_leave_each_sample_once(tmp_path, method):
    make_reply, extra, make_problems = METHODS[method]
    problems = make_problems(tmp_path, 12)
    out = tmp_path / "corpus"
    with OpenAIServer(make_reply(), fault_rate=0.2, delay_s=0.02, seed=3) as server:
        flags = [f if f != "SPEC" else f"m@{server.base_url}" for f in extra]
        command = synth_command(server, problems, out, "--concurrency", "2", *flags)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if sum(finished(out / n) for n in FILES[:2]) >= 3:
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        first = synth(server, problems, out, "--resume", *flags)
        assert first.returncode in (0, 1), first.stderr
        ids = check_integrity(out)
        asked = len(server.requests)
        second = synth(server, problems, out, "--resume", *flags)
        assert second.returncode in (0, 1), second.stderr
        # a sample with an outcome (kept or rejected) is never drawn again; only failures are retried
        if not ids["failures.jsonl"]:
            assert len(server.requests) == asked, f"{method}: the second resume drew samples again"
        check_integrity(out)
    run = json.loads((out / "manifest.json").read_text())["this_run"]
    assert run["attempted"] == len(ids["failures.jsonl"])


def test_a_resume_with_another_config_refuses_and_add_config_keeps_both(tmp_path):
    problems = problems_file(tmp_path, 4)
    out = tmp_path / "corpus"
    with OpenAIServer(tutor) as server:
        assert synth(server, problems, out, "--max-steps", "6").returncode == 0
        before = {n: (out / n).read_bytes() for n in (*FILES, "config.json")}
        asked = len(server.requests)
        refused = synth(server, problems, out, "--resume", "--max-steps", "3", "--temperature", "0.2")
        assert refused.returncode == 2, refused.stderr
        message = " ".join(refused.stderr.split())
        assert "options.max_steps: 6 -> 3" in message and "roles.policy.sampling.temperature: 0.7 -> 0.2" in message
        assert {n: (out / n).read_bytes() for n in before} == before and len(server.requests) == asked
        both = synth(server, problems, out, "--add-config", "--max-steps", "3")
        assert both.returncode == 0, both.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["configs"]) == 2 and len(json.loads((out / "config.json").read_text())["configs"]) == 2
    assert len({t["config_hash"] for t in lines(out / "traces.jsonl")}) == 2
    # compare sees each config as its own corpus; the trainer asks which one
    report = subprocess.run(
        [sys.executable, "-m", "journey", "compare", str(out), "--out", str(tmp_path / "cmp")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr
    assert sorted(json.loads((tmp_path / "cmp" / "summary.json").read_text())["corpora"]) == sorted(
        f"corpus@{h}" for h in manifest["configs"]
    )
    from collections import Counter

    from trainer.mixture import MixtureError, SourceSpec, load_source

    with pytest.raises(MixtureError, match="holds 2 configs"):
        load_source(SourceSpec(corpus=str(out), verified_only=False), Counter())
    one = load_source(SourceSpec(corpus=str(out), verified_only=False, config=manifest["configs"][0]), Counter())
    assert len(one) == 4


CANARY_PW, CANARY_TOKEN = "canaryPassw0rd", "canaryQueryTok3n"


def test_no_secret_reaches_any_file_or_output(tmp_path):
    """Canaries in a URL's userinfo, in its query string and in the key variables; then grep everything."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "O1J_ENDPOINT_API_KEY": KEY,
        "OPENAI_API_KEY": "sk-canaryOpenAIkey0123456789",
    }
    problems = problems_file(tmp_path, 3)
    data = tmp_path / "gsm.jsonl"
    data.write_text(
        "".join(json.dumps({"question": f"What is {i} + 1?", "answer": str(i + 1)}) + "\n" for i in range(3))
    )
    outputs = []
    answers = OpenAIServer(lambda body: "The answer is \\boxed{1}.")
    with OpenAIServer(tutor) as server, OpenAIServer(lambda body: 400) as bad, answers:
        graded = f"m@{answers.base_url.replace('http://', f'http://user:{CANARY_PW}@')}"
        spec = f"tutor@{server.base_url.replace('http://', f'http://user:{CANARY_PW}@')}"
        for command in (
            [
                "synth",
                "--problems",
                str(problems),
                "--out",
                str(tmp_path / "a"),
                "--policy",
                spec,
                "--critic",
                spec,
                "--reflector",
                spec,
            ],
            # failures carry error messages: a 400 on every call
            [
                "synth",
                "--problems",
                str(problems),
                "--out",
                str(tmp_path / "b"),
                "--method",
                "distill",
                "--teacher",
                f"t@{bad.base_url.replace('http://', f'http://u:{CANARY_PW}@')}",
            ],
            ["eval", "math", "--model", graded, "--dataset", str(data), "--out", str(tmp_path / "e")],
            ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c")],
            ["report", str(tmp_path / "e"), "--out", str(tmp_path / "r")],
            [
                "synth",
                "--problems",
                str(problems),
                "--out",
                str(tmp_path / "x"),
                "--policy",
                f"m@http://u:{CANARY_PW}@127.0.0.1:9/v1?token={CANARY_TOKEN}",
            ],
        ):
            result = subprocess.run(
                [sys.executable, "-m", "journey", *command],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            outputs.append(result.stdout + result.stderr)
    secrets = (CANARY_PW, CANARY_TOKEN, KEY, env["OPENAI_API_KEY"])
    for text in outputs:
        assert not [s for s in secrets if s in text], text[-2000:]
    assert "traces" in outputs[0] and "pass@1" in outputs[2], outputs[:3]
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.parent != tmp_path]
    assert len(written) > 20
    for path in written:
        content = path.read_bytes()
        assert not [s for s in secrets if s.encode() in content], path


def test_bad_setups_are_one_line_and_leave_no_files(tmp_path):
    problems = problems_file(tmp_path, 2)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "O1J_ENDPOINT_API_KEY": "wrong-key"}
    with OpenAIServer(tutor, api_key="right-key") as locked, OpenAIServer(tutor) as open_server:
        cases = {
            "wrong key": (["--policy", f"m@{locked.base_url}"], "refused the key (HTTP 401)"),
            "wrong path": (["--policy", "local:/no/such/model"], "local model not found: /no/such/model"),
            "dead port": (["--policy", "m@http://127.0.0.1:9/v1"], "cannot reach http://127.0.0.1:9/v1"),
            "wrong base URL": (
                ["--policy", f"m@{open_server.base_url.removesuffix('/v1')}/nope"],
                "is the base URL right",
            ),
        }
        for name, (flags, expected) in cases.items():
            out = tmp_path / name.replace(" ", "_")
            command = [sys.executable, "-m", "journey", "synth", "--problems", str(problems), "--out", str(out), *flags]
            result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
            assert result.returncode == 2, (name, result.stderr)
            assert expected in " ".join(result.stderr.split()), (name, result.stderr)
            assert len(result.stderr.strip().splitlines()) <= 3 and "Traceback" not in result.stderr, name
            assert not out.exists(), f"{name}: files were created"
        openai_env = {k: v for k, v in env.items() if k != "OPENAI_API_KEY"}
        command = [
            sys.executable,
            "-m",
            "journey",
            "synth",
            "--problems",
            str(problems),
            "--out",
            str(tmp_path / "o"),
            "--policy",
            "openai:gpt-4o",
        ]
        result = subprocess.run(command, cwd=ROOT, env=openai_env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 2 and "needs OPENAI_API_KEY" in result.stderr and not (tmp_path / "o").exists()


def test_an_endpoint_that_starts_refusing_stops_the_run_cleanly(tmp_path):
    """401 midway (a revoked key): problems in flight are failures, none start after, exit 1, resume continues."""
    answered = {"n": 0}

    def revoked_after_a_while(body: dict):
        answered["n"] += 1
        return tutor(body) if answered["n"] <= 12 else 401

    problems = problems_file(tmp_path, 30)
    out = tmp_path / "corpus"
    with OpenAIServer(revoked_after_a_while) as server:
        result = synth(server, problems, out, "--concurrency", "2")
        asked = len(server.requests)
    assert result.returncode == 1 and "refused" in result.stderr, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["this_run"]["stopped_by"] == "endpoint_refused" and manifest["this_run"]["not_started"] > 10
    assert asked < 12 + 2 * 3  # a refusal is not retried, and at most the problems in flight asked again
    failures = lines(out / "failures.jsonl")
    # in flight when the first refusal is recorded: the two running, and at most one that started meanwhile
    assert 1 <= len(failures) <= 3 and all("AuthenticationError" in f["error"] for f in failures), failures
    assert os.path.exists(out / "traces.jsonl")
