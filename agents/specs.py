"""Model specs, the only way a model is named anywhere in the project, and keeping their secrets out of text:

- ``openai:<model>``            the OpenAI API (``OPENAI_API_KEY``, optional ``OPENAI_BASE_URL``).
- ``<model>@<base_url>``        any OpenAI-compatible endpoint (vLLM, llama.cpp, ``transformers serve``);
                                several URLs joined by commas make a pool.
- ``local`` / ``local:<path>``  the embedded Gemma 3 270M (or an HF dir / .gguf), served on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from pydantic import BaseModel, Field

from agents.urls import URLError, parse_url, public_url, redact_urls, split_pool

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


def split_userinfo(url: str) -> tuple[str, dict[str, str]]:
    """A URL without ``user:password@`` (nor its query), and the Basic auth header that carries the
    credentials instead (the SDK's aiohttp client refuses credentials in a URL beside its own
    Authorization header); the query goes with each request (``agents.urls``)."""
    parsed = parse_url(url)
    return parsed.base, parsed.headers


@dataclass(frozen=True)
class PromptStyle:
    """How a model is prompted: ``compact`` (one-line few-shot turns, for the small base models this
    machine runs) or ``full`` (instructions and turns as long as they need), and the stop that goes
    with it (a newline for compact: a base model cannot end its turn reliably, so it answers the
    one-line prompt in one line)."""

    profile: str
    stop: tuple[str, ...]


def prompt_style(*specs: str) -> PromptStyle:
    """The one rule, used by synthesis and eval: local models get the compact style, endpoints and
    APIs the full one; several models that must share a prompt (a model and its judge) get compact
    only when all of them are local."""
    if specs and all(s == LOCAL or s.startswith(LOCAL + ":") for s in specs):
        return PromptStyle("compact", ("\n",))
    return PromptStyle("full", ())
