"""What every command group shares: the error console, one-line failures, SIGTERM as Ctrl-C."""

from __future__ import annotations

import inspect
import signal
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console

err = Console(stderr=True)

EXIT_BAD_INPUT = 2


def interrupt_on_sigterm() -> None:
    """Make SIGTERM behave like Ctrl-C, so local model servers are stopped and files closed."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def fail(message: str) -> None:
    """Bad input: one line on stderr, exit 2."""
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def check_specs(*specs: str | None) -> None:
    from agents.specs import SpecError, parse_spec

    try:
        for spec in specs:
            if spec is not None:
                parse_spec(spec)
    except SpecError as e:
        fail(str(e))


def load(loader, source: str, **kwargs):
    """Load problems or eval items; bad input is one line naming the file and the line, exit 2."""
    from corpus.problems import ProblemFileError

    try:
        return loader(source, **kwargs)
    except ProblemFileError as e:
        fail(str(e))


def preflight(*specs: str | None) -> None:
    """Every model checked before anything is written: one line, exit 2, when one cannot be used."""
    from agents.endpoints import preflight as check
    from agents.specs import SpecError

    try:
        for warning in check([s for s in specs if s is not None]):
            err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    except SpecError as e:
        fail(str(e))


def flag(name: str, kind: Any, default: Any, option: Any) -> inspect.Parameter:
    """One option of a command built by :func:`command`: its name (the parameter's), type, default
    and ``typer.Option``."""
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[kind, option])


def command(body: Callable[..., None], flags: list[inspect.Parameter], doc: str | None = None) -> Callable[..., None]:
    """A Typer command that calls ``body(**values)`` with the values of ``flags`` (a command with
    more options than a function should take, or options generated from declarations)."""

    def run(**values: Any) -> None:
        body(**values)

    run.__signature__ = inspect.Signature(flags)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in flags}
    run.__doc__ = doc or body.__doc__
    run.__name__ = body.__name__
    return run
