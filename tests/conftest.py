"""Shared pytest fixtures: a tiny CycleGAN (in memory and saved), tiny image files and folders."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from compogan.models.cyclegan import CycleGAN, CycleGANConfig

TINY_CYCLEGAN = {"ngf": 8, "n_blocks": 1, "ndf": 8}


def write_image(path: Path, height: int, width: int, seed: int = 0) -> Path:
    """Write a random RGB PNG (or any suffix PIL knows) of ``height`` x ``width`` to ``path``."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def make_image() -> Callable[..., Path]:
    """:func:`write_image`, for tests: ``make_image(path, height, width, seed=0)``."""
    return write_image


@pytest.fixture
def tiny_cyclegan() -> CycleGAN:
    """A freshly initialised CycleGAN (ngf=8, one ResNet block, ndf=8) in eval mode."""
    torch.manual_seed(0)
    return CycleGAN(CycleGANConfig(**TINY_CYCLEGAN)).eval()


@pytest.fixture
def tiny_cyclegan_dir(tiny_cyclegan: CycleGAN, tmp_path: Path) -> Path:
    """``tiny_cyclegan`` written with save_pretrained (config.json + model.safetensors)."""
    return tiny_cyclegan.save_pretrained(tmp_path / "tiny_cyclegan")


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """A folder with three small RGB images of mixed sizes, one of them not divisible by 4."""
    folder = tmp_path / "images"
    write_image(folder / "a.png", 16, 20, seed=1)
    write_image(folder / "b.png", 37, 53, seed=2)
    write_image(folder / "c.jpg", 16, 20, seed=3)
    return folder


@dataclass
class CliResult:
    """Exit status and captured output of one in-process ``compogan`` run."""

    code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliResult]:
    """Run ``compogan ARGS...`` through the real entry point ``compogan.cli.main``, in process.

    Unlike typer's CliRunner on the app, this goes through ``main``, which turns compogan
    errors into the one-line ``error: ...`` message and exit status 1.
    """
    from compogan.cli import main

    def run(*args: str | Path) -> CliResult:
        monkeypatch.setattr(sys, "argv", ["compogan", *map(str, args)])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exit_info:
            status = exit_info.code
            code = status if isinstance(status, int) else int(status is not None)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
