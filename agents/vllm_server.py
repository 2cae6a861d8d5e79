"""``vllm serve`` as a managed endpoint: started from vLLM's own virtualenv (on 127.0.0.1 unless told
another address, e.g. 0.0.0.0 for Ray workers on other machines), or attached to.

vLLM pins its own torch and transformers, so it runs with the python of its own environment
(``--python`` or ``O1J_VLLM_PYTHON``) as ``python -m vllm.entrypoints.openai.api_server``. Once
``/health`` answers, the model spec that ``journey synth --policy ...`` takes is
``SERVED_NAME@http://127.0.0.1:PORT/v1``.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.parse
import urllib.request
from pathlib import Path

from agents.processes import SERVER_ENV, ManagedProcess, free_port


class VLLMServer:
    def __init__(
        self,
        model: str,
        *,
        python: str,
        port: int | None = None,
        served_name: str | None = None,
        tensor_parallel_size: int = 1,
        data_parallel_size: int = 1,
        reasoning_parser: str | None = None,
        max_model_len: int | None = None,
        start_timeout_s: float = 1200.0,
        host: str = "127.0.0.1",
    ):
        self.model, self.python, self.host = model, python, host
        self.port = port or free_port()
        self.served_name = served_name or Path(model).name or model
        self.tp, self.dp = tensor_parallel_size, data_parallel_size
        self.reasoning_parser, self.max_model_len = reasoning_parser, max_model_len
        self.server = ManagedProcess("vllm serve", start_timeout_s)

    @property
    def base_url(self) -> str:
        # bound to all interfaces, it is still reached here through loopback; other machines use this one's name
        address = socket.gethostname() if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{address}:{self.port}/v1"

    @property
    def spec(self) -> str:
        return f"{self.served_name}@{self.base_url}"

    def command(self) -> list[str]:
        command = [
            self.python,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            self.model,
            "--served-model-name",
            self.served_name,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--tensor-parallel-size",
            str(self.tp),
            "--data-parallel-size",
            str(self.dp),
        ]
        if self.reasoning_parser:  # R1-style models: the reasoning arrives in reasoning_content
            command += ["--reasoning-parser", self.reasoning_parser]
        if self.max_model_len:
            command += ["--max-model-len", str(self.max_model_len)]
        return command

    def start(self) -> None:
        env = {**os.environ, **SERVER_ENV, "VLLM_NO_USAGE_STATS": "1"}
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", "4")  # GiB, for the CPU build (a GPU ignores it)
        self.server.launch(self.command(), env, self.port)

    def stop(self) -> None:
        self.server.stop()


def attach(base_url: str) -> str:
    """The spec of a running OpenAI-compatible server: its first served model at ``base_url``."""
    from agents.urls import parse_url, public_url

    url = base_url.rstrip("/")
    parsed = parse_url(url)  # credentials go as a header and query parameters, never in the path
    query = f"?{urllib.parse.urlencode(parsed.query)}" if parsed.query else ""
    request = urllib.request.Request(f"{parsed.base}/models{query}", headers=parsed.headers)
    with urllib.request.urlopen(request, timeout=10) as r:
        models = json.load(r)["data"]
    if not models:
        raise RuntimeError(f"{public_url(url)} serves no model")
    return f"{models[0]['id']}@{url}"  # the spec to use: the user's own URL, credentials and all, on stdout
