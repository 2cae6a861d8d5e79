"""The embedded model's server: batched generation that reuses prompt prefixes, behind the OpenAI chat API.

    python -m agents.engine_http CHECKPOINT --port 8000 [--host 127.0.0.1] [--dtype auto|bfloat16|float32]

Why not ``transformers serve``: an agent call sends its role's system text and few-shot turns (about
250 tokens) before its own 30 or so, and the next call of the same trace sends all of that again plus
one step. ``transformers serve --continuous-batching`` shares no prefix for Gemma 3 (its sliding-window
cache allocator cannot share blocks), so on 2 cores most of a synthesis run went to reading the same
prompt again (bench/embedded_speed.py). Here:

- **prefix reuse**: the key/value states of recent prompts are kept (a token budget, least recently
  used first out); a new prompt starts from the longest cached prefix and runs only the rest;
- **batched decode**: the sequences in flight decode together, one forward pass a token, in one
  left-padded cache that is rebuilt when a sequence joins or leaves;
- **bfloat16** where the CPU computes it natively (avx512_bf16 or AMX), else float32;
- **no transformers import for Gemma 3**: ``agents/gemma3.py`` runs the Gemma 3 text checkpoints it
  covers with logits bit-identical to transformers' (half the engine's start on 2 cores); any other
  checkpoint runs through transformers.

The cache keeps every token of every layer, sliding-window layers included, and the model's own mask
functions apply the window; a prefix reused is the prefix computed, so reuse changes no result
(tests/agents/test_engine.py compares the engine with ``generate`` on a model whose window is shorter
than its prompts).

The HTTP front (the OpenAI chat API) is ``agents/engine_http.py``.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# sequences decoding together, and the tokens their padded cache may hold; more requests wait
MAX_BATCH = 64
MAX_BATCH_TOKENS = 65536
# prompt tokens whose key/value states are kept for reuse (about 18 KiB a token for Gemma 3 270M
# in bfloat16)
PREFIX_TOKENS = 32768


# how the model runs: "auto" is agents/gemma3.py for the Gemma 3 text checkpoints it covers (no
# transformers import: a faster start) and transformers for the rest; "transformers" forces it
IMPLEMENTATIONS = ("auto", "transformers")


class RequestError(ValueError):
    """A request this server cannot serve: answered 400 with the reason."""


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 matmuls natively (else bfloat16 is emulated and slower)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def resolve_dtype(name: str) -> str:
    if name == "auto":
        return "bfloat16" if native_bf16() else "float32"
    if name not in ("bfloat16", "float32"):
        raise ValueError(f"dtype must be auto, bfloat16 or float32, not {name!r}")
    return name


ATTENTION = "o1j_grouped"


def register_attention() -> str:
    """Register :func:`agents.gemma3.grouped_attention` with transformers (masks as for eager), for
    checkpoints served through transformers; returns its name.

    Eager rather than SDPA: for one new token a step SDPA's masked path was slower on 2 cores
    (75 against 71 ms a step at 4 sequences, 276 against 236 at 32)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, eager_mask

    from agents.gemma3 import grouped_attention

    AttentionInterface.register(ATTENTION, grouped_attention)
    AttentionMaskInterface.register(ATTENTION, eager_mask)
    return ATTENTION


