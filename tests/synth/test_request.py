"""One set of settings behind `journey synth`'s flags, a `--config` file and the Python API: the same
settings make the same config hash whichever way they came."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from synth.request import RequestError, settings, synthesize_from
from tests.openai_server import OpenAIServer
from tests.test_distill_cli import r1_teacher
from tests.test_synth_cli import ROOT, problems_file


def journey(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "journey", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def manifest(out) -> dict:
    return json.loads((out / "manifest.json").read_text())


def test_flags_a_file_and_the_api_make_the_same_config(tmp_path):
    problems = problems_file(tmp_path, 4)
    with OpenAIServer(r1_teacher(wrong_first=False)) as server:
        spec = f"r1@{server.base_url}"
        flags = journey(
            "synth", "--method", "distill", "--problems", str(problems), "--teacher", spec, "--samples", "2",
            "--keep", "all", "--out", str(tmp_path / "flags"),
        )  # fmt: skip
        assert flags.returncode == 0, flags.stderr
        config = tmp_path / "distill.yaml"
        config.write_text(
            yaml.safe_dump(
                {"method": "distill", "problems": str(problems), "teacher": spec, "samples": 3, "keep": "all"}
            )
        )
        # the file says 3 samples; --set says 2; the --out flag is given here
        from_file = journey("synth", "--config", str(config), "--set", "samples=2", "--out", str(tmp_path / "file"))
        assert from_file.returncode == 0, from_file.stderr
        api = synthesize_from(config, samples=2, out=str(tmp_path / "api"))
    hashes = {manifest(tmp_path / d)["config_hash"] for d in ("flags", "file", "api")}
    assert len(hashes) == 1 and api["config_hash"] in hashes
    assert manifest(tmp_path / "file")["config"]["samples"] == 2
    # a flag given here beats --set, which beats the file
    with OpenAIServer(r1_teacher(wrong_first=False)) as again:
        config.write_text(config.read_text().replace(spec, f"r1@{again.base_url}"))
        one = journey(
            "synth", "--config", str(config), "--set", "samples=2", "--samples", "1", "--out", str(tmp_path / "one")
        )
        assert one.returncode == 0, one.stderr
    assert manifest(tmp_path / "one")["config"]["samples"] == 1


def test_bad_settings_are_one_line(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("method: distill\nproblems: demo\nout: x\nwidht: 3\n")
    result = journey("synth", "--config", str(config))
    assert result.returncode == 2 and "widht: not a setting of journey synth" in result.stderr
    config.write_text("- a list\n")
    result = journey("synth", "--config", str(config))
    assert result.returncode == 2 and "a mapping of flag names to values" in result.stderr
    result = journey("synth", "--problems", "demo", "--out", str(tmp_path / "o"), "--limit", "0")
    assert result.returncode == 2 and "--limit" in result.stderr
    config.write_text("method: distill\nproblems: demo\nout: x\n")
    result = journey("synth", "--config", str(config), "--set", "limit")
    assert result.returncode == 2 and "KEY=VALUE" in result.stderr
    with pytest.raises(RequestError, match="limit must be at least 1, not -1"):
        settings({"problems": "demo", "out": "x", "limit": -1})
    with pytest.raises(RequestError, match="out: name the corpus directory"):
        settings({"problems": "demo"})
    # a method's option and role come from the registry: no edit of the request module names them
    assert (
        settings({"problems": "demo", "out": "x", "wrong-depth": 2, "prm": "p@http://127.0.0.1:9/v1"})["wrong_depth"]
        == 2
    )


def test_every_synthesis_recipe_reads_and_configures():
    """Each file under recipes/synth is a valid run: its settings exist and its config builds."""
    from synth.request import configure, read_file

    files = sorted((ROOT / "recipes" / "synth").glob("*.yaml"))
    assert len(files) >= 3
    for path in files:
        text = path.read_text()
        assert text.startswith("#") and "journey synth --config" in text  # the launch command in its header
        cfg = configure(settings(read_file(path)))
        assert cfg.method == read_file(path)["method"]
