"""Trustworthy runs (issue 21) through the command line: no silent data loss, validated configs,
one-line failures, nothing half-written, Ctrl-C that loses nothing.

Training uses a tiny CycleGAN (a few steps on 32 px procedural scenes).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_cli import REPO_ROOT, TINY_TRAINING, assert_one_error_line, files_under

from compogan.data.registry import build_dataset
from compogan.errors import InputError
from compogan.io.atomic import atomic_path, remove_stale_temporaries
from compogan.io.checkpoints import WEIGHTS_NAME
from compogan.models.cyclegan import CycleGAN
from compogan.models.pix2pix import Pix2PixDataConfig
from compogan.models.stgan import STGANDataConfig
from compogan.train.trainer import TRAINING_STATE_NAME


def train(run_cli, run_dir: Path, *extra: str):
    return run_cli("train", "cyclegan", *TINY_TRAINING, "--run-dir", run_dir, *extra)


def assert_fails_in_one_line(result) -> None:
    """Exit 1 with one ``error: ...`` line last on stderr (after any progress bar)."""
    assert result.code == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: "), result.stderr
    assert sum("error" in line for line in lines) == 1, result.stderr


def dead_pid() -> int:
    """The id of a process that has exited."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# ---- 1: a fresh run never overwrites an earlier one ----------------------------------------
def test_a_fresh_train_into_an_existing_run_is_refused(tmp_path: Path, run_cli) -> None:
    run_dir = tmp_path / "run"
    assert train(run_cli, run_dir).code == 0
    before = {path: path.read_bytes() for path in files_under(run_dir) if path.is_file()}

    result = train(run_cli, run_dir, "train.seed=1")

    assert_one_error_line(result.code, result.stderr)
    assert "--resume" in result.stderr and "--overwrite" in result.stderr
    assert {path: path.read_bytes() for path in files_under(run_dir)} == before


def test_overwrite_clears_the_earlier_run_first(tmp_path: Path, run_cli) -> None:
    run_dir = tmp_path / "run"
    settings = ["train.steps=3", "train.checkpoint_every=1"]
    assert train(run_cli, run_dir, *settings).code == 0
    assert (run_dir / "checkpoints" / "step_00000003").is_dir()

    result = train(run_cli, run_dir, "--overwrite")

    assert result.code == 0, result.stderr
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["step_00000002"]
    assert len((run_dir / "losses.jsonl").read_text().splitlines()) == 1  # not appended


def test_overwrite_refuses_a_folder_that_is_not_a_run(tmp_path: Path, run_cli) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.tex").write_text("precious")
    result = train(run_cli, folder, "--overwrite")
    assert_one_error_line(result.code, result.stderr)
    assert (folder / "thesis.tex").read_text() == "precious"


def test_convert_into_a_folder_holding_weights_is_refused(
    tmp_path: Path, tiny_cyclegan_dir: Path, run_cli
) -> None:
    from test_interop_cyclegan import official_generator

    source = tmp_path / "latest_net_G.pth"
    torch.save(official_generator(0, n_blocks=1).state_dict(), source)
    before = (tiny_cyclegan_dir / WEIGHTS_NAME).read_bytes()

    result = run_cli("convert", "cyclegan", source, tiny_cyclegan_dir)
    assert_one_error_line(result.code, result.stderr)
    assert "--overwrite" in result.stderr
    assert (tiny_cyclegan_dir / WEIGHTS_NAME).read_bytes() == before

    result = run_cli("convert", "cyclegan", source, tiny_cyclegan_dir, "--overwrite")
    assert result.code == 0, result.stderr
    assert (tiny_cyclegan_dir / WEIGHTS_NAME).read_bytes() != before


