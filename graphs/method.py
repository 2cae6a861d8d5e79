"""What a synthesis method is: one ``Method`` value, declared once at the end of each method's file.

Everything the rest of the system may ask of a method is here, typed, so that the runner, the
worker processes, Ray, compare and the CLI read this and nothing else:

- its name and the ``source`` its traces carry;
- its roles (``Role``: the role's name, its prompt, how it samples, whether it is required);
- its own options, a frozen dataclass the config hash takes whole (``JourneyOptions``,
  ``TreeOptions``, ...), built from the flags the user gave by :meth:`Method.make_options`;
- how samples are drawn: one per graph run (``draws="per_trace"``), or all of a problem's
  samples inside one graph run (``draws="in_graph"``), and whether one graph run takes several
  problems (``batched``);
- how a graph run's final state becomes samples, each marked kept (corpus) or not (rejected);
- its resume rule (``finished``): given the outcomes already written for a job, is it done?

Adding a method is one new file that ends with ``METHOD = Method(...)`` and one line in
``graphs/registry.py``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

from agents.models import Sampling
from agents.prompt_files import PromptFileError, load_prompt
from agents.specs import prompt_style
from agents.structured import ONE_LINE, PROFILES, Prompt, RolePrompts
from corpus.events import Event
from corpus.schema import Problem

# what a written sample of a job turned out to be
Outcome = Literal["kept", "rejected"]
# how a sample ended (a trace's ``status``)
STATUSES = ("verified", "wrong_answer", "no_answer", "budget_steps", "budget_backtracks", "budget_tokens")


class SampleResult(TypedDict):
    """What a method's ``results`` (or ``batch_results``) must give for each sample: the runner turns
    exactly this into a trace (``synth.runner.build_trace``). The optional keys are the methods'
    extras, all named here."""

    sample: int  # the sample index (part of the trace id)
    kept: bool  # True: traces.jsonl; False: rejected.jsonl
    events: list[Event]  # every event, in order (the trace's ``events``)
    final_answer: str | None
    verified: bool
    status: str  # one of STATUSES
    path: list[str]  # the corrected path, step by step (the trace's ``summary``)
    n_steps: int
    n_backtracks: int
    long_thought: NotRequired[str]  # a method that writes its own long thought (a rewrite); else rendered
    usage_events: NotRequired[list[Event]]  # when calls happened that ``events`` omits (pruned branches)
    tree: NotRequired[dict[str, Any] | None]  # tree: the search tree, networkx node-link JSON
    draft: NotRequired[str | None]  # the long thought before a rewriter rewrote it
    rewrite: NotRequired[str | None]  # used, lost_answer or fewer_reflections


# spelled out: TypedDict's own key sets miss NotRequired under postponed annotations (Python 3.11)
REQUIRED_RESULT = frozenset(("sample", "kept", "events", "final_answer", "verified", "status", "path"))
REQUIRED_RESULT |= {"n_steps", "n_backtracks"}


class ContractError(TypeError):
    """A method whose results break :class:`SampleResult`: a bug in the method, so the run stops at
    the first such sample instead of recording every problem as a failure."""


def check_result(method: str, result: Any) -> None:
    """Raise :class:`ContractError` unless ``result`` is a :class:`SampleResult`."""
    if not isinstance(result, dict):
        raise ContractError(
            f"method {method}: a result is a dict (graphs.method.SampleResult), not {type(result).__name__}"
        )
    # the runner reads only SampleResult's keys: a method's graph state may carry more
    if missing := sorted(REQUIRED_RESULT - result.keys()):
        raise ContractError(
            f"method {method}: its results break graphs.method.SampleResult (missing {', '.join(missing)})"
        )
    if result["status"] not in STATUSES:
        raise ContractError(f"method {method}: status {result['status']!r} is not one of {', '.join(STATUSES)}")


class OptionError(ValueError):
    """A flag or role given to a method that does not use it, or an option value it refuses."""


# the tokens of one step, critique or reflection when --step-tokens is not given, per profile
STEP_TOKENS = {"compact": 64, "full": 1024}


@dataclass(frozen=True)
class Generation:
    """Sampling flags shared by all methods; each role turns them into its own ``Sampling``."""

    temperature: float = 0.7
    step_tokens: int | None = None  # one step, critique or reflection (None: the profile's, STEP_TOKENS)
    long_tokens: int = 2048  # one whole long thought (teacher, rewriter)
    seed: int | None = None
    reasoning_effort: str | None = None  # o-series models
    profile: str = "compact"  # the prompt profile of the role being sampled (set per role)

    def step(self, temperature: float | None = None, *, reasoning_effort: bool = False) -> Sampling:
        """A turn of a step-by-step role: compact, one line (a newline ends it); full, as long as it needs."""
        return Sampling(
            temperature=self.temperature if temperature is None else temperature,
            max_tokens=self.step_tokens or STEP_TOKENS[self.profile],
            seed=self.seed,
            stop=ONE_LINE if self.profile == "compact" else (),
            reasoning_effort=self.reasoning_effort if reasoning_effort else None,
        )

    def hint(self, temperature: float | None = None) -> Sampling:
        """One line from a teacher that may reason first: the whole-thought budget, since an o-series
        model spends hidden reasoning tokens before its line (a step's budget left its hints empty)."""
        return dataclasses.replace(self.step(temperature, reasoning_effort=True), max_tokens=self.long_tokens)

    def long(self, temperature: float | None = None, *, reasoning_effort: bool = False) -> Sampling:
        """A whole long thought in one call."""
        return Sampling(
            temperature=self.temperature if temperature is None else temperature,
            max_tokens=self.long_tokens,
            seed=self.seed,
            reasoning_effort=self.reasoning_effort if reasoning_effort else None,
        )


def option(default: Any, help: str, *, min: float | None = None) -> Any:
    """A field of a method's options dataclass: its default, the help text of its ``journey synth``
    flag (``--NAME``, generated from the field) and its lower bound, checked by the flag parser."""
    return dataclasses.field(default=default, metadata={"help": help, "min": min})


@dataclass(frozen=True)
class Role:
    """One speaker of a method: ``name`` is the key of its model and the flag that names it (--NAME);
    ``prompt`` its prompt per profile (a plain ``Prompt`` serves both); ``help`` the flag's help text
    (the methods that share a role share its flag: the first one's text is shown)."""

    name: str
    prompt: RolePrompts | Prompt | None  # None: a role that is not prompted (a reward model)
    sampling: Callable[[Generation], Sampling]
    help: str = ""
    required: bool = True  # an optional role takes part only when its model is given
    # an option that turns this role on (journey's rewriter: --rewrite); it then runs the policy's model
    # unless its own is given, and giving its model without the option is an error
    enabled_by: str | None = None
    served_only: bool = False  # an endpoint only (a reward model behind vLLM), never a local model
    replaced_by: str | None = None  # a role that, when given, does this one's job (tree: --prm for the critic)

    def __post_init__(self) -> None:
        if isinstance(self.prompt, Prompt):
            object.__setattr__(self, "prompt", RolePrompts(self.name, self.prompt, self.prompt))


@dataclass(frozen=True)
class RolePrompt:
    """The prompt a role runs with: its profile, the text, and where it came from (built in, or a file)."""

    profile: str
    prompt: Prompt
    source: str = "built-in"

    def record(self) -> dict[str, str]:
        digest = hashlib.sha256(self.prompt.text().encode()).hexdigest()[:16]
        return {"profile": self.profile, "source": self.source, "sha256": digest}


def default_profile(spec: str) -> str:
    """compact for the models this machine runs (small base models), full for endpoints and APIs
    (``agents.specs.prompt_style``, the rule eval follows too)."""
    return prompt_style(spec).profile


@dataclass(frozen=True)
class NoOptions:
    """A method with no options of its own."""


def any_outcome(outcomes: list[Outcome], cfg: Any) -> bool:
    """The default resume rule: a sample with an outcome, kept or rejected, is never drawn again."""
    return bool(outcomes)


@dataclass(frozen=True)
class Method:
    name: str
    source: str  # where the thought comes from: synthesized, human
    roles: tuple[Role, ...]
    build: Callable[[], Any]  # the compiled LangGraph StateGraph
    context: Callable[[dict[str, Any], Any, Any], Any]  # (models, SynthConfig, Verifier) -> runtime context
    limit: Callable[[Any], int]  # SynthConfig -> LangGraph recursion limit
    options: type = NoOptions
    draws: Literal["per_trace", "in_graph"] = "per_trace"
    batched: bool = False  # one graph run takes several problems
    # one problem per graph run: its initial state, and (final state, sample index) -> its samples
    initial_state: Callable[[Problem], dict[str, Any]] | None = None
    results: Callable[[dict[str, Any], int], list[dict[str, Any]]] | None = None
    # batched: the state of several problems, and final state -> per problem its samples or its exception
    batch_state: Callable[[list[Problem]], dict[str, Any]] | None = None
    batch_results: Callable[[dict[str, Any]], list[list[dict[str, Any]] | Exception]] | None = None
    # resume: given the outcomes written for a job (a trace id, or a problem when draws="in_graph"), is it done?
    finished: Callable[[list[Outcome], Any], bool] = any_outcome
    # a field every problem must carry in its meta, and what it is (human: thought; reformat: solution)
    needs: tuple[str, str] | None = None
    description: str = ""  # one line for ``journey synth --help``'s list of methods

    def __post_init__(self) -> None:
        single = self.initial_state is not None and self.results is not None
        batch = self.batch_state is not None and self.batch_results is not None
        if (batch if self.batched else single) is False:
            wanted = "batch_state and batch_results" if self.batched else "initial_state and results"
            raise TypeError(f"method {self.name}: {'a batched' if self.batched else 'a'} method needs {wanted}")
        if not dataclasses.is_dataclass(self.options):
            raise TypeError(f"method {self.name}: options must be a dataclass")
        if not self.source or self.draws not in ("per_trace", "in_graph"):
            raise TypeError(f"method {self.name}: a source, and draws per_trace or in_graph")

    @property
    def option_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self.options))

    def make_options(self, given: dict[str, Any]) -> Any:
        """The method's options from the flags the user gave (``None``: not given, the default holds)."""
        given = {k: v for k, v in given.items() if v is not None}
        if unused := [k for k in given if k not in self.option_names]:
            mine = ", ".join("--" + n.replace("_", "-") for n in self.option_names) or "none"
            flags = ", ".join("--" + k.replace("_", "-") for k in unused)
            raise OptionError(f"{flags}: not an option of the {self.name} method (its options: {mine})")
        try:
            return self.options(**given)
        except ValueError as e:
            raise OptionError(f"{self.name}: {e}") from None

    def make_prompts(self, specs: dict[str, str], choice: str = "auto") -> dict[str, RolePrompt]:
        """Role -> the prompt it runs with, for the roles taking part (``specs``: role -> model spec).

        ``choice``: ``auto`` (by each role's model, :func:`default_profile`), ``compact``, ``full``,
        or a directory written by ``journey prompts export`` holding a file for each role.
        """
        out = {}
        for role in self.roles:
            if role.name not in specs or role.prompt is None:
                continue
            if choice in PROFILES or choice == "auto":
                profile = default_profile(specs[role.name]) if choice == "auto" else choice
                out[role.name] = RolePrompt(profile, role.prompt.prompt(profile))
                continue
            path = Path(choice) / f"{role.prompt.key}.md"
            if not Path(choice).is_dir():
                raise OptionError(f"--prompts {choice}: not compact, full, auto or a directory")
            if not path.exists():
                raise OptionError(
                    f"{path}: missing (the {self.name} method's {role.name} reads it; "
                    f"journey prompts export {choice} writes every role's file)"
                )
            try:
                prompt, profile = load_prompt(path)
            except PromptFileError as e:
                raise OptionError(str(e)) from None
            out[role.name] = RolePrompt(profile, prompt, str(path))
        return out

    def make_roles(
        self,
        specs: dict[str, str | None],
        gen: Generation,
        profiles: dict[str, str] | None = None,
        options: Any = None,
    ) -> dict[str, tuple[str, Sampling]]:
        """Role -> (model spec, sampling) from the specs the user gave (``None``: not given), each role
        sampled for its prompt profile (``profiles``; by default the one its model gets, see
        :func:`default_profile`).

        A required role not given runs the embedded model (``local``); an optional one stays out.
        """
        names = {r.name for r in self.roles}
        if unused := [k for k, v in specs.items() if v is not None and k not in names]:
            mine = ", ".join("--" + n for n in sorted(names)) or "none (it calls no model)"
            raise OptionError(
                f"{', '.join('--' + k for k in unused)}: not a role of the {self.name} method (its roles: {mine})"
            )
        out = {}
        for role in self.roles:
            spec = self._role_spec(role, specs, options)
            if spec is not None:
                profile = (profiles or {}).get(role.name) or default_profile(spec)
                out[role.name] = (spec, role.sampling(dataclasses.replace(gen, profile=profile)))
        return out

    def _role_spec(self, role: Role, specs: dict[str, str | None], options: Any) -> str | None:
        """The model spec ``role`` runs, or None when it takes no part in this run."""
        spec = specs.get(role.name)
        if role.enabled_by is not None:
            flag = "--" + role.enabled_by.replace("_", "-")
            if not getattr(options, role.enabled_by, False):
                if spec is not None:
                    raise OptionError(f"--{role.name}: the {self.name} method uses it with {flag} only")
                return None
            spec = spec or specs.get("policy") or "local"
        if role.replaced_by is not None and specs.get(role.replaced_by) is not None:
            if spec is not None:
                raise OptionError(f"--{role.name}: not used with --{role.replaced_by}, which does its job")
            return None
        if spec is None and role.required:
            spec = "local"
        if role.served_only and spec is not None and default_profile(spec) == "compact":
            raise OptionError(f"--{role.name} {spec}: needs an endpoint (NAME@http://HOST:PORT/v1), not a local model")
        return spec

    def prompts(self, roles: dict[str, Any], chosen: dict[str, RolePrompt] | None = None) -> list[str]:
        """The text of every prompt the run uses, in the method's role order (part of the config hash)."""
        chosen = chosen or {}
        return [
            (chosen[r.name].prompt if r.name in chosen else r.prompt.compact).text()
            for r in self.roles
            if r.name in roles and r.prompt is not None
        ]

    def check_problems(self, problems: list[Problem]) -> None:
        if self.needs is None:
            return
        key, what = self.needs
        if missing := [p.id for p in problems if not p.meta.get(key)]:
            raise OptionError(f"{self.name} needs {what}, and {len(missing)} problems have none (first: {missing[0]})")
