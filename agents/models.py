"""The model layer: one factory from a spec string (``agents.specs``) to a LangChain chat model,
one call helper (``complete``, retried by ``agents.endpoints``), and ``ModelHub``, which turns role
specs into models and starts and stops the local servers (``agents.local``) they need.

Every model is reached through ``langchain-openai``. Retries are ours (tenacity), so the SDK's own
retries are off: stacking them multiplies attempts and hides ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import openai
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from langchain_openai import ChatOpenAI

from agents.endpoints import DEFAULT_RETRY, Endpoint, EndpointPool, RetryPolicy, retryable, retrying
from agents.specs import ModelSpec, SpecError, parse_spec, split_userinfo
from agents.urls import parse_url


class ReasoningChatOpenAI(ChatOpenAI):
    """ChatOpenAI that keeps the ``reasoning_content`` / ``reasoning`` field of vLLM reasoning parsers.

    Stock ChatOpenAI drops non-standard message fields; a DeepSeek-R1 style teacher's long thought
    lives exactly there.
    """

    # OpenAI-compatible servers want max_tokens; ChatOpenAI always sends max_completion_tokens, which
    # `transformers serve` ignores (so generation ran unbounded)
    legacy_max_tokens: bool = False

    def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any) -> dict:
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        if self.legacy_max_tokens and "max_completion_tokens" in payload:
            payload["max_tokens"] = payload.pop("max_completion_tokens")
        return payload

    def _create_chat_result(self, response: Any, generation_info: dict | None = None) -> ChatResult:
        result = super()._create_chat_result(response, generation_info)
        raw = response if isinstance(response, dict) else response.model_dump()
        for generation, choice in zip(result.generations, raw.get("choices") or [], strict=False):
            message = choice.get("message") or {}
            reasoning = message.get("reasoning_content") or message.get("reasoning")
            if reasoning and isinstance(generation.message, AIMessage):
                generation.message.additional_kwargs["reasoning_content"] = reasoning
        return result


@dataclass(frozen=True)
class Sampling:
    """Per-role generation settings. ``max_tokens`` bounds one call, not a trace."""

    temperature: float = 0.7
    max_tokens: int = 128
    reasoning_effort: str | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()


def sent_sampling(spec: ModelSpec, sampling: Sampling) -> dict[str, Any]:
    """The sampling parameters a request to ``spec`` carries (what a manifest records: an o-series
    model is sent no temperature, seed or stop)."""
    if spec.reasoning_model:
        out: dict[str, Any] = {"max_completion_tokens": sampling.max_tokens}
        return out | ({"reasoning_effort": sampling.reasoning_effort} if sampling.reasoning_effort else {})
    out = {"temperature": sampling.temperature, "max_tokens": sampling.max_tokens}
    out |= {"seed": sampling.seed} if sampling.seed is not None else {}
    return out | ({"stop": list(sampling.stop)} if sampling.stop else {})


@dataclass
class ChatModel:
    """A built chat model plus what the call helper needs to know about it."""

    spec: ModelSpec
    chat: Any  # a LangChain BaseChatModel (ReasoningChatOpenAI, or a fake in unit tests)
    # regex of what the embedded checkpoint emits in place of <end_of_turn> (see agents/local.py)
    junk_tail: str | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)
    pool: EndpointPool | None = None  # endpoint specs with several URLs


def build_chat_model(
    spec: ModelSpec,
    sampling: Sampling,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    extra_body: dict[str, Any] | None = None,
    http_async_client: Any | None = None,
) -> ChatModel:
    """The one factory. ``base_url`` overrides the spec's (used for local servers started by ModelHub).

    ``http_async_client``: an httpx.AsyncClient owned by the caller. Without one, langchain-openai
    shares a process-wide client that stays bound to the first event loop that used it.
    """
    kwargs: dict[str, Any] = {
        "model": spec.model,
        "max_retries": 0,
        "timeout": 600,
        "extra_body": extra_body,
        "http_async_client": http_async_client,
    }
    urls: tuple[str, ...] = ()
    if spec.kind == "openai":
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            raise SpecError(f"{spec} needs OPENAI_API_KEY in the environment")
        kwargs["api_key"] = key
        if os.environ.get("OPENAI_BASE_URL"):
            kwargs["base_url"] = os.environ["OPENAI_BASE_URL"]
    else:
        # OpenAI-compatible servers usually ignore the key; the SDK insists on one
        key = api_key or os.environ.get("O1J_ENDPOINT_API_KEY") or "EMPTY"
        kwargs["api_key"] = key
        urls = (base_url,) if base_url else spec.base_urls
        kwargs["base_url"] = urls[0]
        kwargs["legacy_max_tokens"] = True
    if spec.reasoning_model:
        # o-series: no temperature, max_completion_tokens (ChatOpenAI maps max_tokens to it)
        kwargs["max_tokens"] = sampling.max_tokens
        if sampling.reasoning_effort:
            kwargs["reasoning_effort"] = sampling.reasoning_effort
    else:
        kwargs["temperature"] = sampling.temperature
        kwargs["max_tokens"] = sampling.max_tokens
        if sampling.seed is not None:
            kwargs["seed"] = sampling.seed
        if sampling.stop and extra_body is None:
            kwargs["stop"] = list(sampling.stop)

    def chat_for(url: str | None) -> ReasoningChatOpenAI:
        if url is None:
            return ReasoningChatOpenAI(**kwargs)
        parsed = parse_url(url)
        extra = {"base_url": parsed.base, "default_headers": parsed.headers or None}
        return ReasoningChatOpenAI(**kwargs | extra | ({"default_query": parsed.default_query} if parsed.query else {}))

    secrets = (
        key,
        *(v for u in urls for v in parse_url(u).secrets),
        *(v for u in urls for v in split_userinfo(u)[1].values()),
    )
    if spec.kind == "endpoint" and len(urls) > 1:
        endpoints = [Endpoint(url, chat_for(url)) for url in urls]
        return ChatModel(spec=spec, chat=endpoints[0].chat, secrets=secrets, pool=EndpointPool(endpoints))
    return ChatModel(spec=spec, chat=chat_for(kwargs.get("base_url")), secrets=secrets)


# ---------------------------------------------------------------------------------------------
# calls


@dataclass(frozen=True)
class Reply:
    """One model call: its text, any separate reasoning, tokens in/out and latency."""

    text: str
    reasoning: str | None
    tokens_in: int
    tokens_out: int
    latency_s: float
    model: str


async def complete(
    model: ChatModel, messages: list[BaseMessage], *, retry: RetryPolicy = DEFAULT_RETRY, seed: int | None = None
) -> Reply:
    """Call a chat model with bounded retries; record tokens and latency. ``seed``: this call's
    sampling seed in place of the model's (each of K samples its own)."""
    start = time.perf_counter()
    call = {"seed": seed} if seed is not None else {}
    async for attempt in retrying(retry):
        with attempt:
            if model.pool is None:
                message = await model.chat.ainvoke(messages, **call)
            else:
                endpoint = model.pool.pick()
                async with endpoint.slots:
                    try:
                        message = await endpoint.chat.ainvoke(messages, **call)
                    except Exception as e:
                        if retryable(e):  # the endpoint's fault, not the request's
                            model.pool.failed(endpoint)
                        raise
                model.pool.succeeded(endpoint)
    latency = time.perf_counter() - start
    text = message.content if isinstance(message.content, str) else _join_content(message.content)
    text = text.strip()
    if model.junk_tail:
        text = re.sub(model.junk_tail, "", text).rstrip()
    usage = message.usage_metadata or {}
    return Reply(
        text=text,
        reasoning=message.additional_kwargs.get("reasoning_content"),
        tokens_in=int(usage.get("input_tokens", 0)),
        tokens_out=int(usage.get("output_tokens", 0)),
        latency_s=latency,
        model=str(model.spec),
    )


