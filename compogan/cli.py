"""The ``compogan`` command line.

Every user mistake ends in one line on stderr and exit status 1 (2 for usage errors), and no
partially written output file.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from compogan.errors import CompoganError, ConfigError, InputError

if TYPE_CHECKING:
    from compogan.pipelines.base import PipelineResult

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="compogan: compositional image synthesis with GANs (train, translate, convert, demo).",
)


@app.command("models")
def models_command() -> None:
    """List the registered models with a one-line description each."""
    from compogan.registry import available_models

    for name, description in available_models().items():
        typer.echo(f"{name:<12} {description}")


@app.command("train")
def train_command(
    model: Annotated[str, typer.Argument(help="registered model name, e.g. cyclegan")],
    overrides: Annotated[
        list[str] | None, typer.Argument(help="config overrides such as train.steps=2000")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML config file (configs/...)")
    ] = None,
    run_dir: Annotated[
        Path | None,
        typer.Option("--run-dir", help="output directory (default runs/<model>-<time>)"),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="continue the run in --run-dir from its checkpoint")
    ] = False,
    device: Annotated[
        str | None, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps")
    ] = None,
) -> None:
    """Train a model, e.g. `compogan train cyclegan -c configs/cyclegan/day2night.yaml`."""
    from compogan.config import load_config, resume_config
    from compogan.registry import get_model_class
    from compogan.train import Trainer, make_run_dir
    from compogan.train.distributed import shutdown_distributed

    model_cls = get_model_class(model)
    if resume and run_dir is None:
        raise ConfigError("--resume needs --run-dir pointing at the run to continue")
    if resume and config is None:
        experiment = resume_config(model_cls, run_dir, overrides or [])
    else:
        experiment = load_config(model_cls, config, overrides or [])
    try:
        trainer = Trainer(model_cls, experiment, run_dir or make_run_dir(model), resume, device)
        result = trainer.fit()
    finally:
        shutdown_distributed()
    if trainer.dist.is_main:
        typer.echo(f"trained {model} for {result.step} steps; weights in {result.run_dir}")


@dataclass(frozen=True)
class Batch:
    """Image files in, one output file per input (``out/<stem>.png``); see :func:`plan_batch`.

    Attributes:
        out: the output folder.
        sources: the input image files, in order.
        targets: the output file of each.
        what: what the inputs are called in messages ("inputs", "backgrounds").
    """

    out: Path
    sources: tuple[Path, ...]
    targets: tuple[Path, ...]
    what: str


def plan_batch(
    inputs: Sequence[Path],
    out: Path,
    what: str = "inputs",
    check: Callable[[Path], object] | None = None,
) -> Batch:
    """Every image file among ``inputs`` (files and folders) with its output ``out/<stem>.png``,
    all checked before a model loads.

    Args:
        inputs: image files and folders of them.
        out: the output folder.
        what: what the inputs are called in messages.
        check: reads and checks one input, raising InputError (default: the image loads).

    Raises:
        InputError: a missing file or folder, a folder without images, an input ``check``
            refuses, or two inputs whose outputs would be the same file.
    """
    from compogan.io.images import list_images, load_image

    sources = tuple(list_images(*inputs))
    targets = tuple(out / f"{source.stem}.png" for source in sources)
    first_source: dict[Path, Path] = {}
    for source, target in zip(sources, targets, strict=True):
        if target in first_source:
            raise InputError(
                f"several {what} would be written to {target} ({first_source[target]} and "
                f"{source}); rename them or run them separately"
            )
        first_source[target] = source
    for source in sources:
        (check or load_image)(source)
    return Batch(out, sources, targets, what)


def write_batch(
    batch: Batch,
    results: Iterable[PipelineResult | InputError],
    extras: Collection[str] = (),
) -> int:
    """Save each result at its input's target (atomically, with its ``extras``), showing a
    progress bar for more than one input; returns how many were written.

    A result may be the InputError of an input that failed when the command carries on with the
    others; the failures are raised together once every other result is written.

    Raises:
        InputError: some inputs failed (the message counts them and names the first).
    """
    from compogan.pipelines.base import progress_bar

    failures: list[str] = []
    pairs = zip(batch.sources, batch.targets, results, strict=True)
    for source, target, result in progress_bar(pairs, total=len(batch.sources)):
        if isinstance(result, InputError):
            failures.append(f"{source.name}: {result}")
            continue
        result.save(target, extras)
    if failures:
        raise InputError(
            f"{len(failures)} of {len(batch.sources)} {batch.what} failed, the others were "
            f"written to {batch.out} (first: {failures[0]})"
        )
    return len(batch.sources)


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
    batch = plan_batch(bg, out, "backgrounds", check)
    compositor = Compositor.from_pretrained(weights, device)

    def composites() -> Iterator[PipelineResult | InputError]:
        for path in batch.sources:
            try:
                yield compositor(foreground, path, init=placement, keep_steps=steps)
            except InputError as error:
                yield error

    typer.echo(f"wrote {write_batch(batch, composites(), extras)} composite(s) to {out}")


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
    device: Annotated[str, typer.Option("--device")] = "auto",
) -> None:
    """Fill holes with EdgeConnect: `compogan inpaint -w RUN photo.jpg --mask hole.png -o out/`."""
    from compogan.data.masks import load_mask_file
    from compogan.pipelines import Inpainter

    batch = plan_batch(inputs, out)
    masks = mask_for_each_image(batch.sources, mask)
    for path in dict.fromkeys([*masks, *([edges] if edges is not None else [])]):
        load_mask_file(path)
    inpainter = Inpainter.from_pretrained(weights, device, work_size=work_size, blend=blend)
    pairs = zip(batch.sources, masks, strict=True)
    calls = [{"image": image, "mask": hole} for image, hole in pairs]
    results = inpainter.map(calls, edges=edges)
    written = write_batch(batch, results, ["edges"] if save_edges else [])
    typer.echo(f"wrote {written} image(s) to {out}")


@app.command("convert")
def convert_command(
    model: Annotated[str, typer.Argument(help="model whose official weights to convert")],
    source: Annotated[Path, typer.Argument(help="official .pth file or folder of them")],
    out_dir: Annotated[Path, typer.Argument(help="directory to write config.json + safetensors")],
) -> None:
    """Convert official weights: `compogan convert edgeconnect places2/ models/places2`."""
    from compogan.interop import import_official
    from compogan.registry import get_model_class

    get_model_class(model)
    converted = import_official(model, source)
    converted.save_pretrained(out_dir)
    typer.echo(f"converted {', '.join(converted.loaded_networks)} from {source} into {out_dir}")


@app.command("demo")
def demo_command(
    model: Annotated[str, typer.Argument(help="stgan (default) or cyclegan")] = "stgan",
    out: Annotated[Path, typer.Option("--out", help="report folder")] = Path("demo_out"),
    minutes: Annotated[
        float | None, typer.Option("--minutes", help="training budget (default: the demo's own)")
    ] = None,
    device: Annotated[str, typer.Option("--device")] = "auto",
) -> None:
    """Train on built-in synthetic data and write an HTML report: `compogan demo`."""
    from compogan.demos import run_demo

    index = run_demo(model, out, minutes=minutes, device=device)
    typer.echo(f"demo report: {index}")


def main() -> None:
    """Entry point of the ``compogan`` console script and ``python -m compogan``."""
    try:
        app()
    except CompoganError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
