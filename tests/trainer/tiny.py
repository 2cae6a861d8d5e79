"""Tiny offline stand-ins for the trainer tests: a corpus written with the real trace schema, a BPE
tokenizer trained here with ``tokenizers``, and a two-layer Gemma 3 built from a config."""

from __future__ import annotations

from pathlib import Path

from corpus import render
from corpus.events import Event
from corpus.schema import RoleUsage, Trace, trace_id

SPECIALS = ["<pad>", "<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>"]


def journey_trace(
    pid: str, question: str, answer: str, *, method: str = "journey", verified: bool = True, model: str = "m1"
) -> Trace:
    """A trace with a wrong step, its critique, a reflection and a backtrack, then the right path."""
    wrong = str(int(answer) + 1) if answer.isdigit() else answer + "1"
    events = [
        Event(
            kind="attempt",
            role="policy",
            model=model,
            text=f"Add the numbers to get {wrong}.",
            step=1,
            calls=1,
            tokens_in=20,
            tokens_out=8,
        ),
        Event(
            kind="critique", role="critic", model=model, text="the sum is off by one", step=1, correct=False, calls=1
        ),
        Event(kind="reflection", role="reflector", model=model, text="Wait, the sum is off by one.", step=1, calls=1),
        Event(kind="backtrack", role="policy", text="Let me go back to step 1.", step=1),
        Event(kind="attempt", role="policy", model=model, text=f"Adding carefully gives {answer}.", step=1, calls=1),
        Event(kind="answer", role="policy", model=model, text=f"\\boxed{{{answer}}}", answer=answer),
        Event(kind="verification", role="verifier", text="ok" if verified else "mismatch", correct=verified),
    ]
    return Trace(
        id=trace_id(pid, method, 0, "cfg"),
        problem_id=pid,
        method=method,
        sample=0,
        config_hash="cfg",
        source="synthesized",
        question=question,
        reference_answer=answer,
        events=events,
        final_answer=answer,
        verified=verified,
        status="verified" if verified else "wrong_answer",
        long_thought=render.long_thought(events),
        summary=render.summary([f"Adding carefully gives {answer}."], answer),
        models={"policy": model, "critic": model},
        usage={"policy": RoleUsage(model=model, calls=2, tokens_in=40, tokens_out=16)},
        n_steps=2,
        n_backtracks=1,
        wall_s=0.1,
    )


def write_corpus(out: Path, traces: list[Trace]) -> Path:
    """Traces made to order (a wrong step, its reflection, a backtrack) written through the corpus's own
    writer, as a run that has not written its manifest yet leaves them: marked, its config recorded,
    one trace a line. Readers that need a completed run (compare, export) refuse it; tests of those
    read corpora journey synth made (tests/producers.py)."""
    from corpus.artifacts import mark
    from corpus.files import CorpusWriter, write_configs

    mark(out, "corpus")
    write_configs(out, {h: {"method": "journey"} for h in dict.fromkeys(t.config_hash for t in traces)})
    writer = CorpusWriter(out)
    try:
        for t in traces:
            writer.sample(True, t.model_dump_json())
    finally:
        writer.close()
    return out


def arithmetic(n: int, offset: int = 0, **kwargs) -> list[Trace]:
    return [
        journey_trace(f"q{offset + i}", f"What is {offset + i} plus {2 * i + 3}?", str(offset + 3 * i + 3), **kwargs)
        for i in range(n)
    ]


def build_tiny_model(
    out: Path, texts: list[str], *, head_dim: int = 16, sliding_window: int = 128, layer_types: list[str] | None = None
) -> Path:
    """A tokenizer trained on ``texts`` and a randomly initialised two-layer Gemma 3, saved to ``out``.

    ``head_dim``: vLLM's CPU attention kernels take 32 and up, not 16. ``sliding_window`` and
    ``layer_types``: a window shorter than the prompts, on some layers, exercises Gemma 3's mix.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (
        Gemma3ForCausalLM,
        Gemma3TextConfig,
        PreTrainedTokenizerFast,
    )

    from agents.checkpoints import CHAT_TEMPLATE

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=600, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        ),
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>")
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(out)
    torch.manual_seed(0)
    config = Gemma3TextConfig(
        vocab_size=len(tokenizer),
        hidden_size=2 * head_dim,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=head_dim,
        max_position_embeddings=1024,
        sliding_window=sliding_window,
        layer_types=layer_types,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=[tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<end_of_turn>")],
        pad_token_id=tokenizer.pad_token_id,
    )
    Gemma3ForCausalLM(config).save_pretrained(out)
    return out
