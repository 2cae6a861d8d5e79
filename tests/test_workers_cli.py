"""`journey synth --workers N --batch B`: worker processes and batched graph runs change speed, not
traces; a failing problem fails alone; budgets hold across workers; bad combinations are refused.
Through a real server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from tests.openai_server import OpenAIServer, last_user
from tests.test_distill_cli import distill, r1_teacher, rows
from tests.test_synth_cli import problems_file, synth, traces

pytestmark = pytest.mark.integration

# what a trace says, as opposed to how fast it was made
CONTENT = (
    "id",
    "problem_id",
    "sample",
    "config_hash",
    "long_thought",
    "final_answer",
    "verified",
    "status",
    "n_backtracks",
)


def content(path) -> dict[str, tuple]:
    return {r["id"]: tuple(r[k] for k in CONTENT) for r in rows(path)}


def test_workers_and_batches_change_speed_not_traces(tmp_path):
    problems = problems_file(tmp_path, 24)
    one, many = tmp_path / "one", tmp_path / "many"
    with OpenAIServer(r1_teacher()) as server:  # odd problems answered wrongly at first
        first = distill(server, problems, one, "--samples", "3", "--workers", "1", "--batch", "1")
        server.reply = r1_teacher()  # the same teacher again, for the same endpoint (it is in the config hash)
        second = distill(
            server, problems, many, "--samples", "3", "--workers", "2", "--batch", "5", "--concurrency", "10"
        )
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert content(one / "traces.jsonl") == content(many / "traces.jsonl") and len(traces(one)) == 24
    assert (
        content(one / "rejected.jsonl") == content(many / "rejected.jsonl") and len(rows(one / "rejected.jsonl")) == 12
    )
    manifests = [json.loads((d / "manifest.json").read_text()) for d in (one, many)]
    assert [(m["config"]["workers"], m["config"]["batch"]) for m in manifests] == [(1, 1), (2, 5)]
    timeless = [{k: v for k, v in m["corpus"].items() if k != "wall_s"} for m in manifests]
    assert timeless[0] == timeless[1]
    assert manifests[1]["this_run"]["usage"]["teacher"]["calls"] == 36  # 24 problems + 12 second samples


def test_a_problem_that_keeps_failing_fails_alone_in_its_batch(tmp_path):
    out = tmp_path / "corpus"

    def teacher(body: dict):
        if "What is 3 + 5?" in last_user(body):
            return 400  # a request the endpoint refuses: not retried
        return r1_teacher(wrong_first=False)(body)

    with OpenAIServer(teacher) as server:
        result = distill(server, problems_file(tmp_path, 8), out, "--workers", "2", "--batch", "4")
        refused = sum("What is 3 + 5?" in last_user(b) for b in server.requests)
    assert result.returncode == 1 and "1 problems failed" in result.stderr
    assert sorted(t["problem_id"] for t in traces(out)) == [f"q{i}" for i in range(8) if i != 3]
    (failure,) = rows(out / "failures.jsonl")
    assert (failure["problem_id"], failure["error"], refused) == (
        "q3",
        "OpenAIInvalidRequestError",
        1,
    )  # langchain-openai's name for a 400


def test_a_cost_budget_holds_across_workers_and_resume_finishes(tmp_path):
    out = tmp_path / "corpus"
    problems = problems_file(tmp_path, 40)
    prices = tmp_path / "prices.yaml"
    with OpenAIServer(r1_teacher(wrong_first=False), delay_s=0.02) as server:
        prices.write_text(f"'r1@{server.base_url}': {{input: 1000, output: 1000}}\n")
        assert distill(server, problems, tmp_path / "probe", "--prices", str(prices), "--limit", "1").returncode == 0
        one = json.loads((tmp_path / "probe" / "manifest.json").read_text())["this_run"]["cost_usd"]["total"]
        first = distill(
            server,
            problems,
            out,
            "--prices",
            str(prices),
            "--max-cost",
            str(5.5 * one),
            "--workers",
            "2",
            "--concurrency",
            "2",
        )
        run = json.loads((out / "manifest.json").read_text())["this_run"]
        rest = distill(server, problems, out, "--prices", str(prices), "--resume", "--workers", "2")
    assert first.returncode == 0 and "stopped by --max-cost" in first.stderr, first.stderr
    # the sixth problem crosses the budget; what was in flight (one per worker) finishes, nothing new starts
    assert (
        run["stopped_by"] == "max_cost"
        and 6 <= run["attempted"] <= 6 + 2
        and run["not_started"] == 40 - run["attempted"]
    )
    assert rest.returncode == 0
    ids = [t["problem_id"] for t in traces(out)]
    assert sorted(ids) == sorted(f"q{i}" for i in range(40)) and len(ids) == len(set(ids))


def test_workers_and_batch_flags_are_checked_before_any_model_starts(tmp_path):
    problems = problems_file(tmp_path, 2)
    with OpenAIServer(lambda body: "unused") as server:
        local = distill(server, problems, tmp_path / "a", "--teacher", "local", "--workers", "2")
        batched_journey = synth(server, problems, tmp_path / "b", "--batch", "2")
        assert server.requests == []
    assert local.returncode == 2 and "--workers 1" in local.stderr and "teacher" in local.stderr
    assert (
        batched_journey.returncode == 2 and "--batch" in batched_journey.stderr and "distill" in batched_journey.stderr
    )
    assert not (tmp_path / "a" / "traces.jsonl").exists() and not (tmp_path / "b").exists()


def test_a_model_that_cannot_be_built_is_bad_input_before_any_worker_or_file(tmp_path):
    out = tmp_path / "corpus"
    with OpenAIServer(lambda body: "unused") as server:
        result = distill(server, problems_file(tmp_path, 4), out, "--teacher", "openai:o3-mini", "--workers", "2")
        assert server.requests == []
    assert result.returncode == 2 and "needs OPENAI_API_KEY" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()  # found before the corpus exists: the plain rerun needs no --resume
