"""`journey serve vllm --attach URL` against a scripted OpenAI-compatible server on 127.0.0.1 (no vLLM
needed): a credentialed URL attaches with its credentials as headers, a failure names the URL without
them, and MODEL is not taken with --attach."""

from __future__ import annotations

import base64
import subprocess
import sys

from tests.openai_server import OpenAIServer
from tests.test_synth_cli import ROOT


def journey(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "journey", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_attach_with_credentials_and_without_leaking_them():
    password, token = "pa:ss@w/rd#1", "tok-SECRET-123"
    with OpenAIServer(lambda body: "ok") as server:
        url = f"http://me:{password}@127.0.0.1:{server.port}/v1?token={token}"
        attached = journey("serve", "vllm", "--attach", url)
        assert attached.returncode == 0, attached.stderr
        assert attached.stdout.strip() == f"scripted@{url}"  # the spec to use, on stdout: the user's own URL
        sent = server.get_headers[-1]["authorization"]
        assert sent == "Basic " + base64.b64encode(f"me:{password}".encode()).decode()
        assert server.paths[-1] == f"/v1/models?token={token}"
        both = journey("serve", "vllm", "some-model", "--attach", url)
    assert both.returncode == 2 and "--attach takes no MODEL" in both.stderr
    failed = journey("serve", "vllm", "--attach", f"http://me:{password}@127.0.0.1:9/v1?token={token}")
    assert failed.returncode == 2 and "cannot attach to http://***@127.0.0.1:9/v1?token=***" in failed.stderr
    assert password not in failed.stderr and token not in failed.stderr
    neither = journey("serve", "vllm")
    assert neither.returncode == 2 and "--attach" in neither.stderr
