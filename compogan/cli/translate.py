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
    tile_size: Annotated[
        int,
        typer.Option("--tile-size", min=0, help="translate larger images in tiles (0: never)"),
    ] = 1024,
    skip_bad: Annotated[
        bool,
        typer.Option("--skip-bad", help="process the other inputs when some cannot be read"),
    ] = False,
    device: Annotated[str, typer.Option("--device")] = "auto",
) -> None:
    """Translate images, e.g. `compogan translate --weights RUN photo.jpg --out out/`."""
    batch = plan_batch(inputs, out, skip_bad=skip_bad)
    from compogan.pipelines import Translator  # after the input checks: torch takes seconds

    translator = Translator.from_pretrained(weights, device, tile_size=tile_size)
    results = translator.map(batch.sources, direction=direction, batch_size=batch_size)
    typer.echo(f"wrote {write_batch(batch, results)} image(s) to {out}")
