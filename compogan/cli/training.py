"""Commands about models and runs: ``models``, ``train``, ``convert``, ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from compogan.cli.app import app
from compogan.errors import CheckpointError, ConfigError


def check_output_dir(out_dir: Path, overwrite: bool) -> None:
    """Refuse an output folder that is a file, or one that holds anything (unless
    ``overwrite``), before any work is done.

    Raises:
        ConfigError: one line saying what to do.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir} is a file, not a folder; choose another output folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise ConfigError(
            f"{out_dir} is not empty; choose a new folder, or pass --overwrite to replace it"
        )


def _image_override(model_cls: type, image: Path | None) -> list[str]:
    """``data.image=IMAGE`` for a model whose data config has an ``image`` field.

    Raises:
        ConfigError: --image for a model that does not train on one image, or a missing file.
    """
    if image is None:
        return []
    if "image" not in getattr(model_cls.DataConfig, "__dataclass_fields__", {}):
        raise ConfigError(
            f"--image is for single-image models; {model_cls.name} trains on a dataset"
        )
    if not image.is_file():
        raise ConfigError(f"--image {image} is not a file")
    return [f"data.image={image}"]


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
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="delete the earlier run in --run-dir and start afresh"),
    ] = False,
    device: Annotated[
        str | None, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps")
    ] = None,
    image: Annotated[
        Path | None,
        typer.Option("--image", help="the one training image of a single-image model (InGAN)"),
    ] = None,
) -> None:
    """Train a model, e.g. `compogan train cyclegan -c configs/cyclegan/day2night.yaml`.

    Single-image models take their image with --image (the same as data.image=PATH):
    `compogan train ingan -c configs/ingan/skimage_cpu.yaml --image photo.png`.

    A fresh run refuses a --run-dir that holds an earlier run: continue that one with
    --resume, choose a new folder, or pass --overwrite to delete it first. Ctrl-C stops after
    the current step and saves its checkpoint (a second Ctrl-C quits at once).
    """
    from compogan.config import load_config, resume_config
    from compogan.registry import get_model_class
    from compogan.train import Trainer, make_run_dir
    from compogan.train.distributed import shutdown_distributed
    from compogan.train.trainer import check_run_dir

    model_cls = get_model_class(model)
    overrides = [*(overrides or []), *_image_override(model_cls, image)]
    if resume and run_dir is None:
        raise ConfigError("--resume needs --run-dir pointing at the run to continue")
    run_dir = run_dir or make_run_dir(model)
    check_run_dir(run_dir, resume, overwrite)
    if resume and config is None:
        experiment = resume_config(model_cls, run_dir, overrides or [])
    else:
        experiment = load_config(model_cls, config, overrides or [])
    try:
        trainer = Trainer(model_cls, experiment, run_dir, resume, device, overwrite=overwrite)
        result = trainer.fit()
    finally:
        shutdown_distributed()
    if trainer.dist.is_main:
        typer.echo(f"trained {model} for {result.step} steps; weights in {result.run_dir}")


@app.command("convert")
def convert_command(
    model: Annotated[str, typer.Argument(help="model whose official weights to convert")],
    source: Annotated[Path, typer.Argument(help="official .pth file or folder of them")],
    out_dir: Annotated[Path, typer.Argument(help="directory to write config.json + safetensors")],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="replace what out_dir holds")
    ] = False,
) -> None:
    """Convert official weights: `compogan convert edgeconnect places2/ models/places2`.

    out_dir must be new or empty unless --overwrite; it appears complete or not at all.
    """
    from compogan.interop import import_official
    from compogan.io.atomic import atomic_dir
    from compogan.registry import get_model_class

    get_model_class(model)
    check_output_dir(out_dir, overwrite)
    converted = import_official(model, source)
    try:
        with atomic_dir(out_dir) as tmp:
            converted.save_pretrained(tmp)
    except OSError as error:
        raise CheckpointError(f"cannot write {out_dir}: {error.strerror or error}") from None
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
