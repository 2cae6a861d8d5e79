"""How fast the embedded model serves: the figures to measure any speed-up against (issue: embedded speed).

    python bench/embedded_speed.py [--skip-demo] [--requests 32]

Starts the embedded model's server as a synthesis run does (``agents.local.LocalServer``, which runs
``agents/engine.py``), then measures, streaming each request so the time to the first token is seen:

- a prefill-heavy load (a long few-shot prompt, 8 new tokens) and a decode-heavy load (a short
  prompt, 96 new tokens), each at 1, 8 and 32 requests in flight: prompt tokens/s, completion
  tokens/s in total, median time to first token;
- the journey demo (README line 1's synthesis: 4 demo problems, ``--max-steps 4``) at concurrency
  1, 8 and 32 as a user runs it, its own server start included: wall time, per-trace wall time,
  and the parse rate of the model's replies (agent turns not malformed after the stricter retry).

Prints the machine first. Token counts are the server's own usage figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHOTS = "\n\n".join(
    f"Problem: A shop has {a} apples and sells {b}. How many are left?\nSolution: {a} - {b} = {a - b}. "
    f"The answer is {a - b}."
    for a, b in ((12, 5), (40, 17), (33, 8), (90, 45), (64, 29), (21, 13), (75, 38), (58, 19))
)
PREFILL = SHOTS + "\n\nProblem: A shop has 47 apples and sells 18. How many are left?\nSolution:"
DECODE = "Write a short story about a robot who learns to count."


async def one(client, model: str, prompt: str, max_tokens: int) -> tuple[float, int, int, float]:
    """(time to first token, prompt tokens, completion tokens, total seconds) of one streamed request.

    Every request decodes exactly ``max_tokens`` (``min_tokens``, as vLLM names it): a model that ends
    its turn early would hide the decode rate behind a short reply."""
    start = time.perf_counter()
    first = None
    usage = None
    stream = await client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": prompt}],
        max_tokens=max_tokens,
        temperature=0.0,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"min_tokens": max_tokens},
    )
    async for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - start
        if chunk.usage is not None:
            usage = chunk.usage
    total = time.perf_counter() - start
    if usage is None:
        raise RuntimeError("the server returned no usage: token counts cannot be measured")
    return first if first is not None else total, usage.prompt_tokens, usage.completion_tokens, total


async def load(base_url: str, model: str, prompt: str, max_tokens: int, inflight: int, requests: int) -> dict:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base_url, api_key="EMPTY", max_retries=0, timeout=1800)
    gate = asyncio.Semaphore(inflight)

    async def gated():
        async with gate:
            return await one(client, model, prompt, max_tokens)

    start = time.perf_counter()
    results = await asyncio.gather(*(gated() for _ in range(requests)))
    wall = time.perf_counter() - start
    await client.close()
    return {
        "prompt_tok_s": sum(r[1] for r in results) / wall,
        "completion_tok_s": sum(r[2] for r in results) / wall,
        "ttft_median_s": statistics.median(r[0] for r in results),
        "wall_s": wall,
    }


def demo(concurrency: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo"
        command = [sys.executable, "-m", "journey", "synth", "--problems", "demo", "--limit", "4", "--max-steps", "4"]
        command += ["--concurrency", str(concurrency), "--out", str(out)]
        start = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - start
        if result.returncode not in (0, 1):
            raise RuntimeError(result.stderr[-2000:])
        traces = [json.loads(line) for line in (out / "traces.jsonl").read_text().splitlines()]
    turns = [e for t in traces for e in t["events"] if e["calls"]]
    return {
        "wall_s": wall,
        "per_trace_s": wall / max(len(traces), 1),
        "traces": len(traces),
        "calls": sum(e["calls"] for e in turns),
        "parse_rate": sum(not e["malformed"] for e in turns) / max(len(turns), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=32, help="requests per synthetic load")
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    from agents.local import LocalServer

    start = time.perf_counter()
    with LocalServer() as server:
        print(f"server start (checkpoint cached): {time.perf_counter() - start:.1f} s")
        for name, prompt, tokens in (("prefill-heavy", PREFILL, 8), ("decode-heavy", DECODE, 96)):
            for inflight in (1, 8, 32):
                n = max(inflight, args.requests if inflight > 1 else 4)
                r = asyncio.run(load(server.base_url, server.served_model, prompt, tokens, inflight, n))
                print(
                    f"{name:<14} {inflight:>2} in flight, {n} requests: prompt {r['prompt_tok_s']:7.1f} tok/s, "
                    f"completion {r['completion_tok_s']:6.1f} tok/s, TTFT median {r['ttft_median_s']:6.2f} s, "
                    f"wall {r['wall_s']:6.1f} s",
                    flush=True,
                )
    if not args.skip_demo:
        for concurrency in (1, 8, 32):
            d = demo(concurrency)
            print(
                f"journey demo, concurrency {concurrency:>2}: {d['wall_s']:6.1f} s ({d['per_trace_s']:.1f} s a trace, "
                f"{d['traces']} traces, {d['calls']} calls), parse rate {d['parse_rate']:.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
