"""`journey view` is a local app only its user can drive: foreign hosts and cross-site writes are
refused, every malformed request is a 4xx and the server stays up, a corpus that grows is seen, and a
bad line is a marked row. In-process server on 127.0.0.1, over a corpus journey synth wrote."""

from __future__ import annotations

import http.client
import json
import random
import shutil
import threading
from urllib.parse import quote

import pytest

from view.queries import load_sources
from view.server import make_server

pytestmark = pytest.mark.integration


@pytest.fixture
def served(corpora, tmp_path, monkeypatch):
    monkeypatch.setenv("O1J_CACHE", str(tmp_path / "cache"))
    corpus = tmp_path / "journey"
    shutil.copytree(corpora["journey"], corpus)
    server = make_server(load_sources([corpus]))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield corpus, server.server_address[1]
    server.shutdown()
    server.server_close()


def ask(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host="Host" in (headers or {}), skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None and "Content-Length" not in (headers or {}):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def label(port: int, payload, **headers) -> int:
    base = {"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{port}"}
    return ask(port, "POST", "/api/label", json.dumps(payload).encode(), base | headers)[0]


def test_foreign_hosts_and_cross_site_writes_are_refused(served):
    corpus, port = served
    assert ask(port, "GET", "/api/sources", headers={"Host": f"attacker.example:{port}"})[0] == 421
    assert ask(port, "GET", "/api/sources", headers={"Host": f"localhost:{port}"})[0] == 200
    assert label(port, {"c": 0, "n": 1, "label": "drop"}, Origin="http://attacker.example") == 403
    assert label(port, {"c": 0, "n": 1, "label": "drop"}, **{"Content-Type": "text/plain"}) == 415
    assert label(port, {"c": 0, "n": 1, "label": "drop"}, Host=f"attacker.example:{port}") == 421
    assert not (corpus / "labels.jsonl").exists()  # none of them wrote
    assert label(port, {"c": 0, "n": 1, "label": "keep", "note": "fine"}) == 200
    assert json.loads((corpus / "labels.jsonl").read_text())["label"] == "keep"


@pytest.mark.parametrize(
    "payload",
    [{"c": [0], "n": 1, "label": "keep"}, {"c": True, "n": 1, "label": "keep"}, {"c": 0, "n": 1.9, "label": "keep"},
     {"c": 0, "n": 10**30, "label": "keep"}, {"c": 0, "n": 1, "label": "maybe"}, {"c": 0, "n": 1, "note": 5},
     ["not", "an", "object"]],
)  # fmt: skip
def test_bad_labels_are_400(served, payload):
    _, port = served
    assert label(port, payload) == 400


def test_malformed_requests_are_4xx_and_the_server_stays_up(served):
    _, port = served
    fixed = [
        ("GET", "/api/trace?c=0&n=99999999999999999999999"),
        ("GET", "/api/trace?c=0&n=--5"),
        ("GET", "/api/problems?page=99999999999999999"),
        ("GET", "/api/eval?e=%D9%A3"),  # an Arabic-Indic three
        ("GET", "/api/eval?e=0&other=%C2%B2"),  # a superscript two
        ("GET", "/api/problems?corpus=x,1"),
        ("GET", "/api/problems?min_words=-1"),
    ]
    for method, path in fixed:
        status, _ = ask(port, method, path)
        assert 400 <= status < 500, path
    status, _ = ask(port, "POST", "/api/label", b"{}", {"Content-Type": "application/json", "Content-Length": "abc"})
    assert status == 400
    rng = random.Random(0)
    keys, junk = (
        ["c", "n", "e", "page", "per", "min_words", "corpus", "status", "re", "sort"],
        ["", "-1", "1e9", "x", "%00", "9" * 30, "\u0663", "[", "(", "0,"],
    )
    for _ in range(200):  # bounded, local
        query = "&".join(f"{rng.choice(keys)}={quote(rng.choice(junk))}" for _ in range(rng.randint(1, 4)))
        status, body = ask(port, "GET", f"/api/{rng.choice(['trace', 'problems', 'eval', 'problem'])}?{query}")
        assert status in (200, 400, 404, 409) and json.loads(body) is not None, query
    assert ask(port, "GET", "/api/sources")[0] == 200


def test_a_growing_corpus_is_seen_and_a_bad_line_is_a_row(served):
    corpus, port = served
    before = json.loads(ask(port, "GET", "/api/problems")[1])["total"]
    rows = (corpus / "traces.jsonl").read_text().splitlines()
    grown = json.loads(rows[0]) | {"id": "grown-1", "problem_id": "new", "question": "What is 100 + 1?"}
    with (corpus / "traces.jsonl").open("a") as f:
        f.write(json.dumps(grown) + "\n" + "not json at all\n")
    page = json.loads(ask(port, "GET", "/api/problems?per=100")[1])
    assert page["total"] == before + 2  # the new trace, and the bad line as a row of its own
    statuses = [s for r in page["rows"] for cell in r["corpora"].values() for s in cell["statuses"]]
    assert "unreadable" in statuses
