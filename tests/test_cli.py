"""The ``compogan`` command line: listing, translating, training, and how mistakes are reported.

Error cases run through the real entry point (``compogan.cli.main``, via the ``run_cli``
fixture) or a real ``python -m compogan`` process, since that is where a user error becomes one
``error: ...`` line on stderr and exit status 1. Usage errors are click's: exit status 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from PIL import Image
from test_interop_cyclegan import official_generator
from typer.testing import CliRunner

from compogan.cli import app

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY_TRAINING = [
    "data.crop_size=32",
    "model.ngf=8",
    "model.n_blocks=1",
    "model.ndf=8",
    "data.length=4",
    "data.test_length=2",
    "train.steps=2",
    "train.batch_size=1",
    "train.progress=false",
]


def run_process(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``python -m compogan ARGS...`` in a fresh interpreter, on the CPU."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "CUDA_VISIBLE_DEVICES": "",
    }
    return subprocess.run(
        [sys.executable, "-m", "compogan", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def assert_one_error_line(code: int, stderr: str) -> None:
    assert code == 1, stderr
    assert stderr.startswith("error: "), stderr
    assert stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr


# ---- listing and usage ----------------------------------------------------------------------
def test_models_lists_cyclegan() -> None:
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0
    assert any(line.split()[0] == "cyclegan" for line in result.output.splitlines())


def test_python_m_compogan_lists_models_end_to_end() -> None:
    result = run_process("models")
    assert result.returncode == 0, result.stderr
    assert "cyclegan" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["models", "--no-such-option"],
        ["translate", "--weights", "w", "--out", "o", "--bogus", "x.png"],
        ["translate", "x.png", "--out", "o"],
        ["translate", "x.png", "--weights", "w", "--out", "o", "--batch-size", "0"],
        ["no-such-command"],
    ],
    ids=["no-args", "unknown-option", "unknown-translate-option", "no-weights", "batch-0", "cmd"],
)
def test_usage_errors_exit_with_status_2(args: list[str], run_cli) -> None:
    assert CliRunner().invoke(app, args).exit_code == 2
    assert run_cli(*args).code == 2


# ---- translate ------------------------------------------------------------------------------
def test_translate_one_file(tmp_path: Path, tiny_cyclegan_dir: Path, make_image, run_cli) -> None:
    image = make_image(tmp_path / "in" / "photo.jpg", 37, 53)
    out = tmp_path / "out"

    result = run_cli("translate", image, "--weights", tiny_cyclegan_dir, "--out", out)

    assert result.code == 0, result.stderr
    assert "wrote 1 image" in result.stdout
    assert files_under(out) == [out / "photo.png"]
    with Image.open(out / "photo.png") as translated:
        assert translated.size == (53, 37) and translated.mode == "RGB"


def test_translate_a_folder_both_ways(
    tmp_path: Path, tiny_cyclegan_dir: Path, image_folder: Path, run_cli
) -> None:
    for direction in ("AtoB", "BtoA"):
        out = tmp_path / direction
        result = run_cli(
            "translate",
            image_folder,
            "-w",
            tiny_cyclegan_dir,
            "-o",
            out,
            "--direction",
            direction,
            "--batch-size",
            "2",
            "--device",
            "cpu",
        )
        assert result.code == 0, result.stderr
        for source in image_folder.iterdir():
            with Image.open(source) as original, Image.open(out / f"{source.stem}.png") as output:
                assert output.size == original.size
        assert len(files_under(out)) == 3


# ---- mistakes: one line on stderr, status 1, nothing written ------------------------------
def write_foreign_checkpoint(folder: Path) -> Path:
    """A checkpoint directory of another model type (an ST-GAN run)."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model": "stgan", "config": {}}))
    return folder


def write_one_direction_checkpoint(folder: Path) -> Path:
    """An official one-direction generator file (A -> B only)."""
    folder.mkdir(parents=True)
    torch.save(official_generator(seed=0).state_dict(), folder / "latest_net_G.pth")
    return folder / "latest_net_G.pth"


def write_random_bytes(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(256))
    return path


TranslateCase = Callable[[Path, Path, Path], list[str | Path]]

