"""`journey serve local --host --port`: the project's engine on the address asked for, its spec on stdout."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.test_serve_cli import read_line

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_local_binds_the_port_asked_for_and_prints_its_spec(tiny_model):
    port = free_port()
    command = [sys.executable, "-m", "journey", "serve", "local", f"local:{tiny_model}"]
    proc = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        spec = read_line(proc.stdout, 300)
        assert spec.endswith(f"@http://127.0.0.1:{port}/v1"), spec
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=30) as reply:
            assert json.loads(reply.read())["data"]
    finally:
        proc.send_signal(signal.SIGTERM)  # as a service manager stops it (SIGINT is ignored under a background shell)
        proc.wait(timeout=60)
    bad = subprocess.run([*command, "--port", "0"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--port" in bad.stderr
