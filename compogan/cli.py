"""The ``compogan`` command line.

Every user mistake ends in one line on stderr and exit status 1 (2 for usage errors), and no
partially written output file.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from compogan.errors import CompoganError, ConfigError, InputError

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
    from compogan.config import load_config
    from compogan.registry import get_model_class
    from compogan.train import Trainer, make_run_dir
    from compogan.train.distributed import shutdown_distributed

    model_cls = get_model_class(model)
    if resume:
        if run_dir is None:
            raise ConfigError("--resume needs --run-dir pointing at the run to continue")
        if config is None and (run_dir / "config.yaml").is_file():
            config = run_dir / "config.yaml"
    experiment = load_config(model_cls, config, overrides or [])
    try:
        trainer = Trainer(model_cls, experiment, run_dir or make_run_dir(model), resume, device)
        result = trainer.fit()
    finally:
        shutdown_distributed()
    if trainer.dist.is_main:
        typer.echo(f"trained {model} for {result.step} steps; weights in {result.run_dir}")


@app.command("translate")
def translate_command(
    inputs: Annotated[list[Path], typer.Argument(help="image files and/or folders of images")],
    weights: Annotated[
        Path, typer.Option("--weights", "-w", help="run dir, pretrained dir or official .pth")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="output folder")],
    direction: Annotated[str, typer.Option("--direction", help="AtoB or BtoA")] = "AtoB",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 4,
    device: Annotated[str, typer.Option("--device")] = "auto",
) -> None:
    """Translate images with a CycleGAN: `compogan translate --weights RUN photo.jpg --out out/`."""
    from tqdm import tqdm

    from compogan.io.images import list_images, load_image, save_image
    from compogan.pipelines.translate import Translator

    if direction not in ("AtoB", "BtoA"):
        raise ConfigError(f"--direction must be AtoB or BtoA, not '{direction}'")
    files = list_images(*inputs)
    stems = Counter(path.stem for path in files)
    clashing = sorted(stem for stem, count in stems.items() if count > 1)
    if clashing:
        raise InputError(
            f"several inputs would be written to {out / clashing[0]}.png; "
            "rename them or translate them separately"
        )
    for path in files:
        load_image(path)
    translator = Translator.from_pretrained(weights, device)
    outputs = translator.iter_translate(files, direction, batch_size)
    for path, image in tqdm(zip(files, outputs, strict=True), total=len(files), unit="img"):
        save_image(image, out / f"{path.stem}.png")
    typer.echo(f"wrote {len(files)} image(s) to {out}")


def parse_placement(text: str | None) -> tuple[float, float, float, float] | None:
    """Parse ``--init x,y,scale,angle`` (four numbers)."""
    if text is None:
        return None
    parts = text.split(",")
    try:
        values = tuple(float(part) for part in parts)
    except ValueError:
        values = ()
    if len(values) != 4:
        raise ConfigError(f"--init must be four numbers x,y,scale,angle, not '{text}'")
    return values


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
    from tqdm import tqdm

    from compogan.io.images import IMAGE_SUFFIXES, list_images, load_image
    from compogan.pipelines.compose import (
        Compositor,
        check_background,
        initial_placement,
        load_foreground,
    )

    placement = parse_placement(init)
    foreground = load_foreground(fg, mask)
    backgrounds = list_images(*bg)
    single = len(backgrounds) == 1 and not bg[0].is_dir()
    if single and out.suffix.lower() not in IMAGE_SUFFIXES:
        raise ConfigError(f"--out must be an image file name (.png, .jpg, ...), not '{out}'")
    if not single:
        stems = Counter(path.stem for path in backgrounds)
        clashing = sorted(stem for stem, count in stems.items() if count > 1)
        if clashing:
            raise InputError(
                f"several backgrounds would be written to {out / clashing[0]}.png; "
                "rename them or compose them separately"
            )
    for path in backgrounds:
        background = load_image(path)
        check_background(background)
        initial_placement(placement, foreground, (background.height, background.width))
    compositor = Compositor.from_pretrained(weights, device)
    failures: list[str] = []
    for path in tqdm(backgrounds, unit="img", disable=single):
        try:
            result = compositor(foreground, path, init=placement, keep_steps=steps)
        except InputError as error:
            if single:
                raise
            failures.append(f"{path.name}: {error}")
            continue
        result.save(out if single else out / f"{path.stem}.png", steps, save_warp)
    if failures:
        raise InputError(
            f"{len(failures)} of {len(backgrounds)} backgrounds failed, the others were written "
            f"to {out} (first: {failures[0]})"
        )
    typer.echo(f"wrote {len(backgrounds)} composite(s) to {out}")


def mask_for_each_image(images: list[Path], mask: Path) -> list[Path]:
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
    from tqdm import tqdm

    from compogan.data.masks import load_mask_file
    from compogan.io.images import list_images, load_image
    from compogan.pipelines.inpaint import Inpainter

    files = list_images(*inputs)
    stems = Counter(path.stem for path in files)
    clashing = sorted(stem for stem, count in stems.items() if count > 1)
    if clashing:
        raise InputError(
            f"several inputs would be written to {out / clashing[0]}.png; "
            "rename them or inpaint them separately"
        )
    masks = mask_for_each_image(files, mask)
    for path in files:
        load_image(path)
    for path in dict.fromkeys([*masks, *([edges] if edges is not None else [])]):
        load_mask_file(path)
    inpainter = Inpainter.from_pretrained(weights, device, work_size, blend)
    for path, mask_path in tqdm(zip(files, masks, strict=True), total=len(files), unit="img"):
        result = inpainter(path, mask_path, edges)
        result.save(out / f"{path.stem}.png", with_edges=save_edges)
    typer.echo(f"wrote {len(files)} image(s) to {out}")


@app.command("convert")
def convert_command(
    model: Annotated[str, typer.Argument(help="model whose official weights to convert")],
    source: Annotated[Path, typer.Argument(help="official .pth file or folder of them")],
    out_dir: Annotated[Path, typer.Argument(help="directory to write config.json + safetensors")],
) -> None:
    """Convert official weights: `compogan convert cyclegan latest_net_G.pth horse2zebra/`."""
    from compogan.registry import get_model_class

    get_model_class(model)
    if model != "cyclegan":
        raise ConfigError(f"no importer for official '{model}' weights yet; supported: cyclegan")
    from compogan.interop.cyclegan import import_official

    converted = import_official([source])
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
