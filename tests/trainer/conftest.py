"""Fixtures of the trainer tests: a tiny model and tokenizer built offline, once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.trainer.tiny import arithmetic, build_tiny_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    texts = []
    for t in arithmetic(40) + arithmetic(40, offset=100):
        texts += [t.question, t.long_thought, t.summary]
    return build_tiny_model(tmp_path_factory.mktemp("tiny"), texts)
