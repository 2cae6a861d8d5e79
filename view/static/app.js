// journey view: the browser side. Every element is built with createElement and textContent: no
// text from a corpus (model output, problem text) is ever parsed as HTML or put in a URL but as a
// number or an encoded query value. The URL's hash holds the view and its filters, so a view can be shared.
"use strict";

const main = document.getElementById("main");
let SOURCES = { corpora: [], evals: [] };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function link(view, params, ...children) {
  const q = new URLSearchParams(params).toString();
  return el("a", { href: "#/" + view + (q ? "?" + q : "") }, ...children);
}

async function api(path, params) {
  const q = params ? "?" + new URLSearchParams(params).toString() : "";
  const response = await fetch("/api/" + path + q);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [view, query] = hash.split("?");
  return { view: view || "corpora", params: new URLSearchParams(query || "") };
}

function show(...nodes) {
  main.replaceChildren(...nodes);
}

function fail(error) {
  show(el("p", { class: "error", id: "error" }, String(error.message || error)));
}

function statusBadge(status, count) {
  return el("span", { class: "status st-" + status.replace(/[^a-z_]/g, "") }, count ? `${status} ${count}` : status);
}

// -- corpus browser ------------------------------------------------------------------------------

const FILTERS = ["status", "method", "model", "config", "subject", "level", "dropped", "min_words", "max_words", "q", "re", "sort"];
const DROPPED = ["truncated", "malformed", "repetition", "language", "length", "contaminated", "duplicate_id", "duplicate", "near_duplicate"];
const STATUSES = ["verified", "wrong_answer", "no_answer", "budget_steps", "budget_tokens", "budget_backtracks", "rejected", "failed"];

async function corporaView(params) {
  const form = el("form", { class: "filters", id: "filters" });
  const field = (name, label, input) => el("label", {}, label, input);
  const text = (name, placeholder) => el("input", { name, id: "f-" + name, value: params.get(name) || "", placeholder: placeholder || "" });
  const status = el("select", { name: "status", id: "f-status" }, el("option", { value: "" }, "any"),
    ...STATUSES.map((s) => el("option", { value: s, selected: params.get("status") === s }, s)));
  const dropped = el("select", { name: "dropped", id: "f-dropped" }, el("option", { value: "" }, "-"),
    el("option", { value: "any", selected: params.get("dropped") === "any" }, "for any reason"),
    ...DROPPED.map((s) => el("option", { value: s, selected: params.get("dropped") === s }, "by " + s)));
  const sort = el("select", { name: "sort", id: "f-sort" },
    ...["problem", "tokens", "words", "backtracks"].map((s) => el("option", { value: s, selected: params.get("sort") === s }, s)));
  form.append(
    field("status", "status", status), field("method", "method", text("method")), field("model", "model", text("model")),
    field("config", "config", text("config")), field("subject", "subject", text("subject")), field("level", "level", text("level")),
    field("dropped", "dropped (journey filter)", dropped),
    field("min_words", "min words", text("min_words")), field("max_words", "max words", text("max_words")),
    field("q", "words", text("q", "wait")), field("re", "regex", text("re", "wait,? .*wrong")), field("sort", "sort", sort),
    el("button", { type: "submit", id: "apply" }, "Filter"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const name of FILTERS) {
      const value = form.elements[name].value.trim();
      if (value) next.set(name, value);
    }
    location.hash = "#/corpora?" + next.toString();
  });
  const query = {};
  for (const name of [...FILTERS, "page", "solved", "corpus"]) if (params.get(name)) query[name] = params.get(name);
  const exportLink = el("a", { href: "/api/export?" + new URLSearchParams(query).toString(), id: "export", download: "traces.jsonl" }, "Export these traces (JSONL)");
  show(form, el("p", { class: "muted" }, "Loading…"));
  let data;
  try {
    data = await api("problems", query);
  } catch (error) {
    show(form, el("p", { class: "error", id: "error" }, error.message));
    return;
  }
  const page = Number(params.get("page") || 0);
  const pages = Math.max(1, Math.ceil(data.total / data.per));
  const pageLink = (p, label) => {
    const next = new URLSearchParams(params);
    next.set("page", String(p));
    return el("a", { href: "#/corpora?" + next.toString(), class: "page" }, label);
  };
  const pager = el("div", { class: "pager" },
    el("span", { id: "total" }, `${data.total} problems`), `page ${page + 1} of ${pages}`,
    page > 0 ? pageLink(page - 1, "previous") : null, page + 1 < pages ? pageLink(page + 1, "next") : null, exportLink);
  const head = el("tr", {}, el("th", {}, "problem"), el("th", {}, "question"),
    ...SOURCES.corpora.map((c) => el("th", {}, c.name, el("div", { class: "muted" }, c.method || ""))), el("th", {}, ""));
  const rows = data.rows.map((row) => el("tr", { class: "problem-row" },
    el("td", {}, row.problem_id),
    el("td", { class: "pre" }, row.question),
    ...SOURCES.corpora.map((c) => {
      const cell = row.corpora[String(c.c)];
      if (!cell) return el("td", { class: "muted" }, "–");
      return el("td", {},
        link("trace", { c: c.c, n: cell.n }, ...Object.entries(cell.statuses).map(([s, k]) => statusBadge(s, k))),
        el("div", { class: "muted" }, `${cell.tokens} tokens · ${cell.backtracks} backtracks`));
    }),
    el("td", {}, link("problem", { pkey: row.pkey }, "side by side"))));
  show(form, pager, el("table", { id: "problems" }, el("thead", {}, head), el("tbody", {}, ...rows)));
}

