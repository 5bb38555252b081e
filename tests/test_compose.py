"""Compositing with ST-GAN: user placements, the Compositor pipeline and ``compogan compose``.

The model is a tiny, untrained ST-GAN (32 px, two warp predictors): its predictors start near
zero, so the final warp stays close to the initial placement and what lands where can be
checked pixel by pixel.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_cli import assert_one_error_line, files_under

from compogan.errors import CheckpointError, InputError
from compogan.geometry import transform_points, warp_image
from compogan.models.stgan import STGAN, STGANConfig, STGANDataConfig
from compogan.pipelines import CompositionResult, Compositor
from compogan.pipelines.compose import initial_placement, load_foreground, placement_matrix

WARP_N = 2
TINY_STGAN = STGANConfig(
    image_size=32,
    warp_n=WARP_N,
    predictor_widths=(4, 8, 8, 8, 8),
    fc_dim=16,
    critic_widths=(4, 8, 8, 8, 8),
)
RED, BLUE = (255, 0, 0), (0, 0, 255)
BG_WIDTH, BG_HEIGHT = 300, 200
PLACEMENT = (0.5, 0.5, 0.3, 0.0)  # the foreground 90 px wide in the middle of a 300 px bg


@pytest.fixture(scope="module")
def stgan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny untrained ST-GAN written with save_pretrained."""
    torch.manual_seed(0)
    model = STGAN(TINY_STGAN, STGANDataConfig(size=TINY_STGAN.image_size))
    return model.save_pretrained(tmp_path_factory.mktemp("weights") / "stgan")


@pytest.fixture(scope="module")
def compositor(stgan_dir: Path) -> Compositor:
    return Compositor.from_pretrained(stgan_dir, device="cpu")


def solid(size: tuple[int, int], colour: tuple[int, ...], mode: str = "RGB") -> Image.Image:
    """A PIL image of (width, height) ``size`` filled with ``colour``."""
    return Image.new(mode, size, colour)


def write_foreground(path: Path, size: tuple[int, int] = (40, 24)) -> Path:
    """An opaque red RGBA foreground file of (width, height) ``size``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    solid(size, (*RED, 255), "RGBA").save(path)
    return path


def write_background(path: Path, size: tuple[int, int] = (BG_WIDTH, BG_HEIGHT)) -> Path:
    """A blue RGB background file of (width, height) ``size``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    solid(size, BLUE).save(path)
    return path


def corners(matrix: torch.Tensor, points: list[tuple[float, float]]) -> torch.Tensor:
    """Canonical foreground points mapped by a (3, 3) warp: (len(points), 2)."""
    return transform_points(matrix[None].double(), torch.tensor([points], dtype=torch.float64))[0]


# ---- placement_matrix --------------------------------------------------------------------------
def test_centred_full_size_placement_is_the_identity() -> None:
    matrix = placement_matrix((0.5, 0.5, 1.0, 0.0), (20, 30), (20, 30))
    assert matrix.shape == (3, 3) and matrix.dtype == torch.float32
    torch.testing.assert_close(matrix, torch.eye(3), atol=1e-6, rtol=0)


@pytest.mark.parametrize(("fg_size", "scale"), [((200, 300), 1.0), ((10, 10), 0.5)])
def test_x_moves_the_centre_to_that_fraction_of_the_width(
    fg_size: tuple[int, int], scale: float
) -> None:
    matrix = placement_matrix((0.75, 0.5, scale, 0.0), fg_size, (BG_HEIGHT, BG_WIDTH))
    centre = corners(matrix, [(0.0, 0.0)])[0]
    # canonical 0.5 is 3/4 of the width: pixel-centre column 0.75 * 300 - 0.5
    torch.testing.assert_close(
        centre, torch.tensor([0.5, 0.0], dtype=torch.float64), atol=1e-6, rtol=0
    )
    marker = torch.zeros(1, 1, *fg_size)
    marker[
        ..., fg_size[0] // 2 - 1 : fg_size[0] // 2 + 1, fg_size[1] // 2 - 1 : fg_size[1] // 2 + 1
    ] = 1
    warped = warp_image(marker, matrix, (BG_HEIGHT, BG_WIDTH))[0, 0]
    rows, columns = torch.nonzero(warped > 0.5, as_tuple=True)
    assert abs(columns.double().mean().item() + 0.5 - 0.75 * BG_WIDTH) < 1.0
    assert abs(rows.double().mean().item() + 0.5 - 0.5 * BG_HEIGHT) < 1.0


