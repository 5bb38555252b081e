"""Tests for compogan.data.edges: grey conversion and Canny edges."""

import numpy as np
import pytest
import torch

from compogan.data.edges import canny_edges, rgb_to_gray
from compogan.errors import ConfigError


def _square_image(size: int = 32, start: int = 10, stop: int = 22) -> torch.Tensor:
    """(1, 1, size, size): a white square on black."""
    image = torch.zeros(1, 1, size, size)
    image[..., start:stop, start:stop] = 1.0
    return image


def test_rgb_to_gray_range_and_weights() -> None:
    images = torch.stack([torch.full((3, 4, 5), -1.0), torch.full((3, 4, 5), 1.0)])
    gray = rgb_to_gray(images)
    assert gray.shape == (2, 1, 4, 5)
    assert torch.allclose(gray[0], torch.zeros(1, 4, 5))
    assert torch.allclose(gray[1], torch.ones(1, 4, 5))
    green = torch.full((3, 2, 2), -1.0)
    green[1] = 1.0
    assert rgb_to_gray(green).shape == (1, 2, 2)
    assert rgb_to_gray(green).mean().item() == pytest.approx(0.7154, abs=1e-4)
    with pytest.raises(ValueError):
        rgb_to_gray(torch.zeros(1, 4, 5, 5))


@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_canny_finds_the_square_border_and_nothing_flat(sigma: float) -> None:
    edges = canny_edges(_square_image(), sigma=sigma)
    assert edges.shape == (1, 1, 32, 32)
    assert set(edges.unique().tolist()) <= {0.0, 1.0}
    ring = torch.zeros(32, 32, dtype=torch.bool)
    ring[8:24, 8:24] = True
    ring[12:20, 12:20] = False
    found = edges[0, 0].bool()
    assert found.sum() > 30
    assert not (found & ~ring).any()  # nothing in the flat inside or outside
    for row in range(12, 20):  # every side of the square is found
        assert found[row, 8:13].any() and found[row, 19:24].any()
        assert found[8:13, row].any() and found[19:24, row].any()


def test_canny_flat_image_has_no_edges() -> None:
    assert canny_edges(torch.full((2, 1, 16, 16), 0.4)).sum() == 0


def test_high_thresholds_remove_edges() -> None:
    assert canny_edges(_square_image(), low_threshold=50.0, high_threshold=60.0).sum() == 0


def test_random_sigma_differs_per_image_and_repeats_with_the_rng() -> None:
    rng = np.random.default_rng(0)
    noise = torch.rand(1, 1, 40, 40, generator=torch.Generator().manual_seed(0))
    batch = noise.expand(4, 1, 40, 40).contiguous()
    edges = canny_edges(batch, sigma=0, rng=rng)
    assert len({edges[i].numpy().tobytes() for i in range(4)}) > 1
    again = canny_edges(batch, sigma=0, rng=np.random.default_rng(0))
    assert torch.equal(edges, again)
    fixed = canny_edges(batch, sigma=2.0)
    assert all(torch.equal(fixed[0], fixed[i]) for i in range(4))


def test_canny_argument_errors() -> None:
    with pytest.raises(ValueError, match="Generator"):
        canny_edges(_square_image(), sigma=0)
    with pytest.raises(ConfigError):
        canny_edges(_square_image(), sigma=-1.0)
    with pytest.raises(ConfigError):
        canny_edges(_square_image(), low_threshold=0.3, high_threshold=0.2)
    with pytest.raises(ValueError, match="N, 1, H, W"):
        canny_edges(torch.zeros(1, 3, 8, 8))


def test_canny_on_small_images_with_a_large_sigma() -> None:
    edges = canny_edges(_square_image(size=8, start=2, stop=6), sigma=4.0)
    assert edges.shape == (1, 1, 8, 8)
