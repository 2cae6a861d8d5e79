"""The model layer: one factory from a spec string to a LangChain chat model, and one call helper.

Spec strings (the only way a model is named anywhere in the project):

- ``openai:<model>``            the OpenAI API (``OPENAI_API_KEY``, optional ``OPENAI_BASE_URL``).
- ``<model>@<base_url>``        any OpenAI-compatible endpoint (vLLM, llama.cpp, ``transformers serve``).
- ``local`` / ``local:<path>``  the embedded Gemma 3 270M (or an HF dir / .gguf), served on 127.0.0.1
                                by ``agents/engine.py``, which :class:`ModelHub` starts and stops.

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
from pydantic import BaseModel, Field
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from agents.urls import URLError, parse_url, public_url, redact_urls, split_pool, url_secrets

LOCAL = "local"
_O_SERIES = re.compile(r"^o\d")


class SpecError(ValueError):
    """A model spec string that cannot be understood."""


class ModelSpec(BaseModel, frozen=True):
    """A parsed spec string. ``base_url`` is None for the OpenAI API and for local models."""

    kind: str  # "openai" | "endpoint" | "local"
    model: str
    # endpoints: one URL, or a pool of URLs joined by commas; never shown whole (credentials)
    base_url: str | None = Field(default=None, repr=False)

    @property
    def base_urls(self) -> tuple[str, ...]:
        return split_pool(self.base_url) if self.base_url else ()

    @property
    def reasoning_model(self) -> bool:
        """o-series models take no temperature and count reasoning tokens against the budget."""
        return _O_SERIES.match(self.model.rsplit("/", 1)[-1]) is not None

    def __str__(self) -> str:
        if self.kind == "openai":
            return f"openai:{self.model}"
        if self.kind == "local":
            return LOCAL if self.model == LOCAL else f"local:{self.model}"
        return f"{self.model}@{','.join(public_url(u) for u in self.base_urls)}"


def parse_spec(spec: str) -> ModelSpec:
    spec = spec.strip()
    if not spec:
        raise SpecError("empty model spec")
    if spec == LOCAL:
        return ModelSpec(kind="local", model=LOCAL)
    if spec.startswith("local:"):
        path = spec.removeprefix("local:")
        if not path:
            raise SpecError("local: needs a path, e.g. local:runs/model or local:model.gguf")
        return ModelSpec(kind="local", model=path)
    if spec.startswith("openai:"):
        model = spec.removeprefix("openai:")
        if not model:
            raise SpecError("openai: needs a model name, e.g. openai:o3-mini")
        return ModelSpec(kind="openai", model=model)
    if "@" in spec:
        # split at the '@' before the first scheme, so userinfo in the URL (http://user:pw@host) stays in it
        found = _ENDPOINT.match(spec)
        model, base_url = (found.group(1), found.group(2)) if found else ("", spec)
        urls = [u.strip().rstrip("/") for u in split_pool(base_url)]
        shown = ",".join(public_url(u) for u in urls)
        try:
            parsed = [parse_url(u) for u in urls]
        except URLError as e:
            raise SpecError(f"{model or 'endpoint'} spec: {e}") from None
        if not model or not all(p.scheme in ("http", "https") for p in parsed):
            raise SpecError(
                f"endpoint spec must look like MODEL@http://HOST:PORT/v1[,http://HOST2:PORT/v1], got {model}@{shown}"
            )
        return ModelSpec(kind="endpoint", model=model, base_url=",".join(urls))
    raise SpecError(
        f"unknown model spec {redact_url(spec)!r}: use local, local:PATH, openai:MODEL or MODEL@http://HOST:PORT/v1"
    )


_ENDPOINT = re.compile(r"(?is)^(.*?)@([a-z][a-z0-9+.\-]*://.*)$")


def redact_url(url: str) -> str:
    """Drop user:password and credential query parameters from URLs in text (agents.urls)."""
    return redact_urls(url)


def public_spec(spec: str) -> str:
    """A spec as it may be written to a trace, a manifest or a log: credentials removed."""
    try:
        return str(parse_spec(spec))
    except SpecError:
        return redact_url(spec)


def redact(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """Remove API keys (the given ones and those in the environment) from text."""
    candidates = [*secrets, os.environ.get("OPENAI_API_KEY", ""), os.environ.get("O1J_ENDPOINT_API_KEY", "")]
    for secret in candidates:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    # bearer tokens and sk- keys that were never handed to us directly
    text = re.sub(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}", r"\1***", text)
    text = re.sub(r"\bsk-[A-Za-z0-9_\-]{8,}", "sk-***", text)
    return redact_url(text)


# an endpoint that answers these will answer every request the same way: stop, do not retry
REFUSED = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)


def refused(exc: BaseException) -> bool:
    """401, 403 or 404 from an endpoint: a wrong key, a forbidden model, a wrong URL or model name."""
    return isinstance(exc, REFUSED)


def split_userinfo(url: str) -> tuple[str, dict[str, str]]:
    """A URL without ``user:password@`` (nor its query), and the Basic auth header that carries the
    credentials instead (the SDK's aiohttp client refuses credentials in a URL beside its own
    Authorization header); the query goes with each request (``agents.urls``)."""
    parsed = parse_url(url)
    return parsed.base, parsed.headers


def _models_request(url: str, key: str):
    """``GET URL/models`` with the key, or with the URL's own credentials when it has some."""
    import urllib.parse
    import urllib.request

    parsed = parse_url(url.rstrip("/"))
    query = f"?{urllib.parse.urlencode(parsed.query)}" if parsed.query else ""
    return urllib.request.Request(
        f"{parsed.base}/models{query}", headers={"Authorization": f"Bearer {key}", **parsed.headers}
    )