def _join_content(blocks: list) -> str:
    return "".join(b if isinstance(b, str) else b.get("text", "") for b in blocks)


# ---------------------------------------------------------------------------------------------
# the hub: one place that turns role specs into models and owns local servers


T = TypeVar("T")


async def drain(items: list[T], handle: Callable[[T], Awaitable[None]], concurrency: int) -> None:
    """Run ``handle`` over ``items`` with at most ``concurrency`` at once (fixed workers, not a task per item)."""
    queue: asyncio.Queue[T] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty():
            await handle(queue.get_nowait())

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))


class ModelHub:
    """Builds one ChatModel per role; starts one local server per distinct local model and stops it.

    Use as ``async with ModelHub({"policy": ("local", Sampling()), ...}) as hub: hub.models["policy"]``.
    """

    def __init__(self, roles: dict[str, tuple[str, Sampling]]):
        self.roles = {role: (parse_spec(spec), sampling) for role, (spec, sampling) in roles.items()}
        self.models: dict[str, ChatModel] = {}
        self._servers: dict[str, Any] = {}
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> ModelHub:
        from agents import local  # heavy imports only when a local model is asked for

        # one connection pool per hub, closed with it: bound to this event loop, not the first one.
        # aiohttp under the SDK: httpx's own pool costs as much CPU as the rest of a call (profiled)
        client = openai.DefaultAioHttpClient(timeout=600.0, limits=openai.DEFAULT_CONNECTION_LIMITS)
        self._stack.push_async_callback(client.aclose)
        try:
            for role, (spec, sampling) in self.roles.items():
                if spec.kind == "local":
                    server = self._servers.get(spec.model) or local.adopt(spec.model)
                    if server is not None:
                        self._servers[spec.model] = server  # started early; its owner stops it
                    else:
                        server = local.LocalServer(spec.model)
                        # started on this thread: PR_SET_PDEATHSIG ties the server to the thread
                        # that spawned it, and a worker thread may exit before we do
                        server.start()
                        self._stack.callback(server.stop)
                        self._servers[spec.model] = server
                    built = build_chat_model(
                        ModelSpec(kind="local", model=server.served_model),
                        sampling,
                        base_url=server.base_url,
                        http_async_client=client,
                    )
                    self.models[role] = ChatModel(
                        spec=spec, chat=built.chat, junk_tail=server.junk_tail, secrets=built.secrets
                    )
                else:
                    self.models[role] = build_chat_model(spec, sampling, http_async_client=client)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self._stack.aclose()

    def describe(self) -> dict[str, dict[str, Any]]:
        """Provenance of each role's model for a manifest: spec, and for local models what was served."""
        out: dict[str, dict[str, Any]] = {}
        for role, (spec, sampling) in self.roles.items():
            entry: dict[str, Any] = {"spec": str(spec), "sampling": sent_sampling(spec, sampling)}
            server = self._servers.get(spec.model) if spec.kind == "local" else None
            if server is not None:
                entry["checkpoint"] = server.served_model
                entry["source"] = server.provenance
            out[role] = entry
        return out

    def text_client(self, role: str) -> tuple[openai.AsyncOpenAI, str]:
        """A client for the role's ``/v1/completions`` (raw text continued as is) and the model name
        to send: the local server, or the endpoint's first URL. OpenAI's chat models continue no raw
        text, so ``openai:`` specs are refused. Closed with the hub."""
        spec, _ = self.roles[role]
        if spec.kind == "openai":
            raise SpecError(f"{spec} cannot continue raw text: give a local model or MODEL@URL of a server")
        if spec.kind == "local":
            url, name, key = self._servers[spec.model].base_url, self._servers[spec.model].served_model, "EMPTY"
        else:
            url, name, key = spec.base_urls[0], spec.model, os.environ.get("O1J_ENDPOINT_API_KEY") or "EMPTY"
        parsed = parse_url(url)
        client = openai.AsyncOpenAI(
            base_url=parsed.base,
            api_key=key,
            max_retries=0,  # ours (tenacity)
            timeout=600,
            default_headers=parsed.headers or None,
            default_query=parsed.default_query or None,
        )
        self._stack.push_async_callback(client.close)
        return client, name

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for m in self.models.values() for s in m.secrets if s != "EMPTY")
