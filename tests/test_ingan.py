"""InGAN: the reference's rules, training through the CLI, the retarget pipeline and bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import compogan
from compogan.config import load_config
from compogan.errors import InputError
from compogan.geometry.retarget import curriculum_scale_range
from compogan.models.ingan import InGAN
from compogan.nn.ingan import scale_weights
from compogan.pipelines import PIPELINES, Retargeter
from compogan.pipelines.retarget import parse_size, sweep_factors

ROOT = Path(__file__).resolve().parents[1]
TINY_ARGS = [
    "model.base_channels=8",
    "model.d_base_channels=8",
    "model.n_blocks=1",
    "model.inverse_start_step=2",
    "data.image=skimage:brick",
    "data.size=64",
    "data.max_side=96",
    "train.steps=5",
    "train.log_every=1",
    "train.checkpoint_every=5",
    "train.image_every=0",
    "train.progress=false",
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny InGAN trained for 5 steps on scikit-image's brick with `compogan train`."""
    from compogan.cli import main

    run = tmp_path_factory.mktemp("ingan") / "run"
    config = ROOT / "configs" / "ingan" / "skimage_cpu.yaml"
    args = ["compogan", "train", "ingan", "-c", str(config), "--run-dir", str(run)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.argv", [*args, "--device", "cpu", *TINY_ARGS])
        with pytest.raises(SystemExit) as stopped:
            main()
    assert stopped.value.code in (0, None)
    return run


def test_scale_weights_follow_the_reference_rule() -> None:
    start, even, late = (scale_weights(step, (256, 256)) for step in (0, 25000, 75000))
    assert len(start) == 9  # ceil(log(256 / 13) / log 1.4) = ceil(8.86)
    assert all(sum(w) == pytest.approx(1.0) for w in (start, even, late))
    assert start[0] < start[-1]  # f = 1.4 > 1 at step 0: w_k grows with k
    assert even == pytest.approx([1 / 9] * 9)
    assert late[0] > late[-1] and late[1] / late[0] == pytest.approx(1.4**-2)  # f = 1.4^-2


def test_the_curriculum_widens_the_scale_range_from_one() -> None:
    assert curriculum_scale_range(0, 0.15, 2.25, 10000) == (1.0, 1.0)
    assert curriculum_scale_range(5000, 0.15, 2.25, 10000) == pytest.approx((0.575, 1.625))
    assert curriculum_scale_range(20000, 0.15, 2.25, 10000) == pytest.approx((0.15, 2.25))
    assert curriculum_scale_range(0, 0.15, 2.25, 10000, curriculum=False) == (0.15, 2.25)


def test_paper_config_is_the_reference_setting() -> None:
    config = load_config(InGAN, ROOT / "configs" / "ingan" / "paper.yaml", [])
    model, data, train = config.model, config.data, config.train
    assert (model.base_channels, model.n_blocks, model.n_downsampling) == (64, 6, 3)
    assert (model.lr, model.beta1, model.d_scale_factor, model.norm) == (5e-5, 0.5, 1.4, "batch")
    assert (data.size, train.steps, train.batch_size) == (256, 75000, 1)


def test_training_runs_every_phase_and_round_trips(run_dir: Path) -> None:
    records = (run_dir / "losses.jsonl").read_text().splitlines()
    assert len(records) == 5
    assert '"G_inverse"' in records[-1] and '"G_inverse"' not in records[0]
    model = compogan.load(run_dir)
    assert isinstance(model, InGAN) and model.source_image is not None
    assert model.source_image.shape == (1, 3, 96, 96)
    again = compogan.load(run_dir)
    x = model.source_image
    assert torch.equal(model.retarget(x, (48, 80)), again.retarget(x, (48, 80)))


def test_sizes_are_factors_height_first_or_pixels() -> None:
    assert parse_size("1.5x0.7", (96, 96), 8) == (144, 64)
    assert parse_size(" 2 x 1 ", (96, 80), 8) == (192, 80)
    assert parse_size("60x100px", (96, 96), 8) == (56, 96)
    for bad, message in [
        ("abc", "HxW"),
        ("0x1", "positive"),
        ("-1x1", "HxW"),
        ("0.1x1", "smallest output"),
        ("100x100", "at most"),
        ("1x2x3", "HxW"),
    ]:
        with pytest.raises(InputError, match=message):
            parse_size(bad, (96, 96), 8)


def test_the_pipeline_retargets_the_trained_image_and_others(run_dir: Path) -> None:
    assert PIPELINES["retarget"] is Retargeter
    retargeter = Retargeter.from_pretrained(run_dir, device="cpu")
    wide = retargeter("0.7x1.5")
    assert wide.image.size == (144, 64) and wide.size == (64, 144)
    other = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 50, 3), np.uint8))
    assert retargeter("2x1", image=other).image.size == (48, 80)
    shaped = retargeter("1x1", corners="0,16,96,0,96,80,0,96")
    alpha = np.asarray(shaped.image.getchannel("A"))
    assert shaped.image.mode == "RGBA" and alpha[2, 2] == 0 and alpha[48, 48] == 255


def _common(run_dir: Path, out: Path) -> list[str | Path]:
    return ["retarget", "-w", run_dir, "-o", out, "--device", "cpu"]