# ---- 3: config ranges are checked before anything is written -------------------------------
@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("train.steps=0", "train.steps"),
        ("train.steps=-3", "train.steps"),
        ("train.stop_after=0", "train.stop_after"),
        ("train.max_minutes=-1", "train.max_minutes"),
        ("train.batch_size=0", "train.batch_size"),
        ("train.num_workers=-1", "train.num_workers"),
        ("train.checkpoint_every=0", "train.checkpoint_every"),
        ("train.log_every=0", "train.log_every"),
        ("model.ngf=0", "model.ngf"),
        ("model.lr=-1", "model.lr"),
        ("model.lr=nan", "model.lr"),
        ("model.lr_schedule.start=1.5", "model.lr_schedule.start"),
    ],
)
def test_out_of_range_values_are_refused_before_a_run_dir_exists(
    override: str, key: str, tmp_path: Path, run_cli
) -> None:
    run_dir = tmp_path / "run"
    result = train(run_cli, run_dir, override)
    assert_one_error_line(result.code, result.stderr)
    assert key in result.stderr and "must be" in result.stderr
    assert not run_dir.exists()


@pytest.mark.parametrize(
    ("model", "override"),
    [
        ("edgeconnect", "model.width=0"),
        ("edgeconnect", "model.sigma=-1"),
        ("stgan", "model.warp_n=0"),
        ("stgan", "model.history_fraction=2"),
        ("stgan", "data.size=0"),
        ("stgan", "data.length=-1"),
        ("edgeconnect", "data.test_length=0"),
        ("cyclegan", "data.size=0"),
    ],
)
def test_every_model_declares_its_ranges(model: str, override: str, tmp_path: Path, run_cli):
    result = run_cli("train", model, override, "--run-dir", tmp_path / "run")
    assert_one_error_line(result.code, result.stderr)
    assert override.split("=")[0] in result.stderr
    assert not (tmp_path / "run").exists()


# ---- 4: flipped bits in the weights are found ----------------------------------------------
def test_a_bit_flip_in_the_weights_is_refused_unless_skipped(
    tiny_cyclegan_dir: Path, image_folder: Path, tmp_path: Path, run_cli, monkeypatch
) -> None:
    metadata = json.loads((tiny_cyclegan_dir / "config.json").read_text())
    assert metadata["checksums"][WEIGHTS_NAME].startswith("sha256:")
    weights = tiny_cyclegan_dir / WEIGHTS_NAME
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0x10  # inside the tensor data, after the header
    weights.write_bytes(bytes(data))

    out = tmp_path / "out"
    result = run_cli("translate", "-w", tiny_cyclegan_dir, image_folder, "-o", out)
    assert_one_error_line(result.code, result.stderr)
    assert "checksum" in result.stderr and str(weights) in result.stderr
    assert not out.exists()

    monkeypatch.setenv("COMPOGAN_SKIP_CHECKSUMS", "1")
    result = run_cli("translate", "-w", tiny_cyclegan_dir, image_folder, "-o", out)
    assert result.code == 0, result.stderr


# ---- 6: machine failures are one line ----------------------------------------------------
def test_run_dir_that_is_a_file_is_one_line(tmp_path: Path, run_cli) -> None:
    run_dir = tmp_path / "run"
    run_dir.write_text("a file")
    result = train(run_cli, run_dir)
    assert_one_error_line(result.code, result.stderr)
    assert "is a file" in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_unwritable_run_dir_is_one_line(tmp_path: Path, run_cli) -> None:
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        result = train(run_cli, parent / "run")
    finally:
        parent.chmod(0o700)
    assert_one_error_line(result.code, result.stderr)


def test_disk_full_while_checkpointing_is_one_line_and_keeps_earlier_checkpoints(
    tmp_path: Path, run_cli, monkeypatch
) -> None:
    run_dir = tmp_path / "run"
    real_save = torch.save
    calls = {"n": 0}

    def save(obj, path, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 64")
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)
    result = train(run_cli, run_dir, "train.steps=3", "train.checkpoint_every=1")

    assert_one_error_line(result.code, result.stderr)
    assert "cannot write checkpoint" in result.stderr and "inline_container" not in result.stderr
    assert [p.name for p in (run_dir / "checkpoints").iterdir()] == ["step_00000001"]


