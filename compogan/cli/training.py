"""Commands about models and runs: ``models``, ``train``, ``convert``, ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from compogan.cli.app import app
from compogan.errors import ConfigError


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
