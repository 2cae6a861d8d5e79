"""Credentials in endpoint URLs are parsed, not pattern-matched: a password or token holding
'@ / # : space %' or unicode reaches the server as an Authorization header and a query parameter, and
appears in no file or message of synth, compare, export or the viewer. Random cases, seeded."""

from __future__ import annotations

import base64
import json
import random
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from agents.specs import parse_spec, public_spec, redact
from agents.urls import parse_url
from tests.openai_server import OpenAIServer
from tests.test_distill_cli import r1_teacher
from tests.test_synth_cli import ROOT, problems_file

pytestmark = pytest.mark.integration
ALPHABET = "abcXYZ019@/#: %é中-_.~!$&'()*+,;="


def secret(rng: random.Random, n: int = 12) -> str:
    # always one of the awkward characters, and long enough to be recognisable anywhere
    return "Zq" + "".join(rng.choice(ALPHABET) for _ in range(n)) + rng.choice("@/#: %")


@pytest.mark.parametrize("case", range(6))
def test_parse_keeps_the_whole_password(case):
    rng = random.Random(case)
    user, password, token = "u" + str(case), secret(rng), secret(rng)
    url = f"http://{user}:{password}@127.0.0.1:8000/v1?token={urllib.parse.quote(token, safe='')}"
    parsed = parse_url(url)
    assert (parsed.user, parsed.password, parsed.default_query) == (user, password, {"token": token})
    assert parsed.base == "http://127.0.0.1:8000/v1"
    shown = public_spec(f"m@{url}") + repr(parse_spec(f"m@{url}")) + str(parse_spec(f"m@{url}"))
    assert password not in shown and token not in shown and urllib.parse.quote(token, safe="") not in shown
    assert redact(f"failed at {url} today", parsed.secrets).count("***") >= 2
    assert password not in redact(f"failed at {url} today", parsed.secrets)


def test_a_run_sends_the_credentials_and_writes_none_of_them(tmp_path):
    rng = random.Random(7)
    problems = problems_file(tmp_path, 2)
    for case in range(2):
        user, password, token = f"user{case}", secret(rng), secret(rng)
        with OpenAIServer(r1_teacher(wrong_first=False)) as server:
            quoted = urllib.parse.quote(token, safe="")
            spec = f"r1@HTTP://{user}:{password}@127.0.0.1:{server.port}/v1?token={quoted}"
            out = tmp_path / f"c{case}"
            env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
            command = [sys.executable, "-m", "journey", "synth", "--method", "distill", "--problems", str(problems)]
            run = subprocess.run(
                [*command, "--teacher", spec, "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True
            )
            assert run.returncode == 0, run.stderr[-1500:]
            sent = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            assert server.headers and all(h.get("authorization") == sent for h in server.headers)
            assert all(
                urllib.parse.parse_qs(urllib.parse.urlsplit(p).query).get("token") == [token] for p in server.paths
            )
            assert all(p.split("?")[0] in ("/v1/models", "/v1/chat/completions") for p in server.paths)
        texts = [run.stdout, run.stderr]
        # the other readers of the corpus: compare, export
        for args in (["compare", str(out), str(out), "--out", str(tmp_path / f"r{case}")],
                     ["export", str(out), "--as", "traces", "--out", str(tmp_path / f"e{case}")]):  # fmt: skip
            done = subprocess.run([sys.executable, "-m", "journey", *args], cwd=ROOT, capture_output=True, text=True)
            texts += [done.stdout, done.stderr]
        files = [
            p for d in (out, tmp_path / f"r{case}", tmp_path / f"e{case}") for p in Path(d).rglob("*") if p.is_file()
        ]
        assert files
        forms = {password, token, urllib.parse.quote(password, safe=""), quoted, f"{user}:{password}"}
        for path in files:
            data = path.read_bytes()
            for form in forms:
                assert form.encode() not in data, f"{path} holds a credential"
                assert json.dumps(form)[1:-1].encode() not in data, f"{path} holds a credential (JSON-escaped)"
        for text in texts:
            assert not any(form in text for form in forms)
