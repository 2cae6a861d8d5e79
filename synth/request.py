"""A synthesis run as one flat set of settings, named as ``journey synth``'s flags, from flags, a
YAML file or Python alike; and the Python API.

    from synth.request import synthesize_from
    manifest = synthesize_from({"method": "distill", "problems": "data.jsonl", "teacher": "r1@http://127.0.0.1:8000/v1",
                                "samples": 2, "out": "runs/distill"})

The keys are the flags' names with underscores (``max_steps``) or dashes (``max-steps``): the run's
own settings (:data:`RUN_DEFAULTS`), every registered method's roles (``policy``, ``teacher``, ...)
and every method's options (``width``, ``keep``, ...), read from the registry, so a method that adds
an option or a role adds a key here without an edit. A file (``journey synth --config FILE.yaml``)
holds the same keys; flags given on the command line override it, and ``--set key=value`` overrides
both. The same settings make the same config, and so the same config hash, whichever way they came.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

# the run's own settings and their defaults (the method's options and its roles' models are the
# method's: None means "not given")
RUN_DEFAULTS: dict[str, Any] = {
    "problems": None,
    "out": None,
    "method": "journey",
    "limit": None,
    "resume": False,
    "add_config": False,
    "split": None,
    "question_field": None,
    "answer_field": None,
    "id_field": None,
    "fix_escapes": False,
    "samples": 1,
    "temperature": 0.7,
    "step_tokens": None,
    "prompts": "auto",
    "teacher_tokens": 2048,
    "seed": None,
    "reasoning_effort": None,
    "concurrency": 8,
    "workers": None,
    "batch": 1,
    "ray": None,
    "shards": None,
    "max_cost": None,
    "max_total_tokens": None,
    "prices": None,
}
# settings that must be at least 1 when given
AT_LEAST_ONE = ("limit", "samples", "concurrency", "workers", "batch", "shards", "step_tokens", "teacher_tokens")


class RequestError(ValueError):
    """A setting that does not exist or does not fit; ``str()`` is one line naming it."""


def method_keys() -> tuple[list[str], list[str]]:
    """(role names, option names) over every registered method, in registry order."""
    from graphs.registry import METHODS

    roles: dict[str, None] = {}
    options: dict[str, None] = {}
    for method in METHODS.values():
        roles |= dict.fromkeys(r.name for r in method.roles)
        options |= dict.fromkeys(f.name for f in dataclasses.fields(method.options))
    return list(roles), list(options)


def _key(name: str) -> str:
    return str(name).strip().replace("-", "_")


def read_file(path: str | Path) -> dict[str, Any]:
    """The settings of a YAML (or JSON) file: a mapping of flag names to values."""
    try:
        values = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise RequestError(f"{path}: not a readable YAML file ({str(e).splitlines()[0]})") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise RequestError(f"{path}: a synthesis config is a mapping of flag names to values")
    return {_key(k): v for k, v in values.items()}


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``--set key=value`` pairs, each value read as YAML (``2``, ``true``, ``null``, text)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise RequestError(f"--set {item!r}: write KEY=VALUE")
        try:
            out[_key(key)] = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError:
            out[_key(key)] = value
    return out


def settings(*layers: dict[str, Any]) -> dict[str, Any]:
    """The run's settings: the defaults, then each layer on top (a later one wins); unknown keys and
    values out of bounds are refused in one line."""
    roles, options = method_keys()
    known = set(RUN_DEFAULTS) | set(roles) | set(options)
    merged: dict[str, Any] = dict(RUN_DEFAULTS) | dict.fromkeys(roles) | dict.fromkeys(options)
    for layer in layers:
        for key, value in layer.items():
            key = _key(key)
            if key not in known:
                raise RequestError(f"{key}: not a setting of journey synth (see journey synth --help)")
            merged[key] = value
    for key in AT_LEAST_ONE:
        if merged[key] is not None and (not isinstance(merged[key], int) or merged[key] < 1):
            raise RequestError(f"{key} must be a whole number of at least 1, not {merged[key]!r}")
    if merged["problems"] in (None, ""):
        raise RequestError("problems: name a problem file, a Hugging Face dataset or 'demo'")
    if merged["out"] in (None, ""):
        raise RequestError("out: name the corpus directory")
    return merged


def configure(values: dict[str, Any]):
    """The ``SynthConfig`` of a run's settings (every check that needs no model)."""
    from graphs.method import Generation
    from synth import setup

    roles, options = method_keys()
    return setup.configure(
        values["method"],
        specs={r: values[r] for r in roles},
        generation=Generation(
            values["temperature"],
            values["step_tokens"],
            values["teacher_tokens"],
            values["seed"],
            values["reasoning_effort"],
        ),
        options={o: values[o] for o in options},
        samples=values["samples"],
        concurrency=values["concurrency"],
        workers=values["workers"],
        batch=values["batch"],
        ray=values["ray"] is not None,
        max_cost=values["max_cost"],
        max_total_tokens=values["max_total_tokens"],
        prices=values["prices"],
        prompts=values["prompts"],
    )


def load(values: dict[str, Any], warn: Callable[[str], None] | None = None):
    """The problems of a run's settings, broken escapes reported through ``warn``."""
    from corpus.problems import Fields, load_problems

    return load_problems(
        values["problems"],
        fields=Fields(values["question_field"], values["answer_field"], values["id_field"]),
        split=values["split"],
        limit=values["limit"],
        repair_escapes=values["fix_escapes"],
        warn=warn,
    )


def synthesize_from(config: dict[str, Any] | str | Path, **overrides: Any) -> dict[str, Any]:
    """Run a synthesis from a settings dict or a YAML file (``overrides`` on top), in this process's
    control; return the manifest. What ``journey synth`` does, without the progress display."""
    from synth import setup

    base = read_file(config) if isinstance(config, str | Path) else {_key(k): v for k, v in config.items()}
    values = settings(base, overrides)
    cfg = configure(values)
    problems = load(values)
    setup.check_problems(cfg, problems)
    return setup.run(
        problems,
        cfg,
        Path(values["out"]),
        resume=values["resume"],
        ray=values["ray"],
        shards=values["shards"],
        problems_source=values["problems"],
        add_config=values["add_config"],
    )