def test_convert_disk_full_leaves_nothing(tmp_path: Path, run_cli, monkeypatch) -> None:
    from test_interop_cyclegan import official_generator

    source = tmp_path / "latest_net_G.pth"
    torch.save(official_generator(0, n_blocks=1).state_dict(), source)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("compogan.io.checkpoints.save_file", full)
    result = run_cli("convert", "cyclegan", source, tmp_path / "converted")
    assert_one_error_line(result.code, result.stderr)
    assert "No space left" in result.stderr
    assert not (tmp_path / "converted").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["latest_net_G.pth"]


def test_a_png_as_config_file_is_one_line(tmp_path: Path, make_image, run_cli) -> None:
    picture = make_image(tmp_path / "config.png", 8, 8)
    result = run_cli("train", "cyclegan", "-c", picture, "--run-dir", tmp_path / "run")
    assert_one_error_line(result.code, result.stderr)
    assert "not a YAML text file" in result.stderr


def test_translate_out_of_memory_is_one_line(
    tiny_cyclegan_dir: Path, image_folder: Path, tmp_path: Path, run_cli, monkeypatch
) -> None:
    def no_memory(self, images, direction):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(CycleGAN, "translate", no_memory)
    result = run_cli("translate", "-w", tiny_cyclegan_dir, image_folder, "-o", tmp_path / "out")
    assert_fails_in_one_line(result)
    assert "ran out of memory" in result.stderr and "x" in result.stderr
    assert not files_under(tmp_path / "out")


# ---- 7: a training state that is not ours is named, not advised about ------------------------
def test_a_pickled_training_state_is_refused_in_one_line(tmp_path: Path, run_cli) -> None:
    run_dir = tmp_path / "run"
    assert train(run_cli, run_dir, "train.stop_after=1", "train.steps=2").code == 0
    state_file = run_dir / "checkpoints" / "step_00000001" / TRAINING_STATE_NAME
    torch.save({"world_size": 1, "payload": Path("x")}, state_file)  # a pickled object

    result = run_cli("train", "cyclegan", "--resume", "--run-dir", run_dir)

    assert_one_error_line(result.code, result.stderr)
    assert "not a compogan training state" in result.stderr
    assert "weights_only" not in result.stderr


# ---- 8: a failed start removes what it created -------------------------------------------
def test_a_failed_start_leaves_no_run_dir_behind(tmp_path: Path, run_cli, monkeypatch) -> None:
    def diverge(self, batch):
        return {"loss": torch.tensor(float("nan"))}

    monkeypatch.setattr(CycleGAN, "training_step", diverge)
    run_dir = tmp_path / "runs" / "run"
    result = train(run_cli, run_dir)
    assert_one_error_line(result.code, result.stderr)
    assert not (tmp_path / "runs").exists()


def test_a_failed_resume_keeps_what_the_earlier_run_left(
    tmp_path: Path, run_cli, monkeypatch
) -> None:
    run_dir = tmp_path / "run"
    assert train(run_cli, run_dir, "train.stop_after=1", "train.steps=4").code == 0
    before = sorted(path.relative_to(run_dir) for path in files_under(run_dir))

    def diverge(self, batch):
        return {"loss": torch.tensor(float("inf"))}

    monkeypatch.setattr(CycleGAN, "training_step", diverge)
    result = run_cli("train", "cyclegan", "--resume", "--run-dir", run_dir)
    assert_one_error_line(result.code, result.stderr)
    after = sorted(path.relative_to(run_dir) for path in files_under(run_dir))
    assert set(before) <= set(after)


