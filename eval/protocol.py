"""Everything that can move an eval score, recorded in each summary as ``protocol``, and the check
that a side-by-side compares runs that differ in the model only.

The record: the model and its checkpoint digest; the decoding (temperature, top_p, max tokens,
stop, seed, samples per problem, repeats); the prompt form and a digest of its text (system and
shots, or the chat template the server applies); the engine and its version; the dataset (name,
split, a digest of its problems); the project's version. Two runs whose records differ outside
``MODEL_KEYS`` are not comparable as they stand: ``journey report`` refuses them unless told which
differences are intended.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from typing import Any

from corpus.files import flatten

MODEL_KEYS = ("model", "checkpoint")  # what a side-by-side is meant to vary


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def engine_record(engine: str, spec: str) -> dict[str, Any]:
    """The engine that generated, with the versions that change its numbers."""
    if engine == "vllm":
        return {"name": "vllm (offline)", "version": None}  # its own environment: recorded by the run's log
    if spec == "local" or spec.startswith("local:"):
        return {"name": "agents.engine", "torch": _version("torch"), "transformers": _version("transformers")}
    return {"name": "endpoint", "version": None}  # a server's own version is not ours to read


def record(
    *,
    produced_by: dict[str, Any],
    decoding: dict[str, Any],
    prompt: dict[str, Any],
    dataset: dict[str, Any],
    engine: dict[str, Any],
) -> dict[str, Any]:
    return {
        "model": produced_by.get("model"),
        "checkpoint": produced_by.get("checkpoint"),
        "decoding": decoding,
        "prompt": prompt,
        "engine": engine,
        "dataset": dataset,
        "project": _version("o1-journey"),
    }


def differences(protocols: dict[str, dict[str, Any] | None], allowed: tuple[str, ...] = ()) -> list[str]:
    """``key: a | b`` for every protocol field the runs do not share, beyond the model and the
    ``allowed`` keys (a key allows every field under it: ``decoding`` allows ``decoding.seed``)."""
    known = {name: flatten(p) for name, p in protocols.items() if p is not None}
    if len(known) < 2:
        return []
    keys = sorted(set().union(*known.values()))
    out = []
    for key in keys:
        top = key.split(".")[0]
        if top in MODEL_KEYS or any(key == a or key.startswith(a + ".") for a in allowed):
            continue
        values = {json.dumps(v.get(key), sort_keys=True) for v in known.values()}
        if len(values) > 1:
            out.append(f"{key}: {' | '.join(sorted(values))}")
    return out
