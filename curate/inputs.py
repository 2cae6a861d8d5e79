"""What ``journey filter`` and ``journey select`` share about their input corpora: opening them
(a directory of several configs is one corpus per config), what their output inherits (method,
models, the config hash when there is one, the config records) and how the inputs are recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from corpus.artifacts import Corpus, open_corpus
from corpus.files import write_configs


def open_inputs(refs: list[str]) -> list[Corpus]:
    """Each ``DIR`` or ``DIR@HASH``, a directory of several configs as one corpus per config."""
    return [part for ref in refs for part in open_corpus(ref, whole=True).split()]


def provenance(corpora: list[Corpus]) -> dict[str, Any]:
    """The manifest fields an output corpus inherits: the method and config hash the inputs share
    (None when they differ) and every model that took part."""
    methods = {c.manifest.get("method") for c in corpora if c.manifest}
    models: dict[str, Any] = {}
    for c in corpora:
        models |= (c.manifest or {}).get("models", {})
    return {
        "method": methods.pop() if len(methods) == 1 else None,
        "models": models,
        "config_hash": corpora[0].config_hash if len({c.config_hash for c in corpora}) == 1 else None,
    }


def recorded(corpora: list[Corpus]) -> list[dict[str, Any]]:
    """The inputs as a manifest records them: each corpus and the digest of its traces."""
    return [{"corpus": c.label, "traces_sha256": c.digest("traces")} for c in corpora]


def write_input_configs(out: Path, corpora: list[Corpus]) -> None:
    """The output's config records: those of the inputs (each trace keeps its config hash)."""
    configs: dict[str, Any] = {}
    for corpus in corpora:
        configs |= {h: c for h, c in corpus.configs.items() if corpus.config in (None, h)}
    write_configs(out, configs)
