"""Tests of compogan.metrics: PSNR/SSIM against scikit-image, MSE, L1, fMSE and mask IoU."""

import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from compogan.data.synthetic import image_to_tensor, render_scene_pair, sample_scene
from compogan.errors import InputError
from compogan.metrics import fmse, l1_error, mask_iou, mse, mse_255, psnr, ssim, to_255


def _scene_batch(size: int = 48) -> tuple[torch.Tensor, torch.Tensor]:
    """Day renders as predictions and night renders as targets, (3, 3, size, size) in [-1, 1]."""
    pairs = [render_scene_pair(sample_scene(seed), size) for seed in range(3)]
    day = torch.stack([image_to_tensor(d) for d, _ in pairs])
    night = torch.stack([image_to_tensor(n) for _, n in pairs])
    return day, night


def _noisy_batch(seed: int, shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    target = torch.rand(shape, generator=generator) * 2 - 1
    pred = (target + 0.3 * torch.randn(shape, generator=generator)).clamp(-1, 1)
    return pred, target


def _skimage_ssim(
    pred: torch.Tensor, target: torch.Tensor, data_range: float, sigma: float
) -> list[float]:
    return [
        structural_similarity(
            p.double().numpy(),
            t.double().numpy(),
            gaussian_weights=True,
            sigma=sigma,
            use_sample_covariance=False,
            data_range=data_range,
            channel_axis=0,
        )
        for p, t in zip(pred, target, strict=True)
    ]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_psnr_matches_skimage(dtype: torch.dtype) -> None:
    pred, target = _noisy_batch(0, (4, 3, 20, 24))
    ours = psnr(pred.to(dtype), target.to(dtype))
    assert ours.shape == (4,)
    assert ours.dtype == dtype
    expected = [
        peak_signal_noise_ratio(t.double().numpy(), p.double().numpy(), data_range=2.0)
        for p, t in zip(pred, target, strict=True)
    ]
    np.testing.assert_allclose(ours.double().numpy(), expected, atol=1e-3)


def test_psnr_with_other_data_range_and_identical_images() -> None:
    pred, target = _noisy_batch(1, (2, 1, 16, 16))
    pred01, target01 = (pred + 1) / 2, (target + 1) / 2
    expected = [
        peak_signal_noise_ratio(t.double().numpy(), p.double().numpy(), data_range=1.0)
        for p, t in zip(pred01, target01, strict=True)
    ]
    np.testing.assert_allclose(psnr(pred01, target01, data_range=1.0).numpy(), expected, atol=1e-3)
    assert torch.isinf(psnr(target, target)).all()
    constant_error = psnr(torch.zeros(1, 3, 8, 8), torch.full((1, 3, 8, 8), 0.2))
    assert constant_error.item() == pytest.approx(10 * math.log10(4 / 0.04), abs=1e-4)


def test_ssim_matches_skimage_on_scenes_and_noise() -> None:
    for pred, target in (_scene_batch(), _noisy_batch(2, (2, 3, 32, 30))):
        ours = ssim(pred, target)
        assert ours.shape == (pred.shape[0],)
        expected = _skimage_ssim(pred, target, data_range=2.0, sigma=1.5)
        np.testing.assert_allclose(ours.numpy(), expected, atol=1e-3)


def test_ssim_matches_skimage_for_grayscale_255_and_other_sigma() -> None:
    pred, target = _noisy_batch(3, (2, 1, 40, 40))
    pred255, target255 = to_255(pred), to_255(target)
    expected = _skimage_ssim(pred255, target255, data_range=255.0, sigma=1.5)
    np.testing.assert_allclose(
        ssim(pred255, target255, data_range=255.0).numpy(), expected, atol=1e-3
    )
    expected_sigma1 = _skimage_ssim(pred, target, data_range=2.0, sigma=1.0)
    ours_sigma1 = ssim(pred, target, window_size=9, sigma=1.0)
    np.testing.assert_allclose(ours_sigma1.numpy(), expected_sigma1, atol=1e-3)


def test_ssim_is_one_for_equal_images_and_differentiable() -> None:
    pred, target = _noisy_batch(4, (2, 3, 16, 16))
    torch.testing.assert_close(ssim(target, target), torch.ones(2))
    pred.requires_grad_(True)
    ssim(pred, target).sum().backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all()
    assert pred.grad.abs().sum() > 0


def test_ssim_rejects_small_images_and_bad_windows() -> None:
    with pytest.raises(InputError):
        ssim(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
    with pytest.raises(InputError):
        ssim(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16), window_size=10)


def test_mse_and_l1_values() -> None:
    target = torch.zeros(2, 3, 4, 4)
    pred = target.clone()
    pred[0] = 0.5
    pred[1, :, :2] = -1.0
    torch.testing.assert_close(mse(pred, target), torch.tensor([0.25, 0.5]))
    torch.testing.assert_close(l1_error(pred, target), torch.tensor([0.5, 0.5]))


def test_metrics_reject_mismatched_shapes() -> None:
    with pytest.raises(InputError):
        mse(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 5))
    with pytest.raises(InputError):
        psnr(torch.zeros(3, 4, 4), torch.zeros(3, 4, 4))


def test_harmonisation_mse_and_fmse() -> None:
    target = torch.full((1, 3, 10, 10), 100.0)
    pred = target.clone()
    mask = torch.zeros(1, 1, 10, 10)
    mask[..., :5, :] = 1.0
    pred[..., :5, :] += 10.0
    torch.testing.assert_close(mse_255(pred, target), torch.tensor([50.0]))
    torch.testing.assert_close(fmse(pred, target, mask), torch.tensor([100.0]))
    torch.testing.assert_close(fmse(pred, target, torch.zeros_like(mask)), torch.tensor([0.0]))
    with pytest.raises(InputError):
        fmse(pred, target, mask.expand(1, 3, 10, 10))


def test_to_255_maps_the_unit_range() -> None:
    torch.testing.assert_close(
        to_255(torch.tensor([-1.0, 0.0, 1.0, 2.0])), torch.tensor([0.0, 127.5, 255.0, 255.0])
    )


def test_mask_iou() -> None:
    gt = torch.zeros(3, 1, 4, 4)
    pred = torch.zeros(3, 1, 4, 4)
    gt[0, :, :2] = 1.0
    pred[0, :, 1:3] = 0.9
    gt[1] = 1.0
    pred[1] = 0.4
    iou = mask_iou(pred, gt)
    torch.testing.assert_close(iou, torch.tensor([1 / 3, 0.0, 1.0]))
    torch.testing.assert_close(mask_iou(pred, gt, threshold=0.3)[1], torch.tensor(1.0))
    torch.testing.assert_close(mask_iou(pred[:, 0], gt[:, 0]), iou)
    with pytest.raises(InputError):
        mask_iou(pred, gt[:, :, :2])
