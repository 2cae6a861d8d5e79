"""Mixtures: shares follow the weights, dedup and decontamination follow their stated rules, bad input is named."""

from __future__ import annotations

import json
from collections import Counter

import datasets
import pytest

from tests.trainer.tiny import arithmetic, journey_trace, write_corpus
from trainer.format import trace_messages
from trainer.mixture import (
    Decontaminator,
    MixtureError,
    allocate,
    build_mixture,
    parse_sources,
)


def words(messages) -> int:
    """A stand-in token count: the words of the conversation."""
    return sum(len(m["content"].split()) for m in messages)


def build(raw_sources, max_length=None, **kwargs):
    return build_mixture(parse_sources(raw_sources), length=words, max_length=max_length, **kwargs)


@pytest.mark.parametrize(
    ("available", "weights", "size", "expected"),
    [
        ([40, 40, 40], [1, 2, 3], None, [13, 27, 40]),  # the weight-3 source is the scarcest: 40 / 0.5 = 80
        ([100, 10], [1, 1], None, [10, 10]),
        ([100, 100], [3, 1], 10, [8, 2]),  # 7.5 / 2.5: the tie of remainders goes to the first
    ],
)
def test_allocate(available, weights, size, expected):
    assert allocate(available, weights, size) == expected


def test_shares_follow_the_weights_and_the_mixture_is_written(tmp_path):
    a = write_corpus(tmp_path / "a", arithmetic(40))
    b = write_corpus(tmp_path / "b", arithmetic(40, offset=100))
    c = write_corpus(tmp_path / "c", arithmetic(40, offset=200))
    mixture = build(
        [{"corpus": str(a), "weight": 1}, {"corpus": str(b), "weight": 2}, {"corpus": str(c), "weight": 3, "name": "C"}]
    )
    mixture.write(tmp_path / "out")
    rows = [json.loads(line) for line in (tmp_path / "out" / "mixture.jsonl").read_text().splitlines()]
    counts = Counter(r["source"] for r in rows)
    total = len(rows)
    assert total == mixture.report["total"] == 80
    for label, weight in ((str(a), 1), (str(b), 2), ("C", 3)):
        assert abs(counts[label] / total - weight / 6) <= 1 / total
        assert mixture.report["sources"][label]["selected"] == counts[label]
    # no source repeats a sample when it is not asked to upsample
    assert len({(r["source"], r["problem_id"]) for r in rows}) == total
    assert rows[0]["messages"][1]["content"].startswith("<think>")


def test_a_size_beyond_the_data_needs_upsample(tmp_path):
    a = write_corpus(tmp_path / "a", arithmetic(5))
    b = write_corpus(tmp_path / "b", arithmetic(20, offset=100))
    with pytest.raises(MixtureError, match="has 5 samples but the mixture needs 10"):
        build([{"corpus": str(a)}, {"corpus": str(b)}], size=20)
    mixture = build([{"corpus": str(a)}, {"corpus": str(b)}], size=20, upsample=True)
    assert Counter(s.source for s in mixture.samples) == {str(a): 10, str(b): 10}
    assert mixture.report["sources"][str(a)]["repeated"] == 5
    assert Counter(s.problem_id for s in mixture.samples if s.source == str(a)) == {f"q{i}": 2 for i in range(5)}


def test_dedup_keeps_a_problem_with_the_heavier_source_and_ties_with_the_first_listed(tmp_path):
    shared = arithmetic(10)
    light = write_corpus(tmp_path / "light", shared)
    heavy = write_corpus(tmp_path / "heavy", shared[:4] + arithmetic(6, offset=50))
    mixture = build(
        [{"corpus": str(light), "weight": 1, "name": "light"}, {"corpus": str(heavy), "weight": 1.5, "name": "heavy"}]
    )
    report = mixture.report["sources"]
    assert report["light"]["dropped"]["duplicate"] == 4 and report["light"]["available"] == 6
    assert "duplicate" not in report["heavy"]["dropped"]
    tie = build([{"corpus": str(heavy), "name": "first"}, {"corpus": str(light), "name": "second"}])
    assert tie.report["sources"]["second"]["dropped"]["duplicate"] == 4


def test_decontamination_drops_eval_problems_and_reports_them(tmp_path):
    traces = arithmetic(10) + [
        journey_trace("leak", "Find the remainder when 2 to the power 100 is divided by 7.", "2"),
        journey_trace("near", "Compute the remainder when 2 to the power 100 is divided by 7, please", "2"),
    ]
    corpus = write_corpus(tmp_path / "c", traces)
    eval_file = tmp_path / "math500.jsonl"
    eval_file.write_text(
        json.dumps(
            {
                "unique_id": "test/nt/1.json",
                "problem": "Find the remainder when 2 to the power 100 is divided by 7.",
                "answer": "2",
            }
        )
        + "\n"
    )
    from trainer.mixture import load_eval_sets

    mixture = build([{"corpus": str(corpus)}], decontaminator=load_eval_sets([str(eval_file)], n=8, threshold=0.5))
    dropped = {row["problem_id"]: row for row in mixture.contaminated}
    assert set(dropped) == {"leak", "near"}
    assert dropped["leak"] == {
        "source": str(corpus),
        "problem_id": "leak",
        "overlap": 1.0,
        "eval_set": str(eval_file),
        "eval_id": "test/nt/1.json",
    }
    assert 0.5 <= dropped["near"]["overlap"] < 1.0
    assert mixture.report["sources"][str(corpus)]["dropped"]["contaminated"] == 2
    assert {s.problem_id for s in mixture.samples} == {f"q{i}" for i in range(10)}
    mixture.write(tmp_path / "out")
    assert len((tmp_path / "out" / "decontamination.jsonl").read_text().splitlines()) == 2


