"""Every ``--flag`` an error message or help text names is a flag some `journey` command has: a
message that tells a user to pass an option that does not exist (``--vllm-python`` on a command that
has ``--python``) is a dead end."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import typer

ROOT = Path(__file__).resolve().parents[1]
FLAG = re.compile(r"(?<![\w-])--([a-z][a-z0-9_]*(?:-[a-z0-9_]+)*)(?![\w{-])")
# flags of other programs the text names on purpose: vLLM's server, Ray, transformers serve, the
# engine's own command line (python -m agents.engine_http), and "--field value" as a placeholder
FOREIGN = {"served-model-name", "override-pooler-config", "head", "continuous-batching", "dtype", "implementation"}
FOREIGN |= {"field", "config_file", "runner"}


def every_command(command, path: str = "journey"):
    yield path, command
    if hasattr(command, "list_commands"):  # a group (typer's click is not always the click package's)
        context = type(command).context_class(command)
        for name in command.list_commands(context):
            yield from every_command(command.get_command(context, name), f"{path} {name}")


def flags_of(command) -> set[str]:
    out = set()
    for param in command.params:
        for opt in [*param.opts, *getattr(param, "secondary_opts", [])]:
            if opt.startswith("--"):
                out.add(opt[2:])
    return out


def test_every_flag_a_message_names_exists():
    from cli import app

    commands = dict(every_command(typer.main.get_command(app)))
    known = set().union(*(flags_of(c) for c in commands.values())) | {"help"}
    # journey train passes --FIELD VALUE to TRL's parser: every field of the training config
    from trainer.config import TrainConfig

    known |= {f.name for f in dataclasses.fields(TrainConfig)}
    named: dict[str, list[str]] = {}
    for path in sorted(ROOT.glob("[a-z]*/*.py")) + sorted(ROOT.glob("*.py")):
        if path.parts[len(ROOT.parts)] in ("tests", "bench", "docs") or ".venv" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for flag in FLAG.findall(node.value):
                    named.setdefault(flag, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    unknown = {f: where for f, where in named.items() if f not in known and f not in FOREIGN}
    assert not unknown, "\n".join(f"--{f}: {', '.join(w)}" for f, w in sorted(unknown.items()))
    assert {"policy", "limit", "vllm-python", "python"} <= known  # the walk saw synth, eval and serve


def test_a_command_names_only_its_own_flags():
    """The strings in a command's own function name that command's flags (or another command's,
    when they say which: "journey prompts export ... --profile")."""
    import inspect
    import textwrap

    from cli import app

    problems = []
    for path, command in every_command(typer.main.get_command(app)):
        callback = getattr(command, "callback", None)
        if callback is None or hasattr(command, "list_commands"):
            continue
        function = inspect.unwrap(callback)
        function = getattr(function, "__closure__", None) and _body(function) or function
        own = flags_of(command) | {"help"} | FOREIGN
        for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(function)))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "journey " not in node.value:
                problems += [f"{path}: --{f} in {node.value[:60]!r}" for f in FLAG.findall(node.value) if f not in own]
    assert not problems, "\n".join(problems)


def _body(function):
    """The function a generated command calls (cli.common.command wraps it in ``run``)."""
    cells = [c.cell_contents for c in function.__closure__ or ()]
    inner = [c for c in cells if callable(c) and getattr(c, "__module__", "").startswith("cli")]
    return _body(inner[0]) if inner and inner[0].__closure__ else inner[0] if inner else None
