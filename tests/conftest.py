"""Shared fixtures: scripted fake chat models for unit tests of single nodes and graph branches."""

from __future__ import annotations

import os

# tests never reach the Hugging Face hub: set before anything imports huggingface_hub or datasets
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import pytest  # noqa: E402
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel  # noqa: E402
from langchain_core.messages import AIMessage  # noqa: E402

from agents.models import ChatModel, parse_spec  # noqa: E402


def scripted(*replies: str, tokens: int = 10) -> ChatModel:
    """A chat model that answers with ``replies`` in order (and fails loudly when they run out)."""
    messages = [
        AIMessage(r, usage_metadata={"input_tokens": tokens, "output_tokens": tokens, "total_tokens": 2 * tokens})
        for r in replies
    ]
    fake = FakeMessagesListChatModel(responses=messages)
    calls = {"n": 0}
    original = fake._agenerate

    async def agenerate(*args, **kwargs):
        if calls["n"] >= len(messages):
            raise AssertionError(f"scripted model ran out of replies after {len(messages)}")
        calls["n"] += 1
        return await original(*args, **kwargs)

    object.__setattr__(fake, "_agenerate", agenerate)
    return ChatModel(spec=parse_spec("scripted@http://127.0.0.1:9/v1"), chat=fake)


@pytest.fixture
def make_model():
    return scripted


@pytest.fixture(scope="session")
def corpora(tmp_path_factory):
    """Every method's corpus, written once per session by journey synth (tests/producers.py)."""
    from tests.producers import make_corpora

    return make_corpora(tmp_path_factory.mktemp("produced"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny model and tokenizer built offline, once per session."""
    from tests.trainer.tiny import arithmetic, build_tiny_model

    texts = []
    for t in arithmetic(40) + arithmetic(40, offset=100):
        texts += [t.question, t.long_thought, t.summary]
    return build_tiny_model(tmp_path_factory.mktemp("tiny"), texts)
