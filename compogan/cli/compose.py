"""``compogan compose``: place a foreground on backgrounds with a placement model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from compogan.cli.app import app
from compogan.cli.batch import plan_batch, write_batch
from compogan.errors import ConfigError, InputError

if TYPE_CHECKING:
    from compogan.pipelines.base import PipelineResult


@app.command("compose")
def compose_command(
    weights: Annotated[Path, typer.Option("--weights", "-w", help="ST-GAN run or pretrained dir")],
    fg: Annotated[Path, typer.Option("--fg", help="foreground image with alpha (RGBA)")],
    bg: Annotated[list[Path], typer.Option("--bg", help="background image(s) or folder(s)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output file (one bg) or folder")],
    init: Annotated[
        str | None, typer.Option("--init", help="initial placement x,y,scale,angle")
    ] = None,
    mask: Annotated[
        Path | None, typer.Option("--mask", help="alpha mask for a foreground without alpha")
    ] = None,
    steps: Annotated[
        bool, typer.Option("--steps", help="also write the composite after each warp step")
    ] = False,
    save_warp: Annotated[
        bool, typer.Option("--save-warp", help="also write the final homography as JSON")
    ] = False,
    skip_bad: Annotated[
        bool,
        typer.Option("--skip-bad", help="process the other inputs when some cannot be read"),
    ] = False,
    device: Annotated[str, typer.Option("--device")] = "auto",
) -> None:
    """Place a foreground on backgrounds, e.g. `compogan compose -w RUN --fg g.png --bg f.jpg`."""
    from compogan.io.images import IMAGE_SUFFIXES, list_images, load_image
    from compogan.pipelines import Compositor
    from compogan.pipelines.compose import (
        check_background,
        initial_placement,
        load_foreground,
        parse_placement,
    )

    placement = None if init is None else parse_placement(init, "--init")
    foreground = load_foreground(fg, mask)
    extras = [name for name, wanted in (("steps", steps), ("warp", save_warp)) if wanted]

    def check(path: Path) -> None:
        background = load_image(path)
        check_background(background)
        initial_placement(placement, foreground, (background.height, background.width))

    if len(bg) == 1 and not bg[0].is_dir():
        background = list_images(bg[0])[0]
        if out.suffix.lower() not in IMAGE_SUFFIXES:
            raise ConfigError(f"--out must be an image file name (.png, .jpg, ...), not '{out}'")
        check(background)
        compositor = Compositor.from_pretrained(weights, device)
        compositor(foreground, background, init=placement, keep_steps=steps).save(out, extras)
        typer.echo(f"wrote 1 composite(s) to {out}")
        return
    batch = plan_batch(bg, out, "backgrounds", check, skip_bad=skip_bad)
    compositor = Compositor.from_pretrained(weights, device)

    def composites() -> Iterator[PipelineResult | InputError]:
        for path in batch.sources:
            try:
                yield compositor(foreground, path, init=placement, keep_steps=steps)
            except InputError as error:
                yield error

    typer.echo(f"wrote {write_batch(batch, composites(), extras)} composite(s) to {out}")
