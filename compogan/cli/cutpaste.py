"""``compogan cutpaste``: cut an object out of a photo and paste it, enhanced, into a scene."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from compogan.cli.app import app
from compogan.errors import ConfigError


@app.command("cutpaste")
def cutpaste_command(
    weights: Annotated[Path, typer.Option("--weights", "-w", help="SEIGAN run or pretrained dir")],
    source: Annotated[Path, typer.Option("--source", help="the photo holding the object")],
    box: Annotated[str, typer.Option("--box", help="the object's box in the source: x0,y0,x1,y1")],
    target: Annotated[Path, typer.Option("--target", help="the scene to paste the object into")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output folder")],
    at: Annotated[
        str | None, typer.Option("--at", help="where in the target: x0,y0,x1,y1 (default --box)")
    ] = None,
    inpainter: Annotated[
        Path | None,
        typer.Option("--inpainter", help="fill the hole with this EdgeConnect run instead"),
    ] = None,
    placer: Annotated[
        Path | None,
        typer.Option("--placer", help="place the object with this ST-GAN run first"),
    ] = None,
    threshold: Annotated[float, typer.Option("--threshold", help="mask threshold")] = 0.5,
    seed: Annotated[int, typer.Option("--seed", help="seed of the enhancer's noise")] = 0,
    device: Annotated[str, typer.Option("--device")] = "auto",
) -> None:
    """Cut, fill, paste and enhance: writes OUT/mask.png, OUT/removed.png, OUT/composite.png.

    `compogan cutpaste -w RUN --source photo.png --box 10,20,90,100 --target scene.png -o out/`
    """
    from compogan.data.objects import check_box, parse_box
    from compogan.io.images import load_image
    from compogan.pipelines import Compositor, CutPaster, Inpainter

    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out must be a folder, and {out} is a file")
    source_image, target_image = load_image(source), load_image(target)
    check_box(parse_box(box, "--box"), source_image.width, source_image.height, "--box")
    if at is not None:
        check_box(parse_box(at, "--at"), target_image.width, target_image.height, "--at")
    filler = None if inpainter is None else Inpainter.from_pretrained(inpainter, device)
    mover = None if placer is None else Compositor.from_pretrained(placer, device)
    cutpaster = CutPaster.from_pretrained(
        weights, device, threshold=threshold, seed=seed, inpainter=filler, placer=mover
    )
    result = cutpaster(source_image, box, target_image, at=at)
    out.mkdir(parents=True, exist_ok=True)
    written = result.save(out)
    typer.echo(f"wrote {', '.join(path.name for path in written)} to {out}")