def test_overlap_is_the_share_of_the_training_questions_ngrams():
    deco = Decontaminator(n=2, threshold=0.5)
    deco.add("ev", [("e1", "alpha beta gamma delta")])
    assert deco.check("alpha beta gamma delta") == (1.0, ("ev", "e1"))
    assert deco.check("alpha beta zeta eta theta") == (0.25, ("ev", "e1"))
    assert deco.check("nothing in common here") == (0.0, None)


def test_filters_and_caps_are_counted(tmp_path):
    traces = (
        arithmetic(6)
        + arithmetic(4, offset=10, verified=False)
        + arithmetic(3, offset=20, method="distill")
        + arithmetic(2, offset=30, model="teacher")
    )
    corpus = write_corpus(tmp_path / "c", traces)
    mixture = build([{"corpus": str(corpus), "methods": ["journey"], "models": ["m1"]}])
    assert mixture.report["sources"][str(corpus)]["dropped"] == {"unverified": 4, "method": 3, "model": 2}
    assert mixture.report["sources"][str(corpus)]["read"] == 15
    capped = build([{"corpus": str(corpus), "cap": 5}])
    assert capped.report["total"] == 5 and capped.report["sources"][str(corpus)]["dropped"]["cap"] == 6
    long_one = journey_trace("long", "What is 1 plus 2? " + "Think about it step by step. " * 20, "3")
    corpus = write_corpus(tmp_path / "d", arithmetic(4) + [long_one])
    limit = words(trace_messages(long_one.model_dump())) - 1
    for source, max_length in (({"corpus": str(corpus), "max_tokens": limit}, None), ({"corpus": str(corpus)}, limit)):
        short = build([source], max_length=max_length)
        assert short.report["sources"][str(corpus)]["dropped"] == {"too_long": 1}
        assert "long" not in {s.problem_id for s in short.samples}


def test_chat_jsonl_and_saved_datasets(tmp_path):
    chat = tmp_path / "human.jsonl"
    chat.write_text(
        json.dumps(
            {
                "id": "h1",
                "messages": [
                    {"role": "user", "content": "What is 2 plus 2?"},
                    {"role": "assistant", "content": "Hmm, 2 and 2... \\boxed{4}"},
                ],
            }
        )
        + "\n"
        + json.dumps(
            {
                "messages": [
                    {"role": "user", "content": "What is 3 plus 3?"},
                    {"role": "assistant", "content": "\\boxed{7}"},
                ],
                "verified": False,
            }
        )
        + "\n"
    )
    saved = tmp_path / "ds"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list(
                [
                    {
                        "problem": "What is 5 plus 5?",
                        "long_thought": "5 and 5 make 10.",
                        "answer": "The answer is \\boxed{10}.",
                    },
                    {
                        "problem": "What is 6 plus 6?",
                        "long_thought": "6 and 6 make 12.",
                        "answer": "The answer is \\boxed{12}.",
                    },
                ]
            )
        }
    ).save_to_disk(str(saved))
    mixture = build([{"jsonl": str(chat), "name": "human"}, {"dataset": str(saved), "name": "hf"}])
    by_source = {s.source: s for s in mixture.samples}
    assert by_source["human"].problem_id == "h1"
    assert mixture.report["sources"]["human"]["dropped"] == {"unverified": 1}
    assert (
        by_source["hf"].messages[1]["content"].startswith("<think>\n")
        and "\\boxed{" in by_source["hf"].messages[1]["content"]
    )
    with pytest.raises(MixtureError, match="no split 'test'"):
        build([{"dataset": str(saved), "split": "test"}])


def test_bad_input_names_the_source_and_line(tmp_path):
    corpus = write_corpus(tmp_path / "c", arithmetic(3))
    with (corpus / "traces.jsonl").open("a") as f:
        f.write('{"problem_id": "x", "question": \n')
    with pytest.raises(MixtureError, match=r"traces.jsonl:4: invalid JSON"):
        build([{"corpus": str(corpus)}])
    chat = tmp_path / "bad.jsonl"
    chat.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    with pytest.raises(
        MixtureError, match=r"bad.jsonl:1: a conversation needs a user turn and must end with an assistant turn"
    ):
        build([{"jsonl": str(chat)}])
    with pytest.raises(MixtureError, match="exactly one of corpus, dataset, jsonl"):
        parse_sources([{"corpus": "a", "jsonl": "b"}])
    with pytest.raises(MixtureError, match="source 1: wieght: Extra inputs"):
        parse_sources([{"corpus": "a", "wieght": 2}])
    with pytest.raises(MixtureError, match="is no such directory, not a corpus"):
        build([{"corpus": str(tmp_path / "missing")}])
    with pytest.raises(MixtureError, match="no samples left"):
        build([{"corpus": str(write_corpus(tmp_path / "u", arithmetic(2, verified=False)))}])


def test_rejected_traces_as_a_source(corpora):
    """verified_only: false with include_rejected takes every sample of a corpus, whatever its answer
    (an all-traces arm against a verified-only one at equal counts)."""
    distill = str(corpora["distill"])
    verified = build([{"corpus": distill}])
    everything = build([{"corpus": distill, "verified_only": False, "include_rejected": True}])
    n_traces = len((corpora["distill"] / "traces.jsonl").read_text().splitlines())
    n_rejected = len((corpora["distill"] / "rejected.jsonl").read_text().splitlines())
    assert n_rejected > 0
    assert len(verified.samples) == n_traces and len(everything.samples) == n_traces + n_rejected