// -- trace page ----------------------------------------------------------------------------------

function paragraphKind(text) {
  if (/^(wait\b|hmm|hold on|no,|that('s| is) (wrong|not right))/i.test(text)) return "reflection";
  if (/\b(let me (go back|redo|try step)|go back to step|back to step|start over)\b/i.test(text)) return "backtrack";
  if (/\\boxed\{/.test(text)) return "answer";
  return "step";
}

function thoughtView(text) {
  const box = el("div", { class: "thought", id: "thought" });
  // paragraphs, and within one, a sentence that turns back ("Wait, ...", "Let me go back ...") starts a new segment
  const parts = String(text || "").split(/\n\s*\n/)
    .flatMap((p) => p.split(/(?<=[.!?])\s+(?=(?:Wait|Hmm|Hold on|Let me go back|Going back)\b)/));
  for (const part of parts) {
    if (!part.trim()) continue;
    const kind = paragraphKind(part.trim());
    box.append(el("p", { class: kind, dataset: { label: kind } }, part));
  }
  return box;
}

function eventsTable(events) {
  const head = el("tr", {}, ...["#", "kind", "role", "model", "text", "tokens in / out", "latency s", "calls", ""].map((h) => el("th", {}, h)));
  const rows = events.map((e, i) => el("tr", { class: "event" },
    el("td", {}, i + 1), el("td", {}, e.kind), el("td", {}, e.role), el("td", {}, e.model || ""),
    el("td", {}, el("div", { class: "pre" }, e.text), e.reasoning ? el("details", {}, el("summary", {}, "separate reasoning"), el("div", { class: "pre" }, e.reasoning)) : null),
    el("td", {}, `${e.tokens_in} / ${e.tokens_out}`), el("td", {}, (e.latency_s || 0).toFixed(2)),
    el("td", {}, e.calls > 1 ? `${e.calls} (retried)` : e.calls),
    el("td", {}, e.malformed ? "malformed" : e.correct === true ? "✓" : e.correct === false ? "✗" : "", e.score !== null && e.score !== undefined ? ` ${e.score}` : "")));
  return el("table", { id: "events" }, el("thead", {}, head), el("tbody", {}, ...rows));
}

function treeView(tree) {
  const nodes = new Map(tree.nodes.map((n) => [String(n.id), n]));
  const children = new Map();
  const parent = new Map();
  for (const e of tree.edges) {
    const s = String(e.source), t = String(e.target);
    if (!children.has(s)) children.set(s, []);
    children.get(s).push(t);
    parent.set(t, s);
  }
  // the path walked into the long thought: to the verified answer, else the deepest all-correct node
  let end = [...nodes.values()].find((n) => n.verified === true);
  if (!end) {
    const allCorrect = (id) => { for (let x = id; x !== undefined; x = parent.get(x)) if (!nodes.get(x).correct) return false; return true; };
    end = [...nodes.values()].filter((n) => !n.dead_end && allCorrect(String(n.id))).sort((a, b) => b.depth - a.depth)[0];
  }
  const onPath = new Set();
  for (let x = end ? String(end.id) : undefined; x !== undefined; x = parent.get(x)) onPath.add(x);
  const place = new Map();
  const rows = new Map();
  const order = (id, depth) => {
    const row = rows.get(depth) || 0;
    rows.set(depth, row + 1);
    place.set(id, { x: 30 + depth * 150, y: 24 + row * 36 });
    for (const kid of children.get(id) || []) order(kid, depth + 1);
  };
  order("0", 0);
  const width = 60 + Math.max(...[...place.values()].map((p) => p.x)), height = 40 + Math.max(...[...place.values()].map((p) => p.y));
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("id", "tree-svg");
  const detail = el("div", { id: "node-detail", class: "muted" }, "Click a node to read its step and the judge's reasoning.");
  for (const [t, s] of parent) {
    const a = place.get(s), b = place.get(t);
    const line = document.createElementNS(ns, "line");
    for (const [k, v] of Object.entries({ x1: a.x, y1: a.y, x2: b.x, y2: b.y })) line.setAttribute(k, v);
    line.setAttribute("stroke", onPath.has(t) && onPath.has(s) ? "#1565c0" : "#bbb");
    line.setAttribute("stroke-width", onPath.has(t) && onPath.has(s) ? 3 : 1);
    svg.append(line);
  }
  for (const [id, p] of place) {
    const n = nodes.get(id);
    const g = document.createElementNS(ns, "g");
    g.setAttribute("class", "node" + (onPath.has(id) ? " on-path" : ""));
    g.setAttribute("data-node", id);
    const circle = document.createElementNS(ns, "circle");
    circle.setAttribute("cx", p.x);
    circle.setAttribute("cy", p.y);
    circle.setAttribute("r", 10);
    const colour = id === "0" ? "#90a4ae" : n.dead_end ? "#ef6c00" : n.correct ? "#2e7d32" : "#c62828";
    circle.setAttribute("fill", colour);
    if (onPath.has(id)) { circle.setAttribute("stroke", "#1565c0"); circle.setAttribute("stroke-width", 3); }
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", p.x + 14);
    label.setAttribute("y", p.y + 4);
    label.setAttribute("font-size", "11");
    label.textContent = id === "0" ? "root" : (n.score !== undefined && n.score !== null ? Number(n.score).toFixed(2) : "");
    g.append(circle, label);
    g.addEventListener("click", () => {
      detail.className = "";
      detail.replaceChildren(
        el("div", {}, el("b", {}, `node ${id}`), ` depth ${n.depth} · ${id === "0" ? "root" : n.correct ? "correct" : "wrong"}`,
          n.dead_end ? " · dead end" : "", n.score !== undefined ? ` · score ${n.score} (${n.scorer || "critic"})` : ""),
        el("div", { class: "pre", id: "node-text" }, n.text || ""),
        n.reason ? el("div", { class: "pre muted", id: "node-reason" }, "Judge: " + n.reason) : null);
    });
    svg.append(g);
  }
  const failed = (tree.graph && tree.graph.failed_expansions) || [];
  return el("div", { class: "tree", id: "tree" }, el("h3", {}, "Search tree"),
    el("p", { class: "muted" }, "green: correct · red: wrong · orange: dead-end continuation · blue: the path walked into the long thought",
      failed.length ? ` · ${failed.length} failed expansions` : ""),
    svg, detail);
}

async function traceView(params) {
  const data = await api("trace", { c: params.get("c"), n: params.get("n") });
  const t = data.row;
  const sections = [el("h2", {}, `${data.corpus_name} · ${t.problem_id || ""}`, " ", t.status ? statusBadge(t.status) : null)];
  if (data.file === "failures.jsonl") {
    sections.push(el("p", { class: "pre" }, `failed: ${t.error || ""} ${t.reason || ""}`));
    show(...sections);
    return;
  }
  if (data.dropped) {
    sections.push(el("p", { class: "incorrect", id: "dropped" },
      `dropped by ${data.dropped.reason} (journey filter, into ${data.dropped.by}): ${data.dropped.detail || ""}`));
  }
  sections.push(el("p", { class: "pre", id: "question" }, t.question));
  sections.push(el("p", {}, `reference ${t.reference_answer} · final ${t.final_answer ?? "none"} · `,
    t.verified ? el("span", { class: "correct" }, "verified") : el("span", { class: "incorrect" }, "not verified"),
    ` · ${t.n_steps} steps · ${t.n_backtracks} backtracks · ${t.method} · config ${t.config_hash}`));
  const labelBox = el("div", { id: "label" });
  const renderLabel = (label) => labelBox.replaceChildren(label
    ? el("span", { class: "label-" + label.label, id: "current-label" }, `${label.label} (${label.who}, ${label.when})${label.note ? ": " + label.note : ""}`)
    : el("span", { class: "muted", id: "current-label" }, "no label"));
  renderLabel(data.label);
  const note = el("input", { id: "note", placeholder: "note" });
  const mark = (label) => async () => {
    const response = await fetch("/api/label", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ c: data.corpus, n: data.n, label, note: note.value }) });
    const body = await response.json();
    if (!response.ok) labelBox.replaceChildren(el("span", { class: "error" }, body.error));
    else renderLabel(body);
  };
  sections.push(el("div", {}, el("h3", {}, "Curation"), labelBox, note,
    el("button", { id: "keep", on: { click: mark("keep") } }, "keep"), el("button", { id: "drop", on: { click: mark("drop") } }, "drop")));
  const others = data.siblings.filter((s) => s.n !== data.n);
  if (others.length) {
    sections.push(el("p", { id: "siblings" }, "Other samples of this problem: ",
      ...others.map((s) => link("trace", { c: data.corpus, n: s.n }, statusBadge(s.status))), " ",
      link("problem", { pkey: data.pkey }, "side by side across corpora")));
  }
  sections.push(el("h3", {}, "Long thought"), thoughtView(t.long_thought));
  if (t.draft) sections.push(el("details", {}, el("summary", {}, `Draft before the rewrite (${t.rewrite})`), thoughtView(t.draft)));
  sections.push(el("h3", {}, "Summary"), el("div", { class: "pre" }, t.summary || ""));
  if (t.shape) sections.push(el("p", { class: "muted", id: "shape" }, Object.entries(t.shape).map(([k, v]) => `${k} ${v}`).join(" · ")));
  if (t.tree) sections.push(treeView(t.tree));
  sections.push(el("h3", {}, "Events"), eventsTable(t.events || []));
  show(...sections);
}

// -- side by side ----------------------------------------------------------------------------------

async function problemView(params) {
  const data = await api("problem", { pkey: params.get("pkey") });
  const first = data.columns.flatMap((c) => c.samples)[0];
  const columns = data.columns.map((col) => el("section", { class: "column" },
    el("h3", {}, col.name),
    ...(col.samples.length ? col.samples.map((s) => el("div", {},
      el("p", {}, s.status ? statusBadge(s.status) : statusBadge("failed"), " ", link("trace", { c: col.corpus, n: s._n }, "open"),
        s.usage ? ` · ${Object.values(s.usage).reduce((a, u) => a + u.tokens_in + u.tokens_out, 0)} tokens · ${s.n_backtracks} backtracks` : ""),
      thoughtView(s.long_thought || s.reason || ""))) : [el("p", { class: "muted" }, "no sample")])));
  show(el("h2", {}, "Side by side"), el("p", { class: "pre", id: "question" }, first ? first.question || "" : ""),
    el("div", { class: "columns", id: "columns" }, ...columns));
}

// -- eval runs --------------------------------------------------------------------------------------

async function evalView(params) {
  if (!SOURCES.evals.length) { show(el("p", {}, "No eval runs given.")); return; }
  const e = params.get("e") || "0";
  const other = params.get("other") || "";
  const query = { e };
  if (other) query.other = other;
  if (params.get("disagree")) query.disagree = "1";
  const data = await api("eval", query);
  const pick = (name, value, allowNone) => el("select", { name, id: "f-" + name },
    allowNone ? el("option", { value: "" }, "none") : null,
    ...SOURCES.evals.map((r) => el("option", { value: r.e, selected: String(r.e) === value }, r.name)));
  const form = el("form", { class: "filters", id: "eval-form" },
    el("label", {}, "run", pick("e", e, false)), el("label", {}, "against", pick("other", other, true)),
    el("label", {}, "disagreements only", el("input", { type: "checkbox", name: "disagree", id: "f-disagree", checked: !!params.get("disagree") })),
    el("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams({ e: form.elements.e.value });
    if (form.elements.other.value) next.set("other", form.elements.other.value);
    if (form.elements.disagree.checked) next.set("disagree", "1");
    location.hash = "#/eval?" + next.toString();
  });
  const verdict = (j) => j.decision === null || j.decision === undefined ? "unreadable"
    : j.decision === "tie" ? "tie" : `Response ${j.decision} (model ${j.model_score === 1 ? "better" : "worse"})`;
  // a judged general-task sample: its score and each of the judge's replies (critique, both orders)
  const judged = (s) => [
    el("span", { class: "score" }, s.score === null || s.score === undefined ? "unreadable" : `score ${s.score.toFixed(2)}`),
    ` · ${s.tokens_out} tokens`,
    el("details", {}, el("summary", {}, "output"), el("div", { class: "pre" }, s.output)),
    ...(s.judgments || []).map((j) => el("details", { class: "judgment" },
      el("summary", {}, `judge: ${j.kind}${j.order ? " (" + j.order + ")" : ""} → ${j.kind === "rubric" ? (j.rating ?? "unreadable") : verdict(j)}`),
      el("div", { class: "pre" }, j.output)))];
  const sampleList = (samples) => el("ol", {}, ...samples.map((s) => el("li", {},
    ...("judgments" in s ? judged(s) : [
      el("span", { class: s.correct ? "correct" : "incorrect" }, s.correct ? "correct" : "wrong"), ` · answer ${s.extracted ?? "none"} · ${s.tokens_out} tokens`,
      el("details", {}, el("summary", {}, "output"), el("div", { class: "pre" }, s.output))]))));
  const rows = data.rows.map((r) => el("tr", { class: "eval-row" },
    el("td", {}, r.problem_id), el("td", { class: "pre" }, r.question), el("td", {}, r.answer),
    el("td", {}, r.accuracy.toFixed(2), sampleList(r.samples)),
    data.other ? el("td", {}, r.other_accuracy === null ? "–" : r.other_accuracy.toFixed(2), sampleList(r.other_samples || [])) : null));
  show(form, el("p", { id: "total" }, `${data.rows.length} problems`),
    el("table", { id: "eval" }, el("thead", {}, el("tr", {}, el("th", {}, "problem"), el("th", {}, "question"), el("th", {}, "answer"),
      el("th", {}, data.run), data.other ? el("th", {}, data.other) : null)), el("tbody", {}, ...rows)));
}

// -- overlap ------------------------------------------------------------------------------------------

async function overlapView() {
  const cs = SOURCES.corpora;
  const head = el("tr", {}, el("th", {}, ""), ...cs.map((c) => el("th", {}, c.name)));
  const rows = [];
  for (const a of cs) {
    const cells = [];
    for (const b of cs) {
      const solved = a.c === b.c ? String(a.c) : `${a.c},${b.c}`;
      const data = await api("problems", { solved, per: "1" });
      cells.push(el("td", {}, link("corpora", { solved }, String(data.total))));
    }
    rows.push(el("tr", {}, el("th", {}, a.name), ...cells));
  }
  show(el("h2", {}, "Problems solved by both (overlap)"), el("p", { class: "muted" }, "Each cell links to the problems it counts."),
    el("table", { id: "overlap" }, el("thead", {}, head), el("tbody", {}, ...rows)));
}

async function render() {
  const { view, params } = route();
  try {
    if (view === "trace") await traceView(params);
    else if (view === "problem") await problemView(params);
    else if (view === "eval") await evalView(params);
    else if (view === "overlap") await overlapView();
    else await corporaView(params);
  } catch (error) {
    fail(error);
  }
}

async function start() {
  SOURCES = await api("sources");
  const nav = document.getElementById("nav");
  // the eval-runs link only when there are eval runs (a null child would print "null")
  nav.replaceChildren(...[link("corpora", {}, "corpora"), link("overlap", {}, "overlap"), SOURCES.evals.length ? link("eval", {}, "eval runs") : null].filter(Boolean));
  window.addEventListener("hashchange", render);
  await render();
}

start().catch(fail);
