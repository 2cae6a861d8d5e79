"""``journey view``: a local web app over corpora and eval runs (standard library HTTP server, no CDN).

The page (``view/static``) asks this server for JSON and builds every element with ``textContent``:
model output and problem text are never parsed as HTML, and a Content-Security-Policy forbids inline
scripts besides. The server answers only its own routes: the static files by name, and corpus rows
by their index entry (a corpus number and a row number), never by a path from the request, so
nothing outside the directories it was given can be read. It binds 127.0.0.1 unless told otherwise.

Routes (GET unless said): ``/`` the app; ``/static/NAME``; ``/api/sources``; ``/api/problems``
(the problems x corpora table: filters, sort, page); ``/api/trace`` (one sample whole, its labels,
its problem's other samples); ``/api/problem`` (one problem across corpora, side by side);
``/api/eval`` (an eval run's samples, or the problems where two runs disagree); ``/api/export``
(the filtered samples as JSONL); ``POST /api/label`` (keep / drop with a note, appended to the
corpus's ``labels.jsonl``).
"""

from __future__ import annotations

import getpass
import json
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from view.index import IndexError_
from view.queries import (
    WHOLE,
    Filters,
    Sources,
    ViewError,
    add_label,
    eval_samples,
    export_rows,
    load_sources,
    problem,
    problems,
    query_int,
    refresh,
    trace,
    whole,
)

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"app.js": "text/javascript", "style.css": "text/css", "index.html": "text/html"}
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_LABEL_BYTES = 1 << 16


def sources_payload(sources: Sources, query: dict[str, list[str]]) -> dict[str, Any]:
    corpora = [
        {"c": i, "name": c.name, "method": c.manifest.get("method"), "path": str(c.path)}
        for i, c in enumerate(sources.corpora)
    ]
    evals = [
        {"e": i, "name": e.name, "model": e.summary.get("model"), "dataset": e.summary.get("dataset")}
        for i, e in enumerate(sources.evals)
    ]
    return {"corpora": corpora, "evals": evals}


def eval_payload(sources: Sources, query: dict[str, list[str]]) -> dict[str, Any]:
    other = (query.get("other") or [""])[0]
    return eval_samples(sources, query_int(query, "e"), whole("other", other) if other else None, "disagree" in query)


# the JSON routes: path -> (sources, query) -> payload
API = {
    "/api/sources": sources_payload,
    "/api/problems": lambda sources, query: problems(sources, Filters.parse(query)),
    "/api/trace": lambda sources, query: trace(sources, query_int(query, "c"), query_int(query, "n")),
    "/api/problem": lambda sources, query: problem(sources, (query.get("pkey") or [""])[0]),
    "/api/eval": eval_payload,
}


