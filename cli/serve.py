"""``journey serve vllm|local``: managed model servers that print the spec synth and eval take."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from cli.common import err, fail, interrupt_on_sigterm

app = typer.Typer(no_args_is_help=True, help="Start model servers the synthesis and eval commands can use.")


def _serve_until_interrupted(server, spec_of) -> None:
    """Start ``server``, print its spec (``spec_of(server)``, known once it runs), serve until Ctrl-C/SIGTERM."""
    interrupt_on_sigterm()
    try:
        server.start()
        spec = spec_of(server)
        print(spec, flush=True)  # stdout holds the spec alone, for scripts: SPEC=$(journey serve ... | head -1)
        err.print(f"serving; use it as --policy/--teacher {spec}; Ctrl-C stops it", highlight=False, soft_wrap=True)
        signal.pause()
    except KeyboardInterrupt:
        pass
    except (RuntimeError, TimeoutError, FileNotFoundError) as e:
        fail(str(e))
    finally:
        server.stop()


Host = Annotated[
    str,
    typer.Option(help="Address to bind: 127.0.0.1 (this machine only), or 0.0.0.0 for Ray workers elsewhere."),
]
Port = Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default: a free one).")]


@app.command("vllm")
def serve_vllm(
    model: Annotated[
        str | None,
        typer.Argument(
            help="Model to serve: a Hugging Face name or a checkpoint directory (e.g. a journey train output); "
            "not with --attach."
        ),
    ] = None,
    python: Annotated[
        str | None, typer.Option(help="The python of vLLM's own virtualenv (or O1J_VLLM_PYTHON).")
    ] = None,
    host: Host = "127.0.0.1",
    port: Port = None,
    tensor_parallel_size: Annotated[int, typer.Option(min=1, help="GPUs per model replica.")] = 1,
    data_parallel_size: Annotated[int, typer.Option(min=1, help="Model replicas.")] = 1,
    reasoning_parser: Annotated[
        str | None, typer.Option(help="vLLM reasoning parser, e.g. deepseek_r1 (reasoning kept in reasoning_content).")
    ] = None,
    max_model_len: Annotated[int | None, typer.Option(help="Context length to allocate for.")] = None,
    attach: Annotated[
        str | None, typer.Option(help="Attach to a running server at this base URL instead: print its spec and exit.")
    ] = None,
) -> None:
    """Start `vllm serve` from vLLM's own environment, wait for health, print the model spec, serve until Ctrl-C."""
    from agents.vllm_server import VLLMServer
    from agents.vllm_server import attach as attach_to
    from eval.vllm_offline import VLLMError, vllm_python

    if attach and model:
        fail("--attach takes no MODEL: it prints the spec of what the server at the URL serves")
    if not attach and not model:
        fail("name the MODEL to serve, or --attach URL of a running server")
    if attach:
        from agents.specs import redact
        from agents.urls import public_url, url_secrets

        try:
            print(attach_to(attach))
        except (OSError, RuntimeError, KeyError, ValueError) as e:
            fail(f"cannot attach to {public_url(attach)}: {redact(str(e), url_secrets(attach))}")
        return
    try:
        interpreter = vllm_python(python, "--python")
    except VLLMError as e:
        fail(str(e))
    server = VLLMServer(
        model,
        python=interpreter,
        port=port,
        tensor_parallel_size=tensor_parallel_size,
        data_parallel_size=data_parallel_size,
        reasoning_parser=reasoning_parser,
        max_model_len=max_model_len,
        host=host,
    )
    _serve_until_interrupted(server, lambda srv: srv.spec)


@app.command("local")
def serve_local(
    model: Annotated[str, typer.Argument(help="local (the embedded Gemma 3 270M) or local:PATH.")] = "local",
    host: Host = "127.0.0.1",
    port: Port = None,
) -> None:
    """Serve the embedded model (or local:PATH) with the project's engine (127.0.0.1 unless --host) until Ctrl-C.

    Other processes reach it as MODEL@URL; synth and eval given `local` start their own server instead.
    """
    from agents.local import LocalServer

    server = LocalServer(model.removeprefix("local:"), host=host, port=port)
    _serve_until_interrupted(server, lambda srv: f"{srv.served_model}@{srv.base_url}")
