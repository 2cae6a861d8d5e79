"""Errors a careless user meets are one line and exit 2, and write nothing: an unknown recipe field,
a resume over a broken config record, pairs that found nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.test_synth_cli import ROOT

pytestmark = pytest.mark.integration


def journey(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "journey", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def one_line(result: subprocess.CompletedProcess) -> bool:
    return result.returncode == 2 and "Traceback" not in result.stderr and result.stderr.count("error:") == 1


def test_an_unknown_recipe_field(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"model: local\noutput_dir: {tmp_path / 'm'}\nuse_cpu: true\nbf16: false\nbogus_field: 3\n")
    result = journey("train", "--config", str(recipe))
    assert one_line(result) and "bogus_field" in result.stderr and not (tmp_path / "m").exists()


def test_a_resume_over_a_broken_config_record(corpora, tmp_path):
    corpus = tmp_path / "c"
    shutil.copytree(corpora["human"], corpus)
    (corpus / "config.json").write_text("{not json")
    problems = corpora["human"].parent / "problems.jsonl"
    result = journey("synth", "--method", "human", "--problems", str(problems), "--out", str(corpus), "--resume")
    assert one_line(result) and "config.json: not the config record" in result.stderr


@pytest.mark.parametrize(("method", "kind"), [("journey", "step"), ("human", "verified-vs-wrong")])
def test_pairs_that_found_nothing_write_nothing(corpora, tmp_path, method, kind):
    """No search trees for step pairs; every human trace verified, so no wrong side."""
    out = tmp_path / "pairs"
    result = journey("pairs", str(corpora[method]), "--kind", kind, "--out", str(out))
    assert one_line(result) and f"no {kind} pairs" in result.stderr and not out.exists()
