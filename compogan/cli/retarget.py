"""``compogan retarget``: one image (an InGAN's) at other sizes and shapes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from compogan.cli.app import app
from compogan.errors import InputError

if TYPE_CHECKING:
    from PIL import Image

    from compogan.pipelines.retarget import RetargetResult

GRID_SCALES = (0.5, 0.75, 1.0, 1.5, 2.0)
"""The height and width factors of ``--grid``'s 5x5 retargets."""
GRID_GAP = 4
MAX_VIDEO_FRAMES = 1000


def _size_name(size: str) -> str:
    return size.strip().replace(" ", "")


def _collage(results: dict[tuple[float, float], RetargetResult]) -> Image.Image:
    """The 5x5 grid's retargets on one white sheet, rows by height factor, columns by width
    factor; the 1x1 cell (the input's size) outlined in red."""
    from PIL import Image, ImageDraw

    heights = {h: max(results[h, w].size[0] for w in GRID_SCALES) for h in GRID_SCALES}
    widths = {w: max(results[h, w].size[1] for h in GRID_SCALES) for w in GRID_SCALES}
    sheet = Image.new(
        "RGB",
        (sum(widths.values()) + GRID_GAP * 6, sum(heights.values()) + GRID_GAP * 6),
        "white",
    )
    draw = ImageDraw.Draw(sheet)
    top = GRID_GAP
    for h in GRID_SCALES:
        left = GRID_GAP
        for w in GRID_SCALES:
            picture = results[h, w].image
            sheet.paste(picture, (left, top))
            if h == w == 1.0:
                box = (left - 2, top - 2, left + picture.width + 1, top + picture.height + 1)
                draw.rectangle(box, outline=(220, 0, 0), width=2)
            left += widths[w] + GRID_GAP
        top += heights[h] + GRID_GAP
    return sheet


@app.command("retarget")
def retarget_command(
    weights: Annotated[Path, typer.Option("--weights", "-w", help="InGAN run or pretrained dir")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output folder")],
    sizes: Annotated[
        str | None,
        typer.Option("--sizes", help="comma-separated HxW factors (1.5x0.7) or pixels (256x384px)"),
    ] = None,
    image: Annotated[
        Path | None, typer.Option("--image", help="image to retarget (default: the trained one)")
    ] = None,
    grid: Annotated[
        bool, typer.Option("--grid", help="also write the 5x5 scale grid and its collage")
    ] = False,
    corners: Annotated[
        str | None,
        typer.Option("--corners", help="non-rectangular output: x1,y1,...,x4,y4 (RGBA)"),
    ] = None,
    video: Annotated[
        Path | None,
        typer.Option("--video", help="also write a video sweeping through sizes (.mp4 or .gif)"),
    ] = None,
    frames: Annotated[int, typer.Option("--frames", help="frames of --video")] = 60,
    fps: Annotated[float, typer.Option("--fps", help="frames per second of --video")] = 15.0,
    device: Annotated[str, typer.Option("--device")] = "auto",
) -> None:
    """Retarget: `compogan retarget -w runs/ingan --sizes 1.5x0.7,2x1 -o out/`.

    Writes OUT/<size>.png per size (with --grid also OUT/grid/<h>x<w>.png and OUT/grid.png;
    with --video the sweep, e.g. --video out/sweep.mp4). Every size is checked and computed
    before anything is written.
    """
    from compogan.io.atomic import remove_stale_temporaries
    from compogan.io.images import load_image
    from compogan.io.video import check_video_path, write_video
    from compogan.pipelines import Retargeter

    wanted = [] if sizes is None else [part for part in sizes.split(",") if part.strip()]
    if sizes is not None and not wanted:
        raise InputError("--sizes is empty; give sizes like 1.5x0.7,2x1")
    if not wanted and not grid and video is None:
        raise InputError("nothing to do: give --sizes, --grid and/or --video")
    if video is not None:
        check_video_path(video)
        if not 0 < fps <= 120:
            raise InputError(f"--fps must be in (0, 120], got {fps}")
        if not 2 <= frames <= MAX_VIDEO_FRAMES:
            raise InputError(f"--frames must be in [2, {MAX_VIDEO_FRAMES}], got {frames}")
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder")
    picture = None if image is None else load_image(image)
    retargeter = Retargeter.from_pretrained(weights, device)
    outputs: dict[Path, RetargetResult] = {}
    for size in wanted:
        outputs[out / f"{_size_name(size)}.png"] = retargeter(size, picture, corners)
    collage = None
    if grid:
        cells = {(h, w): retargeter(f"{h}x{w}", picture) for h in GRID_SCALES for w in GRID_SCALES}
        for (h, w), result in cells.items():
            outputs[out / "grid" / f"{h}x{w}.png"] = result
        collage = _collage(cells)
    sweep = [] if video is None else [result.image for result in retargeter.sweep(frames, picture)]
    if outputs:
        out.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(out)
    for path, result in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        result.save(path)
    if collage is not None:
        from compogan.io.images import save_image

        save_image(collage, out / "grid.png")
    if video is not None:
        write_video(sweep, video, fps)
        typer.echo(f"wrote a {len(sweep)}-frame retargeting video to {video}")
    if outputs:
        typer.echo(f"wrote {len(outputs) + (collage is not None)} image(s) to {out}")