def compile_template(template: str):
    """A chat template compiled as transformers compiles it (sandboxed; ``tojson`` without HTML
    escapes; ``raise_exception`` and ``strftime_now``; ``{% generation %}`` blocks, which mark the
    assistant's tokens for training, rendered as their contents), without importing transformers."""
    from datetime import datetime

    import jinja2
    from jinja2.ext import Extension, loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Generation(Extension):
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_contents"), [], [], body).set_lineno(lineno)

        def _contents(self, caller):
            return caller()

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[Generation, loopcontrols])
    env.filters["tojson"] = lambda x, ensure_ascii=False, indent=None, separators=None, sort_keys=False: json.dumps(
        x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda format: datetime.now().strftime(format)
    return env.from_string(template)


def load_template(checkpoint: Path):
    """A checkpoint's chat template, compiled, and the special tokens it renders with."""
    settings = json.loads((checkpoint / "tokenizer_config.json").read_text())
    template_file = checkpoint / "chat_template.jinja"
    template = template_file.read_text() if template_file.exists() else settings.get("chat_template")
    if not template:
        raise ValueError(f"{checkpoint} has no chat template")
    special = {k: v for k, v in settings.items() if k.endswith("_token") and isinstance(v, str)}
    return compile_template(template), special


def render_chat(checkpoint: Path, messages: list[dict]) -> str:
    """The text the engine tokenizes for ``messages`` (the generation prompt added)."""
    template, special = load_template(checkpoint)
    return template.render(messages=messages, tools=None, documents=None, add_generation_prompt=True, **special)


def end_tokens(checkpoint: Path) -> set[int]:
    """The ids that end a reply: generation_config.json's ``eos_token_id``, else config.json's."""
    for name in ("generation_config.json", "config.json"):
        file = checkpoint / name
        if file.exists():
            eos = json.loads(file.read_text()).get("eos_token_id")
            if eos is not None:
                return set(eos if isinstance(eos, list) else [eos])
    return set()


@dataclass
class Job:
    """One chat completion: its prompt, its sampling settings, and what has been generated."""

    prompt: list[int]
    max_tokens: int
    min_tokens: int = 0
    temperature: float = 1.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    deltas: queue.Queue | None = None  # streamed replies: text pieces, then None
    done: threading.Event = field(default_factory=threading.Event)
    tokens: list[int] = field(default_factory=list)
    text: str = ""
    sent: int = 0  # characters of ``text`` already streamed
    finish_reason: str | None = None
    error: str | None = None
    generator: Any = None


@dataclass
class Sequence:
    job: Job
    length: int  # tokens whose key/value states are in the cache
    next_token: int  # sampled, not yet run through the model


class PrefixCache:
    """Key/value states of recent prompts; a lookup returns the longest cached prefix of a prompt."""

    def __init__(self, budget_tokens: int):
        self.budget = budget_tokens
        self.entries: OrderedDict[tuple[int, ...], list[tuple[Any, Any]]] = OrderedDict()
        self.tokens = 0

    def longest(self, ids: list[int]) -> tuple[int, list[tuple[Any, Any]] | None]:
        best, best_kv, best_key = 0, None, None
        for key, kv in self.entries.items():
            n = min(len(key), len(ids))
            i = 0
            while i < n and key[i] == ids[i]:
                i += 1
            if i > best:
                best, best_kv, best_key = i, kv, key
        if best_key is not None:
            self.entries.move_to_end(best_key)
        return best, best_kv

    def add(self, ids: list[int], kv: list[tuple[Any, Any]]) -> None:
        key = tuple(ids)
        if key in self.entries or len(key) > self.budget:
            return
        self.entries[key] = kv
        self.tokens += len(key)
        while self.tokens > self.budget:
            old, _ = self.entries.popitem(last=False)
            self.tokens -= len(old)


class Engine:
    """The model, its tokenizer and chat template, and one thread that runs every forward pass."""

    def __init__(
        self,
        checkpoint: str | Path,
        dtype: str = "auto",
        *,
        prefix_tokens: int = PREFIX_TOKENS,
        implementation: str = "auto",
    ):
        from concurrent.futures import ThreadPoolExecutor

        from tokenizers import Tokenizer

        from agents import gemma3

        if implementation not in IMPLEMENTATIONS:
            raise ValueError(f"implementation must be one of {', '.join(IMPLEMENTATIONS)}, not {implementation!r}")
        self.checkpoint = Path(checkpoint)
        self.dtype = resolve_dtype(dtype)
        plain = implementation == "auto"
        # the tokenizer (262,144 entries) parses while torch imports
        with ThreadPoolExecutor(1) as pool:
            tokenizer = pool.submit(Tokenizer.from_file, str(self.checkpoint / "tokenizer.json"))
            import torch

            self.tokenizer = tokenizer.result()
        self.torch = torch
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if plain:
            try:
                self.model = gemma3.Gemma3(self.checkpoint, self.dtype, self.device)
                self.new_cache = gemma3.Cache
            except gemma3.Unsupported:  # another architecture, or weights it does not expect: transformers
                plain = False
        if not plain:
            from transformers import AutoModelForCausalLM, DynamicCache

            self.model = AutoModelForCausalLM.from_pretrained(
                self.checkpoint, dtype=getattr(torch, self.dtype), attn_implementation=register_attention()
            )
            self.model.to(self.device).eval()
            self.new_cache = DynamicCache
        self.implementation = "gemma3" if plain else "transformers"
        self.chat_template, self.special = load_template(self.checkpoint)
        self.eos = end_tokens(self.checkpoint)
        self.context = int(getattr(self.model.config, "max_position_embeddings", 0) or 8192)
        self.prefixes = PrefixCache(prefix_tokens)
        self.inbox: queue.Queue[Job] = queue.Queue()
        self.stats = {"prompt_tokens": 0, "reused_tokens": 0}
        self.thread = threading.Thread(target=self._loop, name="engine", daemon=True)
        self.thread.start()

    # --- requests

    def encode_chat(self, messages: list[dict]) -> list[int]:
        rendered = self.chat_template.render(
            messages=messages, tools=None, documents=None, add_generation_prompt=True, **self.special
        )
        return self.tokenizer.encode(rendered, add_special_tokens=False).ids

    def submit(self, job: Job) -> Job:
        if len(job.prompt) >= self.context:
            raise RequestError(f"the prompt has {len(job.prompt)} tokens; the model's context is {self.context}")
        job.max_tokens = min(job.max_tokens, self.context - len(job.prompt))
        if job.temperature > 0:
            job.generator = self.torch.Generator(device=self.device)
            job.generator.manual_seed(
                job.seed if job.seed is not None else int.from_bytes(os.urandom(8), "little") >> 1
            )
        self.inbox.put(job)
        return job

    # --- the loop

    def _loop(self) -> None:
        torch = self.torch
        active: list[Sequence] = []
        cache = None  # the batch's cache: per layer [batch, heads, time, dim], left-padded
        with torch.inference_mode():
            while True:
                arrivals = self._admit(active, block=not active)
                try:
                    if arrivals or any(s.job.finish_reason for s in active):
                        active, cache = self._regroup(active, cache, arrivals)
                    if active:
                        cache = self._step(active, cache)
                except Exception as error:  # the batch fails, with its reason; the server serves on
                    self._fail([s.job for s in active] + arrivals, error)
                    active, cache = [], None

    def _regroup(self, active: list[Sequence], cache, arrivals: list[Job]) -> tuple[list[Sequence], Any]:
        """Prefill the arrivals, drop the finished, and pad the rest into one cache."""
        fresh = []
        for job in arrivals:
            try:
                sequence, states = self._prefill(job)
            except Exception as error:  # a prompt the model cannot run fails alone
                self._fail([job], error)
                continue
            if sequence is not None:
                fresh.append((sequence, states))
        kept = [(s, self._slice(cache, i, s.length)) for i, s in enumerate(active) if not s.job.finish_reason]
        kept += fresh
        if not kept:
            return [], None
        return [s for s, _ in kept], self._pad([kv for _, kv in kept], [s.length for s, _ in kept])

    def _admit(self, active: list[Sequence], *, block: bool) -> list[Job]:
        jobs = []
        longest = max((s.length for s in active), default=0)
        while len(active) + len(jobs) < MAX_BATCH:
            try:
                job = self.inbox.get(block=block and not jobs, timeout=None)
            except queue.Empty:
                break
            longest = max(longest, len(job.prompt) + job.max_tokens)
            if jobs and longest * (len(active) + len(jobs) + 1) > MAX_BATCH_TOKENS:
                self.inbox.put(job)  # waits for room; order among waiting jobs is not kept
                break
            jobs.append(job)
        return jobs

    def _prefill(self, job: Job) -> tuple[Sequence | None, list]:
        torch = self.torch
        ids = job.prompt
        hit, kv = self.prefixes.longest(ids)
        reuse = min(hit, len(ids) - 1)  # at least one token runs, for the next-token logits
        past = self.new_cache(ddp_cache_data=[(k[:, :, :reuse], v[:, :, :reuse]) for k, v in kv] if reuse else None)
        out = self.model(
            input_ids=torch.tensor([ids[reuse:]], device=self.device),
            position_ids=torch.arange(reuse, len(ids), device=self.device).unsqueeze(0),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long, device=self.device),
            past_key_values=past,
            use_cache=True,
            logits_to_keep=1,
        )
        states = [(layer.keys, layer.values) for layer in out.past_key_values.layers]
        self.prefixes.add(ids, states)
        self.stats["prompt_tokens"] += len(ids)
        self.stats["reused_tokens"] += reuse
        token = self._sample([job], out.logits[:, -1, :])[0]
        sequence = Sequence(job, len(ids), token)
        if self._emit(sequence.job, token):
            return None, []
        return sequence, states

    def _slice(self, cache, row: int, length: int) -> list:
        return [(x.keys[row : row + 1, :, -length:], x.values[row : row + 1, :, -length:]) for x in cache.layers]

    def _pad(self, states: list[list], lengths: list[int]):
        """One left-padded cache from each sequence's own states; the steps then grow it in place
        (rebuilding it every step copied every sequence's states once more a token)."""
        torch = self.torch
        width = max(lengths)
        layers = []
        for layer in range(len(states[0])):
            keys, values = [], []
            for kv, length in zip(states, lengths, strict=True):
                k, v = kv[layer]
                pad = width - length
                if pad:
                    k = torch.nn.functional.pad(k, (0, 0, pad, 0))
                    v = torch.nn.functional.pad(v, (0, 0, pad, 0))
                keys.append(k)
                values.append(v)
            layers.append((torch.cat(keys), torch.cat(values)))
        return self.new_cache(ddp_cache_data=layers)

    def _step(self, active: list[Sequence], cache):
        """One token for every sequence in flight."""
        torch = self.torch
        width = cache.get_seq_length()
        mask = torch.zeros(len(active), width + 1, dtype=torch.long, device=self.device)
        for row, s in enumerate(active):
            mask[row, width - s.length :] = 1
        out = self.model(
            input_ids=torch.tensor([[s.next_token] for s in active], device=self.device),
            position_ids=torch.tensor([[s.length] for s in active], device=self.device),
            attention_mask=mask,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        tokens = self._sample([s.job for s in active], out.logits[:, -1, :])
        for s, token in zip(active, tokens, strict=True):
            s.length += 1
            s.next_token = token
            self._emit(s.job, token)
        return out.past_key_values

    def _sample(self, jobs: list[Job], logits) -> list[int]:
        torch = self.torch
        logits = logits.float()
        picked = []
        for row, job in enumerate(jobs):
            scores = logits[row]
            if len(job.tokens) < job.min_tokens:
                scores[list(self.eos)] = float("-inf")
            if job.temperature <= 0:
                picked.append(int(scores.argmax()))
                continue
            probs = torch.softmax(scores / job.temperature, dim=-1)
            if job.top_p < 1.0:
                ordered, index = probs.sort(descending=True)
                # keep the smallest set whose mass reaches top_p (the first token always)
                drop = ordered.cumsum(-1) - ordered >= job.top_p
                probs = torch.zeros_like(probs).scatter(0, index, ordered.masked_fill(drop, 0.0))
            # inverse CDF with one uniform draw: torch.multinomial draws one number per vocabulary
            # entry, 5 ms a token for Gemma's 262,144 (measured)
            cdf = probs.cumsum(-1)
            u = torch.rand(1, generator=job.generator, device=self.device) * cdf[-1]
            picked.append(int(torch.searchsorted(cdf, u, right=True).clamp(max=cdf.numel() - 1)))
        return picked

    def _emit(self, job: Job, token: int) -> bool:
        """Record one sampled token; finish the job on an end token, a stop string or the budget."""
        if token in self.eos and len(job.tokens) >= job.min_tokens:
            return self._finish(job, "stop")
        job.tokens.append(token)
        job.text = self.tokenizer.decode(job.tokens, skip_special_tokens=True)
        for stop in job.stop:
            at = job.text.find(stop, max(0, job.sent - len(stop)))
            if at >= 0:
                job.text = job.text[:at]
                return self._finish(job, "stop")
        if len(job.tokens) >= job.max_tokens:
            return self._finish(job, "length")
        if job.deltas is not None:
            # hold back what may be the start of a stop string, and half a multi-byte character
            safe = len(job.text) - max((len(s) for s in job.stop), default=1) + 1
            if job.text.endswith("\ufffd"):
                safe = min(safe, len(job.text) - 1)
            if safe > job.sent:
                job.deltas.put(job.text[job.sent : safe])
                job.sent = safe
        return False

    def _finish(self, job: Job, reason: str) -> bool:
        job.finish_reason = reason
        if job.deltas is not None:
            if len(job.text) > job.sent:
                job.deltas.put(job.text[job.sent :])
            job.sent = len(job.text)
            job.deltas.put(None)
        job.done.set()
        return True

    def _fail(self, jobs: list[Job], error: Exception) -> None:
        for job in jobs:
            if job.finish_reason:
                continue
            job.error = f"{type(error).__name__}: {error}"
            job.finish_reason = "error"
            if job.deltas is not None:
                job.deltas.put(None)
            job.done.set()


# --- the HTTP side