TRANSLATE_MISTAKES: dict[str, tuple[TranslateCase, str]] = {
    "missing-input": (
        lambda tmp, weights, image: [tmp / "nope.png", "-w", weights],
        "no such file or folder",
    ),
    "corrupt-image": (
        lambda tmp, weights, image: [
            image,
            write_random_bytes(tmp / "bad" / "broken.png"),
            "-w",
            weights,
        ],
        "cannot read image",
    ),
    "empty-folder": (
        lambda tmp, weights, image: [(tmp / "empty").resolve(), "-w", weights],
        "no images",
    ),
    "missing-weights": (
        lambda tmp, weights, image: [image, "-w", tmp / "no_weights"],
        "no such checkpoint directory",
    ),
    "other-model-weights": (
        lambda tmp, weights, image: [image, "-w", write_foreign_checkpoint(tmp / "stgan_run")],
        "holds a 'stgan' checkpoint, not 'cyclegan'",
    ),
    "bad-direction": (
        lambda tmp, weights, image: [image, "-w", weights, "--direction", "AtoC"],
        "--direction must be AtoB or BtoA",
    ),
    "one-direction-weights": (
        lambda tmp, weights, image: [
            image,
            "-w",
            write_one_direction_checkpoint(tmp / "official"),
            "--direction",
            "BtoA",
        ],
        "holds no G_B, so it cannot translate BtoA",
    ),
    "clashing-names": (
        lambda tmp, weights, image: [image, image.with_suffix(".jpg"), "-w", weights],
        "several inputs would be written to",
    ),
}


@pytest.mark.parametrize("case", list(TRANSLATE_MISTAKES))
def test_translate_mistakes_give_one_error_line_and_no_output(
    case: str, tmp_path: Path, tiny_cyclegan_dir: Path, make_image, run_cli
) -> None:
    build_args, message = TRANSLATE_MISTAKES[case]
    image = make_image(tmp_path / "good" / "photo.png", 16, 16)
    make_image(tmp_path / "good" / "photo.jpg", 16, 16)
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"

    result = run_cli("translate", *build_args(tmp_path, tiny_cyclegan_dir, image), "-o", out)

    assert_one_error_line(result.code, result.stderr)
    assert message in result.stderr
    assert files_under(out) == []


def test_a_mistake_in_a_real_process_prints_one_line(tmp_path: Path) -> None:
    result = run_process("translate", tmp_path / "nope.png", "-w", tmp_path, "-o", tmp_path / "o")
    assert_one_error_line(result.returncode, result.stderr)
    assert "no such file or folder" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "nosuchmodel", "--run-dir", "RUN"], "unknown model 'nosuchmodel'"),
        (["train", "cyclegan", "train.stepz=3", "--run-dir", "RUN"], "Key 'stepz' not in"),
        (["train", "cyclegan", "train.steps=many", "--run-dir", "RUN"], "bad config"),
        (["train", "cyclegan", "train.steps", "--run-dir", "RUN"], "section.key=value"),
        (["train", "cyclegan", "--resume"], "--resume needs --run-dir"),
        (["train", "cyclegan", "--resume", "--run-dir", "RUN"], "--resume: no checkpoint"),
        (["convert", "nosuchmodel", "x.pth", "RUN"], "unknown model 'nosuchmodel'"),
        (["convert", "cyclegan", "missing.pth", "RUN"], "no such checkpoint file"),
    ],
    ids=[
        "unknown-model",
        "unknown-key",
        "bad-value",
        "no-equals",
        "resume-no-run-dir",
        "resume-nothing",
        "convert-model",
        "convert-missing",
    ],
)
def test_train_and_convert_mistakes_give_one_error_line(
    args: list[str], message: str, tmp_path: Path, run_cli
) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(*(run_dir if arg == "RUN" else arg for arg in args))
    assert_one_error_line(result.code, result.stderr)
    assert message in result.stderr
    assert not run_dir.exists()


# ---- train, then translate with the run ---------------------------------------------------
def test_train_then_translate_with_the_run(tmp_path: Path, make_image, run_cli) -> None:
    run_dir = tmp_path / "run"

    result = run_cli("train", "cyclegan", *TINY_TRAINING, "--run-dir", run_dir, "--device", "cpu")

    assert result.code == 0, result.stderr
    assert "trained cyclegan for 2 steps" in result.stdout
    for name in ("config.json", "model.safetensors", "config.yaml"):
        assert (run_dir / name).is_file()
    checkpoints = sorted((run_dir / "checkpoints").iterdir())
    assert [path.name for path in checkpoints] == ["step_00000002"]
    metadata = json.loads((run_dir / "config.json").read_text())
    assert metadata["model"] == "cyclegan" and metadata["config"]["ngf"] == 8

    image = make_image(tmp_path / "photo.png", 20, 28)
    out = tmp_path / "out"
    result = run_cli("translate", image, "--weights", run_dir, "--out", out, "--device", "cpu")

    assert result.code == 0, result.stderr
    with Image.open(out / "photo.png") as translated:
        assert translated.size == (28, 20)
