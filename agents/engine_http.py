"""The engine's HTTP front: the OpenAI chat API over ``agents.engine.Engine`` on 127.0.0.1.

    python -m agents.engine_http CHECKPOINT --port 8000 [--host 127.0.0.1] [--dtype auto|bfloat16|float32]
                                 [--implementation auto|transformers]

Served: ``POST /v1/chat/completions`` (``messages``, ``max_tokens`` / ``max_completion_tokens``,
``min_tokens``, ``temperature``, ``top_p``, ``seed``, ``stop``, ``stream`` with
``stream_options.include_usage``), ``POST /v1/completions`` (a raw ``prompt`` string continued as
is, tokenized without added special tokens: the caller rendered the chat template, BOS included;
the same sampling fields, not streamed), ``GET /v1/models``, ``GET /health``. Usage counts are the
tokenizer's own. A request is parsed and checked here (``parse_request``, bounded body) before it
becomes a ``Job`` of the engine's loop.
"""

from __future__ import annotations

import argparse
import json
import queue
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agents.engine import IMPLEMENTATIONS, Engine, Job, RequestError

# a request body larger than this is refused unread (a prompt of this size is past any context)
MAX_BODY_BYTES = 32 * 1024 * 1024


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in content):
        return "".join(str(p.get("text", "")) for p in content)
    raise RequestError("message content must be a string or a list of text parts")


def _chat(messages: Any) -> list[dict[str, str]]:
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages must be a non-empty list")
    chat = []
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ("system", "user", "assistant"):
            raise RequestError("each message needs a role of system, user or assistant")
        chat.append({"role": message["role"], "content": _text(message.get("content", ""))})
    return chat


def _stops(body: dict) -> tuple[str, ...]:
    stop = body.get("stop") or ()
    stop = (stop,) if isinstance(stop, str) else tuple(stop)
    if not all(isinstance(s, str) and s for s in stop):
        raise RequestError("stop must be a string or a list of non-empty strings")
    return stop


def _given(body: dict, key: str, kind: type, default: Any) -> Any:
    return kind(body[key]) if body.get(key) is not None else default