# ---- 9: temporaries a killed process left are removed at the next start ---------------------
def test_stale_temporaries_are_removed_at_the_next_start(
    tmp_path: Path, tiny_cyclegan_dir: Path, image_folder: Path, run_cli
) -> None:
    run_dir = tmp_path / "run"
    pid = dead_pid()
    stale = [
        run_dir / f".config.yaml.tmp-p{pid}-0123abcd.yaml",
        run_dir / "checkpoints" / f".step_00000004.tmp-p{pid}-89abcdef",
    ]
    out = tmp_path / "out"
    stale.append(out / f".a.png.tmp-p{pid}-deadbeef.png")
    live = out / f".b.png.tmp-p{os.getpid()}-cafef00d.png"  # a writer that still runs
    kept_old = run_dir / f".step_00000002.old-p{pid}-00112233"  # may be the only copy
    for path in [*stale, live]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    stale[1].unlink()
    stale[1].mkdir()
    kept_old.mkdir()

    assert train(run_cli, run_dir, "--overwrite").code == 0
    assert run_cli("translate", "-w", tiny_cyclegan_dir, image_folder, "-o", out).code == 0

    assert not any(path.exists() for path in stale)
    assert live.exists() and kept_old.exists()


def test_atomic_temporaries_name_their_process(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "file.txt") as temporary:
        assert f"tmp-p{os.getpid()}-" in temporary.name
        temporary.write_text("x")
        assert remove_stale_temporaries(tmp_path) == []


# ---- 10: Ctrl-C saves the current step ---------------------------------------------------------
def test_ctrl_c_saves_a_checkpoint_that_resumes_exactly(tmp_path: Path, run_cli, monkeypatch):
    settings = ["train.steps=4", "train.checkpoint_every=100"]
    straight = tmp_path / "straight"
    assert train(run_cli, straight, *settings).code == 0

    real_step = CycleGAN.training_step

    def step_then_ctrl_c(self, batch):
        losses = real_step(self, batch)
        if self.step_count == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return losses

    run_dir = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(CycleGAN, "training_step", step_then_ctrl_c)
        result = train(run_cli, run_dir, *settings)
    assert result.code == 130, result.stderr
    assert "stopped" in result.stderr and "--resume" in result.stderr
    assert [p.name for p in (run_dir / "checkpoints").iterdir()] == ["step_00000002"]
    assert not (run_dir / "model.safetensors").exists()

    result = run_cli("train", "cyclegan", "--resume", "--run-dir", run_dir)
    assert result.code == 0, result.stderr
    from safetensors.torch import load_file

    resumed = load_file(run_dir / WEIGHTS_NAME)
    expected = load_file(straight / WEIGHTS_NAME)
    assert all(torch.equal(resumed[key], expected[key]) for key in expected)


