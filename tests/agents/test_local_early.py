"""Engines started ahead of the run (agents.local.EarlyEngines): adopted by ModelHub, never doubled,
stopped when no longer wanted or when the block ends; a guess starts no conversion. A tiny Gemma 3
is served for real."""

from __future__ import annotations

import asyncio

import pytest

from agents import checkpoints, local
from agents.models import ModelHub, Sampling
from tests.trainer.tiny import arithmetic, build_tiny_model

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    texts = [t.question for t in arithmetic(20)]
    return build_tiny_model(tmp_path_factory.mktemp("early-model"), texts)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("O1J_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def engine_logs(cache) -> list:
    return sorted((cache / "logs").glob("engine-*.log"))


def test_an_early_engine_is_adopted_by_the_hub_and_stopped_with_its_block(tiny, cache):
    spec = f"local:{tiny}"
    with local.EarlyEngines() as early:
        early.start([spec, spec, "openai:gpt-4o", "m@http://127.0.0.1:9/v1"], convert=False)
        early.start([spec])  # started already: not again
        [server] = local._EARLY.values()  # one engine for a model named twice; the others are not local

        async def run() -> tuple[dict, str]:
            roles = {"policy": (spec, Sampling(max_tokens=4)), "critic": (spec, Sampling(max_tokens=4))}
            async with ModelHub(roles) as hub:
                reply = await hub.models["policy"].chat.ainvoke("What is 2 plus 3?")
                return hub.describe(), reply.content

        described, reply = asyncio.run(run())
        assert described["policy"]["checkpoint"] == described["critic"]["checkpoint"] == str(tiny)
        assert isinstance(reply, str)
        assert len(engine_logs(cache)) == 1  # the hub started none of its own
        process = server.server.process
        assert process.poll() is None  # the hub's exit left it to its owner
    assert process.poll() is not None
    assert local._EARLY == {}


def test_a_model_that_cannot_start_early_is_left_to_the_run(tmp_path, cache):
    with local.EarlyEngines() as early:
        early.start([f"local:{tmp_path / 'missing'}"])
        assert local._EARLY == {}


def test_a_guess_converts_nothing_and_an_unused_engine_stops(tiny, cache, tmp_path):
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")  # would need a conversion: a guess leaves it alone
    assert checkpoints.ready_checkpoint("local") is None  # this cache has no converted embedded model
    assert checkpoints.ready_checkpoint(f"local:{tiny}") == tiny
    with local.EarlyEngines() as early:
        early.start(["local", f"local:{gguf}", f"local:{tiny}"], convert=False)
        assert list(local._EARLY) == [str(tiny)]
        assert not (cache / "gguf").exists() and not (cache / "checkpoints").exists()
        process = local._EARLY[str(tiny)].server.process
        early.keep(["openai:gpt-4o"])  # the run turned out not to use it
        assert local._EARLY == {}
        assert process.wait(timeout=30) is not None
