"""agents/gemma3.py against transformers' Gemma 3: the same logits, bit for bit.

A tiny Gemma 3 whose sliding window (8) is shorter than its prompts on one layer, with attention
weights scaled up so that every key counts. Each forward the engine makes is compared: a prompt,
the rest of it on the first part's cache (prefix reuse), then batched decoding of two sequences of
different lengths in one left-padded cache.
"""

from __future__ import annotations

import json

import pytest

from tests.trainer.tiny import build_tiny_model

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    texts = [f"{a} plus {b} is {a + b}. Then {a} times {b} is {a * b}." for a in range(20) for b in range(5)]
    out = build_tiny_model(
        tmp_path_factory.mktemp("gemma3"), texts, sliding_window=8, layer_types=["sliding_attention", "full_attention"]
    )
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    with torch.no_grad():
        for layer in model.model.layers:
            for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
                getattr(layer.self_attn, proj).weight.mul_(30.0)
            for norm in ("input_layernorm", "post_feedforward_layernorm"):
                getattr(layer, norm).weight.normal_(0.0, 0.5)  # Gemma scales by 1 + weight: make it count
    model.save_pretrained(out)
    return out


def forwards(model, new_cache, ids: torch.Tensor) -> list[torch.Tensor]:
    """The logits of each forward pass the engine makes, in order."""
    logits = []
    with torch.inference_mode():
        ones = torch.ones(1, 40, dtype=torch.long)
        out = model(
            input_ids=ids[:, :25],
            position_ids=torch.arange(25)[None],
            attention_mask=ones[:, :25],
            past_key_values=new_cache(),
            use_cache=True,
            logits_to_keep=1,
        )
        logits.append(out.logits)
        out = model(
            input_ids=ids[:, 25:],
            position_ids=torch.arange(25, 40)[None],
            attention_mask=ones,
            past_key_values=out.past_key_values,
            use_cache=True,
            logits_to_keep=1,
        )
        logits.append(out.logits)
        # row 0: all 40 tokens; row 1: the first 30, left-padded by 10
        pairs = []
        for layer in out.past_key_values.layers:
            pad = [torch.nn.functional.pad(x[:, :, :30], (0, 0, 10, 0)) for x in (layer.keys, layer.values)]
            pairs.append((torch.cat([layer.keys, pad[0]]), torch.cat([layer.values, pad[1]])))
        cache = new_cache(ddp_cache_data=pairs)
        for step in range(12):  # past the 8-token window
            mask = torch.ones(2, 41 + step, dtype=torch.long)
            mask[1, :10] = 0
            out = model(
                input_ids=torch.tensor([[7 + step], [9 + step]]),
                position_ids=torch.tensor([[40 + step], [30 + step]]),
                attention_mask=mask,
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=1,
            )
            cache = out.past_key_values
            logits.append(out.logits)
    return logits


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_logits_are_bit_identical_to_transformers(model_dir, dtype):
    from transformers import AutoModelForCausalLM, DynamicCache

    from agents.engine import register_attention
    from agents.gemma3 import Cache, Gemma3

    reference = AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=getattr(torch, dtype), attn_implementation=register_attention()
    ).eval()
    ours = Gemma3(model_dir, dtype)
    if dtype == "bfloat16":
        print(f"oneDNN packed weights: {ours.packed}")
    ids = torch.randint(5, reference.config.vocab_size, (1, 40), generator=torch.Generator().manual_seed(0))
    expected = forwards(reference, DynamicCache, ids)
    got = forwards(ours, Cache, ids)
    assert len(got) == len(expected) == 14
    for a, b in zip(expected, got, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert torch.equal(a, b), (a - b).abs().max()
    # and the model is not degenerate: the positions give different next-token logits
    assert not torch.equal(got[-1][0], got[-1][1])


def test_packed_weights_give_what_linear_gives():
    from agents.gemma3 import pack, packing_works

    if not packing_works():
        pytest.skip("this torch has no oneDNN packed bfloat16 products")
    generator = torch.Generator().manual_seed(1)
    for rows, cols in ((262, 64), (1536, 640)):
        weight = torch.randn(rows, cols, generator=generator).to(torch.bfloat16)
        packed = pack(weight)
        for batch in (1, 4, 55):
            x = torch.randn(batch, cols, generator=generator).to(torch.bfloat16)
            got = torch.ops.mkldnn._linear_pointwise(x, packed, None, "none", [], "")
            assert torch.equal(got, torch.nn.functional.linear(x, weight))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"model_type": "llama"}, "is not gemma3_text"),
        ({"layer_types": None}, "no layer_types"),
        ({"rope_parameters": {"sliding_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1e4}}}, "rope"),
        ({"hidden_activation": "gelu"}, "hidden_activation"),
        ({"head_dim": None}, "lacks head_dim"),
    ],
)
def test_checkpoints_it_does_not_cover_go_to_transformers(model_dir, tmp_path, change, reason):
    from agents.engine import Engine
    from agents.gemma3 import unsupported

    config = json.loads((model_dir / "config.json").read_text())
    assert unsupported(config, model_dir) is None
    changed = config | change
    assert reason in unsupported(changed, model_dir)
    if change.get("model_type") == "llama" or change.get("head_dim", 0) is None:
        return  # transformers itself cannot load these
    for file in model_dir.iterdir():
        (tmp_path / file.name).write_bytes(file.read_bytes())
    (tmp_path / "config.json").write_text(json.dumps(changed))
    engine = Engine(tmp_path, "float32")
    assert engine.implementation == "transformers"


def test_a_checkpoint_without_safetensors_is_not_covered(model_dir, tmp_path):
    from agents.gemma3 import unsupported

    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    config = json.loads((model_dir / "config.json").read_text())
    assert unsupported(config, tmp_path) == "no model.safetensors"


def test_a_checkpoint_with_weights_it_does_not_know_goes_to_transformers(model_dir, tmp_path):
    from safetensors.torch import load_file, save_file

    from agents.engine import Engine
    from agents.gemma3 import Gemma3, Unsupported

    for file in model_dir.iterdir():
        (tmp_path / file.name).write_bytes(file.read_bytes())
    weights = load_file(tmp_path / "model.safetensors")
    weights["model.layers.0.self_attn.extra.weight"] = torch.zeros(2)
    save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(Unsupported, match="weights this model does not use"):
        Gemma3(tmp_path, "float32")
    assert Engine(tmp_path, "float32").implementation == "transformers"
