"""The transparency card reads what the manifest really holds."""

from __future__ import annotations

import json
from pathlib import Path

from corpus.artifacts import Corpus as Stored
from reports.compare import Corpus, transparency


def corpus(tmp_path: Path, models: dict, failures: list[dict], counted: int) -> Corpus:
    manifest = {"method": "journey", "models": models, "corpus": {"failures": counted, "rejected": 0}}
    return Corpus("c", Stored(tmp_path, None, {}, manifest), [{"events": True}], [], failures)


def test_a_local_checkpoint_with_a_digest_is_pinned(tmp_path):
    embedded = {
        "policy": {"spec": "local", "checkpoint": "gemma", "source": {"gguf": "g.gguf", "gguf_sha256": "ab" * 32}}
    }
    trained = {"policy": {"spec": "local:runs/m", "source": {"hf_dir": "runs/m", "checkpoint_sha256": "cd" * 32}}}
    served = {"policy": {"spec": "m@http://127.0.0.1:8000/v1"}}
    check = "model versions pinned (weights digest or API snapshot)"
    assert transparency(corpus(tmp_path, embedded, [], 0))["checks"][check] is True
    assert transparency(corpus(tmp_path, trained, [], 0))["checks"][check] is True
    assert transparency(corpus(tmp_path, served, [], 0))["checks"][check] is False  # no digest, no snapshot


def test_failures_are_released_only_when_the_file_holds_every_counted_one(tmp_path):
    (tmp_path / "failures.jsonl").write_text("")  # created, but the manifest counts two failures
    models = {"policy": {"spec": "local"}}
    assert transparency(corpus(tmp_path, models, [], 2))["checks"]["failures released"] is False
    rows = [{"id": "a", "reason": "HTTP 400"}, {"id": "b", "reason": "timeout"}]
    (tmp_path / "failures.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert transparency(corpus(tmp_path, models, rows, 2))["checks"]["failures released"] is True
