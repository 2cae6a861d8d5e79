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

IO, MODELS, SAMPLING, RUN = ("Problems and output", "Models", "Sampling", "Scale and run budgets")


def setting(default: Any, help: str, panel: str, *, min: float | None = None) -> Any:
    """A field of :class:`RunSettings`: its default, its flag's help and panel, its lower bound."""
    return dataclasses.field(default=default, metadata={"help": help, "panel": panel, "min": min})


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """The run's own settings (a method's options and its roles' models are the method's, from the
    registry). Each field is a ``journey synth`` flag (``--NAME`` with dashes), a key of a config file
    and a key of :func:`synthesize_from`; the flags and their help are generated from these fields."""

    problems: str | None = setting(
        None, "Problem file (.jsonl/.json/.csv/.parquet), a Hugging Face dataset (NAME or NAME:CONFIG), or 'demo'.", IO
    )
    out: str | None = setting(None, "Corpus directory to write (or, with --resume, to continue).", IO)
    method: str = setting("journey", "Synthesis method (graph) to run.", IO)
    limit: int | None = setting(None, "Use only the first N problems.", IO, min=1)
    resume: bool = setting(False, "Continue a corpus in --out: skip finished samples, retry failures.", IO)
    add_config: bool = setting(
        False,
        "Start this config in an --out that holds another (a resume with a changed config is refused): both are "
        "recorded, and compare and train see each as its own corpus.",
        IO,
    )
    split: str | None = setting(None, "Split of a Hugging Face dataset (default: test, else its only split).", IO)
    question_field: str | None = setting(None, "Field holding the question (found if omitted).", IO)
    answer_field: str | None = setting(None, "Field holding the reference answer.", IO)
    id_field: str | None = setting(None, "Field holding a stable problem id (else a hash of the question).", IO)
    fix_escapes: bool = setting(
        False,
        "Repair control characters that a JSON writer left for LaTeX escapes (\\frac as a form feed, \\times as a "
        "tab); without it they are reported.",
        IO,
    )
    samples: int = setting(1, "Samples per problem.", SAMPLING, min=1)
    temperature: float = setting(
        0.7, "Temperature of the policy and teacher (critic, reflector use 0.3).", SAMPLING, min=0.0
    )
    step_tokens: int | None = setting(
        None,
        "Max new tokens per step-by-step agent call (default: 64 for compact prompts, 1024 for full).",
        SAMPLING,
        min=1,
    )
    prompts: str = setting(
        "auto",
        "Prompt profile: auto (compact for local models, full for endpoints and APIs), compact (one-line few-shot, "
        "for small base models), full (steps as long as they need, critiques that reason), or a directory written "
        "by `journey prompts export` and edited.",
        MODELS,
    )
    judge_rescue: str | None = setting(
        None,
        "Model of a judge asked about each final answer the rule-based verifier calls wrong (the problem, the "
        "reference, the answer and the end of the text; SAME or DIFFERENT): a SAME verifies the trace, its "
        "verification event says the judge decided. Off by default.",
        MODELS,
    )
    teacher_tokens: int = setting(
        2048, "Max new tokens per teacher or rewriter call (a whole long thought).", SAMPLING, min=1
    )
    seed: int | None = setting(None, "Sampling seed for the endpoints that accept one.", SAMPLING)
    reasoning_effort: str | None = setting(None, "o-series teachers: low, medium or high.", SAMPLING)
    concurrency: int = setting(8, "Problems explored at once (over all workers).", RUN, min=1)
    workers: int | None = setting(
        None, "Processes sharing --concurrency (default: one per core, at most 8; one with local models).", RUN, min=1
    )
    batch: int = setting(
        1,
        "Batched methods (distill): problems per graph run. Pays against fast endpoints; keep 1 for slow teachers.",
        RUN,
        min=1,
    )
    ray: str | None = setting(
        None, "Run shards on Ray: 'local' starts a cluster, HOST:PORT joins one (OUT on shared storage).", RUN
    )
    shards: int | None = setting(None, "--ray: number of shards (default: the cluster's CPUs).", RUN, min=1)
    max_cost: float | None = setting(
        None, "Run budget in USD (from --prices): no new problem starts once spent.", RUN, min=0.0
    )
    max_total_tokens: int | None = setting(
        None, "Run budget in tokens (all roles): no new problem starts once spent.", RUN, min=1
    )
    prices: str | None = setting(
        None, "YAML/JSON of MODEL: {input, output} USD per million tokens, added to the built-in table.", RUN
    )