def parse_request(engine: Engine, body: dict, raw: bool = False) -> Job:
    """A chat completion request (``raw``: a text completion request) as a Job; anything this server
    does not do is a RequestError."""
    if raw:
        if not isinstance(body.get("prompt"), str) or not body["prompt"]:
            raise RequestError("prompt must be a non-empty string (one prompt per request)")
        if body.get("echo") or body.get("suffix") or body.get("logprobs"):
            raise RequestError("echo, suffix and logprobs are not served")
        prompt = engine.tokenizer.encode(body["prompt"], add_special_tokens=False).ids
    else:
        prompt = engine.encode_chat(_chat(body.get("messages")))
    if body.get("n", 1) != 1:
        raise RequestError("n must be 1")
    stop = _stops(body)
    limit = body.get("max_tokens") or body.get("max_completion_tokens")
    try:
        job = Job(
            prompt=prompt,
            max_tokens=int(limit) if limit is not None else engine.context,
            min_tokens=int(body.get("min_tokens") or 0),
            temperature=_given(body, "temperature", float, 1.0),
            top_p=_given(body, "top_p", float, 1.0),
            stop=stop,
            seed=_given(body, "seed", int, None),
        )
    except (TypeError, ValueError) as error:
        raise RequestError(f"bad sampling field: {error}") from error
    if job.max_tokens < 1 or not 0 < job.top_p <= 1 or job.temperature < 0:
        raise RequestError("max_tokens must be at least 1, top_p in (0, 1], temperature not negative")
    return job


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    engine: Engine
    model_name: str

    def log_message(self, format: str, *args: Any) -> None:  # requests are not logged: prompts stay private
        pass

    def _json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._json(
            status,
            {"error": {"message": message, "type": "invalid_request_error" if status == 400 else "server_error"}},
        )

    def do_GET(self) -> None:
        if self.path == "/health":
            self._json(200, {"status": "ok"})
        elif self.path == "/v1/models":
            self._json(
                200, {"object": "list", "data": [{"id": self.model_name, "object": "model", "owned_by": "o1-journey"}]}
            )
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:
        if self.path not in ("/v1/chat/completions", "/v1/completions"):
            self._error(404, f"no route {self.path}")
            return
        raw = self.path == "/v1/completions"
        size = int(self.headers.get("Content-Length") or 0)
        if size > MAX_BODY_BYTES:
            self.close_connection = True
            self._error(413, f"the request body has {size} bytes; at most {MAX_BODY_BYTES} are read")
            return
        try:
            body = json.loads(self.rfile.read(size))
            if not isinstance(body, dict):
                raise RequestError("the body must be a JSON object")
            job = parse_request(self.engine, body, raw)
            streamed = bool(body.get("stream"))
            if streamed and raw:
                raise RequestError("text completions are not streamed here")
            if streamed:
                job.deltas = queue.Queue()
            self.engine.submit(job)
        except (RequestError, json.JSONDecodeError, UnicodeDecodeError) as error:
            self._error(400, str(error))
            return
        ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if streamed:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(job, ident, created, include_usage)
            return
        job.done.wait()
        if job.error:
            self._error(500, job.error)
            return
        if raw:
            self._json(
                200,
                {
                    "id": f"cmpl-{uuid.uuid4().hex}",
                    "object": "text_completion",
                    "created": created,
                    "model": self.model_name,
                    "choices": [{"index": 0, "text": job.text, "finish_reason": job.finish_reason, "logprobs": None}],
                    "usage": _usage(job),
                },
            )
            return
        self._json(
            200,
            {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": self.model_name,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": job.text},
                        "finish_reason": job.finish_reason,
                    }
                ],
                "usage": _usage(job),
            },
        )

    def _stream(self, job: Job, ident: str, created: int, include_usage: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        base = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": self.model_name}

        def send(payload: dict | str) -> None:
            data = payload if isinstance(payload, str) else json.dumps(base | payload)
            self.wfile.write(f"data: {data}\n\n".encode())
            self.wfile.flush()

        send({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]})
        while (piece := job.deltas.get()) is not None:
            send({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
        if job.error:
            send({"error": {"message": job.error, "type": "server_error"}})
        else:
            send({"choices": [{"index": 0, "delta": {}, "finish_reason": job.finish_reason}]})
            if include_usage:
                send({"choices": [], "usage": _usage(job)})
        send("[DONE]")


def _usage(job: Job) -> dict:
    return {
        "prompt_tokens": len(job.prompt),
        "completion_tokens": len(job.tokens),
        "total_tokens": len(job.prompt) + len(job.tokens),
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 reset connections when 32 requests arrived at once
    request_queue_size = 256

    def handle_error(self, request, client_address) -> None:
        import sys

        # a client closing a pooled keep-alive connection is normal; anything else is printed
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def make_server(engine: Engine, host: str, port: int, model_name: str) -> ThreadingHTTPServer:
    """The HTTP server in front of ``engine`` (``serve_forever`` to run it)."""
    handler = type("BoundHandler", (Handler,), {"engine": engine, "model_name": model_name})
    return _Server((host, port), handler)


def serve(checkpoint: str, host: str, port: int, dtype: str, implementation: str = "auto") -> None:
    engine = Engine(checkpoint, dtype, implementation=implementation)
    server = make_server(engine, host, port, str(checkpoint))
    print(
        f"serving {checkpoint} ({engine.implementation}, {engine.dtype}, {engine.device}) on http://{host}:{port}/v1",
        flush=True,
    )
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dtype", default="auto", choices=("auto", "bfloat16", "float32"))
    parser.add_argument("--implementation", default="auto", choices=IMPLEMENTATIONS)
    args = parser.parse_args()
    serve(args.checkpoint, args.host, args.port, args.dtype, args.implementation)


if __name__ == "__main__":
    main()
