"""Local models served on 127.0.0.1: ``LocalServer`` (one engine process per checkpoint, made by
``agents.checkpoints``) and ``EarlyEngines`` (engines started before the run that adopts them).

The checkpoint is served by the engine in ``agents/engine.py`` (batched decoding that reuses prompt
prefixes; why not ``transformers serve`` is said there). The server is a child process in its own
process group that dies with us (PR_SET_PDEATHSIG) and is stopped on exit, Ctrl-C and errors.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

from agents.checkpoints import (
    EMBEDDED,
    SIDECAR,
    cache_root,
    checkpoint_digest,
    ensure_checkpoint,
    is_local,
    ready_checkpoint,
    served_dtype,
)
from agents.processes import SERVER_ENV, ManagedProcess, free_port


class LocalServer:
    """The engine (``agents/engine.py``) for one checkpoint, on 127.0.0.1 at a free port unless told
    another address (``journey serve local --host --port``)."""

    def __init__(
        self, model: str = EMBEDDED, *, start_timeout_s: float = 600.0, host: str = "127.0.0.1", port: int | None = None
    ):
        self.model = model
        self.host, self.wanted_port = host, port
        self.dtype = served_dtype()
        self.server = ManagedProcess("engine", start_timeout_s)
        self.checkpoint: Path | None = None
        self.port = 0
        self.sidecar: dict = {}  # what the conversion recorded; empty for plain HF dirs

    @property
    def base_url(self) -> str:
        # bound to every address: others reach it by this machine's name (as journey serve vllm says)
        address = socket.gethostname() if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{address}:{self.port}/v1"

    @property
    def served_model(self) -> str:
        return str(self.checkpoint)

    @property
    def junk_tail(self) -> str | None:
        return self.sidecar.get("junk_tail")

    @property
    def provenance(self) -> dict:
        """What was served: the weights, and the dtype the engine computed in (it changes the replies)."""
        if self.sidecar:
            weights = {"gguf": self.sidecar.get("source_gguf"), "gguf_sha256": self.sidecar.get("gguf_sha256")}
        else:
            weights = {
                "hf_dir": str(self.checkpoint),
                "checkpoint_sha256": checkpoint_digest(f"local:{self.checkpoint}"),
            }
        return weights | {"engine": "agents.engine", "dtype": self.dtype}

    def spawn(self) -> None:
        """Convert the checkpoint if it must be, start the engine and return at once."""
        self.checkpoint = ensure_checkpoint(self.model)
        sidecar = self.checkpoint / SIDECAR
        self.sidecar = json.loads(sidecar.read_text()) if sidecar.exists() else {}
        self.port = self.wanted_port or free_port()
        hub_cache = cache_root() / "hub"
        hub_cache.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **SERVER_ENV, "HF_HUB_CACHE": str(hub_cache)}
        command = [sys.executable, "-m", "agents.engine_http", str(self.checkpoint), "--host", self.host]
        command += ["--port", str(self.port), "--dtype", self.dtype]
        self.server.spawn(command, env, self.port)

    def wait(self) -> None:
        """Until the engine answers (it is stopped if it never does)."""
        self.server.wait(self.port)

    def start(self) -> None:
        self.spawn()
        self.wait()

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


# engines started ahead of the run that uses them (EarlyEngines), by model: ModelHub adopts them
_EARLY: dict[str, LocalServer] = {}


class EarlyEngines:
    """Engines of local models started before the run that uses them, so that they load while the
    caller imports and checks everything else. ModelHub adopts an engine found here instead of
    starting its own; all are stopped when the ``with`` block ends. Use on the main thread (see
    ``die_with_parent``)."""

    def __enter__(self) -> EarlyEngines:
        return self

    def start(self, models: list[str], *, convert: bool = True) -> None:
        """Start an engine for each local model among these that has none. ``convert=False``: only
        those whose checkpoint needs no conversion (a guess may start no minute-long work)."""
        for model in dict.fromkeys(m.removeprefix("local:") for m in models if is_local(m)):
            if model in _EARLY:
                continue
            try:
                if not convert and ready_checkpoint(model) is None:
                    continue
                server = LocalServer(model)
                server.spawn()  # a first run converts the checkpoint here
            except Exception:  # a head start only: the run starts it again and reports why it cannot
                continue
            _EARLY[model] = server

    def keep(self, models: list[str]) -> None:
        """Stop the early engines of models not among these (a guess that the run does not use)."""
        wanted = {m.removeprefix("local:") for m in models if is_local(m)}
        for model in [m for m in _EARLY if m not in wanted]:
            _EARLY.pop(model).stop()

    def __exit__(self, *exc_info) -> None:
        self.keep([])


def adopt(model: str) -> LocalServer | None:
    """The early engine of ``model`` once it answers, or None when there is none."""
    server = _EARLY.get(model)
    if server is not None:
        server.wait()
    return server