# ---- 13: --skip-bad ----------------------------------------------------------------------------
def test_one_bad_file_writes_nothing_by_default_and_the_rest_with_skip_bad(
    tiny_cyclegan_dir: Path, image_folder: Path, tmp_path: Path, run_cli
) -> None:
    (image_folder / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    result = run_cli("translate", "-w", tiny_cyclegan_dir, image_folder, "-o", out)
    assert_one_error_line(result.code, result.stderr)
    assert not files_under(out)

    result = run_cli("translate", "-w", tiny_cyclegan_dir, image_folder, "-o", out, "--skip-bad")
    assert_fails_in_one_line(result)
    assert "skipped 1 of 4" in result.stderr and "broken.png" in result.stderr
    assert sorted(p.name for p in files_under(out)) == ["a.png", "b.png", "c.png"]


# ---- 15: weights get the user's umask ----------------------------------------------------------
def test_weights_files_follow_the_umask(tiny_cyclegan, tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        tiny_cyclegan.save_pretrained(tmp_path / "m")
    finally:
        os.umask(previous)
    for name in (WEIGHTS_NAME, "config.json"):
        assert stat.S_IMODE((tmp_path / "m" / name).stat().st_mode) == 0o644


# ---- 16: warnings, help, version, fast input errors -------------------------------------------
def test_inpaint_mask_size_warning_is_one_line(tmp_path: Path, make_image) -> None:
    from test_inpaint_pipeline import TINY

    from compogan.models.edgeconnect import EdgeConnect

    weights = EdgeConnect(TINY).save_pretrained(tmp_path / "ec")
    image = make_image(tmp_path / "in" / "photo.png", 32, 32)
    mask = np.zeros((16, 16), dtype=np.uint8)
    mask[4:8, 4:8] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    result = run_process(
        "inpaint", "-w", weights, image, "-m", tmp_path / "mask.png", "-o", tmp_path / "out"
    )
    assert result.returncode == 0, result.stderr
    warning_lines = [line for line in result.stderr.splitlines() if "warn" in line.lower()]
    assert len(warning_lines) == 1 and warning_lines[0].startswith("warning: the mask is 16x16")


def test_help_names_every_command_and_version_prints(run_cli) -> None:
    from compogan.cli.app import app

    result = run_cli("--version")
    assert result.code == 0 and result.stdout.strip().startswith("compogan 0.")
    for command in app.registered_commands:
        if not command.hidden:
            assert command.name in app.info.help


def run_process(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run(
        [sys.executable, "-m", "compogan", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_an_input_error_needs_no_torch(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from compogan.cli import main\n"
        f"sys.argv = ['compogan', 'translate', '-w', 'x', {str(tmp_path / 'missing.png')!r},"
        " '-o', 'out']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert "no such file" in result.stderr
    assert result.stdout.strip() == "False"


# ---- 14: a corrupt training file is found before training starts ------------------------------
def test_a_corrupt_training_image_is_found_before_the_run_starts(
    tmp_path: Path, make_image, run_cli
) -> None:
    root = tmp_path / "data"
    for domain in ("trainA", "trainB"):
        for index in range(3):
            make_image(root / domain / f"{index}.png", 40, 40, seed=index)
    (root / "trainB" / "1.png").write_bytes(b"\x89PNG garbage")
    run_dir = tmp_path / "run"

    folder = ["data.dataset=folder", f"data.root={root}", "data.load_size=36"]
    result = train(run_cli, run_dir, *folder)

    assert_one_error_line(result.code, result.stderr)
    assert "1 of 3" in result.stderr and "1.png" in result.stderr
    assert not run_dir.exists()


@pytest.mark.parametrize("kind", ["paired", "compositing"])
def test_a_corrupt_file_of_an_aligned_dataset_is_found_when_it_is_built(
    kind: str, tmp_path: Path, make_image
) -> None:
    if kind == "paired":
        for index in range(3):
            make_image(tmp_path / "train" / f"{index}.png", 20, 40, seed=index)
        corrupt = tmp_path / "train" / "1.png"
        data = Pix2PixDataConfig(dataset="folder", root=str(tmp_path), size=16, load_size=20)
    else:
        for folder in ("backgrounds", "reals"):
            make_image(tmp_path / folder / "0.png", 40, 40, seed=0)
        (tmp_path / "foregrounds").mkdir()
        Image.new("RGBA", (16, 16), (255, 0, 0, 255)).save(tmp_path / "foregrounds" / "0.png")
        corrupt = tmp_path / "reals" / "1.png"
        data = STGANDataConfig(dataset="folder", root=str(tmp_path), size=32)
    corrupt.write_bytes(b"\x89PNG garbage")
    with pytest.raises(InputError) as error:
        build_dataset(kind, data, "train")
    assert "1.png" in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("command", ["convert", "demo"])
def test_an_output_that_is_a_file_is_one_line(command: str, tmp_path: Path, run_cli) -> None:
    target = tmp_path / "taken"
    target.write_text("keep me")
    if command == "convert":
        result = run_cli("convert", "cyclegan", tmp_path / "latest_net_G.pth", target)
    else:
        result = run_cli("demo", "cyclegan", "--out", target, "--minutes", "0.01")
    assert_one_error_line(result.code, result.stderr)
    assert target.read_text() == "keep me"