def test_scale_is_the_width_as_a_fraction_of_the_background_and_keeps_the_aspect() -> None:
    same_size = placement_matrix((0.5, 0.5, 0.5, 0.0), (20, 30), (20, 30))
    left, right = corners(same_size, [(-1.0, -1.0), (1.0, 1.0)])
    torch.testing.assert_close(left, torch.tensor([-0.5, -0.5], dtype=torch.float64))
    torch.testing.assert_close(right, torch.tensor([0.5, 0.5], dtype=torch.float64))
    # a 10x10 foreground 150 px wide on a 300x200 background is 150 px tall: 0.75 canonical
    square = placement_matrix((0.5, 0.5, 0.5, 0.0), (10, 10), (BG_HEIGHT, BG_WIDTH))
    torch.testing.assert_close(
        corners(square, [(1.0, 1.0)])[0], torch.tensor([0.5, 0.75], dtype=torch.float64)
    )


def test_angle_rotates_counter_clockwise_in_pixels() -> None:
    square = placement_matrix((0.5, 0.5, 1.0, 90.0), (20, 20), (20, 20))
    top_right, right_middle = corners(square, [(1.0, -1.0), (1.0, 0.0)])
    torch.testing.assert_close(top_right, torch.tensor([-1.0, -1.0], dtype=torch.float64))
    torch.testing.assert_close(right_middle, torch.tensor([0.0, -1.0], dtype=torch.float64))
    # a 20x10 foreground 20 px wide on a 100x100 background: its right end goes 10 px up
    wide = placement_matrix((0.5, 0.5, 0.2, 90.0), (10, 20), (100, 100))
    torch.testing.assert_close(
        corners(wide, [(1.0, 0.0)])[0], torch.tensor([0.0, -0.2], dtype=torch.float64)
    )


@pytest.mark.parametrize(
    ("placement", "message"),
    [
        ((0.5, 0.5, 0.0, 0.0), "scale must be positive"),
        ((0.5, 0.5, -1.0, 0.0), "scale must be positive"),
        ((0.5, 0.5, math.nan, 0.0), "finite"),
        ((0.5, 0.5), "four numbers"),
    ],
)
def test_bad_placements_are_input_errors(placement: tuple[float, ...], message: str) -> None:
    with pytest.raises(InputError, match=message):
        placement_matrix(placement, (10, 10), (10, 10))  # type: ignore[arg-type]


