"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests: scripted replies, injected faults.

``reply(body) -> str | dict | int`` decides each completion from the request body (an int is an HTTP
error status for that request, e.g. a 400 for one problem). ``POST /v1/completions`` (raw text
continuation) asks ``text(body) -> str`` for what the model would write after the prompt; the server
then does what a real one does: ends it at the first stop string (finish_reason "stop") or after
``max_tokens`` tokens ("length"), a token being a word and the space after it. Faults are given per request
index or by rate (``fault_rate`` with a seeded RNG): HTTP 429/500/503 (with Retry-After) and
dropped connections. Every request is recorded, headers included, so tests can assert on them.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # clients closing pooled keep-alive connections is normal; anything else is printed
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class OpenAIServer:
    def __init__(
        self,
        reply: Callable[[dict[str, Any]], str | dict[str, Any] | int],
        *,
        faults: dict[int, int | str] | None = None,
        fault_rate: float = 0.0,
        drop_rate: float = 0.0,
        seed: int = 0,
        delay_s: float = 0.0,
        retry_after: str | None = "0",
        api_key: str | None = None,
        pooling: Callable[[dict[str, Any]], Any] | None = None,
        text: Callable[[dict[str, Any]], str] | None = None,
    ):
        self.reply = reply
        self.text = text
        self.pooling = pooling  # POST /pooling (vLLM's pooling API): body -> the "data" of its one item
        self.api_key = api_key  # when set, a request without "Bearer <api_key>" gets a 401
        self.faults = faults or {}
        self.fault_rate, self.drop_rate = fault_rate, drop_rate
        self.rng = random.Random(seed)
        self.delay_s = delay_s
        self.retry_after = retry_after
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.get_headers: list[dict[str, str]] = []
        self.paths: list[str] = []  # every request's path, query included
        self.lock = threading.Lock()
        self.httpd = _Server(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> OpenAIServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _fault(self, index: int) -> int | str | None:
        if index in self.faults:
            return self.faults[index]
        with self.lock:
            roll = self.rng.random()
        if roll < self.drop_rate:
            return "drop"
        if roll < self.drop_rate + self.fault_rate:
            return self.rng.choice([429, 500, 503])
        return None

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _refused(self) -> bool:
                if server.api_key and self.headers.get("authorization") != f"Bearer {server.api_key}":
                    self._send(
                        401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}
                    )
                    return True
                return False

            def do_GET(self) -> None:
                with server.lock:
                    server.paths.append(self.path)
                    server.get_headers.append({k.lower(): v for k, v in self.headers.items()})
                if self._refused():
                    return
                path = self.path.split("?", 1)[0].rstrip("/")
                if path == "/v1/models":
                    self._send(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})
                elif path.endswith("/models"):  # a base URL without /v1, or a wrong one
                    self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                else:
                    self._send(200, {"status": "ok"})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    index = len(server.requests)
                    server.requests.append(body)
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                    server.paths.append(self.path)
                if self._refused():
                    return
                fault = server._fault(index)
                if fault == "drop":
                    self.connection.shutdown(2)  # the client sees a dropped connection
                    self.close_connection = True
                    return
                if isinstance(fault, int):
                    extra = {"retry-after": server.retry_after} if server.retry_after is not None else {}
                    self._send(fault, {"error": {"message": f"injected {fault}", "type": "injected"}}, extra)
                    return
                if server.delay_s:
                    time.sleep(server.delay_s)
                if self.path.split("?", 1)[0].rstrip("/") == "/pooling" and server.pooling is not None:
                    tokens = len(str(body.get("input", "")).split())
                    self._send(
                        200,
                        {
                            "object": "list",
                            "data": [{"index": 0, "object": "pooling", "data": server.pooling(body)}],
                            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                        },
                    )
                    return
                if self.path.split("?", 1)[0].rstrip("/") == "/v1/completions" and server.text is not None:
                    self._send(200, continuation(body, server.text(body), index))
                    return
                out = server.reply(body)
                if isinstance(out, int):
                    self._send(out, {"error": {"message": f"scripted {out}", "type": "scripted"}})
                    return
                message = out if isinstance(out, dict) else {"role": "assistant", "content": out}
                message.setdefault("role", "assistant")
                prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
                completion_tokens = len(str(message.get("content") or "").split())
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-{index}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "scripted"),
                        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                        "usage": {
                            "prompt_tokens": prompt_tokens,
                            "completion_tokens": completion_tokens,
                            "total_tokens": prompt_tokens + completion_tokens,
                        },
                    },
                )

        return Handler


def continuation(body: dict[str, Any], text: str, index: int) -> dict[str, Any]:
    """A text completion response: ``text`` ended at a stop string or after ``max_tokens`` tokens."""
    finish = "stop"
    stops = body.get("stop") or []
    cuts = [text.index(s) for s in ([stops] if isinstance(stops, str) else stops) if s in text]
    if cuts:
        text = text[: min(cuts)]
    tokens = re.findall(r"\s*\S+", text)
    if len(tokens) > int(body.get("max_tokens") or 16):
        tokens, finish = tokens[: int(body.get("max_tokens") or 16)], "length"
    return {
        "id": f"cmpl-{index}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": body.get("model", "scripted"),
        "choices": [{"index": 0, "text": "".join(tokens), "finish_reason": finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": len(body.get("prompt", "").split()),
            "completion_tokens": len(tokens),
            "total_tokens": len(body.get("prompt", "").split()) + len(tokens),
        },
    }


def last_user(body: dict[str, Any]) -> str:
    return next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
