"""``compogan inpaint``: fill the holes of images given their masks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from compogan.cli.app import app
from compogan.cli.batch import plan_batch, write_batch
from compogan.errors import InputError


def mask_for_each_image(images: Sequence[Path], mask: Path) -> list[Path]:
    """The mask of every image: ``mask`` itself, or the same-stem file in the folder ``mask``.

    Raises:
        InputError: a missing mask, or a mask folder with two masks of one image's stem.
    """
    from compogan.io.images import list_images

    if not mask.is_dir():
        return [list_images(mask)[0]] * len(images)
    by_stem: dict[str, list[Path]] = {}
    for path in list_images(mask):
        by_stem.setdefault(path.stem, []).append(path)
    masks = []
    for image in images:
        candidates = by_stem.get(image.stem, [])
        if len(candidates) != 1:
            problem = "no mask" if not candidates else "several masks"
            raise InputError(
                f"{problem} named '{image.stem}.*' in '{mask}' for image '{image}'; "
                "give every image exactly one mask of the same name"
            )
        masks.append(candidates[0])
    return masks


@app.command("inpaint")
def inpaint_command(
    inputs: Annotated[list[Path], typer.Argument(help="image files and/or folders of images")],
    weights: Annotated[
        Path,
        typer.Option("--weights", "-w", help="EdgeConnect run/pretrained dir or official folder"),
    ],
    mask: Annotated[
        Path, typer.Option("--mask", "-m", help="mask file (white = hole) or folder by name")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="output folder")],
    edges: Annotated[
        Path | None, typer.Option("--edges", help="hand-drawn edge map (white = edge)")
    ] = None,
    save_edges: Annotated[
        bool, typer.Option("--save-edges", help="also write <stem>_edges.png")
    ] = False,
    work_size: Annotated[
        int, typer.Option("--work-size", min=16, help="longest side the networks see")
    ] = 256,
    blend: Annotated[
        str, typer.Option("--blend", help="none, or poisson: blend the fill into its context")
    ] = "none",
    skip_bad: Annotated[
        bool,
        typer.Option("--skip-bad", help="process the other inputs when some cannot be read"),
    ] = False,
    device: Annotated[str, typer.Option("--device")] = "auto",
) -> None:
    """Fill holes with EdgeConnect: `compogan inpaint -w RUN photo.jpg --mask hole.png -o out/`."""
    batch = plan_batch(inputs, out, skip_bad=skip_bad)
    masks = mask_for_each_image(batch.sources, mask)
    from compogan.data.masks import load_mask_file  # after the image checks: torch takes seconds
    from compogan.pipelines import Inpainter

    for path in dict.fromkeys([*masks, *([edges] if edges is not None else [])]):
        load_mask_file(path)
    inpainter = Inpainter.from_pretrained(weights, device, work_size=work_size, blend=blend)
    pairs = zip(batch.sources, masks, strict=True)
    calls = [{"image": image, "mask": hole} for image, hole in pairs]
    results = inpainter.map(calls, edges=edges)
    written = write_batch(batch, results, ["edges"] if save_edges else [])
    typer.echo(f"wrote {written} image(s) to {out}")
