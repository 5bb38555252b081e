"""Inpainting at any size with EdgeConnect: the Inpainter pipeline and ``compogan inpaint``.

The model is a tiny, untrained EdgeConnect (one residual block per generator): what it paints is
noise, but where it paints, which pixels stay as they were and which edges it uses can be checked
exactly.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_cli import assert_one_error_line, files_under

from compogan.errors import ConfigError, InputError
from compogan.interop.edgeconnect import LEAF_TABLE, generator_key_table
from compogan.models.edgeconnect import EdgeConnect, EdgeConnectConfig
from compogan.pipelines import Inpainter, InpaintResult
from compogan.pipelines.inpaint import hole_crop

TINY = EdgeConnectConfig(residual_blocks=1, content_weight=0, style_weight=0)
WORK = 64


@pytest.fixture(scope="module")
def tiny_model() -> EdgeConnect:
    torch.manual_seed(0)
    return EdgeConnect(TINY).eval()


@pytest.fixture(scope="module")
def weights_dir(tiny_model: EdgeConnect, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model.save_pretrained(tmp_path_factory.mktemp("weights") / "edgeconnect")


@pytest.fixture(scope="module")
def inpainter(weights_dir: Path) -> Inpainter:
    return Inpainter.from_pretrained(weights_dir, device="cpu", work_size=WORK)


def random_image(height: int, width: int, seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def block_mask(height: int, width: int, rows: slice, columns: slice) -> np.ndarray:
    mask = np.zeros((height, width), dtype=np.float32)
    mask[rows, columns] = 1.0
    return mask


def changed(result: InpaintResult, image: Image.Image) -> np.ndarray:
    """(H, W) bool: where the result differs from the input."""
    return (np.asarray(result.image) != np.asarray(image)).any(axis=2)


# ---- Inpainter ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rows", "columns"),
    [
        (slice(90, 120), slice(60, 100)),
        (slice(20, 120), slice(290, 301)),
        (slice(5, 7), slice(3, 9)),
    ],
)
def test_known_pixels_are_bit_exact_on_the_crop_path(
    inpainter: Inpainter, rows: slice, columns: slice
) -> None:
    image = random_image(203, 301)
    mask = block_mask(203, 301, rows, columns)
    assert hole_crop(mask > 0.5, WORK)[2:] != (203, 301)  # a crop, not the whole image

    result = inpainter(image, mask)

    assert result.image.size == (301, 203) and result.image.mode == "RGB"
    assert result.edges.size == (301, 203) and result.edges.mode == "L"
    known = mask == 0
    assert np.array_equal(np.asarray(result.image)[known], np.asarray(image)[known])
    assert changed(result, image)[mask == 1].mean() > 0.9


def test_large_hole_is_scaled_down_and_pasted_back(inpainter: Inpainter) -> None:
    image = random_image(203, 301, seed=1)
    mask = block_mask(203, 301, slice(20, 180), slice(30, 270))
    *_, height, width = hole_crop(mask > 0.5, WORK)
    assert max(height, width) > WORK  # the crop is scaled down to the work size
    result = inpainter(image, mask)
    assert np.array_equal(np.asarray(result.image)[mask == 0], np.asarray(image)[mask == 0])
    assert changed(result, image)[mask == 1].mean() > 0.9


def test_poisson_blending_changes_only_the_hole(tiny_model: EdgeConnect) -> None:
    image = random_image(120, 90, seed=3)
    mask = block_mask(120, 90, slice(30, 70), slice(20, 60))
    pasted = Inpainter(tiny_model, "cpu", WORK)(image, mask)
    blended = Inpainter(tiny_model, "cpu", WORK, blend="poisson")(image, mask)
    known = mask == 0
    assert np.array_equal(np.asarray(blended.image)[known], np.asarray(image)[known])
    assert (np.asarray(blended.image) != np.asarray(pasted.image)).any(axis=2)[
        mask == 1
    ].mean() > 0.5
    with pytest.raises(ConfigError, match="unknown blend"):
        Inpainter(tiny_model, "cpu", WORK, blend="seamless")


def test_crop_is_square_around_the_hole_with_margin() -> None:
    mask = block_mask(200, 300, slice(90, 110), slice(140, 160)) > 0.5
    top, left, height, width = hole_crop(mask, WORK)
    assert (height, width) == (WORK, WORK)
    assert top <= 90 - 8 and top + height >= 110 + 8
    assert left <= 140 - 8 and left + width >= 160 + 8
    corner = block_mask(200, 300, slice(0, 10), slice(290, 300)) > 0.5
    assert hole_crop(corner, WORK) == (0, 300 - WORK, WORK, WORK)
    small = block_mask(40, 50, slice(0, 10), slice(0, 10)) > 0.5
    assert hole_crop(small, WORK) == (0, 0, 40, 50)


def test_empty_mask_returns_the_input_without_running_the_model(
    inpainter: Inpainter, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = random_image(37, 53)

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model ran")

    monkeypatch.setattr(inpainter.model, "inpaint", fail)
    result = inpainter(image, np.zeros((37, 53), dtype=np.float32))
    assert np.array_equal(np.asarray(result.image), np.asarray(image))
    assert result.edges.size == (53, 37)


def test_all_hole_mask_runs_on_the_whole_image(inpainter: Inpainter) -> None:
    image = random_image(90, 130, seed=2)
    mask = np.ones((90, 130), dtype=np.float32)
    assert hole_crop(mask > 0.5, WORK) == (0, 0, 90, 130)
    result = inpainter(image, mask)
    assert result.image.size == (130, 90)
    assert changed(result, image).mean() > 0.9


def test_grey_mask_is_thresholded(inpainter: Inpainter) -> None:
    image = random_image(30, 42, seed=3)
    mask = np.full((30, 42), 0.4, dtype=np.float32)
    mask[10:20, 10:20] = 0.6
    result = inpainter(image, mask)
    outside = np.ones((30, 42), dtype=bool)
    outside[10:20, 10:20] = False
    assert np.array_equal(np.asarray(result.image)[outside], np.asarray(image)[outside])
    assert changed(result, image)[10:20, 10:20].mean() > 0.9


def test_mask_of_another_size_is_resized_with_a_warning(
    inpainter: Inpainter, tmp_path: Path
) -> None:
    image = random_image(40, 60, seed=4)
    small = np.zeros((20, 30), dtype=np.uint8)
    small[5:10, 10:15] = 255
    Image.fromarray(small, mode="L").save(tmp_path / "mask.png")
    with pytest.warns(UserWarning, match="the mask is 30x20 but the image is 60x40"):
        result = inpainter(image, tmp_path / "mask.png")
    hole = np.zeros((40, 60), dtype=bool)
    hole[10:20, 20:30] = True  # the nearest-neighbour doubling of the small hole
    assert np.array_equal(np.asarray(result.image)[~hole], np.asarray(image)[~hole])
    assert changed(result, image)[hole].mean() > 0.9


def test_hand_drawn_edges_are_used_inside_the_hole(inpainter: Inpainter, tmp_path: Path) -> None:
    image = random_image(48, 64, seed=5)
    mask = block_mask(48, 64, slice(12, 36), slice(16, 48))
    drawn = np.zeros((48, 64), dtype=np.uint8)
    drawn[24, :] = 255
    Image.fromarray(drawn, mode="L").save(tmp_path / "edges.png")

    predicted = inpainter(image, mask)
    guided = inpainter(image, mask, tmp_path / "edges.png")

    edges = np.asarray(guided.edges)
    assert np.array_equal(edges[12:36, 16:48] > 127, drawn[12:36, 16:48] > 127)
    assert np.array_equal(edges[mask == 0], np.asarray(predicted.edges)[mask == 0])
    assert not np.array_equal(np.asarray(guided.image), np.asarray(predicted.image))
    assert np.array_equal(np.asarray(guided.image)[mask == 0], np.asarray(image)[mask == 0])


def test_paths_and_arrays_work_like_images(
    inpainter: Inpainter, tmp_path: Path, make_image: Callable[..., Path]
) -> None:
    image_file = make_image(tmp_path / "image.png", 24, 32, seed=6)
    mask = block_mask(24, 32, slice(4, 12), slice(4, 12))
    Image.fromarray((mask * 255).astype(np.uint8), mode="L").save(tmp_path / "mask.png")
    torch.manual_seed(0)
    from_files = inpainter(image_file, tmp_path / "mask.png")
    from_arrays = inpainter(np.asarray(Image.open(image_file)), mask)
    assert np.array_equal(np.asarray(from_files.image), np.asarray(from_arrays.image))


def test_unreadable_mask_is_an_input_error(inpainter: Inpainter, tmp_path: Path) -> None:
    (tmp_path / "mask.png").write_bytes(os.urandom(64))
    with pytest.raises(InputError, match="cannot read image"):
        inpainter(random_image(16, 16), tmp_path / "mask.png")


def write_official_folder(model: EdgeConnect, folder: Path) -> Path:
    """Write the model's generators as official EdgeModel_gen.pth / InpaintingModel_gen.pth."""
    folder.mkdir(parents=True, exist_ok=True)
    layers = {ours: official for official, ours in generator_key_table(1).items()}
    leaves = {ours: official for official, ours in LEAF_TABLE.items()}
    for network, name in ((model.G1, "EdgeModel_gen.pth"), (model.G2, "InpaintingModel_gen.pth")):
        state = {}
        for key, value in network.state_dict().items():
            layer = next(ours for ours in layers if key.startswith(f"{ours}."))
            state[f"{layers[layer]}.{leaves[key.removeprefix(f'{layer}.')]}"] = value
        torch.save({"iteration": 0, "generator": state}, folder / name)
    return folder


