"""`journey select` on a 500-problem corpus journey synth wrote, with a scripted reference model: the
s1 preset keeps N unsolved problems, each with its reason, the same under the same seed, and the
reference run is not made twice."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from corpus.artifacts import open_corpus
from curate.select import SelectError, SelectOptions, select_corpora
from tests.openai_server import OpenAIServer, last_user
from tests.producers import write_problems
from tests.test_distill_cli import distill, r1_teacher

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("select")
    problems = write_problems(root / "problems.jsonl", 500)
    with OpenAIServer(r1_teacher(wrong_first=False)) as server:
        result = distill(server, problems, root / "corpus", "--concurrency", "16", timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return root / "corpus"


def reference(body: dict) -> str:
    """Solves the additions whose first term is a multiple of 3, and misses the rest by one."""
    a, b = map(int, re.search(r"What is (\d+) \+ (\d+)\?", last_user(body)).groups())
    return f"{a} + {b} = {a + b + (0 if a % 3 == 0 else 1)}. The final answer is \\boxed{{{a + b + (0 if a % 3 == 0 else 1)}}}."


def journey_select(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cache), "O1J_CACHE": str(cache)}
    command = [sys.executable, "-m", "journey", "select", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


def test_s1_keeps_n_unsolved_problems_each_with_its_reason_reproducibly(big, tmp_path):
    cache = tmp_path / "cache"
    with OpenAIServer(reference) as server:
        args = [str(big), "--preset", "s1", "--n", "50", "--reference", f"ref@{server.base_url}"]
        first = journey_select(*args, "--out", str(tmp_path / "s1"), cache=cache)
        assert first.returncode == 0, first.stderr
        calls = len(server.requests)
        assert calls == 500  # one reference sample per problem
        again = journey_select(*args, "--out", str(tmp_path / "again"), cache=cache)
        assert again.returncode == 0, again.stderr
        assert len(server.requests) == calls  # the reference run is cached, keyed on model, sampling and problems
        other = journey_select(*args, "--seed", "7", "--out", str(tmp_path / "seed7"), cache=cache)
        assert other.returncode == 0, other.stderr
    chosen = [json.loads(line) for line in (tmp_path / "s1" / "selected.jsonl").read_text().splitlines()]
    assert len(chosen) == 50 and len({c["problem_id"] for c in chosen}) == 50
    assert all(int(c["problem_id"][1:]) % 3 != 0 for c in chosen)  # what the reference solves is dropped
    assert all(c["pass_rate"] == 0 and "drawn at random" in c["reason"] and "rank" in c["reason"] for c in chosen)
    assert set(Counter(c["subject"] for c in chosen)) == {"Algebra", "Prealgebra"}
    assert (tmp_path / "s1" / "selected.jsonl").read_text() == (tmp_path / "again" / "selected.jsonl").read_text()
    assert (tmp_path / "seed7" / "selected.jsonl").read_text() != (tmp_path / "s1" / "selected.jsonl").read_text()
    kept = open_corpus(str(tmp_path / "s1"))
    assert sorted(t["id"] for t in kept.traces()) == sorted(c["id"] for c in chosen)
    manifest = json.loads((tmp_path / "s1" / "manifest.json").read_text())
    assert manifest["selection"]["kept"] == 50 and manifest["selection"]["read"] == 500
    assert manifest["selection"]["reference"]["pass@1"] == pytest.approx(167 / 500)


def test_without_a_reference_longest_spreads_over_subjects(big, tmp_path):
    manifest = select_corpora([str(big)], tmp_path / "out", SelectOptions(n=10, preset="longest"))
    chosen = [json.loads(line) for line in (tmp_path / "out" / "selected.jsonl").read_text().splitlines()]
    assert [c["subject"] for c in chosen] == ["Algebra", "Prealgebra"] * 5  # round-robin, in name order
    tokens = [c["tokens"] for c in chosen[::2]]
    assert tokens == sorted(tokens, reverse=True)  # longest first within a subject
    assert manifest["selection"]["reference"] is None
    with pytest.raises(SelectError, match="give --reference"):
        select_corpora([str(big)], tmp_path / "x", SelectOptions(n=10, preset="s1"))
    with pytest.raises(SelectError, match="only 500 traces"):
        select_corpora([str(big)], tmp_path / "y", SelectOptions(n=501, preset="longest"))
    assert not (tmp_path / "y").exists()
