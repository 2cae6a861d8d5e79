"""The full prompt profile through a scripted server on 127.0.0.1 that answers like a capable model:
multi-line steps, critiques that reason and score, a reflection in the solver's voice, a rewriter;
edited prompt files; and the tree judged by a process reward model (vLLM's pooling API)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import networkx as nx
import pytest

from tests.openai_server import OpenAIServer, last_user
from tests.test_synth_cli import KEY, ROOT, problems_file, synth, synth_command, traces

pytestmark = pytest.mark.integration


def numbers(text: str) -> tuple[int, int]:
    a, b = map(int, re.search(r"What is (\d+) \+ (\d+)\?", text).groups())
    return a, b


def scholar(rewrite: str = "faithful"):
    """A capable model playing every role of the journey; ``rewrite``: faithful, or loses the answer."""

    def reply(body: dict) -> str:
        text = last_user(body)
        a, b = numbers(text)
        right, wrong = a + b, a + b + 1
        if "Draft:" in text:
            if rewrite == "lose":
                return f"I add {a} and {b}. Wait, I first got {wrong}, which is one too many. It is fine now."
            return (
                f"I want {a} + {b}. My first try lined the numbers up and came to {wrong}.\n\n"
                f"Wait, that cannot be right: {a} + {b} is {wrong - 1}, since adding {b} to {a} moves {b} places "
                f"along, and I went one place too far. Let me go back to that first step.\n\n"
                f"Adding carefully, {a} + {b} = {right}, and {right} - {b} = {a} confirms it.\n\n"
                f"The answer is \\boxed{{{right}}}."
            )
        if text.endswith("Next step:"):
            steps = text.split("Steps so far:\n", 1)[1]
            if f"= {right}" in steps:
                return f"Everything is in place: the sum is {right}.\nFinal answer: \\boxed{{{right}}}"
            if "Note:" in text:
                return f"Adding carefully this time: {a} + {b}.\nCounting {b} up from {a} gives {a} + {b} = {right}."
            return f"Let me line the numbers up and add.\nI get {a} + {b} = {wrong}."
        if text.endswith("Check:"):
            step = text.split("New step:", 1)[1]
            if f"= {wrong}" in step:
                return (
                    f'The step claims "{a} + {b} = {wrong}". Counting {b} up from {a} ends at {right}, '
                    f"so the sum is off by one.\nVerdict: incorrect\nScore: 0.1"
                )
            return f"The arithmetic checks out: {a} + {b} = {right}.\nVerdict: correct\nScore: 0.9"
        if text.endswith("Reflection:"):
            return (
                f"Wait, if I add {b} to {a} I move {b} places along and land on {right}, but I wrote {wrong}: "
                f"I counted the starting number as a step.\nThe slip is in the very first step.\nLet me go back to step 1."
            )
        raise AssertionError(f"unexpected prompt: {text[-80:]}")

    return reply


def run_journey(tmp_path: Path, server: OpenAIServer, name: str, *extra: str):
    out = tmp_path / name
    result = synth(server, problems_file(tmp_path, 3), out, "--max-backtracks", "2", *extra)
    return out, result


def test_full_profile_journey_with_rewrite_is_a_fluent_monologue_that_keeps_the_error(tmp_path):
    with OpenAIServer(scholar()) as server:
        out, result = run_journey(tmp_path, server, "full", "--prompts", "full", "--rewrite")
    assert result.returncode == 0, result.stderr
    for row in traces(out):
        assert row["verified"] and row["rewrite"] == "used"
        a, b = numbers(row["question"])
        thought = row["long_thought"]
        # the rewrite is the long thought: several paragraphs, the wrong value, why it is wrong, the correction
        assert thought.count("\n\n") >= 3 and str(a + b + 1) in thought and "Wait, that cannot be right" in thought
        assert thought.endswith(f"\\boxed{{{a + b}}}.")
        # the draft is kept: multi-line steps, the reasoned reflection, the backtrack
        assert "Let me line the numbers up and add.\nI get" in row["draft"]
        assert "I counted the starting number as a step." in row["draft"]
        assert "Let me try step 1 again." in row["draft"] or "Let me go back to step 1" in row["draft"]
        critique = next(e for e in row["events"] if e["kind"] == "critique")
        assert critique["score"] == 0.1 and critique["text"].startswith('The step claims "')
        assert [e["kind"] for e in row["events"]][-1] == "rewrite"
        shape = row["shape"]
        assert shape["rewritten"] and shape["backtracks"] == 1 and shape["reflections"] == 1 and shape["steps"] == 3
        assert shape["thought_tokens"] == next(e["tokens_out"] for e in row["events"] if e["kind"] == "rewrite")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["corpus"]["rewrites"] == {"used": 3}
    assert {p["profile"] for p in manifest["config"]["prompts"].values()} == {"full"}
    assert set(manifest["config"]["prompts"]) == {"policy", "critic", "reflector", "rewriter"}
    systems = {r["messages"][0]["content"].split(".")[0] for r in server.requests}
    assert "You are solving a math problem step by step, thinking aloud in the first person" in systems


def test_a_rewrite_that_loses_the_answer_gives_way_to_the_draft(tmp_path):
    with OpenAIServer(scholar(rewrite="lose")) as server:
        out, result = run_journey(tmp_path, server, "lost", "--rewrite")
    assert result.returncode == 0, result.stderr
    for row in traces(out):
        assert row["rewrite"] == "lost_answer" and row["long_thought"] == row["draft"]
        assert not row["shape"]["rewritten"]
    assert json.loads((out / "manifest.json").read_text())["corpus"]["rewrites"] == {"lost_answer": 3}


def test_rewrite_is_a_journey_option(tmp_path):
    with OpenAIServer(scholar()) as server:
        _, debate = run_journey(tmp_path, server, "d", "--method", "debate", "--rewrite")
        _, rewriter_alone = run_journey(tmp_path, server, "r", "--rewriter", f"m@{server.base_url}")
    assert debate.returncode == 2 and "--rewrite: not an option of the debate method" in debate.stderr
    assert rewriter_alone.returncode == 2 and "uses it with --rewrite only" in rewriter_alone.stderr


def test_edited_prompts_are_used_hashed_and_recorded(tmp_path):
    import subprocess
    import sys

    prompts = tmp_path / "prompts"
    exported = subprocess.run(
        [sys.executable, "-m", "journey", "prompts", "export", str(prompts)], cwd=ROOT, capture_output=True, text=True
    )
    assert exported.returncode == 0, exported.stderr
    policy = prompts / "policy.md"
    policy.write_text(policy.read_text().replace("thinking aloud", "thinking aloud (EDITED-BY-A-USER)"))
    with OpenAIServer(scholar()) as server:
        edited, result = run_journey(tmp_path, server, "edited", "--prompts", str(prompts))
        assert result.returncode == 0, result.stderr
        assert any("EDITED-BY-A-USER" in r["messages"][0]["content"] for r in server.requests)
        built_in, again = run_journey(tmp_path, server, "builtin", "--prompts", "full")
        assert again.returncode == 0, again.stderr
        (prompts / "critic.md").write_text("profile: full\n### system\nCheck it.\n### verdict\nx\n")
        _, bad = run_journey(tmp_path, server, "bad", "--prompts", str(prompts))
    manifest = json.loads((edited / "manifest.json").read_text())
    assert manifest["config"]["prompts"]["policy"]["source"] == str(policy)
    assert manifest["config"]["prompts"]["critic"]["source"] == str(prompts / "critic.md")
    assert manifest["config_hash"] != json.loads((built_in / "manifest.json").read_text())["config_hash"]
    assert bad.returncode == 2 and f"{prompts / 'critic.md'}:4: unknown section 'verdict'" in bad.stderr
    assert not (tmp_path / "bad").exists()


def synth_without_critic(server: OpenAIServer, problems: Path, out: Path, *extra: str):
    import subprocess

    command = synth_command(server, problems, out, "--concurrency", "4", *extra)
    at = command.index("--critic")
    del command[at : at + 2]
    env = {"PATH": "/usr/bin:/bin", "O1J_ENDPOINT_API_KEY": KEY, "HOME": str(out.parent)}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def searcher_with_prm():
    """Three first steps of different worth, a wrong one that leads on, then the answer; and a PRM."""
    seen: Counter = Counter()

    def reply(body: dict) -> str:
        text = last_user(body)
        a, b = numbers(text)
        right, wrong = a + b, a + b + 1
        if "Draft:" in text:
            return f"I first made it {wrong}. Wait, that overshoots by one. Directly, {a} + {b} = {right}. \\boxed{{{right}}}"
        steps = text.split("Steps so far:\n", 1)[1].split("\nNext step:")[0]
        if steps == "none":
            seen[a] += 1
            return [
                f"I could count up from {a}, one at a time, {b} times.\nThat lands on {a} + {b} = {right}.",
                f"Adding the ones first and carrying.\nThat makes {a} + {b} = {wrong}.",
                f"Adding the two numbers directly.\n{a} + {b} = {right}.",
            ][seen[a] % 3]
        if f"= {wrong}" in steps.splitlines()[-1] or "double-check" in steps:
            return f"To double-check, {wrong} - {b} = {a + 1}.\nI accept that and move on."
        return f"So the sum is {right}.\nFinal answer: \\boxed{{{right}}}"

    def pooling(body: dict) -> list[list[float]]:
        steps = re.findall(r"Step \d+: (.*?) ки", body["input"])
        a, b = numbers(body["input"])
        last = steps[-1]
        if "Final answer" in last:
            good = 0.95
        elif "directly" in last:
            good = 0.9
        elif "count up" in last:
            good = 0.6
        elif "double-check" in last:
            good = 0.2
        else:
            assert f"= {a + b + 1}" in last
            good = 0.1
        return [[0.5, 0.5] for _ in steps[:-1]] + [[good, 1 - good]]

    return reply, pooling


def test_tree_with_a_reward_model_keeps_the_best_steps_and_explores_dead_ends(tmp_path):
    reply, pooling = searcher_with_prm()
    problems = problems_file(tmp_path, 3)
    out = tmp_path / "tree"
    with OpenAIServer(reply, pooling=pooling) as server:
        spec = f"m@{server.base_url}"
        command = ("--method", "tree", "--prm", f"prm@{server.base_url}", "--rewriter", spec)
        result = synth_without_critic(
            server, problems, out, *command, "--width", "3", "--beam", "1", "--wrong-depth", "2"
        )
        both = synth(server, problems, tmp_path / "both", *command)  # the test helper gives a --critic too
    assert result.returncode == 0, result.stderr
    pooled = [r for r in server.requests if "input" in r]
    assert pooled and all(r["model"] == "prm" and "ки" in r["input"] for r in pooled)
    assert not any("Check:" in last_user(r) for r in server.requests if "messages" in r)  # no critic call
    for row in traces(out):
        tree = nx.node_link_graph(row["tree"], edges="edges")
        first = list(tree.successors("0"))
        correct = [n for n in first if tree.nodes[n]["correct"]]
        assert len(first) == 3 and len(correct) == 2 and all(tree.nodes[n]["scorer"] == "prm" for n in first)
        # the beam kept the highest-scoring correct step, not the first correct one
        chosen = next(n for n in correct if list(tree.successors(n)))
        assert tree.nodes[chosen]["score"] == 0.9 and "directly" in tree.nodes[chosen]["text"]
        # the wrong first step was followed one step further: a dead end two steps deep in the long thought
        (wrong,) = [n for n in first if not tree.nodes[n]["correct"]]
        (dead,) = list(tree.successors(wrong))
        assert tree.nodes[dead]["dead_end"] and tree.nodes[dead]["score"] == 0.2
        assert row["shape"]["dead_end_depth"] == 2 and row["verified"] and row["rewrite"] == "used"
        assert "To double-check" in row["draft"] and row["usage"]["prm"]["calls"] == len(tree.nodes) - 1
    assert both.returncode == 2 and "--critic: not used with --prm" in both.stderr