def test_cli_writes_sizes_and_the_grid(run_dir: Path, tmp_path: Path, run_cli) -> None:
    out = tmp_path / "out"
    result = run_cli(*_common(run_dir, out), "--sizes", "1.5x0.7,64x96px", "--grid")
    assert result.code == 0, result.stderr
    assert Image.open(out / "1.5x0.7.png").size == (64, 144)
    assert Image.open(out / "64x96px.png").size == (96, 64)
    assert len(list((out / "grid").glob("*.png"))) == 25
    assert Image.open(out / "grid.png").mode == "RGB"


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_cli_writes_a_retargeting_video(
    run_dir: Path, tmp_path: Path, run_cli, suffix: str
) -> None:
    import imageio.v3 as iio

    video = tmp_path / f"sweep{suffix}"
    out = tmp_path / "out"
    result = run_cli(*_common(run_dir, out), "--video", video, "--frames", "12", "--fps", "6")
    assert result.code == 0, result.stderr
    frames = iio.imread(video, index=None) if suffix == ".gif" else None
    if frames is not None:
        assert frames.shape[0] == 12
    assert video.stat().st_size > 1000 and not out.exists()
    assert not list(tmp_path.glob(".*tmp*"))


def test_sweep_passes_through_wider_taller_and_both() -> None:
    factors = sweep_factors(28)
    assert factors[0] == factors[-1] == (1.0, 1.0)
    assert max(w for _, w in factors) == 2.0 and min(h for h, _ in factors) == 0.5
    assert (2.0, 2.0) in factors
    with pytest.raises(InputError, match="at least 2 frames"):
        sweep_factors(1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--video", "sweep.avi"], "must end in .mp4 or .gif"),
        (["--video", "sweep.gif", "--frames", "1"], "--frames must be in"),
        (["--video", "sweep.gif", "--fps", "0"], "--fps must be in"),
        (["--sizes", "0x1"], "positive"),
        (["--sizes", "1.5x"], "HxW"),
        (["--sizes", "99x99"], "at most"),
        (["--sizes", ","], "--sizes is empty"),
        ([], "nothing to do"),
        (["--sizes", "1x1", "--corners", "96,0,0,0,0,96,96,96"], "fold over"),
        (["--sizes", "1x1", "--corners", "1,2,3"], "8 numbers"),
    ],
)
def test_cli_refuses_bad_sizes_and_corners(
    run_dir: Path, tmp_path: Path, run_cli, args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    result = run_cli(*_common(run_dir, out), *args)
    assert result.code == 1 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


def test_cli_refuses_tiny_images_and_other_models(
    run_dir: Path, tmp_path: Path, run_cli, tiny_cyclegan_dir: Path
) -> None:
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (10, 40), "red").save(tiny)
    out = tmp_path / "out"
    result = run_cli(*_common(run_dir, out), "--sizes", "1x1", "--image", tiny)
    assert result.code == 1 and "at least 16 pixels" in result.stderr
    result = run_cli(*_common(tiny_cyclegan_dir, out), "--sizes", "1x1")
    assert result.code == 1 and "'cyclegan' checkpoint" in result.stderr
    assert not out.exists()


def test_grey_and_rgba_inputs_are_retargeted_as_rgb(run_dir: Path, tmp_path: Path, run_cli) -> None:
    grey, rgba = tmp_path / "grey.png", tmp_path / "rgba.png"
    Image.new("L", (48, 40), 128).save(grey)
    Image.new("RGBA", (48, 40), (10, 200, 30, 100)).save(rgba)
    for path in (grey, rgba):
        out = tmp_path / path.stem
        result = run_cli(*_common(run_dir, out), "--sizes", "1x1", "--image", path)
        assert result.code == 0, result.stderr
        assert Image.open(out / "1x1.png").mode == "RGB"


def test_train_takes_the_image_with_image_option(tmp_path: Path, run_cli, make_image) -> None:
    photo = make_image(tmp_path / "photo.png", 72, 88)
    run = tmp_path / "run"
    tiny = [arg for arg in TINY_ARGS if not arg.startswith(("data.image", "train.steps"))]
    config = ROOT / "configs" / "ingan" / "skimage_cpu.yaml"
    args = ["train", "ingan", "-c", config, "--run-dir", run, "--image", photo, "--device", "cpu"]
    result = run_cli(*args, *tiny, "train.steps=2", "train.checkpoint_every=2")
    assert result.code == 0, result.stderr
    assert compogan.load(run).source_image.shape[-2:] == (72, 88)

    result = run_cli("train", "cyclegan", "--run-dir", tmp_path / "cg", "--image", photo)
    assert result.code == 1 and "--image is for single-image models" in result.stderr
    result = run_cli(*args[:6], "--image", tmp_path / "missing.png")
    assert result.code == 1 and "is not a file" in result.stderr


def test_batchnorm_at_batch_one_with_its_own_statistics_is_instancenorm() -> None:
    """Why the benchmark compares BatchNorm's running statistics, not norm=instance."""
    from compogan.nn.ingan import BatchStatNorm2d, RetargetGenerator

    torch.manual_seed(0)
    batch = RetargetGenerator(8, 1, 2, norm="batch")
    instance = RetargetGenerator(8, 1, 2, norm="instance")
    state = {
        k: v for k, v in batch.state_dict().items() if "running" not in k and "batches" not in k
    }
    instance.load_state_dict(state)
    x = torch.rand(1, 3, 32, 40) * 2 - 1
    torch.testing.assert_close(batch(x, (24, 48)), instance(x, (24, 48)))
    batch.eval()
    instance.eval()
    for module in batch.modules():
        if isinstance(module, BatchStatNorm2d):
            module.batch_stats_in_eval = True
    torch.testing.assert_close(batch(x, (24, 48)), instance(x, (24, 48)))