RUN_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(RunSettings)}
SPEC_HELP = "Model: local, local:PATH, openai:MODEL or NAME@http://HOST:PORT/v1 (default local where required)."


@dataclasses.dataclass(frozen=True)
class Flag:
    """One ``journey synth`` setting as a flag: what the CLI generates its option from."""

    name: str
    type: Any  # the value's type (int, float, str, bool); None stands for "not given"
    default: Any
    help: str
    panel: str
    min: float | None = None


def _grouped(by_method: dict[str, str], *, named: bool = False) -> str:
    """``{method: text}`` as "a, b: text; c: other" (methods sharing a text share its mention; one
    text alone is given bare unless ``named``)."""
    groups: dict[str, list[str]] = {}
    for method, text in by_method.items():
        groups.setdefault(text, []).append(method)
    if len(groups) == 1 and not named:
        return next(iter(groups))
    return "; ".join(f"{', '.join(methods)}: {text.rstrip('.')}" for text, methods in groups.items()) + "."


def flags() -> list[Flag]:
    """Every setting of ``journey synth``: the run's, then each registered method's roles and options
    (a role or option several methods share is one flag, its help naming them)."""
    import typing

    from graphs.registry import METHODS

    out = []
    hints = typing.get_type_hints(RunSettings)
    for f in dataclasses.fields(RunSettings):
        kind = next((t for t in typing.get_args(hints[f.name]) if t is not type(None)), hints[f.name])
        text = f.metadata["help"] + (f" One of: {', '.join(METHODS)}." if f.name == "method" else "")
        out.append(Flag(f.name, kind, f.default, text, f.metadata["panel"], f.metadata["min"]))
    roles: dict[str, dict[str, str]] = {}
    options: dict[str, dict[str, tuple[Any, Any, str, float | None]]] = {}
    for method in METHODS.values():
        for role in method.roles:
            roles.setdefault(role.name, {})[method.name] = role.help or f"the {role.name}"
        hints = typing.get_type_hints(method.options)
        for f in dataclasses.fields(method.options):
            meta = (hints[f.name], f.default, f.metadata.get("help", ""), f.metadata.get("min"))
            options.setdefault(f.name, {})[method.name] = meta
    for name, by_method in roles.items():
        out.append(Flag(name, str, None, f"{SPEC_HELP} {_grouped(by_method, named=True)}", MODELS))
    for name, by_method in options.items():
        kind, _, _, low = next(iter(by_method.values()))
        defaults = ", ".join(f"{m} {meta[1]}" for m, meta in by_method.items())
        text = _grouped({m: meta[2] for m, meta in by_method.items()})
        panel = "Options of " + ", ".join(by_method)
        out.append(Flag(name, kind, None, f"{text} Default: {defaults}.", panel, low))
    return out


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
    known = {flag.name: flag.default for flag in flags()}
    merged: dict[str, Any] = dict(known)
    for layer in layers:
        for key, value in layer.items():
            key = _key(key)
            if key not in known:
                raise RequestError(f"{key}: not a setting of journey synth (see journey synth --help)")
            merged[key] = value
    for flag in flags():
        value = merged[flag.name]
        if value is None or flag.type not in (int, float):
            continue
        if isinstance(value, bool) or not isinstance(value, int if flag.type is int else int | float):
            raise RequestError(f"{flag.name} must be a {'whole ' if flag.type is int else ''}number, not {value!r}")
        if flag.min is not None and value < flag.min:
            raise RequestError(f"{flag.name} must be at least {flag.min:g}, not {value!r}")
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
        scale=setup.Scale(
            samples=values["samples"],
            concurrency=values["concurrency"],
            workers=values["workers"],
            batch=values["batch"],
            ray=values["ray"] is not None,
            max_cost=values["max_cost"],
            max_total_tokens=values["max_total_tokens"],
            prices=values["prices"],
        ),
        prompts=values["prompts"],
        rescue_judge=values["judge_rescue"],
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
