"""`journey compare` over three corpora of the same problems (journey, distill, reformat) made through a
real server on 127.0.0.1, and `journey graph show`; the report is opened in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.openai_server import OpenAIServer, last_user
from tests.test_distill_cli import r1_teacher
from tests.test_synth_cli import ROOT, tutor

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def answer(body: dict) -> str | dict:
    text = last_user(body)
    if "Reference solution:" in text:
        a, b = map(int, re.search(r"What is (\d+) \+ (\d+)\?", text).groups())
        return f"I add {a} and {b}.\nThat gives {a + b}.\nThe answer is \\boxed{{{a + b}}}."
    if body["messages"][0]["content"].startswith("Solve the problem and show your whole thought"):
        return REPLY_R1(body)
    return tutor(body)


REPLY_R1 = r1_teacher()


def journey(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "journey", *args], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env
    )


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> list[Path]:
    tmp = tmp_path_factory.mktemp("corpora")
    problems = tmp / "p.jsonl"
    problems.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"q{i}",
                    "question": f"What is {i} + {i + 2}?",
                    "answer": str(2 * i + 2),
                    "solution": f"{i} + {i + 2} = {2 * i + 2}",
                }
            )
            + "\n"
            for i in range(6)
        )
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp)}
    out = []
    with OpenAIServer(answer) as server:
        spec = f"m@{server.base_url}"
        for method, roles in (
            ("journey", ["--policy", spec, "--critic", spec, "--reflector", spec]),
            ("distill", ["--teacher", spec, "--samples", "2"]),
            ("reformat", ["--rewriter", spec]),
        ):
            result = journey(
                "synth", "--method", method, "--problems", str(problems), "--out", str(tmp / method), *roles, env=env
            )
            assert result.returncode == 0, result.stderr
            out.append(tmp / method)
    return out


def test_compare_writes_the_numbers_of_each_method(corpora, tmp_path):
    result = journey("compare", *map(str, corpora), "--out", str(tmp_path / "report"))
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    j, d, r = (summary["corpora"][name] for name in ("journey", "distill", "reformat"))
    assert (j["method"], d["method"], r["method"]) == ("journey", "distill", "reformat")
    assert j["acceptance_rate"] == 1.0 and j["backtracks_per_trace"] == 1.0 and j["reflections_per_trace"] == 1.0
    # distill: odd problems needed a second sample, so 6 accepted of 9 drawn
    assert (d["attempted"], d["accepted"], d["acceptance_rate"]) == (9, 6, 0.6667)
    assert d["tokens_spent_per_accepted"] > d["tokens_per_accepted"]["mean"]  # rejected samples cost too
    assert r["calls_per_trace"] == 1.0 and r["solved"] == 6
    assert summary["solved_overlap"]["journey"]["distill"] == 6 and summary["solved_by_all"] == 6
    card = summary["transparency"]["distill"]
    assert card["checks"]["rejected samples released"] and card["checks"]["verification settings recorded"]
    assert not card["checks"][
        "model versions pinned (weights digest or API snapshot)"
    ]  # an endpoint alias is not a version
    assert 0 < card["score"] < 1
    assert summary["warnings"] == []
    assert "| journey | journey | 6 | 6 | 1 |" in result.stdout
    # the shape of the long thoughts per method: each journey has a one-step dead end, distill none
    js, ds = summary["shapes"]["journey"], summary["shapes"]["distill"]
    assert js["samples"] == 6 and js["backtracks"]["mean"] == 1.0 and js["dead_end_depth"]["median"] == 1.0
    assert js["steps"]["mean"] == 3.0 and js["reflections"]["mean"] == 1.0 and js["rewritten_share"] == 0.0
    assert ds["samples"] == 9 and ds["dead_end_depth"]["p90"] == 0.0 and ds["steps"]["mean"] == 1.0
    assert ds["thought_words"]["mean"] > 0 and ds["thought_tokens"]["mean"] > 0
    assert "Shape of the long thoughts" in (tmp_path / "report" / "report.md").read_text()


def test_compare_warns_when_problems_differ(corpora, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(corpora[0], partial)
    lines = (partial / "traces.jsonl").read_text().splitlines()
    (partial / "traces.jsonl").write_text("\n".join(lines[:3]) + "\n")
    result = journey("compare", str(corpora[1]), str(partial), "--out", str(tmp_path / "r"))
    assert result.returncode == 0
    assert "differ in problems (3 only in distill, 0 only in partial)" in result.stderr
    assert journey("compare", str(corpora[0]), "--out", str(tmp_path / "x")).returncode == 2
    assert "not a corpus" in journey("compare", str(corpora[0]), str(tmp_path), "--out", str(tmp_path / "y")).stderr


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package (CI installs it)")
def test_report_opens_in_headless_chromium_with_its_table_and_plots(corpora, tmp_path):
    assert journey("compare", *map(str, corpora), "--out", str(tmp_path / "report")).returncode == 0
    # the check script is added to a copy: the report itself carries no script
    page = (tmp_path / "report" / "report.html").read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page
    probe = tmp_path / "probe.html"
    probe.write_text(
        page.replace(
            "</body>",
            """<script>
      const imgs = [...document.images];
      document.body.dataset.rows = document.querySelectorAll('#methods tbody tr').length;
      document.body.dataset.images = imgs.filter(i => i.complete && i.naturalWidth > 0).length + '/' + imgs.length;
    </script></body>""",
        )
    )
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-sync",
        "--no-first-run",
        "--user-data-dir=" + str(tmp_path / "profile"),
        "--virtual-time-budget=5000",
        "--dump-dom",
        probe.as_uri(),
    ]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    assert 'data-rows="3"' in dom
    assert 'data-images="3/3"' in dom  # acceptance, tokens and backtracks plots all decoded
    assert "<td>distill</td>" in dom and "Transparency card" in dom


def test_graph_show_prints_mermaid_for_every_method():
    for method, nodes in (
        ("journey", ("policy", "critique", "reflection", "hint")),
        ("distill", ("teacher", "verify")),
        ("reformat", ("rewrite", "verify")),
    ):
        result = journey("graph", "show", method)
        assert result.returncode == 0 and "graph TD;" in result.stdout
        assert all(f"\t{n}({n})" in result.stdout for n in nodes)
