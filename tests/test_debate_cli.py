"""`journey synth --method debate` through a real server on 127.0.0.1, and the debate critic's parser."""

from __future__ import annotations

import json
import re

import pytest

from agents.critique import parse_debate
from agents.structured import ParseError
from tests.openai_server import OpenAIServer, last_user
from tests.test_synth_cli import problems_file, synth, traces, tutor

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "text, go_on, reason",
    [
        ("Continue.", True, ""),
        ("continue - looks fine", True, "looks fine"),
        ("Backtrack: 4 + 3 is 7, not 8.", False, "4 + 3 is 7, not 8"),
        ("**Backtrack**: the boxes must be multiplied", False, "the boxes must be multiplied"),
    ],
)
def test_parse_debate(text, go_on, reason):
    got = parse_debate(text)
    assert (got.correct, got.reason) == (go_on, reason)


@pytest.mark.parametrize("text", ["", "Backtrack.", "I think so", "Verdict: correct"])
def test_parse_debate_rejects(text):
    with pytest.raises(ParseError):
        parse_debate(text)


def debater(wrong_answer_for: set[int] = frozenset()):
    def reply(body: dict) -> str:
        text = last_user(body)
        if text.endswith("Your turn:"):
            a, b = map(int, re.search(r"What is (\d+) \+ (\d+)\?", text).groups())
            claimed = int(re.findall(r"(?:= |boxed\{)(\d+)", text.split("New step:")[1])[-1])
            return (
                "Continue."
                if claimed == a + b or a in wrong_answer_for
                else f"Backtrack: {a} + {b} is {a + b}, not {claimed}."
            )
        if text.endswith("Next step:") and "Steps so far:\n1." in text:
            a = int(re.search(r"What is (\d+)", text).group(1))
            if a in wrong_answer_for:  # a policy that answers wrongly and a critic that lets it pass
                return "Final answer: \\boxed{999}"
        return tutor(body)

    return reply


def test_debate_backtracks_on_the_critics_word_and_keeps_only_verified_dialogues(tmp_path):
    out = tmp_path / "corpus"
    with OpenAIServer(debater(wrong_answer_for={3})) as server:
        spec = f"m@{server.base_url}"
        result = synth(
            server, problems_file(tmp_path, 4), out, "--method", "debate", "--critic", spec, "--max-backtracks", "1"
        )
    assert result.returncode == 0, result.stderr
    kept = {t["problem_id"]: t for t in traces(out)}
    assert sorted(kept) == ["q0", "q1", "q2"]
    for row in kept.values():
        kinds = [e["kind"] for e in row["events"]]
        assert kinds == [
            "attempt",
            "critique",
            "backtrack",
            "attempt",
            "critique",
            "answer",
            "critique",
            "verification",
        ]
        assert row["events"][1]["correct"] is False and row["events"][2]["role"] == "critic"
        assert "Wait, " in row["long_thought"] and "Let me try step 1 again." in row["long_thought"]
        assert row["models"] == {"policy": f"tutor@{server.base_url}", "critic": f"m@{server.base_url}"}
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    assert [r["problem_id"] for r in rejected] == ["q3"] and not rejected[0]["verified"]
    assert all(r["messages"][0]["content"].startswith(("You are solving", "You debate")) for r in server.requests)
