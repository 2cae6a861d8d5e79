"""Distill synthesis throughput against a fast OpenAI-compatible server on 127.0.0.1.

    python bench/synth_throughput.py [--problems 10000] [--concurrency 64] [--delay-ms 50]
                                     [--batch 8] [--workers N] [--equivalent-share 0.2]

Starts a server (aiohttp, in its own process) that answers every chat completion after
``--delay-ms`` with a correct long thought ending in ``\\boxed{}``; a share of the answers is
written in another but equal form (``7.0`` for 7) that only math-verify can judge, so that its
worker processes really run instead of the verifier's in-process shortcuts (equal strings, plain
rationals). It measures the raw ceiling (an aiohttp client loop, the same number of requests at
the same concurrency), then runs ``journey synth --method distill`` as a user would (a fresh
process: CLI start-up, problem loading, worker processes, the LangGraph graph, answer verification
and corpus writing included) and prints traces/s, the ceiling, their ratio and the machine.
``--batch 1`` shows the cost of one graph run per problem.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTION = re.compile(r"What is (\d+) \+ (\d+)\?")


def serve(port: int, delay_s: float, equivalent_share: float) -> None:
    from aiohttp import web

    every = round(1 / equivalent_share) if equivalent_share > 0 else 0

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        text = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
        match = QUESTION.search(text)
        a, b = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
        await asyncio.sleep(delay_s)
        # problem i asks "What is i + (2i + 7)?": every n-th answer in a form only math-verify decides
        answer = f"{a + b}.0" if every and a % every == 0 else str(a + b)
        content = (
            f"I add {a} and {b}. Wait, let me check the carry: {a} + {b} = {a + b}. The answer is \\boxed{{{answer}}}."
        )
        return web.json_response(
            {
                "id": "c",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "bench"),
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160},
            }
        )

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)

    async def models(request: web.Request) -> web.Response:  # journey's preflight asks for it once
        return web.json_response({"object": "list", "data": [{"id": "bench", "object": "model"}]})

    app.router.add_get("/v1/models", models)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def ceiling(url: str, n: int, concurrency: int) -> float:
    import aiohttp

    payload = {"model": "bench", "messages": [{"role": "user", "content": "Problem: What is 1 + 2?"}], "max_tokens": 64}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                async with session.post(url, json=payload) as r:
                    await r.json()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return n / (time.perf_counter() - start)


def wait_up(port: int) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("bench server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--batch", type=int, default=8, help="journey synth --batch: problems per graph run")
    parser.add_argument(
        "--workers", type=int, default=None, help="journey synth --workers (default: its own, one per core)"
    )
    parser.add_argument(
        "--equivalent-share", type=float, default=0.2, help="share of answers in another but equal form"
    )
    args = parser.parse_args()

    port = free_port()
    server = multiprocessing.get_context("spawn").Process(
        target=serve, args=(port, args.delay_ms / 1000, args.equivalent_share), daemon=True
    )
    server.start()
    try:
        wait_up(port)
        base = f"http://127.0.0.1:{port}/v1"
        raw = asyncio.run(ceiling(f"{base}/chat/completions", args.problems, args.concurrency))
        with tempfile.TemporaryDirectory() as tmp:
            problems = Path(tmp) / "problems.jsonl"
            with problems.open("w") as f:
                for i in range(args.problems):
                    f.write(
                        json.dumps({"id": f"b{i}", "question": f"What is {i} + {2 * i + 7}?", "answer": str(3 * i + 7)})
                        + "\n"
                    )
            command = [
                sys.executable,
                "-m",
                "journey",
                "synth",
                "--method",
                "distill",
                "--problems",
                str(problems),
                "--out",
                str(Path(tmp) / "corpus"),
                "--teacher",
                f"bench@{base}",
                "--concurrency",
                str(args.concurrency),
                "--teacher-tokens",
                "256",
                "--batch",
                str(args.batch),
            ]
            if args.workers is not None:
                command += ["--workers", str(args.workers)]
            start = time.perf_counter()
            run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
            wall = time.perf_counter() - start
            if run.returncode != 0:
                raise SystemExit(run.stderr[-3000:])
            manifest = json.loads((Path(tmp) / "corpus" / "manifest.json").read_text())
    finally:
        server.terminate()
    traces = manifest["corpus"]["traces"]
    rate = traces / wall
    print(
        json.dumps(
            {
                "machine": f"{platform.machine()} {_cpu_model()}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}",
                "problems": args.problems,
                "concurrency": args.concurrency,
                "server_delay_ms": args.delay_ms,
                "workers": manifest["config"]["workers"],
                "batch": manifest["config"]["batch"],
                "equivalent_share": args.equivalent_share,
                "traces": traces,
                "verified": manifest["corpus"]["verified"],
                "wall_s": round(wall, 2),
                "synth_wall_s_in_manifest": manifest["this_run"]["wall_s"],
                "traces_per_s": round(rate, 1),
                "raw_ceiling_req_per_s": round(raw, 1),
                "ratio": round(rate / raw, 3),
            },
            indent=2,
        )
    )


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


if __name__ == "__main__":
    main()