# ---- Compositor --------------------------------------------------------------------------------
def test_composite_has_the_full_background_size_and_a_sharp_foreground(
    compositor: Compositor,
) -> None:
    fg = solid((40, 24), (*RED, 255), "RGBA")
    result = compositor(fg, solid((BG_WIDTH, BG_HEIGHT), BLUE), init=PLACEMENT)

    assert isinstance(result, CompositionResult)
    assert result.composite.size == (BG_WIDTH, BG_HEIGHT) and result.composite.mode == "RGB"
    assert len(result.steps) == WARP_N + 1
    assert all(step.size == (BG_WIDTH, BG_HEIGHT) for step in result.steps)
    assert np.array_equal(np.asarray(result.steps[-1]), np.asarray(result.composite))
    assert isinstance(result.warp, np.ndarray) and result.warp.shape == (3, 3)
    np.testing.assert_allclose(
        result.warp, placement_matrix(PLACEMENT, (24, 40), (BG_HEIGHT, BG_WIDTH)), atol=0.02
    )
    middle_row = np.asarray(result.composite)[BG_HEIGHT // 2].astype(int)
    red = (middle_row[:, 0] > 200) & (middle_row[:, 2] < 55)
    blue = (middle_row[:, 2] > 200) & (middle_row[:, 0] < 55)
    assert abs(int(red.sum()) - 90) <= 2  # 0.3 x 300 px, warped at full resolution
    assert int((~red & ~blue).sum()) <= 4  # sharp edges, not a 32 px composite upscaled


def test_initial_placement_as_tuple_matrix_or_none(compositor: Compositor) -> None:
    fg = solid((40, 24), (*RED, 255), "RGBA")
    bg = solid((64, 48), BLUE)
    as_tuple = compositor(fg, bg, init=PLACEMENT)
    as_matrix = compositor(fg, bg, init=placement_matrix(PLACEMENT, (24, 40), (48, 64)))
    as_none = compositor(fg, bg, init=None)
    np.testing.assert_allclose(as_matrix.warp, as_tuple.warp, atol=1e-6)
    np.testing.assert_allclose(as_none.warp, np.eye(3), atol=0.02)
    assert as_none.composite.size == (64, 48)


def test_zero_steps_keep_the_initial_placement(compositor: Compositor) -> None:
    start = placement_matrix(PLACEMENT, (24, 40), (48, 64))
    result = compositor(
        solid((40, 24), (*RED, 255), "RGBA"), solid((64, 48), BLUE), init=start, steps=0
    )
    np.testing.assert_allclose(result.warp, start.double().numpy(), atol=1e-6)
    assert len(result.steps) == 1


def test_paths_work_like_images(compositor: Compositor, tmp_path: Path) -> None:
    fg_file = write_foreground(tmp_path / "fg.png")
    bg_file = write_background(tmp_path / "bg.jpg", (64, 48))
    from_files = compositor(fg_file, bg_file, init=PLACEMENT)
    from_images = compositor(Image.open(fg_file), Image.open(bg_file), init=PLACEMENT)
    np.testing.assert_allclose(from_files.warp, from_images.warp)


def test_from_pretrained_refuses_a_cyclegan_checkpoint(tiny_cyclegan_dir: Path) -> None:
    with pytest.raises(CheckpointError, match="holds a 'cyclegan' checkpoint"):
        Compositor.from_pretrained(tiny_cyclegan_dir, device="cpu")


def test_foreground_without_alpha_asks_for_a_mask(
    compositor: Compositor, tmp_path: Path, make_image: Callable[..., Path]
) -> None:
    rgb_file = make_image(tmp_path / "fg.png", 24, 40)
    with pytest.raises(InputError, match="--mask"):
        load_foreground(rgb_file)
    with pytest.raises(InputError, match="--mask"):
        compositor(rgb_file, solid((64, 48), BLUE))
    with pytest.raises(InputError, match="RGBA"):
        compositor(solid((40, 24), RED), solid((64, 48), BLUE))


def test_mask_gives_the_foreground_its_alpha(
    tmp_path: Path, make_image: Callable[..., Path]
) -> None:
    rgb_file = make_image(tmp_path / "fg.png", 24, 40)
    grey = np.zeros((24, 40), dtype=np.uint8)
    grey[:, :10] = 255
    grey[:, 10:20] = 128
    Image.fromarray(grey, mode="L").save(tmp_path / "mask.png")
    foreground = load_foreground(rgb_file, tmp_path / "mask.png")
    assert foreground.mode == "RGBA" and foreground.size == (40, 24)
    assert np.array_equal(np.asarray(foreground.getchannel("A")), grey)
    assert np.array_equal(np.asarray(foreground.convert("RGB")), np.asarray(Image.open(rgb_file)))
    # a cut-out saved with transparency: its alpha is the mask, whatever its colour
    cutout = np.zeros((24, 40, 4), dtype=np.uint8)
    cutout[..., :3] = 255
    cutout[..., 3] = grey
    Image.fromarray(cutout, mode="RGBA").save(tmp_path / "cutout.png")
    from_cutout = load_foreground(rgb_file, tmp_path / "cutout.png")
    assert np.array_equal(np.asarray(from_cutout.getchannel("A")), grey)


def test_mask_of_another_size_is_an_input_error(
    tmp_path: Path, make_image: Callable[..., Path]
) -> None:
    rgb_file = make_image(tmp_path / "fg.png", 24, 40)
    Image.new("L", (20, 24), 255).save(tmp_path / "mask.png")
    with pytest.raises(InputError, match=r"mask .* is 20x24 but the foreground is 40x24"):
        load_foreground(rgb_file, tmp_path / "mask.png")


@pytest.mark.parametrize(
    ("init", "message"),
    [
        ((5.0, 0.5, 0.3, 0.0), "off the image"),
        (torch.zeros(3, 3), "singular"),
        (torch.eye(2), "3x3"),
    ],
)
def test_bad_initial_placements_are_input_errors(
    compositor: Compositor, init: tuple[float, ...] | torch.Tensor, message: str
) -> None:
    fg = solid((40, 24), (*RED, 255), "RGBA")
    with pytest.raises(InputError, match=message):
        compositor(fg, solid((64, 48), BLUE), init=init)
    with pytest.raises(InputError, match=message):
        initial_placement(init, fg, (48, 64))


@pytest.mark.parametrize("size", [(7, 40), (40, 7)])
def test_tiny_background_is_an_input_error(compositor: Compositor, size: tuple[int, int]) -> None:
    with pytest.raises(InputError, match="at least 8 px"):
        compositor(solid((4, 4), (*RED, 255), "RGBA"), solid(size, BLUE))


# ---- compogan compose --------------------------------------------------------------------------
def compose_args(weights: Path, fg: Path, *extra: str | Path) -> list[str | Path]:
    return ["compose", "-w", weights, "--fg", fg, "--device", "cpu", *extra]


def test_compose_one_background(stgan_dir: Path, tmp_path: Path, run_cli) -> None:
    fg = write_foreground(tmp_path / "fg.png")
    bg = write_background(tmp_path / "bg.jpg")
    out = tmp_path / "out" / "comp.png"

    result = run_cli(*compose_args(stgan_dir, fg, "--bg", bg, "-o", out, "--init", "0.5,0.5,0.3,0"))

    assert result.code == 0, result.stderr
    assert "wrote 1 composite(s)" in result.stdout
    assert Image.open(out).size == (BG_WIDTH, BG_HEIGHT)
    centre = Image.open(out).convert("RGB").getpixel((BG_WIDTH // 2, BG_HEIGHT // 2))
    assert centre[0] > 200 and centre[2] < 55
    assert sorted(path.name for path in files_under(tmp_path / "out")) == ["comp.png"]


def test_compose_writes_steps_and_the_warp(stgan_dir: Path, tmp_path: Path, run_cli) -> None:
    fg = write_foreground(tmp_path / "fg.png")
    bg = write_background(tmp_path / "bg.png", (64, 48))
    out = tmp_path / "out" / "comp.png"

    result = run_cli(*compose_args(stgan_dir, fg, "--bg", bg, "-o", out, "--steps", "--save-warp"))

    assert result.code == 0, result.stderr
    steps = [f"comp_step{index}.png" for index in range(WARP_N + 1)]
    written = sorted(path.name for path in files_under(tmp_path / "out"))
    assert written == sorted(["comp.png", "comp.warp.json", *steps])
    assert all(Image.open(tmp_path / "out" / name).size == (64, 48) for name in steps)
    assert np.array_equal(
        np.asarray(Image.open(tmp_path / "out" / steps[-1])), np.asarray(Image.open(out))
    )
    homography = np.array(
        json.loads((tmp_path / "out" / "comp.warp.json").read_text())["homography"]
    )
    assert homography.shape == (3, 3) and np.isfinite(homography).all()
    np.testing.assert_allclose(homography, np.eye(3), atol=0.02)


def test_compose_a_folder_of_backgrounds(
    stgan_dir: Path, tmp_path: Path, make_image: Callable[..., Path], run_cli
) -> None:
    fg = write_foreground(tmp_path / "fg.png")
    write_background(tmp_path / "bgs" / "wide.png")
    make_image(tmp_path / "bgs" / "small.jpg", 37, 53)
    out = tmp_path / "out"

    result = run_cli(
        *compose_args(
            stgan_dir, fg, "--bg", tmp_path / "bgs", "-o", out, "--init", "0.5,0.5,0.5,10"
        )
    )

    assert result.code == 0, result.stderr
    assert "wrote 2 composite(s)" in result.stdout
    assert sorted(path.name for path in files_under(out)) == ["small.png", "wide.png"]
    assert Image.open(out / "wide.png").size == (BG_WIDTH, BG_HEIGHT)
    assert Image.open(out / "small.png").size == (53, 37)


def test_compose_with_a_mask(
    stgan_dir: Path, tmp_path: Path, make_image: Callable[..., Path], run_cli
) -> None:
    fg = make_image(tmp_path / "fg.jpg", 24, 40)
    Image.new("L", (40, 24), 255).save(tmp_path / "mask.png")
    bg = write_background(tmp_path / "bg.png", (64, 48))
    out = tmp_path / "out" / "comp.jpg"

    result = run_cli(
        *compose_args(stgan_dir, fg, "--mask", tmp_path / "mask.png", "--bg", bg, "-o", out)
    )

    assert result.code == 0, result.stderr
    assert Image.open(out).size == (64, 48)


def write_random_bytes(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(256))
    return path


def write_foreign_weights(tmp: Path) -> Path:
    from compogan.models.cyclegan import CycleGAN, CycleGANConfig

    return CycleGAN(CycleGANConfig(ngf=8, n_blocks=1, ndf=8)).save_pretrained(tmp / "cyclegan")


# Each case: (extra arguments from the tmp folder, a good fg and a good bg; part of the message).
# An option given again in the extra arguments (--fg, -w) overrides the good one before it.
ComposeCase = Callable[[Path, Path, Path], list[str | Path]]
OUT_FILE = Path("out") / "comp.png"
COMPOSE_MISTAKES: dict[str, tuple[ComposeCase, str]] = {
    "fg-without-alpha": (
        lambda tmp, fg, bg: ["--fg", write_background(tmp / "rgb.png", (40, 24)), "--bg", bg],
        "--mask",
    ),
    "mask-of-another-size": (
        lambda tmp, fg, bg: ["--mask", write_background(tmp / "mask.png", (20, 24)), "--bg", bg],
        "but the foreground is 40x24",
    ),
    "missing-bg": (lambda tmp, fg, bg: ["--bg", tmp / "nope.png"], "no such file or folder"),
    "corrupt-bg": (
        lambda tmp, fg, bg: ["--bg", write_random_bytes(tmp / "broken.png")],
        "cannot read image",
    ),
    "corrupt-bg-in-folder": (
        lambda tmp, fg, bg: ["--bg", bg.parent, "--bg", write_random_bytes(tmp / "bad" / "b.png")],
        "cannot read image",
    ),
    "other-model-weights": (
        lambda tmp, fg, bg: ["--bg", bg, "-w", write_foreign_weights(tmp)],
        "holds a 'cyclegan' checkpoint, not 'stgan'",
    ),
    "init-not-four-numbers": (lambda tmp, fg, bg: ["--bg", bg, "--init", "1,2"], "--init"),
    "init-not-numbers": (lambda tmp, fg, bg: ["--bg", bg, "--init", "a,b,c,d"], "--init"),
    "init-zero-scale": (
        lambda tmp, fg, bg: ["--bg", bg, "--init", "0.5,0.5,0,0"],
        "scale must be positive",
    ),
    "init-off-image": (
        lambda tmp, fg, bg: ["--bg", bg, "--init", "5,0.5,0.3,0"],
        "off the image",
    ),
    "out-without-image-suffix": (
        lambda tmp, fg, bg: ["--bg", bg, "-o", tmp / "out" / "result"],
        "--out must be an image file name",
    ),
    "tiny-bg": (
        lambda tmp, fg, bg: ["--bg", write_background(tmp / "tiny.png", (5, 5))],
        "at least 8 px",
    ),
    "tiny-bg-in-folder": (
        lambda tmp, fg, bg: [
            "--bg",
            bg.parent,
            "--bg",
            write_background(tmp / "t" / "z.png", (5, 5)),
        ],
        "at least 8 px",
    ),
    "clashing-names-in-folder": (
        lambda tmp, fg, bg: ["--bg", bg.parent, "--bg", write_background(tmp / "c" / "bg.jpg")],
        "several backgrounds would be written to",
    ),
}


@pytest.mark.parametrize("case", list(COMPOSE_MISTAKES))
def test_compose_mistakes_give_one_error_line_and_no_output(
    case: str, stgan_dir: Path, tmp_path: Path, run_cli
) -> None:
    build_args, message = COMPOSE_MISTAKES[case]
    fg = write_foreground(tmp_path / "fg.png")
    bg = write_background(tmp_path / "bgs" / "bg.png", (64, 48))
    extra = build_args(tmp_path, fg, bg)
    out = [] if "-o" in extra else ["-o", tmp_path / OUT_FILE]

    result = run_cli(*compose_args(stgan_dir, fg, *extra, *out))

    assert_one_error_line(result.code, result.stderr)
    assert message in result.stderr
    assert files_under(tmp_path / "out") == []


def test_compose_folder_reports_a_failed_background_and_writes_the_others(
    stgan_dir: Path,
    tmp_path: Path,
    make_image: Callable[..., Path],
    run_cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fg = write_foreground(tmp_path / "fg.png")
    write_background(tmp_path / "bgs" / "wide.png")
    make_image(tmp_path / "bgs" / "small.jpg", 37, 53)
    real_call = Compositor.__call__

    def fails_on_small(self, foreground, background, **options):
        if Path(background).name == "small.jpg":
            raise InputError("the predicted warp is singular; try another initial placement")
        return real_call(self, foreground, background, **options)

    monkeypatch.setattr(Compositor, "__call__", fails_on_small)
    result = run_cli(*compose_args(stgan_dir, fg, "--bg", tmp_path / "bgs", "-o", tmp_path / "o"))

    assert result.code == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: 1 of 2 backgrounds failed"), result.stderr
    assert "small.jpg: the predicted warp is singular" in last
    assert "Traceback" not in result.stderr
    assert [path.name for path in files_under(tmp_path / "o")] == ["wide.png"]


def test_place_without_steps_makes_only_the_final_composite(stgan_dir: Path) -> None:
    model = STGAN.from_pretrained(stgan_dir)
    fg = torch.rand(1, 4, 40, 40) * 2 - 1
    fg[:, 3] = 1.0
    bg = torch.rand(1, 3, 90, 120) * 2 - 1
    full, warp, steps = model.place(fg, bg, torch.eye(3))
    only, warp_only, none = model.place(fg, bg, torch.eye(3), keep_steps=False)
    assert none == [] and len(steps) == model.config.warp_n + 1
    assert torch.equal(full, only) and torch.equal(warp, warp_only)
