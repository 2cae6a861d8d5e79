"""One rule for every JSONL file the project writes: a torn last line is left out (and cut by the
writer before it appends), a bad line elsewhere names file:line, every append starts a line."""

from __future__ import annotations

import json
import logging
import re
import shutil

import pytest

from corpus import jsonl
from corpus.artifacts import ArtifactError, check_output, kind_of, open_corpus, open_pairs, output
from tests.openai_server import OpenAIServer
from tests.test_synth_cli import problems_file, synth, traces, tutor


def test_a_torn_last_line_is_left_out_reported_once_and_the_file_untouched(tmp_path, caplog):
    path = tmp_path / "x.jsonl"
    body = '{"a": 1}\n\n{"a": 2}\n{"a": 3, "b'
    path.write_text(body)
    with caplog.at_level(logging.WARNING, logger="o1journey.jsonl"):
        assert list(jsonl.rows(path)) == [{"a": 1}, {"a": 2}]
        assert list(jsonl.rows(path)) == [{"a": 1}, {"a": 2}]
    assert path.read_text() == body  # a reader never modifies: the writer may still be appending
    assert len([r for r in caplog.records if "torn last line" in r.message]) == 1
    assert f"{path}:4" in caplog.records[0].message


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b'{"a": 1,}', "invalid JSON"),
        (b"[1, 2]", "not a JSON object (a list)"),
        (b'{"a": "\xff"}', "not UTF-8"),
        (b"null", "not a JSON object (a NoneType)"),
    ],
)
def test_a_bad_line_elsewhere_names_file_and_line(tmp_path, line, why):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\n' + line + b'\n{"a": 3}\n')
    with pytest.raises(jsonl.JsonlError, match="^" + re.escape(f"{path}:2: {why}")):
        list(jsonl.rows(path))
    marked = list(jsonl.scan(path))  # the viewer's way: the bad line is a row of its own
    assert [m.error is None for m in marked] == [True, False, True]


