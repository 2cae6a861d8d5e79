"""`journey view` driven in headless Chromium (Debian's package, through Playwright): browse, filter,
trace pages with a search tree, side by side, eval disagreements, curation honoured by the trainer;
untrusted text escaped everywhere; only the given directories served. Screenshots of each page go
to $O1J_SCREENSHOTS (default runs/screenshots)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.graphs.test_tree import searcher
from tests.openai_server import OpenAIServer
from tests.test_synth_cli import ROOT, problems_file, synth, tutor
from tests.trainer.tiny import arithmetic, journey_trace, write_corpus

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_browser = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package (CI installs it)")
SHOTS = Path(os.environ.get("O1J_SCREENSHOTS", ROOT / "runs" / "screenshots"))
EVIL = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 1">'


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("view")
    problems = problems_file(root, 6)
    out = {name: root / name for name in ("journey", "tree")}
    with OpenAIServer(tutor) as server:
        assert synth(server, problems, out["journey"]).returncode == 0
    with OpenAIServer(searcher()) as server:
        spec = f"m@{server.base_url}"
        result = synth(
            server, problems, out["tree"], "--method", "tree", "--rewriter", spec, "--width", "2", "--beam", "1"
        )
        assert result.returncode == 0, result.stderr
    # planted: markup and a javascript: link in every text a page shows
    evil = journey_trace("evil-1", f"What is 1 + 1? {EVIL}", "2")
    evil.long_thought = f"Wait, {EVIL} [click](javascript:window.__pwned=1) javascript:window.__pwned=1"
    evil.summary = EVIL
    evil.events[0].text = EVIL
    out["evil"] = write_corpus(root / "evil", [evil, *arithmetic(3, offset=200)])
    for name, correct in (("base", [False, True, False]), ("trained", [True, True, False])):
        run = root / "eval" / name
        run.mkdir(parents=True)
        rows = [
            {
                "problem_id": f"e{i}",
                "sample": 0,
                "question": f"What is {i} + 1? {EVIL}",
                "answer": str(i + 1),
                "output": f"{EVIL} \\boxed{{{i + 1 if ok else 0}}}",
                "extracted": str(i + 1 if ok else 0),
                "correct": ok,
                "tokens_out": 7,
            }
            for i, ok in enumerate(correct)
        ]
        (run / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (run / "summary.json").write_text(json.dumps({"kind": "math", "model": name, "dataset": "toy"}))
        out[name] = run
    out["general"] = general_run(root)
    return out


def general_run(root: Path) -> Path:
    """A general-task eval as ``journey eval general`` writes it (rubric and both pairwise orders)."""
    from tests.eval.test_general import QUERIES, scripted

    data = root / "general.jsonl"
    data.write_text("".join(json.dumps({"id": i, "prompt": q, "scenario": s}) + "\n" for i, q, s in QUERIES))
    with OpenAIServer(scripted) as server:
        url = server.base_url
        result = subprocess.run(
            [sys.executable, "-m", "journey", "eval", "general", "--dataset", str(data), "--judge", f"j@{url}",
             "--model", f"m@{url}", "--reference", f"r@{url}", "--mode", "both", "--out", str(root / "general")],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return root / "general"


@pytest.fixture(scope="module")
def app(sources, tmp_path_factory):
    """``journey view`` as a user starts it: a subprocess on a free port of 127.0.0.1."""
    cache = tmp_path_factory.mktemp("cache")
    dirs = [sources[k] for k in ("journey", "tree", "evil", "base", "trained", "general")]
    env = dict(os.environ, O1J_CACHE=str(cache))
    process = subprocess.Popen(
        [sys.executable, "-m", "journey", "view", *map(str, dirs), "--port", "0", "--who", "tester"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = ""
    deadline = time.monotonic() + 120
    while "open http://" not in line and time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            raise AssertionError("journey view exited")
    url = line.split("open ", 1)[1].split()[0]
    threading.Thread(target=process.stderr.read, daemon=True).start()
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@needs_browser
def test_browse_filter_trace_tree_side_by_side(app, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(app)
    page.wait_for_selector("#problems")
    assert page.inner_text("#total") == "10 problems"  # 6 shared, 1 planted, 3 more in the planted corpus
    shot(page, "corpus")
    # filter by status and by a word of the long thought; the URL holds the filter
    page.select_option("#f-status", "verified")
    page.fill("#f-q", "wait")
    page.click("#apply")
    page.wait_for_function("location.hash.includes('q=wait')")
    page.wait_for_selector("#problems")
    assert "status=verified" in page.url and page.inner_text("#total") == "10 problems"
    page.fill("#f-re", r"wait, \d+ \+ \d+ is 1?[02468],")
    page.click("#apply")
    page.wait_for_function("location.hash.includes('re=')")
    page.wait_for_selector("#problems")
    regex_total = page.inner_text("#total")
    shared = page.url
    # a shared URL opens the same view
    other = browser.new_page()
    other.goto(shared)
    other.wait_for_selector("#problems")
    assert other.inner_text("#total") == regex_total and regex_total != "10 problems"
    other.close()
    # a tree trace: open it, click a wrong node, read its step and the judge's reasoning
    page.goto(app + "#/corpora?method=tree")
    page.wait_for_selector("#problems")
    page.click("#problems tbody tr:first-child td:nth-child(4) a")
    page.wait_for_selector("#tree-svg")
    assert page.locator(".thought p.reflection").count() >= 1 and page.locator("#events tr.event").count() > 3
    wrong = page.locator("#tree-svg g.node circle[fill='#c62828']").first
    wrong.click()
    page.wait_for_selector("#node-text")
    assert "wrong" in page.inner_text("#node-detail") and page.inner_text("#node-reason").startswith("Judge:")
    shot(page, "trace")
    # side by side: the same problem in each corpus
    page.goto(app)
    page.wait_for_selector("#problems")
    page.click("#problems tbody tr:first-child td:last-child a")
    page.wait_for_selector("#columns")
    assert page.locator("#columns section").count() == 3
    shot(page, "side_by_side")
    page.close()


@needs_browser
def test_eval_runs_and_their_disagreements(app, browser):
    page = browser.new_page()
    page.goto(app + "#/eval?e=0&other=1&disagree=1")
    page.wait_for_selector("#eval")
    assert page.inner_text("#total") == "1 problems"  # only e0 changed: wrong in base, right once trained
    assert page.locator("#eval tbody tr td:first-child").inner_text() == "e0"
    shot(page, "eval")
    page.close()


@needs_browser
def test_a_general_eval_shows_each_items_score_and_the_judges_reasoning(app, browser):
    page = browser.new_page()
    page.goto(app + "#/eval?e=2")
    page.wait_for_selector("#eval")
    assert page.inner_text("#total") == "4 problems"
    first = page.locator("#eval tbody tr").first
    assert "score 0.90" in first.inner_text()
    summaries = first.locator("details.judgment summary").all_inner_texts()
    assert summaries == [
        "judge: rubric → 9",
        "judge: pairwise (model first) → Response 1 (model better)",
        "judge: pairwise (model second) → Response 2 (model better)",
    ]
    first.locator("details.judgment summary").first.click()
    assert "on topic but short" in first.locator("details.judgment").first.inner_text()  # the critique itself
    haiku = page.locator("#eval tbody tr").nth(3)
    assert "judge: rubric → unreadable" in haiku.inner_text()
    shot(page, "eval-general")
    page.close()


@needs_browser
def test_a_dropped_trace_leaves_the_training_mixture(app, browser, sources, tmp_path):
    page = browser.new_page()
    page.goto(app + "#/corpora?corpus=0")
    page.wait_for_selector("#problems")
    page.click("#problems tbody tr:first-child td:nth-child(3) a")
    page.wait_for_selector("#drop")
    page.fill("#note", "the reflection repeats the critic")
    page.click("#drop")
    page.wait_for_selector(".label-drop")
    assert "drop (tester" in page.inner_text("#current-label")
    shot(page, "curation")
    page.close()
    labels = [json.loads(line) for line in (sources["journey"] / "labels.jsonl").read_text().splitlines()]
    assert labels[-1]["label"] == "drop" and labels[-1]["who"] == "tester" and labels[-1]["note"]
    traces = (sources["journey"] / "traces.jsonl").read_text()
    assert "labels" not in traces and "tester" not in traces  # never written into the corpus
    from trainer.mixture import build_mixture, fingerprint, parse_sources

    def mixture(labels):
        spec = {"corpus": str(sources["journey"])} | ({"labels": labels} if labels else {})
        return build_mixture(parse_sources([spec]), length=lambda m: 1, max_length=None)

    everything, curated = mixture(None), mixture("drop")
    dropped = next(json.loads(t) for t in traces.splitlines() if json.loads(t)["id"] == labels[-1]["trace_id"])
    assert len(everything.samples) == 6 and len(curated.samples) == 5
    assert dropped["problem_id"] not in {s.problem_id for s in curated.samples}
    assert curated.report["sources"][str(sources["journey"])]["dropped"] == {"label": 1}
    spec = parse_sources([{"corpus": str(sources["journey"]), "labels": "drop"}])[0]
    assert "+labels:drop:sha256:" in fingerprint(spec)


@needs_browser
def test_untrusted_text_never_runs(app, browser):
    page = browser.new_page()
    page.goto(app + "#/corpora?q=pwned")
    page.wait_for_selector("#problems")
    assert page.evaluate("window.__pwned") is None and page.locator("img").count() == 0
    page.click("#problems tbody tr:first-child td:nth-child(5) a")
    page.wait_for_selector("#thought")
    assert page.evaluate("window.__pwned") is None
    assert "<script>window.__pwned = 1</script>" in page.inner_text("body")  # shown as text
    assert page.locator("a[href^='javascript:']").count() == 0 and page.locator("img").count() == 0
    page.go_back()
    page.wait_for_selector("#problems")
    page.click("#problems tbody tr:first-child td:last-child a")
    page.wait_for_selector("#columns")
    assert page.evaluate("window.__pwned") is None and page.locator("img").count() == 0
    page.goto(app + "#/eval?e=0")
    page.wait_for_selector("#eval")
    assert page.evaluate("window.__pwned") is None and page.locator("img").count() == 0
    page.close()


def test_only_the_given_directories_are_served(app, sources):
    for path in (
        "/static/../index.py",
        "/static/%2e%2e/server.py",
        "/static/..%2f..%2fpyproject.toml",
        "/../../etc/passwd",
        f"/api/trace?c=0&n=1&file={sources['journey']}/../../etc/passwd",
    ):
        try:
            with urllib.request.urlopen(app.rstrip("/") + path) as r:
                body = r.read().decode()
                assert "root:" not in body and "[build-system]" not in body and "def " not in body
        except urllib.error.HTTPError as e:
            assert e.code in (400, 404)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(app + "api/trace?c=9&n=1")
    assert e.value.code == 400
    assert app.startswith("http://127.0.0.1:")


def test_export_and_bad_filters(app, sources):
    def get(path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(app + path) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    status, body = get("api/export?corpus=1&status=verified")
    rows = [json.loads(line) for line in body.splitlines()]
    tree_rows = (sources["tree"] / "traces.jsonl").read_text().splitlines()
    assert status == 200 and len(rows) == len(tree_rows) == 6
    assert {r["id"] for r in rows} == {json.loads(t)["id"] for t in tree_rows} and rows[0]["_corpus"] == "tree"
    status, body = get("api/problems?re=" + urllib.parse.quote("(unclosed"))
    assert status == 400 and "bad regular expression" in json.loads(body)["error"]
    status, body = get("api/problems?min_words=lots")
    assert status == 400 and "min_words must be a whole number" in json.loads(body)["error"]
    status, body = get("api/problems?solved=0,1&per=100")
    assert status == 200 and json.loads(body)["total"] == 6  # both methods solved all six shared problems


@needs_browser
def test_a_page_from_another_origin_cannot_write_a_label(app, browser, sources, tmp_path):
    """An attacker's page on another local port tries every way a browser has to send the write:
    a no-cors text/plain fetch, an auto-submitted text/plain form, a JSON fetch (needs a preflight).
    None writes a label; the app from its printed URL still does (the curation test)."""
    import http.server

    body = json.dumps({"c": 0, "n": 1, "label": "drop", "note": "forged"})
    target = app + "api/label"
    page_html = f"""<!doctype html><html><body>