def preflight(specs: list[str], timeout_s: float = 10.0) -> list[str]:
    """Check every distinct model before a run writes anything: local paths exist, keys are present,
    and each endpoint answers ``GET /models`` (one request each). Raises ``SpecError`` (one line) for
    what stops the run; returns warnings (a pool member that cannot be reached, while others can)."""
    import urllib.error
    import urllib.request

    warnings: list[str] = []
    for spec in dict.fromkeys(specs):
        parsed = parse_spec(spec)
        if parsed.kind == "local":
            if parsed.model != LOCAL and not os.path.exists(os.path.expanduser(parsed.model)):
                raise SpecError(f"{parsed}: local model not found: {parsed.model}")
            continue
        if parsed.kind == "openai":
            if not os.environ.get("OPENAI_API_KEY"):
                raise SpecError(f"{parsed} needs OPENAI_API_KEY in the environment")
            urls = (os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1",)
            key = os.environ["OPENAI_API_KEY"]
        else:
            urls = parsed.base_urls
            key = os.environ.get("O1J_ENDPOINT_API_KEY") or "EMPTY"
        reached, unreachable = 0, []
        for url in urls:
            request = _models_request(url, key)
            try:
                with urllib.request.urlopen(request, timeout=timeout_s):
                    reached += 1
            except urllib.error.HTTPError as e:
                if e.code in (401, 403):
                    raise SpecError(f"{public_url(url)} refused the key (HTTP {e.code}): check the API key") from None
                if e.code == 404:
                    raise SpecError(
                        f"{public_url(url)}: GET /models answered HTTP 404: is the base URL right (it ends in /v1)?"
                    ) from None
                reached += 1  # it answers; other statuses are for the retries to handle
            except (urllib.error.URLError, OSError) as e:
                reason = getattr(e, "reason", e)
                unreachable.append(f"cannot reach {public_url(url)}: {redact(str(reason), (key, *url_secrets(url)))}")
        if not reached:
            raise SpecError(unreachable[0])
        warnings += unreachable  # a pool member that is down now; the pool routes around it
    return warnings


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


# requests in flight per endpoint of a pool; a pool spreads the load over its endpoints
ENDPOINT_CONCURRENCY = 64


@dataclass
class Endpoint:
    url: str
    chat: Any
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(ENDPOINT_CONCURRENCY))
    failures: int = 0  # consecutive
    outages: int = 0
    out_until: float = 0.0


@dataclass
class EndpointPool:
    """Several base URLs of one model: round robin over those in rotation, each with its own
    concurrency limit. An endpoint that fails ``max_failures`` times in a row leaves the rotation
    for a cooldown that doubles with each outage; the first call after it is a retry, and a
    success puts the endpoint back."""

    endpoints: list[Endpoint]
    max_failures: int = 3
    cooldown_s: float = 15.0
    max_cooldown_s: float = 300.0
    _next: int = 0

    def pick(self) -> Endpoint:
        now = time.monotonic()
        n = len(self.endpoints)
        for i in range(n):
            endpoint = self.endpoints[(self._next + i) % n]
            if endpoint.out_until <= now:
                self._next = (self._next + i + 1) % n
                return endpoint
        return min(self.endpoints, key=lambda e: e.out_until)  # all out: the one back soonest

    def succeeded(self, endpoint: Endpoint) -> None:
        endpoint.failures = endpoint.outages = 0
        endpoint.out_until = 0.0

    def failed(self, endpoint: Endpoint) -> None:
        endpoint.failures += 1
        if endpoint.failures >= self.max_failures:
            endpoint.out_until = time.monotonic() + min(self.cooldown_s * 2**endpoint.outages, self.max_cooldown_s)
            endpoint.outages += 1
            endpoint.failures = 0


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


_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


def retryable(exc: BaseException) -> bool:
    """429, 5xx, timeouts and dropped connections are retried; 400/401/404 are the caller's bug."""
    if isinstance(exc, openai.APIConnectionError | openai.APITimeoutError):  # timeout subclasses connection
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in _RETRY_STATUS or exc.status_code >= 500
    return False


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    if response is None:
        return None
    value = response.headers.get("retry-after")
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        return min(float(value), 120.0)
    return None


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    initial_s: float = 0.5
    max_s: float = 30.0


def _wait(policy: RetryPolicy):
    backoff = wait_exponential_jitter(multiplier=policy.initial_s, max=policy.max_s)

    def wait(state) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = _retry_after(exc) if exc else None
        return max(hinted or 0.0, backoff(state))

    return wait


def retrying(retry: RetryPolicy = RetryPolicy()) -> AsyncRetrying:
    """The retry loop of every call to an endpoint: retryable errors only, backoff honouring Retry-After."""
    return AsyncRetrying(
        stop=stop_after_attempt(retry.attempts), wait=_wait(retry), retry=retry_if_exception(retryable), reraise=True
    )


async def complete(model: ChatModel, messages: list[BaseMessage], *, retry: RetryPolicy = RetryPolicy()) -> Reply:
    """Call a chat model with bounded retries; record tokens and latency."""
    start = time.perf_counter()
    async for attempt in retrying(retry):
        with attempt:
            if model.pool is None:
                message = await model.chat.ainvoke(messages)
            else:
                endpoint = model.pool.pick()
                async with endpoint.slots:
                    try:
                        message = await endpoint.chat.ainvoke(messages)
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

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for m in self.models.values() for s in m.secrets if s != "EMPTY")
