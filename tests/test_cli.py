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

from compogan.cli import app, plan_batch, write_batch
from compogan.errors import InputError
from compogan.pipelines import TranslationResult

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY_TRAINING = [
    "data.size=32",
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


# ---- the batch helper: files and folders in, one output per input ---------------------------
def test_plan_batch_maps_every_input_to_one_output(tmp_path: Path, image_folder: Path) -> None:
    single = write_image_file(tmp_path / "more" / "d.bmp")
    batch = plan_batch([image_folder, single], tmp_path / "out")
    assert [path.name for path in batch.sources] == ["a.png", "b.png", "c.jpg", "d.bmp"]
    assert [path.name for path in batch.targets] == ["a.png", "b.png", "c.png", "d.png"]
    assert all(path.parent == tmp_path / "out" for path in batch.targets)


def test_plan_batch_refuses_two_inputs_for_one_output(tmp_path: Path, image_folder: Path) -> None:
    clash = write_image_file(tmp_path / "other" / "a.jpg")
    with pytest.raises(InputError) as info:
        plan_batch([image_folder, clash], tmp_path / "out", "backgrounds")
    assert str(info.value) == (
        f"several backgrounds would be written to {tmp_path / 'out' / 'a.png'} "
        f"({image_folder / 'a.png'} and {clash}); rename them or run them separately"
    )


def test_plan_batch_checks_every_input_first(tmp_path: Path, image_folder: Path) -> None:
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(InputError, match="cannot read image"):
        plan_batch([image_folder, tmp_path / "bad.png"], tmp_path / "out")
    checked: list[str] = []
    plan_batch([image_folder], tmp_path / "out", check=lambda path: checked.append(path.name))
    assert checked == ["a.png", "b.png", "c.jpg"]


def test_write_batch_writes_the_others_then_reports_failures(
    tmp_path: Path, image_folder: Path
) -> None:
    batch = plan_batch([image_folder], tmp_path / "out")
    image = Image.new("RGB", (4, 4))
    results = [TranslationResult(image), InputError("too dark"), TranslationResult(image)]
    with pytest.raises(InputError) as info:
        write_batch(batch, results)
    assert str(info.value) == (
        f"1 of 3 inputs failed, the others were written to {tmp_path / 'out'} "
        "(first: b.png: too dark)"
    )
    assert sorted(path.name for path in files_under(tmp_path / "out")) == ["a.png", "c.png"]


def write_image_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (10, 20, 30)).save(path)
    return path


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
        "cannot translate 'AtoC'; they translate AtoB or BtoA",
    ),
    "one-direction-weights": (
        lambda tmp, weights, image: [
            image,
            "-w",
            write_one_direction_checkpoint(tmp / "official"),
            "--direction",
            "BtoA",
        ],
        "cannot translate 'BtoA'; they translate AtoB",
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
        (
            ["train", "cyclegan", "--resume", "--run-dir", "RUN"],
            "holds no config.yaml; is it a compogan run?",
        ),
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


# ---- a run stopped early, resumed from the command line ---------------------------------------
def test_a_stopped_run_resumes_to_the_end_of_its_schedule(tmp_path: Path, run_cli) -> None:
    """``train.stop_after`` is saved in the run's config.yaml; ``--resume`` must not obey it."""
    run_dir = tmp_path / "run"
    settings = [*TINY_TRAINING, "train.steps=4", "train.checkpoint_every=1"]
    result = run_cli("train", "cyclegan", *settings, "train.stop_after=2", "--run-dir", run_dir)
    assert result.code == 0, result.stderr
    assert max(path.name for path in (run_dir / "checkpoints").iterdir()) == "step_00000002"

    result = run_cli("train", "cyclegan", "--resume", "--run-dir", run_dir)
    assert result.code == 0, result.stderr
    assert "trained cyclegan for 4 steps" in result.stdout
    assert (run_dir / "checkpoints" / "step_00000004").is_dir()
    assert (run_dir / "model.safetensors").is_file()


def test_resume_stops_at_a_new_stop_after_given_on_the_command_line(
    tmp_path: Path, run_cli
) -> None:
    run_dir = tmp_path / "run"
    settings = [*TINY_TRAINING, "train.steps=6", "train.checkpoint_every=1"]
    first = run_cli("train", "cyclegan", *settings, "train.stop_after=2", "--run-dir", run_dir)
    assert first.code == 0, first.stderr
    result = run_cli("train", "cyclegan", "--resume", "--run-dir", run_dir, "train.stop_after=3")
    assert result.code == 0, result.stderr
    assert (run_dir / "checkpoints" / "step_00000003").is_dir()
    assert not (run_dir / "checkpoints" / "step_00000004").exists()


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
