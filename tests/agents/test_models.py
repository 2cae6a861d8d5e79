"""The model layer: spec strings, o-series rules, reasoning fields, retries, redaction (real HTTP server)."""

from __future__ import annotations

import asyncio

import openai
import pytest
from langchain_core.messages import HumanMessage
from tenacity import RetryCallState

from agents.endpoints import RetryPolicy, _wait
from agents.models import Sampling, build_chat_model, complete
from agents.specs import ModelSpec, SpecError, parse_spec, redact
from tests.openai_server import OpenAIServer

FAST = RetryPolicy(attempts=4, initial_s=0.01, max_s=0.05)


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("local", ModelSpec(kind="local", model="local")),
        ("local:runs/sft", ModelSpec(kind="local", model="runs/sft")),
        ("openai:o3-mini", ModelSpec(kind="openai", model="o3-mini")),
        (
            "deepseek-ai/DeepSeek-R1@http://127.0.0.1:8000/v1/",
            ModelSpec(kind="endpoint", model="deepseek-ai/DeepSeek-R1", base_url="http://127.0.0.1:8000/v1"),
        ),
        ("m@https://user:pw@host:1/v1", ModelSpec(kind="endpoint", model="m", base_url="https://user:pw@host:1/v1")),
    ],
)
def test_parse_spec(spec, expected):
    assert parse_spec(spec) == expected


@pytest.mark.parametrize("spec", ["", "gpt-4o", "openai:", "local:", "m@ftp://x"])
def test_parse_spec_rejects(spec):
    with pytest.raises(SpecError):
        parse_spec(spec)


def test_spec_str_hides_url_credentials():
    assert str(parse_spec("m@https://user:pw@host:1/v1")) == "m@https://***@host:1/v1"


def test_redact_removes_keys_and_bearer_tokens(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-envkey-123456789")
    text = "failed with sk-envkey-123456789 and Bearer abcdefghijkl and custom-secret-value"
    assert redact(text, ["custom-secret-value"]) == "failed with *** and Bearer *** and ***"


def test_o_series_gets_no_temperature(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123456789")
    o3 = build_chat_model(
        parse_spec("openai:o3-mini"), Sampling(temperature=0.7, max_tokens=99, reasoning_effort="high")
    )
    gpt = build_chat_model(parse_spec("openai:gpt-4o-mini"), Sampling(temperature=0.7, max_tokens=99))
    assert o3.chat.temperature is None and o3.chat.reasoning_effort == "high" and o3.chat.max_tokens == 99
    assert gpt.chat.temperature == 0.7


def test_openai_spec_needs_a_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(SpecError, match="OPENAI_API_KEY"):
        build_chat_model(parse_spec("openai:o1-mini"), Sampling())


def _endpoint(server, **sampling):
    return build_chat_model(parse_spec(f"m@{server.base_url}"), Sampling(**sampling))


def test_reasoning_content_is_kept_and_usage_recorded():
    reply = {"content": "\\boxed{5}", "reasoning_content": "2 + 3 ... wait ... 5"}
    with OpenAIServer(lambda body: dict(reply)) as server:
        out = asyncio.run(complete(_endpoint(server, stop=("\n",)), [HumanMessage("2+3?")]))
        body = server.requests[0]
    assert (out.text, out.reasoning) == ("\\boxed{5}", "2 + 3 ... wait ... 5")
    assert out.tokens_in == 1 and out.tokens_out == 1 and out.latency_s > 0
    assert body["stop"] == ["\n"] and body["max_tokens"] == 128


def test_vllm_reasoning_field_name_is_kept():
    with OpenAIServer(lambda body: {"content": "5", "reasoning": "think"}) as server:
        out = asyncio.run(complete(_endpoint(server), [HumanMessage("2+3?")]))
    assert out.reasoning == "think"


def test_transient_errors_are_retried_with_retry_after():
    with OpenAIServer(lambda body: "ok", faults={0: 429, 1: 503, 2: "drop"}) as server:
        out = asyncio.run(complete(_endpoint(server), [HumanMessage("hi")], retry=FAST))
        assert out.text == "ok" and len(server.requests) == 4


@pytest.mark.parametrize(
    "retry_after, low, high",
    [
        ("7", 7.0, 7.0),  # the server's wait is longer than our backoff: it wins
        ("1000", 120.0, 120.0),  # capped: a server cannot park the run for a quarter of an hour
        (None, 0.0, FAST.max_s),  # no header: our own backoff
    ],
)
def test_the_wait_before_a_retry_honours_retry_after(retry_after, low, high):
    # the 429 as the client stack raises it, then the wait tenacity would sleep before the next attempt
    with OpenAIServer(lambda body: "ok", faults={0: 429}, retry_after=retry_after) as server:
        with pytest.raises(openai.RateLimitError) as raised:
            asyncio.run(complete(_endpoint(server), [HumanMessage("hi")], retry=RetryPolicy(attempts=1)))
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})
    state.set_exception((type(raised.value), raised.value, raised.value.__traceback__))
    assert low <= _wait(FAST)(state) <= high


@pytest.mark.parametrize("status", [400, 401, 404])
def test_client_errors_are_not_retried(status):
    with OpenAIServer(lambda body: "ok", faults={0: status}) as server:
        with pytest.raises(openai.APIStatusError):
            asyncio.run(complete(_endpoint(server), [HumanMessage("hi")], retry=FAST))
        assert len(server.requests) == 1


def test_attempts_are_bounded():
    with OpenAIServer(lambda body: "ok", faults={i: 500 for i in range(10)}) as server:
        with pytest.raises(openai.InternalServerError):
            asyncio.run(complete(_endpoint(server), [HumanMessage("hi")], retry=FAST))
        assert len(server.requests) == FAST.attempts
