"""Adding a method is one file and one registry line: a tiny method defined here, with an option and a
role of its own, gets its flags in `journey synth --help` and runs through `journey synth`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from typer.testing import CliRunner

from agents.structured import Prompt, solve_once
from graphs.common import SampleState, VerifyContext, sample_state, verify_sample
from graphs.method import Method, OptionError, Role, option
from graphs.registry import METHODS
from tests.openai_server import OpenAIServer, last_user

pytestmark = pytest.mark.integration

GUESS = Prompt(system="Answer with a boxed number.", shots=(("What is 1 + 1?", "\\boxed{2}"),), strict="Only a box.")


@dataclass(frozen=True)
class GuessOptions:
    max_tokens: int = 100  # a shared flag this method also takes
    tries: int = option(1, "Guesses per problem before the last one is verified.", min=1)  # an option of its own


@dataclass
class GuessContext(VerifyContext):
    tries: int = 1


async def guess(state: dict[str, Any], runtime: Runtime[GuessContext]) -> dict[str, Any]:
    for _ in range(runtime.context.tries):
        out = await solve_once(runtime.context.models["guesser"], "guesser", GUESS, state["problem"]["question"])
    return out


def build():
    graph = StateGraph(SampleState, context_schema=GuessContext)
    graph.add_node("guess", guess)
    graph.add_node("verify", verify_sample)
    graph.add_edge(START, "guess")
    graph.add_edge("guess", "verify")
    graph.add_edge("verify", END)
    return graph.compile()


TINY = Method(
    name="guess",
    source="synthesized",
    roles=(Role("guesser", GUESS, lambda g: g.long(0.0), help="guesses the answer"),),  # a role of its own
    options=GuessOptions,
    build=build,
    context=lambda models, cfg, verifier: GuessContext(models=models, verifier=verifier, tries=cfg.options.tries),
    limit=lambda cfg: 5,
    initial_state=sample_state,
    results=lambda final, sample: [s | {"sample": sample, "kept": s["verified"]} for s in final["samples"]],
)


def adder(body: dict) -> str:
    a, b = map(int, re.search(r"What is (\d+) \+ (\d+)\?", last_user(body)).groups())
    return f"\\boxed{{{a + b if a % 2 == 0 else a + b + 1}}}"  # odd first terms are answered wrong


def test_a_method_defined_in_a_test_file_runs_through_journey_synth(tmp_path, monkeypatch):
    from cli import app

    monkeypatch.setitem(METHODS, TINY.name, TINY)  # the one registry line
    shown = CliRunner().invoke(app, ["synth", "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "--guesser" in shown.output and "guess: guesses the answer" in shown.output
    assert "--tries" in shown.output and "Guesses per problem" in shown.output and "guess:" in shown.output
    problems = tmp_path / "p.jsonl"
    problems.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "question": f"What is {i} + 1?", "answer": str(i + 1)}) + "\n" for i in range(4)
        )
    )
    out = tmp_path / "corpus"
    with OpenAIServer(adder) as server:
        args = ["synth", "--method", "guess", "--problems", str(problems), "--out", str(out), "--workers", "1"]
        args += ["--guesser", f"m@{server.base_url}", "--max-tokens", "50", "--tries", "2"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        kept = [json.loads(line) for line in (out / "traces.jsonl").read_text().splitlines()]
        rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
        assert sorted(t["problem_id"] for t in kept) == ["q0", "q2"] and sorted(t["problem_id"] for t in rejected) == [
            "q1",
            "q3",
        ]
        assert all(t["method"] == "guess" and t["verified"] for t in kept)
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["config"]["options"] == {"max_tokens": 50, "tries": 2} and manifest["corpus"]["traces"] == 2
        assert len(server.requests) == 8  # two tries for each of four problems
        # a resume draws nothing again: rejected samples are outcomes too
        calls = len(server.requests)
        again = CliRunner().invoke(app, [*args, "--resume"])
        assert again.exit_code == 0, again.output
        assert len(server.requests) == calls
        # an option of another method is refused in one line, before anything runs
        wrong = CliRunner().invoke(
            app,
            ["synth", "--method", "guess", "--problems", str(problems), "--out", str(tmp_path / "x"), "--width", "3"],
        )
        assert wrong.exit_code == 2 and "--width: not an option of the guess method" in wrong.output
        assert not (tmp_path / "x").exists()


def test_every_registered_method_declares_a_complete_method():
    for name, method in METHODS.items():
        assert method.name == name
        assert method.build().get_graph().nodes  # compiles
        assert method.options()  # every option has a default
        with pytest.raises(OptionError):
            method.make_options({"no_such_option": 1})


def test_options_given_to_a_method_that_does_not_use_them_are_errors():
    assert METHODS["tree"].make_options({"width": 3, "beam": None}).width == 3
    with pytest.raises(OptionError, match="--keep: not an option of the journey method"):
        METHODS["journey"].make_options({"keep": "all"})
    with pytest.raises(OptionError, match="--keep must be first or all"):
        METHODS["distill"].make_options({"keep": "some"})
    with pytest.raises(OptionError, match="--reflector: not a role of the debate method"):
        METHODS["debate"].make_roles({"reflector": "local"}, gen=None)


def test_the_journey_teacher_gets_a_whole_thought_budget_for_its_hint():
    """An o-series teacher spends hidden reasoning tokens before its line: a step's 64 left hints empty."""
    from graphs.method import Generation

    roles = METHODS["journey"].make_roles({"teacher": "openai:o3-mini"}, Generation(step_tokens=64, long_tokens=4096))
    assert roles["teacher"][1].max_tokens == 4096 and roles["policy"][1].max_tokens == 64


def test_a_method_that_breaks_the_result_contract_stops_at_its_first_sample(tmp_path, monkeypatch):
    """A method whose results lack a field the runner needs (here ``path``) stops the run at its first
    sample with one line naming the field, before any further model call; nothing is recorded as a
    failure of the problems."""
    import dataclasses

    from corpus.problems import load_problems
    from graphs.method import ContractError, Generation
    from graphs.registry import METHODS
    from synth import setup
    from tests.openai_server import OpenAIServer
    from tests.test_distill_cli import r1_teacher
    from tests.test_synth_cli import problems_file

    distill = METHODS["distill"]

    def batch_results(final):
        return [
            [{k: v for k, v in r.items() if k != "path"} for r in job] if isinstance(job, list) else job
            for job in distill.batch_results(final)
        ]

    monkeypatch.setitem(METHODS, "broken", dataclasses.replace(distill, name="broken", batch_results=batch_results))
    problems = load_problems(str(problems_file(tmp_path, 4)))
    with OpenAIServer(r1_teacher(wrong_first=False)) as server:
        cfg = setup.configure(
            "broken",
            specs={"teacher": f"m@{server.base_url}"},
            generation=Generation(),
            options={},
            scale=setup.Scale(concurrency=1, workers=1),
        )
        with pytest.raises(ContractError, match=r"method broken: .*SampleResult \(missing path\)"):
            setup.run(problems, cfg, tmp_path / "out")
        calls = len(server.requests)
    assert calls == 1
    assert not (tmp_path / "out" / "failures.jsonl").read_text()
