"""From what a user asked for to a run: the config of a synthesis run, and the run itself.

``configure`` turns the method's name, the role specs, the shared sampling flags and the method's
own flags into a ``SynthConfig`` (every check that needs no model: specs parse, options belong to
the method, prices load); ``run`` synthesizes in this process, over worker processes, or on Ray.
Errors a user can fix are ``SetupError``: one line, no traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.prices import PriceError, load_prices
from agents.specs import SpecError, parse_spec
from corpus.schema import Problem
from graphs.method import Generation, OptionError
from graphs.registry import METHODS
from synth.runner import Counts, SynthConfig
from synth.workers import synthesize, workers_for


class SetupError(ValueError):
    """A run that cannot start as asked; ``str()`` is one line saying why."""


@dataclass(frozen=True)
class Scale:
    """How much a run does and over what: samples per problem, problems at once, processes, batch
    size, Ray, and the run's budgets (USD from ``prices``, tokens)."""

    samples: int = 1
    concurrency: int = 8
    workers: int | None = None
    batch: int = 1
    ray: bool = False
    max_cost: float | None = None
    max_total_tokens: int | None = None
    prices: str | None = None


def configure(
    method: str,
    *,
    specs: dict[str, str | None],
    generation: Generation,
    options: dict[str, Any],
    scale: Scale = Scale(),
    prompts: str = "auto",
    rescue_judge: str | None = None,
) -> SynthConfig:
    """The config of a run. ``specs`` and ``options`` hold what the user gave (``None``: not given)."""
    samples, batch = scale.samples, scale.batch
    if method not in METHODS:
        raise SetupError(f"unknown --method {method!r}; available: {', '.join(METHODS)}")
    definition = METHODS[method]
    if batch > 1 and not definition.batched:
        batched = ", ".join(n for n, m in METHODS.items() if m.batched)
        raise SetupError(f"--batch runs several problems per graph run of a batched method ({batched}), not {method}")
    try:
        method_options = definition.make_options(options)
        roles = definition.make_roles(specs, generation, options=method_options)
        for spec, _ in roles.values():
            parse_spec(spec)
        # each role samples for the profile of the prompt it runs with (a prompt file says its own)
        chosen = definition.make_prompts({r: spec for r, (spec, _) in roles.items()}, prompts)
        profiles = {r: c.profile for r, c in chosen.items()}
        roles = definition.make_roles(specs, generation, profiles, options=method_options)
        cfg = SynthConfig(
            method=method,
            roles=roles,
            prompts=chosen,
            options=method_options,
            samples=samples,
            concurrency=scale.concurrency,
            batch=batch,
            max_cost=scale.max_cost,
            max_total_tokens=scale.max_total_tokens,
            prices=load_prices(scale.prices),
            rescue_judge=rescue_judge,
        )
        if rescue_judge is not None:
            parse_spec(rescue_judge)
        cfg.workers = 1 if scale.ray else workers_for(cfg, scale.workers)
    except (OptionError, SpecError, PriceError) as e:
        raise SetupError(str(e)) from None
    return cfg


def check_problems(cfg: SynthConfig, problems: list[Problem]) -> None:
    """Problems the method can work on (human needs thoughts, reformat needs solutions)."""
    try:
        cfg.definition.check_problems(problems)
    except OptionError as e:
        raise SetupError(str(e)) from None


def run(
    problems: list[Problem],
    cfg: SynthConfig,
    out: Path,
    *,
    resume: bool = False,
    ray: str | None = None,
    shards: int | None = None,
    problems_source: str = "",
    on_progress: Callable[[Counts, int], None] | None = None,
    add_config: bool = False,
) -> dict[str, Any]:
    """Synthesize the corpus in ``out``: on Ray when ``ray`` names a cluster, else on this machine.
    ``add_config``: start this config in a directory that holds another (both are recorded)."""
    if ray:
        from synth.ray_backend import synthesize_ray  # Ray is imported only for Ray runs

        if add_config:
            raise SetupError("--add-config is for runs on this machine; give a Ray run its own --out")
        return synthesize_ray(
            problems,
            cfg,
            out,
            address=ray,
            shards=shards,
            resume=resume,
            problems_source=problems_source,
            on_progress=on_progress,
        )
    return synthesize(
        problems,
        cfg,
        out,
        resume=resume,
        problems_source=problems_source,
        on_progress=on_progress,
        add_config=add_config,
    )
