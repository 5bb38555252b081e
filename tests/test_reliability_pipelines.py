"""Trustworthy pipelines (issue 21): weights whose trained networks do not cover the task are
refused, nothing a pipeline outputs depends on the pixels it replaces, inference edges are the
official test's, alpha channels pass through.

Every inpainting and compositing pipeline belongs in :data:`REPLACING_PIPELINES`' tests: perturb
only the pixels the pipeline is asked to replace, and the outputs must be identical.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.color import rgb2gray
from skimage.feature import canny
from test_cli import assert_one_error_line, files_under
from test_compose import TINY_STGAN
from test_inpaint_pipeline import TINY

from compogan.data.inpainting import skimage_photo
from compogan.errors import CheckpointError, ConfigError
from compogan.io.images import pil_to_tensor
from compogan.models.edgeconnect import EdgeConnect, EdgeConnectConfig
from compogan.models.stgan import STGAN, STGANConfig, STGANDataConfig
from compogan.pipelines import Compositor, Inpainter, Translator


def tiny_edgeconnect(mode: str) -> EdgeConnect:
    torch.manual_seed(0)
    config = EdgeConnectConfig(**{**TINY.__dict__, "mode": mode})
    return EdgeConnect(config).eval()


def noise(height: int, width: int, seed: int, channels: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)


def photo(height: int, width: int) -> np.ndarray:
    """A real photo crop (scikit-image's astronaut), so that Canny finds real edges."""
    return np.asarray(skimage_photo("astronaut").convert("RGB"))[:height, :width].copy()


# ---- 2: trained networks must cover the task -------------------------------------------------
def test_a_stage_1_edgeconnect_run_is_refused_for_inpainting(tmp_path: Path, run_cli) -> None:
    weights = tiny_edgeconnect("edge").save_pretrained(tmp_path / "edge")
    image = tmp_path / "in" / "photo.png"
    image.parent.mkdir()
    Image.fromarray(noise(32, 32, 0)).save(image)
    mask = np.zeros((32, 32), np.uint8)
    mask[8:16, 8:16] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")

    result = run_cli("inpaint", "-w", weights, image, "-m", tmp_path / "mask.png", "-o", tmp_path)

    assert_one_error_line(result.code, result.stderr)
    assert "no trained G2" in result.stderr and "stage-2" in result.stderr
    assert files_under(tmp_path / "in") == [image]


def test_trained_networks_are_recorded_and_read_back(tmp_path: Path) -> None:
    edge = EdgeConnect.from_pretrained(tiny_edgeconnect("edge").save_pretrained(tmp_path / "e"))
    assert edge.trained_networks() == ("G1", "D1")
    full = EdgeConnect.from_pretrained(
        tiny_edgeconnect("edge_inpaint").save_pretrained(tmp_path / "f")
    )
    assert full.trained_networks() == ("G1", "G2", "D2")
    Inpainter(full, device="cpu")


def stgan_after(steps_done: int) -> STGAN:
    """A tiny ST-GAN (2 predictors, 3 steps of critic pre-training and per stage) as a run
    saves it after ``steps_done`` training steps."""
    config = STGANConfig(
        **{**TINY_STGAN.__dict__, "critic_pretrain_steps": 3, "steps_per_stage": 3}
    )
    model = STGAN(config, STGANDataConfig(size=config.image_size))
    model.step_count = steps_done
    return model


def test_an_stgan_run_stopped_in_stage_1_is_refused_for_composing(tmp_path: Path, run_cli) -> None:
    assert stgan_after(4).trained_networks() == ("G1", "D")
    assert stgan_after(7).trained_networks() == ("G1", "G2", "D")
    assert stgan_after(2).trained_networks() == ("D",)
    assert stgan_after(0).trained_networks() == ("G1", "G2", "D")  # a fresh model in Python
    weights = stgan_after(5).save_pretrained(tmp_path / "stage1")
    Image.new("RGBA", (16, 16), (255, 0, 0, 255)).save(tmp_path / "fg.png")
    Image.new("RGB", (40, 30), (0, 0, 255)).save(tmp_path / "bg.png")

    result = run_cli(
        "compose",
        "-w",
        weights,
        "--fg",
        tmp_path / "fg.png",
        "--bg",
        tmp_path / "bg.png",
        "-o",
        tmp_path / "out.png",
    )

    assert_one_error_line(result.code, result.stderr)
    assert "no trained G2" in result.stderr and "--resume" in result.stderr
    assert not (tmp_path / "out.png").exists()
    Compositor(STGAN.from_pretrained(stgan_after(7).save_pretrained(tmp_path / "full")), "cpu")


def test_an_inpaint_mode_run_fills_only_with_its_own_edges_or_given_ones(tmp_path: Path) -> None:
    """Stage 2 alone ("inpaint") trains G2: it fills holes from Canny edges, no G1 needed."""
    model = tiny_edgeconnect("inpaint")
    inpainter = Inpainter(model, device="cpu", work_size=32)
    mask = np.zeros((32, 32), np.float32)
    mask[8:16, 8:16] = 1
    inpainter(Image.fromarray(noise(32, 32, 1)), mask)


def test_untrained_g1_is_refused_when_edges_are_predicted() -> None:
    model = tiny_edgeconnect("edge_inpaint")
    model.recorded_trained = ("G2", "D2")  # as a checkpoint of a stage-3 run without init_from
    inpainter = Inpainter(model, device="cpu", work_size=32)
    mask = np.zeros((32, 32), np.float32)
    mask[8:16, 8:16] = 1
    with pytest.raises(CheckpointError, match="no trained G1"):
        inpainter(Image.fromarray(noise(32, 32, 1)), mask)
    edges = np.zeros((32, 32), np.float32)
    inpainter(Image.fromarray(noise(32, 32, 1)), mask, edges=edges)  # hand-drawn: fine


# ---- 5: outputs never depend on the pixels being replaced ----------------------------------------
def with_other_hole(image: np.ndarray, hole: np.ndarray, seed: int) -> np.ndarray:
    """``image`` with new random pixels inside ``hole`` (H, W) bool, the rest unchanged."""
    other = image.copy()
    other[hole] = noise(*image.shape[:2], seed)[hole]
    return other


@pytest.mark.parametrize(
    ("size", "rows", "columns", "blend", "drawn"),
    [
        ((48, 64), slice(10, 30), slice(20, 40), "none", False),
        ((48, 64), slice(10, 30), slice(20, 40), "poisson", False),
        ((48, 64), slice(0, 20), slice(50, 64), "none", True),
        ((96, 160), slice(40, 60), slice(100, 130), "none", False),  # a crop, scaled down
    ],
)
def test_inpainting_does_not_depend_on_the_hole(
    size: tuple[int, int], rows: slice, columns: slice, blend: str, drawn: bool
) -> None:
    inpainter = Inpainter(tiny_edgeconnect("edge_inpaint"), "cpu", work_size=48, blend=blend)
    image = photo(*size)
    hole = np.zeros(size, bool)
    hole[rows, columns] = True
    edges = (noise(*size, 9)[..., 0] > 200).astype(np.float32) if drawn else None

    mask = hole.astype(np.float32)
    first = inpainter(Image.fromarray(image), mask, edges)
    second = inpainter(Image.fromarray(with_other_hole(image, hole, 5)), mask, edges)

    assert np.array_equal(np.asarray(first.image), np.asarray(second.image))
    assert np.array_equal(np.asarray(first.edges), np.asarray(second.edges))


def test_compositing_does_not_depend_on_the_transparent_foreground_pixels() -> None:
    torch.manual_seed(0)
    model = STGAN(TINY_STGAN, STGANDataConfig(size=TINY_STGAN.image_size)).eval()
    compositor = Compositor(model, "cpu")
    foreground = noise(30, 40, 1, channels=4)
    foreground[..., 3] = 0
    foreground[5:25, 8:32, 3] = 255
    foreground[5:25, 8, 3] = 128
    hidden = foreground[..., 3] == 0
    other = foreground.copy()
    other[hidden, :3] = noise(30, 40, 2)[hidden]
    background = noise(64, 80, 3)

    first = compositor(foreground, background, init=(0.5, 0.5, 0.5, 10.0))
    second = compositor(other, background, init=(0.5, 0.5, 0.5, 10.0))

    assert np.array_equal(np.asarray(first.composite), np.asarray(second.composite))
    assert np.array_equal(first.warp, second.warp)
    for a, b in zip(first.steps, second.steps, strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_inference_edges_are_the_official_tests_skimage_edges() -> None:
    """The official test: ``canny(rgb2gray(img), sigma=2, mask=(1 - mask).astype(bool))``."""
    model = tiny_edgeconnect("edge_inpaint")
    image = photo(96, 128)
    hole = np.zeros((96, 128), bool)
    hole[30:60, 40:90] = True
    tensor = pil_to_tensor(Image.fromarray(image))[None]
    masks = torch.from_numpy(hole.astype(np.float32))[None, None]

    _, edges = model.canny(tensor, masks)

    expected = canny(rgb2gray(image), sigma=2, mask=~hole)
    assert expected.sum() > 100
    assert np.array_equal(edges[0, 0].numpy().astype(bool), expected)


# ---- 12: alpha passes through ------------------------------------------------------------------
def test_translate_keeps_the_alpha_channel(tiny_cyclegan_dir: Path, tmp_path: Path, run_cli):
    rgba = noise(20, 24, 4, channels=4)
    source = tmp_path / "in" / "sprite.png"
    source.parent.mkdir()
    Image.fromarray(rgba, "RGBA").save(source)

    result = run_cli("translate", "-w", tiny_cyclegan_dir, source, "-o", tmp_path / "out")

    assert result.code == 0, result.stderr
    written = Image.open(tmp_path / "out" / "sprite.png")
    assert written.mode == "RGBA"
    assert np.array_equal(np.asarray(written)[..., 3], rgba[..., 3])
    rgb_only = Translator.from_pretrained(tiny_cyclegan_dir, "cpu")(Image.fromarray(rgba[..., :3]))
    assert np.array_equal(np.asarray(written)[..., :3], np.asarray(rgb_only.image))


def test_inpaint_keeps_the_alpha_channel(tmp_path: Path) -> None:
    inpainter = Inpainter(tiny_edgeconnect("edge_inpaint"), "cpu", work_size=32)
    rgba = noise(32, 32, 6, channels=4)
    hole = np.zeros((32, 32), np.float32)
    hole[8:20, 8:20] = 1
    result = inpainter(Image.fromarray(rgba, "RGBA"), hole)
    assert result.image.mode == "RGBA"
    assert np.array_equal(np.asarray(result.image)[..., 3], rgba[..., 3])
    assert np.array_equal(np.asarray(result.image)[..., :3][hole == 0], rgba[..., :3][hole == 0])


# ---- 11: large images in overlapping tiles ----------------------------------------------------
def test_tiled_translation_matches_the_whole_image() -> None:
    """A network without global statistics (BatchNorm in eval) gives the same translation,
    up to rounding, whether the image runs whole or in blended 64 px tiles."""
    from compogan.models.cyclegan import CycleGAN, CycleGANConfig

    torch.manual_seed(0)
    model = CycleGAN(CycleGANConfig(ngf=8, n_blocks=1, ndf=8, norm="batch")).eval()
    image = Image.fromarray(photo(160, 200))

    whole = np.asarray(Translator(model, "cpu", tile_size=0)(image).image).astype(int)
    tiled = Translator(model, "cpu", tile_size=64, tile_overlap=16)(image).image

    assert tiled.size == (200, 160)
    difference = np.abs(np.asarray(tiled).astype(int) - whole)
    assert difference.max() <= 1 and difference.mean() < 0.05


def test_tiles_bound_what_the_network_sees(monkeypatch) -> None:
    from compogan.models.cyclegan import CycleGAN, CycleGANConfig

    model = CycleGAN(CycleGANConfig(ngf=8, n_blocks=1, ndf=8)).eval()
    seen: list[tuple[int, int]] = []
    real = CycleGAN.translate

    def spy(self, images, direction):
        seen.append(tuple(images.shape[-2:]))
        return real(self, images, direction)

    monkeypatch.setattr(CycleGAN, "translate", spy)
    Translator(model, "cpu", tile_size=48, tile_overlap=8)(Image.fromarray(noise(100, 130, 0)))
    assert seen and all(h <= 48 and w <= 48 for h, w in seen)
    with pytest.raises(ConfigError, match="tile_overlap"):
        Translator(model, "cpu", tile_size=48, tile_overlap=40)