def test_official_folder_gives_the_same_results(
    tiny_model: EdgeConnect, inpainter: Inpainter, tmp_path: Path
) -> None:
    folder = write_official_folder(tiny_model, tmp_path / "official")
    official = Inpainter.from_pretrained(folder, device="cpu", work_size=WORK)
    assert official.model.config.mode == "edge_inpaint"
    image = random_image(50, 70, seed=7)
    mask = block_mask(50, 70, slice(10, 30), slice(20, 40))
    expected = inpainter(image, mask)
    result = official(image, mask)
    assert np.array_equal(np.asarray(result.image), np.asarray(expected.image))
    assert np.array_equal(np.asarray(result.edges), np.asarray(expected.edges))


# ---- compogan inpaint --------------------------------------------------------------------------
def write_mask(path: Path, size: tuple[int, int], box: tuple[int, int, int, int]) -> Path:
    """A white-on-black mask file of (height, width) ``size`` with a (top, left, h, w) hole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    top, left, height, width = box
    mask = np.zeros(size, dtype=np.uint8)
    mask[top : top + height, left : left + width] = 255
    Image.fromarray(mask, mode="L").save(path)
    return path


def inpaint_args(weights: Path, *extra: str | Path) -> list[str | Path]:
    return ["inpaint", "-w", weights, "--device", "cpu", "--work-size", str(WORK), *extra]


def test_cli_one_mask_for_two_images(
    weights_dir: Path, tmp_path: Path, make_image: Callable[..., Path], run_cli
) -> None:
    first = make_image(tmp_path / "in" / "first.png", 40, 48, seed=1)
    second = make_image(tmp_path / "in" / "second.jpg", 40, 48, seed=2)
    mask = write_mask(tmp_path / "hole.png", (40, 48), (10, 10, 12, 12))
    out = tmp_path / "out"

    result = run_cli(*inpaint_args(weights_dir, first, second, "--mask", mask, "-o", out))

    assert result.code == 0, result.stderr
    assert "wrote 2 image(s)" in result.stdout
    assert sorted(path.name for path in files_under(out)) == ["first.png", "second.png"]
    written = np.asarray(Image.open(out / "first.png"))
    known = np.asarray(Image.open(mask)) == 0
    assert np.array_equal(written[known], np.asarray(Image.open(first))[known])


def test_cli_mask_folder_by_stem_and_save_edges(
    weights_dir: Path, tmp_path: Path, make_image: Callable[..., Path], run_cli
) -> None:
    make_image(tmp_path / "in" / "a.png", 32, 40, seed=1)
    make_image(tmp_path / "in" / "b.png", 36, 28, seed=2)
    write_mask(tmp_path / "masks" / "a.png", (32, 40), (0, 0, 8, 8))
    write_mask(tmp_path / "masks" / "b.bmp", (36, 28), (20, 10, 8, 8))
    out = tmp_path / "out"

    result = run_cli(
        *inpaint_args(
            weights_dir, tmp_path / "in", "--mask", tmp_path / "masks", "-o", out, "--save-edges"
        )
    )

    assert result.code == 0, result.stderr
    names = sorted(path.name for path in files_under(out))
    assert names == ["a.png", "a_edges.png", "b.png", "b_edges.png"]
    assert Image.open(out / "b.png").size == (28, 36)
    assert Image.open(out / "b_edges.png").mode == "L"
    source = np.asarray(Image.open(tmp_path / "in" / "b.png"))
    assert np.array_equal(np.asarray(Image.open(out / "b.png"))[:20], source[:20])


def test_cli_hand_drawn_edges(
    weights_dir: Path, tmp_path: Path, make_image: Callable[..., Path], run_cli
) -> None:
    image = make_image(tmp_path / "image.png", 32, 32)
    mask = write_mask(tmp_path / "hole.png", (32, 32), (8, 8, 16, 16))
    edges = write_mask(tmp_path / "edges.png", (32, 32), (16, 0, 1, 32))
    result = run_cli(
        *inpaint_args(
            weights_dir,
            image,
            "--mask",
            mask,
            "--edges",
            edges,
            "-o",
            tmp_path / "out",
            "--save-edges",
        )
    )
    assert result.code == 0, result.stderr
    drawn = np.asarray(Image.open(tmp_path / "out" / "image_edges.png"))[8:24, 8:24]
    assert np.array_equal(drawn > 127, np.asarray(Image.open(edges))[8:24, 8:24] > 127)


InpaintCase = Callable[[Path, Path, Path], list[str | Path]]
INPAINT_MISTAKES: dict[str, tuple[InpaintCase, str]] = {
    "missing-mask-in-folder": (
        lambda tmp, images, masks: [images, "--mask", masks],
        "no mask named 'b.*'",
    ),
    "corrupt-image": (
        lambda tmp, images, masks: [
            images / "a.png",
            write_random_bytes(tmp / "bad.png"),
            "--mask",
            masks / "a.png",
        ],
        "cannot read image",
    ),
    "corrupt-mask": (
        lambda tmp, images, masks: [images / "a.png", "--mask", write_random_bytes(tmp / "m.png")],
        "cannot read image",
    ),
    "corrupt-edges": (
        lambda tmp, images, masks: [
            images / "a.png",
            "--mask",
            masks / "a.png",
            "--edges",
            write_random_bytes(tmp / "e.png"),
        ],
        "cannot read image",
    ),
    "unknown-blend": (
        lambda tmp, images, masks: [images / "a.png", "--mask", masks / "a.png", "--blend", "x"],
        "unknown blend",
    ),
    "missing-weights": (
        lambda tmp, images, masks: [images / "a.png", "--mask", masks / "a.png", "-w", tmp / "no"],
        "",
    ),
}


def write_random_bytes(path: Path) -> Path:
    path.write_bytes(os.urandom(256))
    return path


@pytest.mark.parametrize("case", list(INPAINT_MISTAKES))
def test_cli_mistakes_give_one_error_line_and_no_output(
    case: str, weights_dir: Path, tmp_path: Path, make_image: Callable[..., Path], run_cli
) -> None:
    build_args, message = INPAINT_MISTAKES[case]
    images = tmp_path / "images"
    make_image(images / "a.png", 24, 24, seed=1)
    make_image(images / "b.png", 24, 24, seed=2)
    masks = tmp_path / "masks"
    write_mask(masks / "a.png", (24, 24), (4, 4, 8, 8))

    result = run_cli(
        *inpaint_args(weights_dir, *build_args(tmp_path, images, masks)), "-o", tmp_path / "out"
    )

    assert_one_error_line(result.code, result.stderr)
    assert message in result.stderr
    assert files_under(tmp_path / "out") == []
