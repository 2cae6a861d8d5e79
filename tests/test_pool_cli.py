"""Endpoint pools: one model behind several base URLs; a server that dies midway leaves the rotation."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from agents.endpoints import Endpoint, EndpointPool
from agents.specs import parse_spec
from tests.openai_server import OpenAIServer
from tests.test_distill_cli import r1_teacher, rows
from tests.test_synth_cli import KEY, ROOT, problems_file, traces


def test_pool_specs():
    spec = parse_spec("m@http://127.0.0.1:1/v1/, http://u:pw@127.0.0.1:2/v1")
    assert spec.base_urls == ("http://127.0.0.1:1/v1", "http://u:pw@127.0.0.1:2/v1")
    assert str(spec) == "m@http://127.0.0.1:1/v1,http://***@127.0.0.1:2/v1"  # credentials never printed


def test_rotation_failures_and_cooldown(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("agents.models.time.monotonic", lambda: clock[0])
    a, b = Endpoint("a", None), Endpoint("b", None)
    pool = EndpointPool([a, b], max_failures=2, cooldown_s=10)
    assert [pool.pick().url for _ in range(4)] == ["a", "b", "a", "b"]
    pool.failed(b)
    assert b.out_until == 0.0  # one failure: still in rotation
    pool.failed(b)
    assert [pool.pick().url for _ in range(3)] == ["a", "a", "a"]
    clock[0] += 10.5  # the cooldown is over: b gets a retry
    assert {pool.pick().url for _ in range(2)} == {"a", "b"}
    pool.failed(b)
    pool.failed(b)
    assert b.out_until == clock[0] + 20  # a second outage: twice the cooldown
    pool.succeeded(b)
    assert b.out_until == 0.0 and b.outages == 0
    pool.failed(a), pool.failed(a)
    pool.failed(b), pool.failed(b)
    assert pool.pick().url == "a"  # all out: the one back soonest


@pytest.mark.integration
def test_a_pool_survives_an_endpoint_killed_midway(tmp_path):
    out = tmp_path / "corpus"
    first, second = (
        OpenAIServer(r1_teacher(wrong_first=False), delay_s=0.02),
        OpenAIServer(r1_teacher(wrong_first=False), delay_s=0.02),
    )
    with first, second:
        spec = f"r1@{first.base_url},{second.base_url}"
        command = [
            sys.executable,
            "-m",
            "journey",
            "synth",
            "--method",
            "distill",
            "--problems",
            str(problems_file(tmp_path, 60)),
            "--out",
            str(out),
            "--teacher",
            spec,
            "--concurrency",
            "4",
        ]

        at_kill = []

        def kill_second() -> None:
            while len(second.requests) < 10:
                time.sleep(0.01)
            # dead: every request fails (503, 500 or 429), and is still recorded, so that the test
            # can count what the pool keeps sending it (a closed server would record nothing either way)
            second.fault_rate = 1.0
            at_kill.append(len(second.requests))

        killer = threading.Thread(target=kill_second)
        killer.start()
        env = {"PATH": "/usr/bin:/bin", "O1J_ENDPOINT_API_KEY": KEY, "HOME": str(tmp_path)}
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        killer.join()
    assert result.returncode == 0, result.stderr
    assert sorted(t["problem_id"] for t in traces(out)) == sorted(f"q{i}" for i in range(60))
    assert rows(out / "failures.jsonl") == []
    # the dead endpoint left the rotation after 3 failures in a row (and a probe or two after each
    # cooldown); round robin without it would have sent it about half of the 50-odd calls left
    sent_to_dead = len(second.requests) - at_kill[0]
    assert sent_to_dead <= 8, sent_to_dead
    assert len(first.requests) >= 60 - at_kill[0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["roles"]["teacher"]["spec"] == spec
