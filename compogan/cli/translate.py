"""``compogan translate``: image-to-image translation of files and folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from compogan.cli.app import app
from compogan.cli.batch import plan_batch, write_batch


@app.command("translate")
def translate_command(
    inputs: Annotated[list[Path], typer.Argument(help="image files and/or folders of images")],
    weights: Annotated[
        Path, typer.Option("--weights", "-w", help="run dir, pretrained dir or official .pth")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="output folder")],
    direction: Annotated[
        str | None,
        typer.Option("--direction", help="e.g. AtoB or BtoA (default: the model's first)"),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 4,
    device: Annotated[str, typer.Option("--device")] = "auto",
) -> None:
    """Translate images, e.g. `compogan translate --weights RUN photo.jpg --out out/`."""
    from compogan.pipelines import Translator

    batch = plan_batch(inputs, out)
    translator = Translator.from_pretrained(weights, device)
    results = translator.map(batch.sources, direction=direction, batch_size=batch_size)
    typer.echo(f"wrote {write_batch(batch, results)} image(s) to {out}")
