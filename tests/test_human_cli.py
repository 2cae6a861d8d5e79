"""`journey synth --method human`: annotated thought processes imported from Markdown and JSONL."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.test_synth_cli import ROOT, traces

MARKDOWN = """# Problem: h1
A box holds 6 eggs. How many eggs are in 5 boxes?

## Answer
30

## Thought
Five boxes and six eggs: 6 + 5 = 11.

Wait, that adds boxes to eggs; each box holds 6, so I should multiply.

Let me go back to the first step.

6 \\times 5 = 30, so the answer is \\boxed{30}.

# Problem: h2
What is 7 + 8?

## Answer
15

## Thought
7 + 8 = 16, so \\boxed{16}.
"""


def synth(problems, out):
    command = [
        sys.executable,
        "-m",
        "journey",
        "synth",
        "--method",
        "human",
        "--problems",
        str(problems),
        "--out",
        str(out),
    ]
    return subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(out.parent)},
    )


def test_markdown_annotations_become_human_traces(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text(MARKDOWN)
    result = synth(path, tmp_path / "corpus")
    assert result.returncode == 0, result.stderr
    rows = {t["problem_id"]: t for t in traces(tmp_path / "corpus")}
    h1, h2 = rows["h1"], rows["h2"]
    assert h1["source"] == "human" and h1["method"] == "human" and h1["models"] == {}
    assert [e["kind"] for e in h1["events"]] == ["attempt", "reflection", "backtrack", "attempt", "verification"]
    assert h1["verified"] and h1["final_answer"] == "30" and h1["n_backtracks"] == 1
    assert h1["long_thought"].startswith("Five boxes and six eggs") and "Wait, that adds boxes" in h1["long_thought"]
    assert not h2["verified"] and h2["status"] == "wrong_answer"  # kept, and marked: the annotator erred
    assert h1["usage"] == {}


def test_jsonl_annotations_and_bad_files(tmp_path):
    path = tmp_path / "notes.jsonl"
    path.write_text(
        json.dumps(
            {
                "id": "j1",
                "question": "What is 2 + 2?",
                "answer": "4",
                "thought": "Two and two.\n\nThat makes 4.",
                "answer_given": "4",
            }
        )
        + "\n"
    )
    assert synth(path, tmp_path / "a").returncode == 0
    (row,) = traces(tmp_path / "a")
    assert row["verified"] and row["final_answer"] == "4"
    bad = tmp_path / "bad.md"
    bad.write_text("stray text\n# Problem: x\nQ\n## Answer\n1\n")
    result = synth(bad, tmp_path / "b")
    assert result.returncode == 2 and f"{bad}:1: text before the first '# Problem' header" in result.stderr
    bad.write_text("# Problem: x\nWhat is 1 + 0?\n## Answer\n1\n## Answer\n2\n")
    result = synth(bad, tmp_path / "c")
    assert result.returncode == 2 and f"{bad}:5: a second '## Answer' section" in result.stderr
    no_thought = tmp_path / "nt.jsonl"
    no_thought.write_text(json.dumps({"id": "n", "question": "What is 1 + 1?", "answer": "2"}) + "\n")
    result = synth(no_thought, tmp_path / "d")
    assert result.returncode == 2 and "no 'thought'" not in result.stderr and "have none" in result.stderr
