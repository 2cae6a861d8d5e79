"""Gemma 3 (text) in plain torch, for the engine: the arithmetic of transformers' ``modeling_gemma3``
without importing transformers.

Why: on 2 cores, importing transformers' model code took 2.4 of the engine's 4.7 s start, and the
engine starts in front of every ``journey synth`` on the embedded model. The forward pass here does
the same operations in the same order and dtypes (RMSNorm in float32 then cast, bfloat16 embedding
scale, rotary tables in float32 then cast, the additive mask at the dtype's minimum, softmax in
float32), so its logits are bit-identical to transformers' (tests/agents/test_gemma3.py checks that
in float32 and bfloat16, through prefill with a reused prefix and padded batched decoding).
Changes that keep the numbers: the query/key/value projections run as one matrix, and so do the
gate and up projections (the weights are concatenated once at load); in bfloat16 on CPU every weight
is reordered once into oneDNN's blocked layout, which halves the output layer's time (:func:`pack`).

Only what the engine calls is here: a forward over new tokens given a cache, with a 2-D padding
mask, returning the last positions' logits. A checkpoint this module does not cover
(:func:`unsupported` says why from its config, or loading raises :class:`Unsupported` for weights
it does not expect) is served through transformers instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

LAYER_TYPES = ("sliding_attention", "full_attention")
REQUIRED = (
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "rms_norm_eps",
    "query_pre_attn_scalar",
    "sliding_window",
    "vocab_size",
)


class Unsupported(ValueError):
    """A checkpoint this module does not run (the engine then runs it through transformers)."""


def weight_files(checkpoint: Path) -> list[Path] | None:
    """The safetensors files of a checkpoint (one file, or the shards an index names), or None."""
    single = checkpoint / "model.safetensors"
    if single.exists():
        return [single]
    index = checkpoint / "model.safetensors.index.json"
    if index.exists():
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        return [checkpoint / shard for shard in shards]
    return None


def unsupported(config: dict, checkpoint: Path) -> str | None:
    """Why this checkpoint cannot run here (then transformers serves it), or None when it can."""
    if config.get("model_type") != "gemma3_text":
        return f"model_type {config.get('model_type')!r} is not gemma3_text"
    missing = [key for key in REQUIRED if not isinstance(config.get(key), (int, float))]
    if missing:
        return f"config.json lacks {', '.join(missing)}"
    types = config.get("layer_types")
    if not isinstance(types, list) or len(types) != config["num_hidden_layers"] or set(types) - set(LAYER_TYPES):
        return "config.json has no layer_types for every layer"
    rope = config.get("rope_parameters")
    if not isinstance(rope, dict) or any(
        not isinstance(rope.get(kind), dict) or rope[kind].get("rope_type") != "default" for kind in set(types)
    ):
        return "rope_parameters other than the default rotary embedding per layer type"
    if config.get("hidden_activation") != "gelu_pytorch_tanh":
        return f"hidden_activation {config.get('hidden_activation')!r}"
    if config.get("use_bidirectional_attention") or config.get("attention_bias"):
        return "bidirectional attention or attention biases"
    if weight_files(checkpoint) is None:
        return "no model.safetensors"
    return None


def grouped_attention(module, query, key, value, attention_mask, dropout=0.0, scaling=None, softcap=None, **kwargs):
    """Eager attention without copying each key/value head for every query head it serves.

    The query heads of a group ride along the time axis of their one key/value head, so the shared
    head is read in place: on 2 cores ``repeat_kv``'s copies were a sixth of a decode step (Gemma 3
    270M has 4 query heads on 1 key/value head). The signature is transformers' attention interface,
    so the engine registers the same function there for checkpoints served through transformers.
    """
    import torch

    batch, heads, length, dim = query.shape
    groups = heads // key.shape[1]
    query = query.reshape(batch, key.shape[1], groups * length, dim)
    scores = torch.matmul(query, key.transpose(2, 3)) * (dim**-0.5 if scaling is None else scaling)
    if softcap is not None:
        scores = torch.tanh(scores / softcap) * softcap
    if attention_mask is not None:
        shape = scores.shape
        scores = (scores.view(batch, key.shape[1], groups, length, -1) + attention_mask.unsqueeze(2)).view(shape)
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    out = torch.matmul(probs, value).view(batch, heads, length, dim)
    return out.transpose(1, 2).contiguous(), None


def pack(weight):
    """A bfloat16 weight in oneDNN's blocked layout, reordered once: each product then reads it as is
    instead of reordering it again (the products are bit-identical; on 2 cores the output layer at
    4 rows took 11 ms instead of 22, a decode step's other products 10 instead of 14)."""
    import torch

    return torch.ops.mkldnn._reorder_linear_weight(weight, None)


def packing_works() -> bool:
    """Whether this torch has oneDNN's packed bfloat16 products, and they give what ``linear`` gives
    (a private op of torch's own compiler: checked here rather than trusted)."""
    import torch

    try:
        if not torch.backends.mkldnn.is_available():
            return False
        generator = torch.Generator().manual_seed(0)
        weight = torch.randn(96, 64, generator=generator).to(torch.bfloat16)
        x = torch.randn(3, 64, generator=generator).to(torch.bfloat16)
        got = torch.ops.mkldnn._linear_pointwise(x, pack(weight), None, "none", [], "")
        return bool(torch.equal(got, torch.nn.functional.linear(x, weight)))
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


class _Layer:
    __slots__ = ("keys", "values")

    def __init__(self, keys, values):
        self.keys, self.values = keys, values


class Cache:
    """Key/value states per layer, ``[batch, kv_heads, time, head_dim]``, grown by each forward pass
    (the subset of transformers' ``DynamicCache`` the engine uses)."""

    def __init__(self, ddp_cache_data=None):
        self.layers = [_Layer(k, v) for k, v in ddp_cache_data or ()]

    def get_seq_length(self) -> int:
        return self.layers[0].keys.shape[-2] if self.layers else 0

    def update(self, keys, values, index: int):
        import torch

        if index == len(self.layers):
            self.layers.append(_Layer(keys, values))
        else:
            layer = self.layers[index]
            layer.keys = torch.cat([layer.keys, keys], dim=-2)
            layer.values = torch.cat([layer.values, values], dim=-2)
        return self.layers[index].keys, self.layers[index].values


class Gemma3:
    """A Gemma 3 text checkpoint's weights and the forward pass the engine runs."""

    def __init__(self, checkpoint: str | Path, dtype: str, device: str = "cpu"):
        import torch
        from safetensors import safe_open

        self.torch = torch
        checkpoint = Path(checkpoint)
        config = json.loads((checkpoint / "config.json").read_text())
        reason = unsupported(config, checkpoint)
        if reason:
            raise Unsupported(f"{checkpoint}: {reason}")
        self.config = SimpleNamespace(**config)
        self.dtype = getattr(torch, dtype)
        self.device = device
        tensors: dict[str, Any] = {}
        for file in weight_files(checkpoint):
            with safe_open(str(file), framework="pt", device="cpu") as f:
                for name in f.keys():
                    # the dtype conversion transformers' from_pretrained(dtype=...) makes
                    tensors[name] = f.get_tensor(name).to(device=device, dtype=self.dtype)

        def take(name: str):
            try:
                return tensors.pop(name)
            except KeyError:
                raise Unsupported(f"{checkpoint}: no weight {name}") from None

        def scale(name: str):  # Gemma's RMSNorm multiplies by (1 + weight), in float32
            return 1.0 + take(name).float()

        c = self.config
        self.heads, self.kv_heads, self.head_dim = c.num_attention_heads, c.num_key_value_heads, c.head_dim
        self.eps = c.rms_norm_eps
        self.scaling = c.query_pre_attn_scalar**-0.5
        self.attn_softcap = getattr(c, "attn_logit_softcapping", None)
        self.final_softcap = getattr(c, "final_logit_softcapping", None)
        self.embed = take("model.embed_tokens.weight")
        self.embed_scale = torch.tensor(c.hidden_size**0.5).to(self.dtype)
        self.lm_head = tensors.pop("lm_head.weight", None)
        if self.lm_head is None or getattr(c, "tie_word_embeddings", True):
            self.lm_head = self.embed
        self.norm = scale("model.norm.weight")
        self.layers = []
        for i, kind in enumerate(c.layer_types):
            p = f"model.layers.{i}."
            self.layers.append(
                SimpleNamespace(
                    kind=kind,
                    window=c.sliding_window if kind == "sliding_attention" else None,
                    qkv=torch.cat([take(p + f"self_attn.{x}_proj.weight") for x in "qkv"]),
                    o=take(p + "self_attn.o_proj.weight"),
                    gate_up=torch.cat([take(p + "mlp.gate_proj.weight"), take(p + "mlp.up_proj.weight")]),
                    down=take(p + "mlp.down_proj.weight"),
                    q_norm=scale(p + "self_attn.q_norm.weight"),
                    k_norm=scale(p + "self_attn.k_norm.weight"),
                    input_norm=scale(p + "input_layernorm.weight"),
                    post_attention_norm=scale(p + "post_attention_layernorm.weight"),
                    pre_feedforward_norm=scale(p + "pre_feedforward_layernorm.weight"),
                    post_feedforward_norm=scale(p + "post_feedforward_layernorm.weight"),
                )
            )
        if tensors:
            raise Unsupported(f"{checkpoint}: weights this model does not use: {', '.join(sorted(tensors)[:5])}")
        self.packed = self.device == "cpu" and self.dtype == torch.bfloat16 and packing_works()
        if self.packed:
            self.lm_head = pack(self.lm_head)
            for layer in self.layers:
                for name in ("qkv", "o", "gate_up", "down"):
                    setattr(layer, name, pack(getattr(layer, name)))
        dim = self.head_dim
        self.inv_freq = {
            kind: (
                1.0 / (c.rope_parameters[kind]["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))
            ).to(device)
            for kind in set(c.layer_types)
        }

    def _linear(self, x, weight):
        if self.packed:
            return self.torch.ops.mkldnn._linear_pointwise(x, weight, None, "none", [], "")
        return self.torch.nn.functional.linear(x, weight)

    def _rms(self, x, scale):
        torch = self.torch
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps) * scale).type_as(x)

    def _rope(self, position_ids, kind: str):
        freqs = position_ids[..., None].float() * self.inv_freq[kind]
        emb = self.torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(self.dtype).unsqueeze(1), emb.sin().to(self.dtype).unsqueeze(1)

    def _mask(self, attention_mask, past: int, length: int, window: int | None):
        """transformers' eager mask: 0 where a query may attend, the dtype's minimum elsewhere."""
        torch = self.torch
        q = torch.arange(past, past + length, device=self.device)[:, None]
        kv = torch.arange(attention_mask.shape[1], device=self.device)[None, :]
        allowed = kv <= q
        if window is not None:
            allowed = allowed & (kv > q - window)
        allowed = allowed[None, None] & attention_mask[:, None, None, :].bool()
        zero = torch.tensor(0.0, dtype=self.dtype, device=self.device)
        return torch.where(allowed, zero, torch.finfo(self.dtype).min)

    def __call__(
        self, input_ids, position_ids, attention_mask, past_key_values: Cache, logits_to_keep: int = 1, **_
    ) -> SimpleNamespace:
        torch = self.torch
        functional = torch.nn.functional
        batch, length = input_ids.shape
        past = past_key_values.get_seq_length()
        x = functional.embedding(input_ids, self.embed) * self.embed_scale
        rope = {kind: self._rope(position_ids, kind) for kind in self.inv_freq}
        masks: dict[int | None, Any] = {}
        heads, kv_heads, dim = self.heads, self.kv_heads, self.head_dim
        for index, layer in enumerate(self.layers):
            if layer.window not in masks:
                masks[layer.window] = self._mask(attention_mask, past, length, layer.window)
            h = self._rms(x, layer.input_norm)
            q, k, v = self._linear(h, layer.qkv).split([heads * dim, kv_heads * dim, kv_heads * dim], dim=-1)
            q = self._rms(q.view(batch, length, heads, dim).transpose(1, 2), layer.q_norm)
            k = self._rms(k.view(batch, length, kv_heads, dim).transpose(1, 2), layer.k_norm)
            v = v.reshape(batch, length, kv_heads, dim).transpose(1, 2)
            cos, sin = rope[layer.kind]
            q = q * cos + torch.cat((-q[..., dim // 2 :], q[..., : dim // 2]), dim=-1) * sin
            k = k * cos + torch.cat((-k[..., dim // 2 :], k[..., : dim // 2]), dim=-1) * sin
            k, v = past_key_values.update(k, v, index)
            out, _ = grouped_attention(
                None, q, k, v, masks[layer.window], scaling=self.scaling, softcap=self.attn_softcap
            )
            out = self._linear(out.reshape(batch, length, -1), layer.o)
            x = x + self._rms(out, layer.post_attention_norm)
            gate, up = self._linear(self._rms(x, layer.pre_feedforward_norm), layer.gate_up).chunk(2, dim=-1)
            out = self._linear(functional.gelu(gate, approximate="tanh") * up, layer.down)
            x = x + self._rms(out, layer.post_feedforward_norm)
        x = self._rms(x, self.norm)
        kept = x[:, -logits_to_keep:]
        # as 2-D: a [1, 1, hidden] slice of a longer prompt keeps its parent's strides, and torch then
        # multiplies it by an expanded copy of the 262,144-row output matrix (0.75 s, measured)
        logits = self._linear(kept.reshape(-1, kept.shape[-1]), self.lm_head).view(*kept.shape[:2], -1)
        if self.final_softcap is not None:
            logits = torch.tanh(logits / self.final_softcap) * self.final_softcap
        return SimpleNamespace(logits=logits, past_key_values=past_key_values)
