"""The multi-scale patch sliced Wasserstein distance on cases with a known answer."""

from __future__ import annotations

import pytest
import torch

from compogan.errors import InputError
from compogan.metrics import patch_swd


def noise(height: int, width: int, seed: int, scale: float = 1.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(3, height, width, generator=generator) * 2 - 1) * scale


def test_identical_images_are_at_zero_and_the_distance_is_symmetric() -> None:
    a, b = noise(40, 50, 0), noise(60, 30, 1)
    assert patch_swd(a, a) == 0.0
    assert patch_swd(a, b) == pytest.approx(patch_swd(b, a))


def test_constant_images_are_apart_in_proportion_to_their_difference() -> None:
    zero = torch.zeros(3, 32, 32)
    near, far = patch_swd(zero, zero + 0.25), patch_swd(zero, zero + 0.5)
    assert near > 0 and far == pytest.approx(2 * near)


def test_the_layout_does_not_count_but_the_patch_statistics_do() -> None:
    image = noise(64, 64, 2)
    flipped = image.flip(-1)  # the same i.i.d. patch distribution, another layout
    weaker = image * 0.5  # the same layout, other patches
    assert patch_swd(image, flipped) < 0.25 * patch_swd(image, weaker)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(InputError, match=r"\(3,H,W\)"):
        patch_swd(torch.zeros(1, 32, 32), torch.zeros(3, 32, 32))
    with pytest.raises(InputError, match="too small"):
        patch_swd(torch.zeros(3, 20, 20), torch.zeros(3, 32, 32))
