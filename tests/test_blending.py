"""Poisson blending: exact on fills that are off by a smooth field, known pixels untouched."""

import pytest
import torch

from compogan.blending import poisson_blend
from compogan.errors import InputError


def _hole(size: int = 24) -> torch.Tensor:
    hole = torch.zeros(1, 1, size, size)
    hole[..., 5:15, 7:19] = 1
    hole[..., 16:20, 2:6] = 1
    return hole


def test_a_fill_off_by_a_constant_takes_the_image_colours() -> None:
    torch.manual_seed(0)
    image = torch.rand(1, 3, 24, 24, dtype=torch.float64)
    fill = image + torch.tensor([0.3, -0.2, 0.1], dtype=torch.float64).view(1, 3, 1, 1)
    torch.testing.assert_close(poisson_blend(image, fill, _hole()), image, atol=1e-9, rtol=0)


def test_a_flat_fill_of_a_ramp_becomes_the_ramp() -> None:
    ramp = torch.linspace(-1, 1, 24, dtype=torch.float64).expand(1, 1, 24, 24).clone()
    blended = poisson_blend(ramp, torch.zeros_like(ramp), _hole())
    torch.testing.assert_close(blended, ramp, atol=1e-9, rtol=0)


def test_known_pixels_stay_bit_exact_and_degenerate_holes() -> None:
    torch.manual_seed(1)
    image, fill = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    hole = torch.zeros(2, 1, 16, 16)
    hole[0, :, 4:9, 4:12] = 1
    hole[1] = 1  # all hole: the fill as it is
    blended = poisson_blend(image, fill, hole)
    assert blended.dtype == torch.float32
    known = (hole == 0).expand_as(image)
    assert torch.equal(blended[known], image[known])
    assert torch.equal(blended[1], fill[1])
    assert torch.equal(poisson_blend(image, fill, torch.zeros_like(hole)), image)


def test_mismatched_shapes_are_refused() -> None:
    image = torch.zeros(1, 3, 8, 8)
    with pytest.raises(InputError, match="one shape"):
        poisson_blend(image, torch.zeros(1, 3, 8, 4), torch.zeros(1, 1, 8, 8))
    with pytest.raises(InputError, match="one shape"):
        poisson_blend(image, image, torch.zeros(1, 3, 8, 8))
