"""`journey synth --ray local`: a real local Ray cluster (2 CPUs) over 200 problems and two servers on
127.0.0.1, one killed midway; the merged corpus holds every problem exactly once, like a run without Ray."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from tests.openai_server import OpenAIServer
from tests.test_distill_cli import r1_teacher, rows
from tests.test_synth_cli import KEY, ROOT, problems_file, traces

pytest.importorskip("ray")
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def run(problems, out, spec, *extra, home) -> subprocess.CompletedProcess:
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
        spec,
        "--concurrency",
        "4",
        *extra,
    ]
    env = {"PATH": "/usr/bin:/bin", "O1J_ENDPOINT_API_KEY": KEY, "HOME": str(home), "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_ray_shards_merge_to_the_same_corpus_as_one_process(tmp_path):
    problems = problems_file(tmp_path, 200)
    teacher = r1_teacher()  # one teacher behind both servers: its first answer to an odd problem is wrong
    first, second = OpenAIServer(teacher, delay_s=0.01), OpenAIServer(teacher, delay_s=0.01)
    with first, second:
        spec = f"r1@{first.base_url},{second.base_url}"

        def kill_second() -> None:
            while len(second.requests) < 40:
                time.sleep(0.01)
            second.drop_rate = 1.0
            second.httpd.shutdown()
            second.httpd.server_close()

        killer = threading.Thread(target=kill_second)
        killer.start()
        with_ray = run(
            problems, tmp_path / "ray", spec, "--ray", "local", "--shards", "2", "--samples", "2", home=tmp_path
        )
        killer.join()
        first_manifest = (
            json.loads((tmp_path / "ray" / "manifest.json").read_text()) if with_ray.returncode == 0 else {}
        )
        again = run(
            problems,
            tmp_path / "ray",
            spec,
            "--ray",
            "local",
            "--shards",
            "2",
            "--samples",
            "2",
            "--resume",
            home=tmp_path,
        )
        wrong_shards = run(
            problems,
            tmp_path / "ray",
            spec,
            "--ray",
            "local",
            "--shards",
            "3",
            "--samples",
            "2",
            "--resume",
            home=tmp_path,
        )
    with OpenAIServer(r1_teacher(), delay_s=0.01) as fresh:  # the teacher errs on first tries again
        without = run(problems, tmp_path / "plain", f"r1@{fresh.base_url}", "--samples", "2", home=tmp_path)
    assert with_ray.returncode == 0, with_ray.stderr[-3000:]
    assert without.returncode == 0, without.stderr[-3000:]
    merged, plain = traces(tmp_path / "ray"), traces(tmp_path / "plain")
    ids = [t["problem_id"] for t in merged]
    assert len(ids) == len(set(ids)) == 200 and set(ids) == {t["problem_id"] for t in plain}
    assert rows(tmp_path / "ray" / "failures.jsonl") == []
    # odd problems need a second sample in both runs: the rejected files match too
    assert sorted(r["problem_id"] for r in rows(tmp_path / "ray" / "rejected.jsonl")) == sorted(
        r["problem_id"] for r in rows(tmp_path / "plain" / "rejected.jsonl")
    )
    manifest = first_manifest
    assert manifest["ray"] == {"address": "local", "shards": 2}
    assert manifest["corpus"]["traces"] == 200 and manifest["this_run"]["attempted"] == 200
    assert sorted(p.name for p in (tmp_path / "ray" / "shards").iterdir()) == ["ray.json", "shard-0", "shard-1"]
    # a resume finds every shard finished, and the merged corpus unchanged
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((tmp_path / "ray" / "manifest.json").read_text())["this_run"]["attempted"] == 0
    assert sorted(t["problem_id"] for t in traces(tmp_path / "ray")) == sorted(ids)
    assert wrong_shards.returncode == 2 and "resume with --shards 2" in wrong_shards.stderr


def test_run_budgets_are_shared_by_the_shards(tmp_path):
    problems = problems_file(tmp_path, 60)
    with OpenAIServer(r1_teacher(wrong_first=False)) as server:
        spec = f"r1@{server.base_url}"
        probe = run(problems, tmp_path / "probe", spec, "--limit", "1", home=tmp_path)
        one = json.loads((tmp_path / "probe" / "manifest.json").read_text())["corpus"][
            "tokens"
        ]  # every problem costs the same
        budget = 10 * one
        result = run(
            problems,
            tmp_path / "ray",
            spec,
            "--ray",
            "local",
            "--shards",
            "2",
            "--concurrency",
            "1",
            "--max-total-tokens",
            str(budget),
            home=tmp_path,
        )
    assert probe.returncode == 0 and result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((tmp_path / "ray" / "manifest.json").read_text())
    assert manifest["config"]["max_total_tokens"] == budget  # the run's budget, not a shard's share
    assert manifest["this_run"]["stopped_by"] == "max_total_tokens"
    # each shard stops once its half is spent (with one problem in flight): the run spends about the budget,
    # not the budget once per shard
    assert 10 <= manifest["this_run"]["attempted"] <= 12 and manifest["corpus"]["tokens"] <= budget + 2 * one
