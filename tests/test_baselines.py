"""Tests of compogan.baselines: Reinhard colour transfer in CIE Lab for day→night."""

import numpy as np
import pytest
import torch
from skimage.color import rgb2lab

from compogan.baselines import (
    LabStats,
    ReinhardBaseline,
    lab_stats,
    reinhard_transfer,
    reinhard_transfer_tensor,
)
from compogan.data.synthetic import image_to_tensor, render_scene_pair, sample_scene
from compogan.errors import CompoganError, InputError
from compogan.metrics import psnr


def _pairs(seeds: range, size: int = 48) -> list[tuple[np.ndarray, np.ndarray]]:
    return [render_scene_pair(sample_scene(seed), size) for seed in seeds]


def test_lab_stats_of_a_constant_image() -> None:
    image = np.full((5, 7, 3), (200, 40, 90), dtype=np.uint8)
    stats = lab_stats([image])
    np.testing.assert_allclose(stats.mean, rgb2lab(image[:1, :1])[0, 0], atol=1e-6)
    np.testing.assert_allclose(stats.std, 0.0, atol=1e-4)


def test_lab_stats_pool_all_pixels() -> None:
    (day, night), (other, _) = _pairs(range(2), size=24)
    pooled = lab_stats([day, other, night])
    lab = rgb2lab(np.concatenate([day, other, night], axis=0)).reshape(-1, 3)
    np.testing.assert_allclose(pooled.mean, lab.mean(axis=0), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(pooled.std, lab.std(axis=0), rtol=1e-6, atol=1e-6)


def test_transfer_reaches_the_target_statistics() -> None:
    pairs = _pairs(range(6))
    night_stats = lab_stats(night for _, night in pairs[1:])
    moved = reinhard_transfer(pairs[0][0], night_stats)
    assert moved.shape == pairs[0][0].shape and moved.dtype == np.uint8
    reached = lab_stats([moved])
    np.testing.assert_allclose(reached.mean, night_stats.mean, atol=2.5)
    np.testing.assert_allclose(reached.std, night_stats.std, rtol=0.1, atol=1.0)


def test_transfer_to_own_statistics_is_the_identity() -> None:
    day, night = _pairs(range(3, 4))[0]
    for image in (day, night):
        same = reinhard_transfer(image, lab_stats([image]))
        assert np.abs(same.astype(int) - image.astype(int)).max() <= 1


def test_tensor_transfer_agrees_with_the_uint8_one() -> None:
    pairs = _pairs(range(4), size=32)
    stats = lab_stats(night for _, night in pairs)
    batch = torch.stack([image_to_tensor(day) for day, _ in pairs])
    moved = reinhard_transfer_tensor(batch, stats)
    assert moved.shape == batch.shape and moved.dtype == torch.float32
    assert moved.min() >= -1.0 and moved.max() <= 1.0
    expected = torch.stack([image_to_tensor(reinhard_transfer(day, stats)) for day, _ in pairs])
    torch.testing.assert_close(moved, expected, rtol=0, atol=1.01 / 127.5)


def test_baseline_brings_day_images_closer_to_their_night_truth() -> None:
    train_nights = [night for _, night in _pairs(range(100, 108))]
    baseline = ReinhardBaseline().fit(train_nights)
    assert isinstance(baseline.stats, LabStats)
    test_pairs = _pairs(range(4))
    days = torch.stack([image_to_tensor(day) for day, _ in test_pairs])
    nights = torch.stack([image_to_tensor(night) for _, night in test_pairs])
    moved = torch.stack([image_to_tensor(baseline(day)) for day, _ in test_pairs])
    assert psnr(moved, nights).mean() > psnr(days, nights).mean() + 3.0
    torch.testing.assert_close(baseline.transfer_tensor(days), moved, rtol=0, atol=1.01 / 127.5)


def test_unfitted_baseline_and_bad_inputs_raise() -> None:
    with pytest.raises(CompoganError):
        ReinhardBaseline()(np.zeros((4, 4, 3), dtype=np.uint8))
    with pytest.raises(InputError):
        lab_stats([])
    with pytest.raises(InputError):
        lab_stats([np.zeros((4, 4, 3), dtype=np.float32)])
    stats = LabStats(mean=(50.0, 0.0, 0.0), std=(10.0, 5.0, 5.0))
    with pytest.raises(InputError):
        reinhard_transfer(np.zeros((4, 4), dtype=np.uint8), stats)
    with pytest.raises(InputError):
        reinhard_transfer_tensor(torch.zeros(1, 1, 4, 4), stats)
