"""``journey experiment run FILE.yaml``: a declarative experiment, run step by step with resume.

An experiment file names the problems (a generator's train and held-out sets, or files), one corpus
made by ``journey synth`` settings, optional preference pairs (``journey pairs`` options), the
training recipe fields every arm shares, the arms (each its training stages, whose sources name the
corpus as ``$corpus`` and the pairs as ``$pairs``), the seeds, and the eval (``journey eval math``
settings, over every held-out set, for every arm and seed, and for the base model).

Every step reuses the commands' own code (synth, pairs, train, eval) and writes into its own
directory under ``out`` with a ``step.json`` holding its hash: the hash of its own settings and of
every step it reads. A step whose hash is recorded is skipped; a changed step (and so every step
downstream of it, whose hashes include its own) runs again from an empty directory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from corpus.files import file_hash, write_atomic

STEP = "step.json"


class ExperimentError(ValueError):
    """A bad experiment file; ``str()`` is one line naming the key."""


@dataclasses.dataclass
class Experiment:
    name: str
    out: Path
    problems: dict[str, Any]
    synth: dict[str, Any]
    pairs: dict[str, Any] | None
    training: dict[str, Any]
    arms: dict[str, dict[str, Any]]
    seeds: list[int]
    eval: dict[str, Any]
    report: dict[str, Any]
    path: Path | None = None


KEYS = ("name", "out", "problems", "synth", "pairs", "training", "arms", "seeds", "eval", "report")


def load(path: str | Path, overrides: dict[str, Any] | None = None) -> Experiment:
    """An experiment file, with ``overrides`` (top-level keys) on top."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ExperimentError(f"{path}: not a readable YAML file ({str(e).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise ExperimentError(f"{path}: an experiment is a mapping ({', '.join(KEYS)})")
    raw |= overrides or {}
    if unknown := sorted(set(raw) - set(KEYS)):
        raise ExperimentError(f"{path}: unknown keys {', '.join(unknown)} (an experiment has {', '.join(KEYS)})")
    for key in ("name", "out", "problems", "synth", "training", "arms", "seeds", "eval"):
        if not raw.get(key) and raw.get(key) != 0:
            raise ExperimentError(f"{path}: {key} is missing")
    if not isinstance(raw["arms"], dict) or not all(
        isinstance(a, dict) and a.get("stages") for a in raw["arms"].values()
    ):
        raise ExperimentError(f"{path}: arms maps each arm's name to its stages")
    seeds = raw["seeds"]
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise ExperimentError(f"{path}: seeds is a list of whole numbers")
    return Experiment(
        name=str(raw["name"]),
        out=Path(raw["out"]),
        problems=dict(raw["problems"]),
        synth=dict(raw["synth"]),
        pairs=dict(raw["pairs"]) if raw.get("pairs") else None,
        training=dict(raw["training"]),
        arms={str(k): dict(v) for k, v in raw["arms"].items()},
        seeds=seeds,
        eval=dict(raw["eval"]),
        report=dict(raw.get("report") or {}),
        path=Path(path),
    )


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclasses.dataclass
class Step:
    """One unit of work: its directory, its hash, what it runs."""

    name: str
    dir: Path
    hash: str
    run: Callable[[Path], dict[str, Any]]
    after: tuple[str, ...] = ()

    def recorded(self) -> dict[str, Any] | None:
        path = self.dir / STEP
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except ValueError:
            return None

    @property
    def done(self) -> bool:
        found = self.recorded()
        return found is not None and found.get("hash") == self.hash


class Plan:
    """The steps of an experiment in the order they run, each hashed on what it reads."""

    def __init__(self, exp: Experiment):
        self.exp = exp
        self.steps: dict[str, Step] = {}
        self._build()

    def add(self, name: str, settings: Any, run: Callable[[Path], dict[str, Any]], after: tuple[str, ...] = ()) -> str:
        h = digest(name, settings, [self.steps[a].hash for a in after])
        self.steps[name] = Step(name, self.exp.out / name.replace(":", "/"), h, run, after)
        return name

    def _build(self) -> None:
        exp = self.exp
        self.add("problems", exp.problems, self._problems)
        self.add("corpus", exp.synth, self._corpus, ("problems",))
        if exp.pairs:
            self.add("pairs", exp.pairs, self._pairs, ("corpus",))
        sets = list(self.heldout())
        for name in sets:
            self.add(
                f"eval:base:{name}",
                exp.eval | {"model": exp.training.get("model")},
                self._eval("base", None, name),
                ("problems",),
            )
        needs = tuple(s for s in ("corpus", "pairs") if s in self.steps)
        # seed by seed: every arm of the first seed is done (and reportable) before the second starts
        for seed in exp.seeds:
            for arm, spec in exp.arms.items():
                model = self.add(
                    f"train:{arm}:{seed}", exp.training | spec | {"seed": seed}, self._train(arm, seed), needs
                )
                for name in sets:
                    self.add(f"eval:{arm}:{seed}:{name}", exp.eval, self._eval(arm, seed, name), (model, "problems"))

    def heldout(self) -> list[str]:
        held = self.exp.problems.get("heldout")
        if isinstance(held, dict):
            return list(held)
        raise ExperimentError("problems.heldout maps each held-out set's name to its size (or file)")

    # -- what each step runs ------------------------------------------------------------------------

    def _problems(self, d: Path) -> dict[str, Any]:
        from experiment.toy import additions

        spec = dict(self.exp.problems)
        generator = spec.pop("generator", None)
        if generator != "additions":
            raise ExperimentError(f"problems.generator: only 'additions' is built in, not {generator!r}")
        paths = additions(d, **spec)
        return {"files": {k: str(p) for k, p in paths.items()}, "sha256": {k: file_hash(p) for k, p in paths.items()}}

    def problem_file(self, name: str) -> Path:
        return self.steps["problems"].dir / ("train.jsonl" if name == "train" else f"heldout-{name}.jsonl")

    def _corpus(self, d: Path) -> dict[str, Any]:
        from synth.request import synthesize_from

        manifest = synthesize_from(  # resume: an interrupted step continues its corpus
            self.exp.synth | {"problems": str(self.problem_file("train")), "out": str(d / "corpus"), "resume": True}
        )
        return {"corpus": str(d / "corpus"), "config_hash": manifest["config_hash"], "counts": manifest["corpus"]}

    def _pairs(self, d: Path) -> dict[str, Any]:
        from trainer.pairs import PairOptions, build_pairs, corpus_ref

        options = PairOptions(**self.exp.pairs)
        shutil.rmtree(d / "pairs", ignore_errors=True)  # pairs are cheap: an interrupted step writes them anew
        manifest = build_pairs([corpus_ref(str(self.steps["corpus"].dir / "corpus"))], options, d / "pairs")
        return {"pairs": str(d / "pairs"), "counts": manifest["counts"], "dropped": manifest["dropped"]}

    def _resolve(self, value: Any) -> Any:
        if value == "$corpus":
            return str(self.steps["corpus"].dir / "corpus")
        if value == "$pairs":
            return str(self.steps["pairs"].dir / "pairs")
        if isinstance(value, dict):
            return {k: self._resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        return value

    def _train(self, arm: str, seed: int) -> Callable[[Path], dict[str, Any]]:
        def run(d: Path) -> dict[str, Any]:
            from trainer.config import load_config
            from trainer.sft import train

            spec = dict(self.exp.arms[arm])
            parent = spec.pop("from", None)
            recipe = self._resolve(self.exp.training | spec) | {"seed": seed, "output_dir": str(d / "model")}
            if parent:  # the parent arm's trained model is where this arm's stages start
                recipe["model"] = str(self.steps[f"train:{parent}:{seed}"].dir / "model")
            path = d / "recipe.yaml"
            path.write_text(yaml.safe_dump(recipe, sort_keys=False))
            manifest = train(load_config(str(path)))
            stages = manifest["stages"]
            return {
                "model": str(d / "model"),
                "stages": [
                    {"name": s["name"], "type": s["type"], "train_loss": s.get("train_loss"), **s["figures"]}
                    for s in stages
                ],
            }

        return run

    def _eval(self, arm: str, seed: int | None, name: str) -> Callable[[Path], dict[str, Any]]:
        def run(d: Path) -> dict[str, Any]:
            from corpus.problems import load_problems
            from eval.math_eval import Decoding, default_stop, evaluate, prompt_format

            spec = self.exp.eval
            from agents.checkpoints import is_local

            # the base is the recipe's model (local, local:PATH, or a checkpoint directory), an arm its trained one
            base = str(self.exp.training.get("model", "local"))
            trained = self.steps[f"train:{arm}:{seed}"].dir / "model" if arm != "base" else None
            model = f"local:{trained}" if trained else base if is_local(base) else f"local:{base}"
            prompt = prompt_format(model, "auto")
            summary = evaluate(
                load_problems(str(self.problem_file(name))),
                spec=model,
                out=d / "eval",
                decoding=Decoding(
                    int(spec.get("samples", 1)),
                    int(spec.get("max_tokens", 256)),
                    float(spec.get("temperature", 0.0)),
                    default_stop(model, prompt),
                ),
                concurrency=int(spec.get("concurrency", 8)),
                dataset=str(self.problem_file(name)),
                prompt=prompt,
            )
            return {"eval": str(d / "eval"), "pass@1": summary["pass@1"], "maj@k": summary["maj@k"]}

        return run


def status(plan: Plan) -> list[tuple[str, str]]:
    """(step, done | changed | to do) in run order."""
    out = []
    for step in plan.steps.values():
        found = step.recorded()
        out.append((step.name, "done" if step.done else "changed" if found else "to do"))
    return out


def run(plan: Plan, on_step: Callable[[str, str], None] | None = None) -> dict[str, dict[str, Any]]:
    """Every step not done, in order; return each step's record."""
    records = {}
    for step in plan.steps.values():
        if step.done:
            records[step.name] = step.recorded()
            if on_step:
                on_step(step.name, "done")
            continue
        if on_step:
            on_step(step.name, "running")
        started_at = step.dir / "started.json"
        try:
            same = json.loads(started_at.read_text()).get("hash") == step.hash
        except (OSError, ValueError):
            same = False
        if not same:  # a changed step starts from an empty directory; an interrupted one resumes
            shutil.rmtree(step.dir, ignore_errors=True)
            step.dir.mkdir(parents=True)
            write_atomic(started_at, json.dumps({"hash": step.hash}))
        started = time.perf_counter()
        result = step.run(step.dir)
        record = {
            "step": step.name,
            "hash": step.hash,
            "after": list(step.after),
            "wall_s": round(time.perf_counter() - started, 1),
        }
        record |= result
        # written last: its existence (with this hash) means the step completed
        write_atomic(step.dir / STEP, json.dumps(record, indent=2, default=str))
        records[step.name] = record
    return records
