"""The runner's resume scan reads a line's head fields, and whole lines written any other way."""

from __future__ import annotations

import json

from synth.runner import scan_heads
from tests.trainer.tiny import journey_trace


def test_scan_heads_reads_ids_as_a_full_parse_would(tmp_path):
    written = journey_trace('p"1 ü', "What is 1 + 1?", "2")
    odd = {"config_hash": "abc", "problem_id": "p2", "id": "ffff", "other": 1}  # fields in another order
    path = tmp_path / "traces.jsonl"
    path.write_text(written.model_dump_json() + "\n" + json.dumps(odd) + "\n" + '{"id": "torn')
    heads = list(scan_heads(path))
    assert heads == [
        {"id": written.id, "problem_id": 'p"1 ü', "config_hash": written.config_hash},
        {"id": "ffff", "problem_id": "p2", "config_hash": "abc"},
    ]
    assert path.read_text().endswith("\n")  # the torn last line was cut off


def test_a_config_read_back_from_json_differs_only_where_it_really_does(tmp_path):
    from corpus.files import CorpusConfigError, record_config

    config = {"roles": {"policy": {"spec": "m@http://a/v1", "sampling": {"stop": ("\n",), "temperature": 0.7}}}}
    record_config(tmp_path, "h1", config, resume=False, add=False)
    changed = {"roles": {"policy": {"spec": "m@http://a/v1", "sampling": {"stop": ("\n",), "temperature": 0.2}}}}
    try:
        record_config(tmp_path, "h2", changed, resume=True, add=False)
    except CorpusConfigError as e:
        assert "temperature: 0.7 -> 0.2" in str(e) and "stop" not in str(e)  # a tuple read back as a list is no change
    else:
        raise AssertionError("a changed config was accepted")


def test_a_corpus_from_before_configs_were_recorded_is_judged_by_its_rows(tmp_path):
    from corpus.files import CONFIG, CorpusConfigError, record_config

    rows = [{"id": "t1", "problem_id": "p1", "config_hash": "old"}]
    (tmp_path / "traces.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    try:
        record_config(tmp_path, "new", {"method": "journey"}, resume=True, add=False)
    except CorpusConfigError as e:
        assert "holds traces of config old, and this run's config is new" in str(e)
    else:
        raise AssertionError("a corpus of another config was resumed")
    assert not (tmp_path / CONFIG).exists()  # refused before anything was written
    assert record_config(tmp_path, "old", {"method": "journey"}, resume=True, add=False) == ["old"]
    assert json.loads((tmp_path / CONFIG).read_text())["configs"] == {"old": {"method": "journey"}}


def test_add_config_into_a_directory_that_does_not_exist_yet(tmp_path):
    from corpus.files import record_config

    out = tmp_path / "new" / "corpus"
    assert record_config(out, "h", {"method": "journey"}, resume=True, add=True) == ["h"]
    assert json.loads((out / "config.json").read_text())["configs"] == {"h": {"method": "journey"}}
