"""Managed child processes: a free port on 127.0.0.1, a child that dies with its parent
(PR_SET_PDEATHSIG) in its own process group, started, health-checked and stopped on exit, Ctrl-C
and errors."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from agents.checkpoints import (
    cache_root,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Linux: this process gets ``sig`` when its parent dies, even by SIGKILL.

    Servers get SIGKILL, not SIGTERM: uvicorn answers SIGTERM by finishing in-flight generations
    first, which kept an orphan busy for minutes.
    """
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG


class ManagedProcess:
    """A model server this process starts on 127.0.0.1, waits for, and stops (with it, even on SIGKILL)."""

    def __init__(self, name: str, start_timeout_s: float):
        self.name, self.start_timeout_s = name, start_timeout_s
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None

    def launch(self, command: list[str], env: dict[str, str], port: int) -> None:
        self.spawn(command, env, port)
        self.wait(port)

    def spawn(self, command: list[str], env: dict[str, str], port: int) -> None:
        """Start the server and return at once (``wait`` for it to answer)."""
        logs = cache_root() / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.log_path = logs / f"{self.name.split()[0]}-{port}.log"
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        log.close()

    def wait(self, port: int) -> None:
        try:
            self.wait_healthy(f"http://127.0.0.1:{port}/health")
        except BaseException:
            self.stop()
            raise

    def wait_healthy(self, url: str) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}: {self.log_tail()}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            time.sleep(0.1)  # the engine is up in seconds: a coarser poll would be a visible share of a demo
        raise TimeoutError(f"{self.name} not healthy after {self.start_timeout_s:.0f}s: {self.log_tail()}")

    def log_tail(self) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")[-2000:]
        return ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


SERVER_ENV = {
    # a run must work with the network cable pulled and phone nowhere home
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_UPDATE_CHECK": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
}
