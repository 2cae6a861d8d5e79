"""``journey view``: browse, filter, compare and curate corpora and eval runs in a local web app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import err, fail


def view(
    dirs: Annotated[
        list[Path], typer.Argument(help="Corpus directories (journey synth) and eval runs (journey eval).")
    ],
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to serve on (0: any free port).")] = 8765,
    host: Annotated[
        str, typer.Option(help="Address to bind: 127.0.0.1 keeps the app on this machine; anything else exposes it.")
    ] = "127.0.0.1",
    who: Annotated[str | None, typer.Option(help="Name written with each label (default: the login name).")] = None,
) -> None:
    """Serve a local web app over corpora and eval runs until Ctrl-C: no network, no CDN."""
    from view.queries import ViewError, load_sources
    from view.server import make_server

    try:
        sources = load_sources(dirs)
    except ViewError as e:
        fail(str(e))
    try:
        server = make_server(sources, host, port, who)
    except OSError as e:
        fail(f"cannot serve on {host}:{port}: {e.strerror}")
    bound_host, bound_port = server.server_address[:2]
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(
            f"[yellow]warning:[/yellow] serving on {host}: anyone who can reach it can read and label these corpora"
        )
    err.print(
        f"{len(sources.corpora)} corpora, {len(sources.evals)} eval runs: open http://{bound_host}:{bound_port}/ (Ctrl-C stops)",
        highlight=False,
        soft_wrap=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
