"""The plain strided critic (ST-GAN's discriminator) and its TensorFlow-"SAME" size arithmetic."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from compogan.errors import ConfigError
from compogan.nn.discriminators import StridedCritic, pad_to_even


def test_paper_layout_gives_a_5x5_map_at_144_px() -> None:
    critic = StridedCritic()
    convs = [m for m in critic.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128, 256, 512, 1]
    assert [c.kernel_size for c in convs] == [(4, 4)] * 5 + [(3, 3)]
    assert [c.stride for c in convs] == [(2, 2)] * 5 + [(1, 1)]
    assert not any(isinstance(m, nn.InstanceNorm2d | nn.BatchNorm2d) for m in critic.modules())
    assert sum(isinstance(m, nn.LeakyReLU) for m in critic.modules()) == 5
    assert critic(torch.zeros(1, 3, 144, 144)).shape == (1, 1, 5, 5)


@pytest.mark.parametrize(
    ("height", "width", "expected"), [(64, 64, (8, 8)), (36, 20, (5, 3)), (9, 7, (2, 1))]
)
def test_sizes_halve_rounding_up(height: int, width: int, expected: tuple[int, int]) -> None:
    critic = StridedCritic(in_channels=4, widths=(4, 8, 8))
    assert critic(torch.randn(2, 4, height, width)).shape == (2, 1, *expected)


def test_pad_to_even_pads_only_odd_sides_at_the_end() -> None:
    x = torch.ones(1, 1, 3, 4)
    padded = pad_to_even(x)
    assert padded.shape == (1, 1, 4, 4)
    assert torch.equal(padded[..., :3, :], x)
    assert padded[..., 3, :].abs().sum() == 0
    even = torch.ones(1, 1, 2, 4)
    assert pad_to_even(even) is even


def test_samples_are_scored_independently() -> None:
    critic = StridedCritic(widths=(4, 8))
    batch = torch.randn(3, 3, 16, 16)
    assert torch.allclose(critic(batch)[1:2], critic(batch[1:2]), atol=1e-6)


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="batch norm"):
        StridedCritic(norm="batch")
    with pytest.raises(ConfigError, match="at least one"):
        StridedCritic(widths=())
