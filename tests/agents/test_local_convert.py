"""The GGUF conversion's shared reader (agents.local._one_gguf_reader), on a small GGUF written here.

The conversion itself runs for real in tests/test_embedded.py."""

from __future__ import annotations

import numpy as np
import pytest

from agents import local

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
    with local._one_gguf_reader():
        first = gguf.GGUFReader(str(path))
        assert gguf.GGUFReader(path) is first  # transformers' second opening gets the same reader
        assert first.fields["general.name"].contents() == "small"
        assert np.array_equal(first.tensors[0].data, np.arange(12, dtype=np.float32).reshape(3, 4))
    assert gguf.GGUFReader is original
    assert gguf.GGUFReader(str(path)) is not first
