"""Budget-forced generation for ``journey eval math --think-budget N[,N...] [--wait K]``.

The project renders the model's chat template itself (the checkpoint's ``chat_template`` and
special tokens, as the embedded engine does) and continues the raw text through ``/v1/completions``
(the embedded engine, vLLM's server or any OpenAI-compatible one) or vLLM's offline engine; the
phases are ``eval/forcing.py``'s. A served model's template comes from ``--template DIR`` (a
checkpoint or tokenizer folder with ``tokenizer_config.json``); a local model's is its own.

Rows go to ``generations.jsonl`` under the same cache rules as plain generation
(``eval/generate.py``), the forcing settings and the template's digest added to the identity.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.checkpoints import checkpoint_dir, is_local
from agents.endpoints import DEFAULT_RETRY, retrying
from agents.models import ModelHub, Sampling, drain
from eval.forcing import Forced, Forcing, Request, Result
from eval.generate import cached, identity, keeper, sample_seed

# what a forced sample records beside its output
FORCED_FIELDS = ("thinking_tokens", "answer_tokens", "tokens_out", "waits_used", "cut", "answer_closed_here")


class BudgetError(ValueError):
    """Budget forcing that cannot run as asked; ``str()`` is one line."""


class Template:
    """A chat template rendered here, from a checkpoint or tokenizer folder."""

    def __init__(self, folder: str | Path):
        from agents.engine import load_template

        self.folder = Path(folder).expanduser()
        if not (self.folder / "tokenizer_config.json").exists():
            raise BudgetError(f"{self.folder} has no tokenizer_config.json: --template needs a checkpoint folder")
        try:
            self.compiled, self.special = load_template(self.folder)
        except ValueError as e:
            raise BudgetError(str(e)) from None
        source = self.folder / "chat_template.jinja"
        text = (
            source.read_text() if source.exists() else json.loads((self.folder / "tokenizer_config.json").read_text())
        )
        self.digest = hashlib.sha256(json.dumps([text, self.special], sort_keys=True).encode()).hexdigest()

    def render(self, messages: list) -> str:
        from eval.vllm_offline import chat_dict

        chat = [chat_dict(m) for m in messages]
        return self.compiled.render(
            messages=chat, tools=None, documents=None, add_generation_prompt=True, **self.special
        )


@dataclass(frozen=True)
class BudgetRun:
    """One budget-forced eval: the forcing (a budget, waits, tags) and the template it renders."""

    forcing: Forcing
    template: Template


def template_for(spec: str, template: str | None) -> Template:
    """``template`` when given, else a local model's own checkpoint; a served model needs one."""
    if template is not None:
        return Template(template)
    if is_local(spec):
        return Template(checkpoint_dir(spec))
    raise BudgetError(
        f"budget forcing renders the chat template here: give --template DIR (the checkpoint or tokenizer folder "
        f"of the model behind {spec.split('@', 1)[0]})"
    )


def parse_budgets(text: str) -> list[int]:
    """``--think-budget 512,1024,2048``: positive token counts, each once, ascending."""
    try:
        budgets = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise BudgetError(f"--think-budget takes token counts separated by commas, not {text!r}") from None
    if not budgets or budgets[0] < 1:
        raise BudgetError(f"--think-budget needs at least one positive token count, not {text!r}")
    return budgets


async def _continue(client, name: str, sampling: Sampling, request: Request) -> Result:
    extra: dict[str, Any] = {"add_special_tokens": False}  # the rendered template holds BOS already
    async for attempt in retrying(DEFAULT_RETRY):
        with attempt:
            reply = await client.completions.create(
                model=name,
                prompt=request.prompt,
                max_tokens=request.max_tokens,
                stop=list(request.stop),
                temperature=sampling.temperature,
                seed=request.seed,
                extra_body=extra,
            )
    if reply.usage is None:
        raise BudgetError("the server returned no usage: thinking tokens cannot be counted against the budget")
    choice = reply.choices[0]
    return Result(choice.text or "", int(reply.usage.completion_tokens), choice.finish_reason or "stop")


def _row(job, key: str, record: dict, latency_s: float) -> dict:
    return {
        "id": job.id,
        "sample": job.sample,
        "key": key,
        **job.fields,
        "prompt": job.messages[-1].content,
        **{k: record[k] for k in ("output", *FORCED_FIELDS)},
        "reasoning": None,
        "tokens_in": None,
        "latency_s": round(latency_s, 3),
    }


async def _over_http(todo, prompts, keys, *, spec, sampling, forcing, f, done, concurrency, on_done) -> None:
    async with ModelHub({"model": (spec, sampling)}) as hub:
        client, name = hub.text_client("model")
        keep = keeper(f, done, len(todo), on_done)

        async def run(job) -> None:
            start = time.perf_counter()
            state = Forced(prompts[(job.id, job.sample)], forcing, sample_seed(sampling, job.sample))
            while (request := state.request()) is not None:
                state.take(await _continue(client, name, sampling, request))
            keep(job, _row(job, keys[(job.id, job.sample)], state.record(), time.perf_counter() - start))

        await drain(todo, run, concurrency)


def generate_forced(
    jobs: list,
    *,
    spec: str,
    sampling: Sampling,
    forcing: Forcing,
    template: Template,
    path: Path,
    engine: str = "endpoint",
    vllm_python: str | None = None,
    concurrency: int = 8,
    on_done: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Force the jobs ``path`` lacks; return every job's row, in job order."""
    ident = identity(spec, sampling, engine=engine) | {"forcing": forcing.record(), "template": template.digest}
    keys, done, todo = cached(jobs, ident, path)
    prompts = {(job.id, job.sample): template.render(job.messages) for job in todo}
    if todo and engine == "vllm":
        from eval.vllm_offline import force_offline

        start = time.perf_counter()
        records = force_offline(
            [prompts[(j.id, j.sample)] for j in todo],
            seeds=[sample_seed(sampling, j.sample) for j in todo],
            spec=spec,
            sampling=sampling,
            forcing=forcing,
            python=vllm_python,
        )
        each = (time.perf_counter() - start) / len(todo)
        with path.open("a", encoding="utf-8") as f:
            keep = keeper(f, done, len(todo), on_done)
            for job, record in zip(todo, records, strict=True):
                keep(job, _row(job, keys[(job.id, job.sample)], record, each))
    elif todo:
        with path.open("a", encoding="utf-8") as f:
            asyncio.run(
                _over_http(
                    todo,
                    prompts,
                    keys,
                    spec=spec,
                    sampling=sampling,
                    forcing=forcing,
                    f=f,
                    done=done,
                    concurrency=concurrency,
                    on_done=on_done,
                )
            )
    return [done[(job.id, job.sample)] for job in jobs]
