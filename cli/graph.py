"""``journey graph show``: a method's state machine as Mermaid text."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import fail

app = typer.Typer(no_args_is_help=True, help="Inspect the synthesis graphs.")


@app.command("show")
def graph_show(
    method: Annotated[str, typer.Argument(help="Synthesis method whose graph to print.")],
) -> None:
    """Print a method's LangGraph state machine as Mermaid text (offline: no PNG rendering service)."""
    from graphs.registry import METHODS

    if method not in METHODS:
        fail(f"unknown method {method!r}; available: {', '.join(METHODS)}")
    print(METHODS[method].build().get_graph().draw_mermaid())
