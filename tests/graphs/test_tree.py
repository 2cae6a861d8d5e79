"""The tree method: the long thought walked out of a hand-built tree, and a search through a real server."""

from __future__ import annotations

import json
import re
from collections import Counter

import networkx as nx
import pytest

from corpus import render
from corpus.render import draft_text
from graphs.tree import ROOT, best_leaf, draft_events
from tests.openai_server import OpenAIServer, last_user
from tests.test_synth_cli import synth, traces, tutor


def hand_built() -> nx.DiGraph:
    """root -> A (wrong), A2 (wrong), B (right); B -> C (wrong answer 7), D (answer 6, verified)."""
    t = nx.DiGraph()
    t.add_node(ROOT, text="", correct=True, answer=None, reason="", depth=0)
    for node, parent, text, correct, answer, reason in [
        ("1", ROOT, "2 * 3 = 5", False, None, "2 * 3 is 6, not 5"),
        ("2", ROOT, "2 + 3 = 6", False, None, "adding is the wrong operation"),
        ("3", ROOT, "2 * 3 = 6", True, None, "right"),
        ("4", "3", "\\boxed{7}", False, "7", "The total is 6, not 7"),
        ("5", "3", "\\boxed{6}", True, "6", "right"),
    ]:
        t.add_node(node, text=text, correct=correct, answer=answer, reason=reason, depth=t.nodes[parent]["depth"] + 1)
        t.add_edge(parent, node)
    return t


def test_the_thought_visits_a_wrong_branch_backtracks_and_ends_on_the_correct_path():
    events = draft_events(hand_built(), "5", wrong_trials=1)
    assert [(e.kind, e.text) for e in events] == [
        ("attempt", "2 * 3 = 5"),
        ("critique", "2 * 3 is 6, not 5"),
        ("reflection", "Wait, 2 * 3 is 6, not 5."),
        ("backtrack", "Let me go back and redo step 1."),
        ("attempt", "2 * 3 = 6"),
        ("answer", "\\boxed{7}"),
        ("critique", "The total is 6, not 7"),
        ("reflection", "Wait, the total is 6, not 7."),
        ("backtrack", "Let me go back and redo step 2."),
        ("answer", "\\boxed{6}"),
    ]
    text = render.long_thought(events)
    order = [
        text.index(s)
        for s in (
            "2 * 3 = 5",
            "Wait, 2 * 3 is 6",
            "Let me go back and redo step 1",
            "2 * 3 = 6",
            "Wait, the total",
            "\\boxed{6}",
        )
    ]
    assert order == sorted(order) and text.endswith("So the answer is \\boxed{6}.")
    assert "adding is the wrong operation" not in text  # one wrong trial per correct step
    assert "- step 1: 2 * 3 = 5 [wrong: 2 * 3 is 6, not 5]\n- backtrack to step 1\n- step 1: 2 * 3 = 6" in draft_text(
        events
    )


def test_more_wrong_trials_and_none():
    two = draft_events(hand_built(), "5", wrong_trials=2)
    assert [e.text for e in two if e.kind == "attempt"] == ["2 * 3 = 5", "2 + 3 = 6", "2 * 3 = 6"]
    assert [e.kind for e in draft_events(hand_built(), "5", wrong_trials=0)] == ["attempt", "answer"]


def test_best_leaf_without_a_verified_answer_is_the_deepest_correct_step():
    t = hand_built()
    assert best_leaf(t, "5") == "5"
    t.nodes["5"]["correct"] = False
    assert best_leaf(t, None) == "3"


def searcher():
    seen: Counter = Counter()

    def reply(body: dict) -> str:
        text = last_user(body)
        a, b = map(int, re.search(r"What is (\d+) \+ (\d+)\?", text).groups())
        if "Draft:" in text:
            assert "[wrong:" in text and "backtrack to step" in text
            return (
                f"I tried {a + b + 1} first. Wait, that is off by one. {a} + {b} = {a + b}. Then I guessed "
                f"{a + b + 5}, but wait, that is not the sum either. The answer is \\boxed{{{a + b}}}."
            )
        if text.endswith("Next step:"):
            seen[text] += 1
            right = seen[text] % 2 == 0  # of the two samples of a node, one is wrong and one right
            if "\n1. " in text:
                return f"Final answer: \\boxed{{{a + b if right else a + b + 5}}}"
            return f"Step: {a} + {b} = {a + b if right else a + b + 1}."
        return tutor(body)

    return reply


@pytest.mark.integration
def test_tree_search_end_to_end(tmp_path):
    problems = tmp_path / "p.jsonl"
    problems.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "question": f"What is {i} + {i + 2}?", "answer": str(2 * i + 2)}) + "\n"
            for i in range(3)
        )
    )
    out = tmp_path / "corpus"
    with OpenAIServer(searcher()) as server:
        spec = f"m@{server.base_url}"
        result = synth(
            server,
            problems,
            out,
            "--method",
            "tree",
            "--policy",
            spec,
            "--critic",
            spec,
            "--rewriter",
            spec,
            "--width",
            "2",
            "--beam",
            "1",
        )
    assert result.returncode == 0, result.stderr
    rows = traces(out)
    assert sorted(r["problem_id"] for r in rows) == ["q0", "q1", "q2"]
    for row in rows:
        assert row["verified"] and row["method"] == "tree" and row["n_backtracks"] == 2
        tree = nx.node_link_graph(row["tree"], edges="edges")
        assert tree.number_of_nodes() == 5  # root, 2 first steps, 2 answers under the correct one
        assert sum(not tree.nodes[n]["correct"] for n in tree.nodes) == 2
        assert row["long_thought"].startswith("I tried") and "Wait, that is off by one." in row["long_thought"]
        kinds = [e["kind"] for e in row["events"]]
        assert kinds == [
            "attempt",
            "critique",
            "reflection",
            "backtrack",
            "attempt",
            "answer",
            "critique",
            "reflection",
            "backtrack",
            "answer",
            "verification",  # the verifier's check of the answer is kept with the trace
            "rewrite",
        ]
        # the rewrite kept the answer and a reflection per backtrack: it is the long thought, the draft is kept
        wrong_first = next(tree.nodes[n]["text"] for n in tree.successors("0") if not tree.nodes[n]["correct"])
        assert row["rewrite"] == "used" and row["draft"].startswith(wrong_first + "\n\nWait,")
        assert row["shape"]["rewritten"] and row["shape"]["backtracks"] == 2 and row["shape"]["dead_end_depth"] == 1
        # every call is counted, pruned branches included: 4 policy, 4 critic, 1 rewriter
        assert {r: u["calls"] for r, u in row["usage"].items()} == {"policy": 4, "critic": 4, "rewriter": 1}


def test_an_unreadable_verdict_is_no_pass():
    """A critic reply that cannot be parsed (after its retry) leaves the step unjudged: not kept in the
    beam, not visited as a wrong branch, not used for step pairs."""
    from graphs.tree import UNJUDGED, wrong_children

    tree = hand_built()
    tree.add_node("9", text="Step: 1295.", answer=None, correct=None, reason=UNJUDGED, score=None, depth=1)
    tree.add_edge("0", "9")
    assert "9" not in wrong_children(tree, "0")
    from graphs.tree import _rank

    assert _rank(tree, "9") == (-0.0, 9)