<form id="f" method="POST" action="{target}" enctype="text/plain"><input name='{body[:-1]}, "x": "' value='"}}'></form>
<script>
fetch("{target}", {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}}, body: {json.dumps(body)}}}).catch(() => 0);
fetch("{target}", {{method: "POST", headers: {{"Content-Type": "application/json"}}, body: {json.dumps(body)}}}).catch(() => 0);
setTimeout(() => document.getElementById("f").submit(), 300);
</script></body></html>"""

    class Attacker(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            data = page_html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    labels = sources["journey"] / "labels.jsonl"
    before = labels.read_text() if labels.exists() else ""
    try:
        page = browser.new_page()
        page.goto(f"http://localhost:{evil.server_address[1]}/")  # another origin (and another host name)
        page.wait_for_timeout(1500)
        page.close()
    finally:
        evil.shutdown()
        evil.server_close()
    after = labels.read_text() if labels.exists() else ""
    assert after == before and "forged" not in after


@needs_browser
def test_the_top_bar_without_eval_runs(browser, corpora, tmp_path, monkeypatch):
    monkeypatch.setenv("O1J_CACHE", str(tmp_path / "cache"))
    from view.queries import load_sources
    from view.server import make_server

    server = make_server(load_sources([corpora["journey"]]))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        page.wait_for_selector("#problems")
        bar = page.inner_text("nav")
        page.close()
    finally:
        server.shutdown()
        server.server_close()
    assert "corpora" in bar and "null" not in bar and "eval runs" not in bar