class Handler(BaseHTTPRequestHandler):
    """The routes over ``sources``; ``make_server`` binds a subclass to its sources and names."""

    protocol_version = "HTTP/1.1"
    sources: Sources
    who: str = ""
    allowed_hosts: set[str] | None = None  # None: any Host (a server bound beyond loopback)
    allowed_origins: set[str] | None = None

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for k, v in HEADERS.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, payload: Any, status: int = 200) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json; charset=utf-8")

    def _error(self, status: int, message: str) -> None:
        self._json({"error": message}, status)

    def _host_ok(self) -> bool:
        """DNS rebinding: a page on another name that resolves here is refused (loopback binds)."""
        if self.allowed_hosts is None or self.headers.get("Host", "").lower() in self.allowed_hosts:
            return True
        self._error(421, "unknown host: open the address journey view printed")
        return False

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):  # the client went away mid-answer
            self.close_connection = True

    def do_GET(self) -> None:
        if not self._host_ok():
            return
        url = urlparse(self.path)
        try:
            self._get(url.path, parse_qs(url.query))
        except ViewError as e:
            self._error(400, str(e))
        except IndexError_ as e:  # the file changed under the index: the next request reindexes
            self._error(409, f"{e}: reload the page")
        except Exception as e:  # a bug of ours: said, not a dropped connection
            import sys

            print(f"journey view: {type(e).__name__}: {e}", file=sys.stderr)
            self._error(500, f"internal error ({type(e).__name__})")

    def _get(self, path: str, query: dict[str, list[str]]) -> None:
        if path.startswith("/api/"):
            refresh(self.sources)  # a corpus that grew or was rewritten is indexed again first
        if path in ("/", "/index.html"):
            self._send(200, (STATIC / "index.html").read_bytes(), "text/html; charset=utf-8")
        elif path.startswith("/static/"):
            name = path.removeprefix("/static/")
            if name not in STATIC_FILES:  # by name only: no path from the request reaches the disk
                self._error(404, "not found")
                return
            self._send(200, (STATIC / name).read_bytes(), STATIC_FILES[name] + "; charset=utf-8")
        elif path in API:
            self._json(API[path](self.sources, query))
        elif path == "/api/export":
            self._export(query)
        else:
            self._error(404, "not found")

    def _export(self, query: dict[str, list[str]]) -> None:
        rows = export_rows(self.sources, Filters.parse(query))
        first = next(rows, "")  # a bad filter fails here, before any header is sent
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson; charset=utf-8")
        self.send_header("Content-Disposition", 'attachment; filename="export.jsonl"')
        self.send_header("Connection", "close")
        for k, v in HEADERS.items():
            self.send_header(k, v)
        self.end_headers()
        self.close_connection = True  # no length: the end of the stream ends the body
        for line in (first, *rows):
            self.wfile.write(line.encode())

    def _refusal(self) -> tuple[int, str] | None:
        """Why a POST to /api/label is refused before its body is read, or None."""
        # cross-site writes: a page elsewhere can send neither JSON without a preflight (which is
        # never answered) nor another origin's Origin header
        if self.headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
            return 415, "a label is sent as application/json"
        origin = self.headers.get("Origin")
        if origin is not None and self.allowed_origins is not None and origin.lower() not in self.allowed_origins:
            return 403, "labels are written from this app's own page only"
        length = (self.headers.get("Content-Length") or "0").strip()
        if not WHOLE.fullmatch(length):
            return 400, "Content-Length must be a whole number"
        if int(length) > MAX_LABEL_BYTES:
            return 413, "too large"
        return None

    def do_POST(self) -> None:
        if not self._host_ok():
            return
        self.close_connection = True  # whatever the body held, the connection ends with the answer
        if urlparse(self.path).path != "/api/label":
            self._error(404, "not found")
            return
        if refused := self._refusal():
            self._error(*refused)
            return
        try:
            body = json.loads(self.rfile.read(int((self.headers.get("Content-Length") or "0").strip())) or b"{}")
            if not isinstance(body, dict):
                raise ViewError("a label is a JSON object: {c, n, label, note}")
            note = body.get("note") or ""
            if not isinstance(note, str):
                raise ViewError("note must be text")
            c, n = whole("c", body.get("c")), whole("n", body.get("n"))
            self._json(add_label(self.sources, c, n, str(body.get("label")), note, self.who))
        except (ViewError, ValueError) as e:
            self._error(400, str(e)[:300])


def make_server(
    sources: Sources, host: str = "127.0.0.1", port: int = 0, who: str | None = None
) -> ThreadingHTTPServer:
    bound_handler = type("BoundHandler", (Handler,), {"sources": sources, "who": who or getpass.getuser()})
    server = ThreadingHTTPServer((host, port), bound_handler)
    server.daemon_threads = True
    bound = server.server_address[1]
    if host in LOOPBACK:  # bound to this machine: only its own names reach the app
        names = {host, "localhost", "127.0.0.1", "[::1]"} - {"::1"}
        bound_handler.allowed_hosts = {f"{name}:{bound}" for name in names}
        bound_handler.allowed_origins = {f"http://{h}" for h in bound_handler.allowed_hosts}
    return server


__all__ = ["HTTPStatus", "ViewError", "load_sources", "make_server"]
