"""``compogan serve``: the web page, one tab per pipeline, on loopback by default."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer

from compogan.cli.app import app
from compogan.errors import ConfigError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@app.command("serve")
def serve_command(
    models: Annotated[
        Path,
        typer.Option(
            "--models", "-m", help="folder of run directories and/or official weight files"
        ),
    ],
    host: Annotated[
        str, typer.Option("--host", help="address to bind; other than loopback, anyone can use it")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 7860,
    device: Annotated[str, typer.Option("--device")] = "auto",
    max_pixels: Annotated[
        int, typer.Option("--max-pixels", min=1, help="most pixels per image input")
    ] = 4096 * 4096,
    max_upload_mb: Annotated[
        float, typer.Option("--max-upload-mb", min=0.001, help="largest uploaded file, MB")
    ] = 20.0,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.001, help="longest a request may take, seconds")
    ] = 300.0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="requests run at once")] = 1,
    waiting: Annotated[
        int, typer.Option("--waiting", min=0, help="requests that may wait; more are 'busy'")
    ] = 4,
) -> None:
    """Serve the web page, e.g. `compogan serve --models runs/` (open http://127.0.0.1:7860)."""
    import compogan.web  # noqa: F401  (turns gradio's analytics off before gradio loads)
    from compogan.web.handlers import Limits

    if importlib.util.find_spec("gradio") is None:
        raise ConfigError("the web page needs gradio: pip install 'compogan[web]'")
    from compogan.web.app import serve

    if host not in LOOPBACK:
        typer.echo(f"warning: serving on {host}: anyone who can reach it can use it", err=True)
    limits = Limits(max_upload_mb, max_pixels, timeout, workers, waiting)
    serve(str(models), host=host, port=port, device=device, limits=limits)
