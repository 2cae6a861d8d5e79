"""Artifacts made by the commands that make them, once per test session.

Every synthesis method's corpus is written by ``journey synth`` against a scripted OpenAI-compatible
server on 127.0.0.1 (journey with ``--rewrite``, debate, tree with a step scorer standing in for a
process reward model, distill ``--keep all``, reformat, human), on one problem file that carries
subjects and levels. Tests of a later stage read these, never a hand-written layout: a change in a
writer's format breaks the reader's test, not the user.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.graphs.test_full_profile import searcher_with_prm, synth_without_critic
from tests.graphs.test_tree import searcher
from tests.openai_server import OpenAIServer, last_user
from tests.test_debate_cli import debater
from tests.test_distill_cli import distill, r1_teacher
from tests.test_synth_cli import ROOT, synth, tutor

METHODS = ("journey", "debate", "tree", "distill", "reformat", "human")
SUBJECTS = ("Algebra", "Prealgebra")


def problem_rows(n: int) -> list[dict]:
    """Additions with a worked solution (reformat), an annotated thought (human), a subject and a level."""
    rows = []
    for i in range(n):
        a, b = i, i + 2
        rows.append(
            {
                "id": f"q{i}",
                "question": f"What is {a} + {b}?",
                "answer": str(a + b),
                "solution": f"{a} + {b} = {a + b}",
                "subject": SUBJECTS[i % 2],
                "level": f"Level {1 + i % 3}",
                "thought": f"{a} + {b} = {a + b + 1}.\n\nWait, that is one too many: {a} + {b} is {a + b}. "
                f"Let me go back to step 1.\n\n{a} + {b} = {a + b}, so the answer is \\boxed{{{a + b}}}.",
            }
        )
    return rows


def write_problems(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in problem_rows(n)))
    return path


def rewriting_tutor(body: dict) -> str:
    """The tutor, and a rewriter that keeps the tutor's error and its correction."""
    if "Draft:" in last_user(body):
        return searcher()(body)
    return tutor(body)


def reformatter(body: dict) -> str:
    text = last_user(body)
    a, b = map(int, re.search(r"What is (\d+) \+ (\d+)\?", text).groups())
    return f"I add {a} and {b}.\nThat gives {a + b}.\nThe answer is \\boxed{{{a + b}}}."


def _human(problems: Path, out: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "journey", "synth", "--method", "human", "--problems", str(problems)]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(out.parent)}
    return subprocess.run([*command, "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


def make_corpus(method: str, problems: Path, out: Path) -> Path:
    """``journey synth --method METHOD`` as a user runs it, against its scripted server."""
    if method == "human":
        result = _human(problems, out)
    elif method == "distill":
        with OpenAIServer(r1_teacher()) as server:
            result = distill(server, problems, out, "--samples", "2", "--keep", "all")
    elif method == "tree":  # a process reward model scores the steps (vLLM's pooling API, scripted)
        reply, pooling = searcher_with_prm()
        with OpenAIServer(reply, pooling=pooling) as server:
            spec = f"m@{server.base_url}"
            flags = ("--method", "tree", "--prm", f"prm@{server.base_url}", "--rewriter", spec, "--width", "3")
            result = synth_without_critic(server, problems, out, *flags, "--beam", "1", "--wrong-depth", "2")
    else:
        reply = {"journey": rewriting_tutor, "debate": debater(wrong_answer_for={3}), "reformat": reformatter}[method]
        extra = {"journey": ("--rewrite",), "debate": ("--method", "debate"), "reformat": ()}[method]
        with OpenAIServer(reply) as server:
            if method == "reformat":
                extra = ("--method", "reformat", "--rewriter", f"m@{server.base_url}")
            result = synth(server, problems, out, *extra)
    if result.returncode != 0:
        raise AssertionError(f"journey synth --method {method} failed: {result.stderr[-2000:]}")
    return out


def make_corpora(root: Path, n: int = 6) -> dict[str, Path]:
    problems = write_problems(root / "problems.jsonl", n)
    return {method: make_corpus(method, problems, root / method) for method in METHODS}


# a corpus with traces made to trip each filter of `journey filter`, written by journey synth
# against a teacher that writes them: problem id -> what its trace is
PLANTED = {
    "clean0": "kept",
    "clean1": "kept",
    "clean2": "kept",
    "loop": "repetition",
    "mixed": "language",
    "cut": "truncated",
    "same": "duplicate",  # the same question as clean0, so the same long thought
    "again": "near_duplicate",  # clean1's question and one more sentence
    "leaked": "contaminated",
}
LEAKED = "What is 41 + 17? Give the sum of these two whole numbers as your final answer."


def planted_rows() -> list[dict]:
    questions = {
        "clean0": "What is 3 + 4?",
        "clean1": "What is 12 + 30?",
        "clean2": "What is 7 + 9?",
        "loop": "What is 5 + 6?",
        "mixed": "What is 8 + 2?",
        "cut": "What is 9 + 9?",
        "same": "What is 3 + 4?",
        "again": "What is 12 + 30? Check it twice.",
        "leaked": LEAKED,
    }
    rows = []
    for pid, q in questions.items():
        a, b = map(int, re.search(r"(\d+) \+ (\d+)", q).groups())
        rows.append({"id": pid, "question": q, "answer": str(a + b), "subject": SUBJECTS[len(rows) % 2]})
    return rows


def planting_teacher(body: dict) -> dict:
    """Writes each planted problem's long thought as its kind asks."""
    q = last_user(body)
    a, b = map(int, re.search(r"(\d+) \+ (\d+)", q).groups())
    steps = (
        f"I need {a} + {b}. Start from {a} and count {b} more. Counting up from {a} gives {a + b}. "
        f"Wait, let me check it another way: {b} + {a} is also {a + b}, so the order does not matter. "
    )
    if "Check it twice" in q:
        steps += "Checked. "
    if (a, b) == (5, 6):
        steps += "Let me add the two numbers together once more to be completely sure. " * 10
    if (a, b) == (8, 2):
        steps = "我需要计算八加二。从八开始再数两个，得到十。让我再检查一遍：二加八也是十，所以答案是十。 "
    if (a, b) == (9, 9):
        return {"content": f"<think>{steps} So far I have {a + b}, and the answer is \\boxed{{{a + b}}} but"}
    return {"content": f"<think>{steps}</think>The answer is \\boxed{{{a + b}}}."}


def make_planted_corpus(root: Path) -> Path:
    problems = root / "planted.jsonl"
    problems.write_text("".join(json.dumps(r) + "\n" for r in planted_rows()))
    out = root / "planted"
    with OpenAIServer(planting_teacher) as server:
        result = distill(server, problems, out, "--keep", "all")
    assert result.returncode == 0, result.stderr[-2000:]
    return out