def test_an_append_starts_on_a_line_of_its_own(tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text('{"trace_id": "a", "label": "keep"}\n{"trace_id": "b", "lab')
    jsonl.append_rows(path, [{"trace_id": "c", "label": "drop"}])
    assert [r["trace_id"] for r in jsonl.rows(path)] == ["a", "c"]
    assert path.read_text().endswith('"drop"}\n')


def test_filter_drops_a_torn_line_and_keeps_the_file_on_a_bad_one(tmp_path):
    path = tmp_path / "failures.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b"}\n{"id": "c", "rea')
    jsonl.filter_rows(path, lambda r: r["id"] != "a")
    assert path.read_text() == '{"id": "b"}\n'
    path.write_text('{"id": "a"}\nnot json\n{"id": "c"}\n')
    with pytest.raises(jsonl.JsonlError, match=":2: invalid JSON"):
        jsonl.filter_rows(path, lambda r: True)
    assert path.read_text() == '{"id": "a"}\nnot json\n{"id": "c"}\n' and not (tmp_path / "failures.jsonl.tmp").exists()


def test_a_torn_failures_line_does_not_stop_a_resume(tmp_path):
    out = tmp_path / "corpus"
    problems = problems_file(tmp_path, 4)
    with OpenAIServer(tutor) as server:
        assert synth(server, problems, out, "--limit", "2").returncode == 0
        # a run killed while writing a failure and a trace
        with (out / "failures.jsonl").open("a") as f:
            f.write('{"id": "x", "problem_id": "q3", "rea')
        with (out / "traces.jsonl").open("a") as f:
            f.write('{"id": "torn", "problem_id": "q2", "ev')
        done = synth(server, problems, out, "--resume")
    assert done.returncode == 0, done.stderr
    assert sorted(r["problem_id"] for r in traces(out)) == ["q0", "q1", "q2", "q3"]
    assert list(jsonl.rows(out / "failures.jsonl")) == []
    assert (out / "failures.jsonl").read_text() == ""
    manifest = json.loads((out / "manifest.json").read_text())
    # the corpus took both runs: its wall time is their sum, the counts say their unit
    assert manifest["corpus"]["runs"] == 2 and manifest["corpus"]["wall_s"] >= manifest["this_run"]["wall_s"]
    assert manifest["this_run"]["job_unit"] == "sample" and manifest["this_run"]["attempted"] == 2


def test_labels_torn_and_bad(corpora, tmp_path):
    corpus_dir = tmp_path / "c"
    shutil.copytree(corpora["journey"], corpus_dir)
    first = json.loads((corpus_dir / "traces.jsonl").read_text().splitlines()[0])["id"]
    (corpus_dir / "labels.jsonl").write_text(
        json.dumps({"trace_id": first, "label": "drop"}) + '\n{"trace_id": "zz", "la'
    )
    corpus = open_corpus(corpus_dir)
    assert corpus.labels() == {first: {"trace_id": first, "label": "drop"}}
    corpus.add_label({"trace_id": first, "label": "keep"})
    assert corpus.labels()[first]["label"] == "keep"  # appended on a line of its own, the last one holds
    (corpus_dir / "labels.jsonl").write_text("garbage\n" + (corpus_dir / "labels.jsonl").read_text())
    with pytest.raises(jsonl.JsonlError, match=r"labels.jsonl:1: invalid JSON"):
        corpus.labels()
    # the viewer shows the trace with the label error, not a 500
    from view.queries import load_sources, trace

    sources = load_sources([corpus_dir])
    page = trace(sources, 0, 1)
    assert page["row"]["id"] and "labels.jsonl:1" in page["label"]["error"]


def test_pairs_file_rules(corpora, tmp_path):
    from tests.test_chain import journey

    out = tmp_path / "pairs"
    assert journey("pairs", str(corpora["journey"]), "--kind", "journey-vs-shortcut", "--out", str(out)).returncode == 0
    n = len(list(open_pairs(out).numbered()))
    with (out / "pairs.jsonl").open("a") as f:
        f.write('{"prompt": [')
    assert len(list(open_pairs(out).numbered())) == n


def test_kinds_and_the_out_rule(corpora, tmp_path):
    assert kind_of(corpora["journey"]) == ("corpus", 1)
    with pytest.raises(ArtifactError, match="is a corpus, not a pairs directory"):
        open_pairs(corpora["journey"])
    with pytest.raises(ArtifactError, match="--out is empty"):
        check_output("", "pairs")
    with pytest.raises(ArtifactError, match="holds an input"):
        check_output(corpora["journey"].parent, "pairs", (corpora["journey"],))
    with pytest.raises(ArtifactError, match="holds a corpus"):
        check_output(corpora["journey"], "eval")
    newer = tmp_path / "newer"
    newer.mkdir()
    (newer / "artifact.json").write_text(json.dumps({"kind": "corpus", "format": 99}))
    with pytest.raises(ArtifactError, match="format 99, newer than this o1-journey reads"):
        open_corpus(newer)
    # an error inside removes what the run created, and only that
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "mine.txt").write_text("x")
    with pytest.raises(RuntimeError), output(kept, "report") as out:
        (out / "report.md").write_text("half")
        raise RuntimeError
    assert sorted(p.name for p in kept.iterdir()) == ["mine.txt"]
    with pytest.raises(RuntimeError), output(tmp_path / "fresh", "report"):
        raise RuntimeError
    assert not (tmp_path / "fresh").exists()


def test_a_corpus_from_before_the_marker_still_reads(corpora, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(corpora["distill"], old)
    (old / "artifact.json").unlink()
    (old / "config.json").unlink()
    corpus = open_corpus(old, finished=True)
    assert corpus.format == 0 and corpus.config_hash == json.loads((old / "manifest.json").read_text())["config_hash"]
    assert len(list(corpus.traces())) == len((old / "traces.jsonl").read_text().splitlines())
