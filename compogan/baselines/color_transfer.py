"""Reinhard et al. (2001) global colour transfer in CIE Lab: the non-learned day→night baseline.

Each channel of the source image in CIE Lab (D65, via ``skimage.color``) is shifted and scaled so
that its mean and standard deviation become those of a target: ``(lab - μ_src) / σ_src · σ_tgt +
μ_tgt``. For day→night the target statistics are pooled over all pixels of the night training
images (:func:`lab_stats`), then every day image is transferred to them (:class:`ReinhardBaseline`).
"""

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self

import numpy as np
import torch
from skimage.color import lab2rgb, rgb2lab

from compogan.errors import CompoganError, InputError

_MIN_STD = 1e-6
# skimage warns when out-of-gamut Lab values clip to zero; clipping is the intended behaviour.
_LAB_CLIP_WARNING = "Conversion from CIE-LAB"


@dataclass(frozen=True)
class LabStats:
    """Per-channel mean and standard deviation of CIE Lab values (L in 0–100, a and b ~±128)."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def _check_rgb_uint8(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        raise InputError(f"colour transfer expects an (H, W, 3) RGB array, got shape {shape}")
    if image.dtype != np.uint8:
        raise InputError(f"colour transfer expects uint8 RGB images, got dtype {image.dtype}")


def lab_stats(images: Iterable[np.ndarray]) -> LabStats:
    """Lab mean and std pooled over every pixel of ``images`` ((H, W, 3) uint8 RGB, any sizes)."""
    total = np.zeros(3)
    total_sq = np.zeros(3)
    count = 0
    for image in images:
        _check_rgb_uint8(image)
        lab = rgb2lab(image).reshape(-1, 3)
        total += lab.sum(axis=0)
        total_sq += np.square(lab).sum(axis=0)
        count += lab.shape[0]
    if count == 0:
        raise InputError("lab_stats got no images; pass at least one (H, W, 3) uint8 image")
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - np.square(mean), 0.0))
    return LabStats(
        mean=(float(mean[0]), float(mean[1]), float(mean[2])),
        std=(float(std[0]), float(std[1]), float(std[2])),
    )


def _transfer_rgb01(rgb: np.ndarray, target: LabStats) -> np.ndarray:
    """Transfer one float RGB image (H, W, 3) in [0, 1] to ``target``; returns RGB in [0, 1]."""
    lab = rgb2lab(rgb)
    source_mean = lab.mean(axis=(0, 1))
    source_std = lab.std(axis=(0, 1))
    scale = np.asarray(target.std) / np.maximum(source_std, _MIN_STD)
    moved = (lab - source_mean) * scale + np.asarray(target.mean)
    moved[..., 0] = np.clip(moved[..., 0], 0.0, 100.0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_LAB_CLIP_WARNING, category=UserWarning)
        return np.clip(lab2rgb(moved), 0.0, 1.0)


def reinhard_transfer(source: np.ndarray, target_stats: LabStats) -> np.ndarray:
    """Reinhard colour transfer of ``source`` ((H, W, 3) uint8 RGB) → (H, W, 3) uint8 RGB."""
    _check_rgb_uint8(source)
    rgb = _transfer_rgb01(source.astype(np.float64) / 255.0, target_stats)
    return np.round(rgb * 255.0).astype(np.uint8)


def reinhard_transfer_tensor(images: torch.Tensor, target_stats: LabStats) -> torch.Tensor:
    """Reinhard transfer of a batch (N, 3, H, W) in [-1, 1] → same shape, dtype and device.

    Each image is transferred on its own statistics; no uint8 rounding happens in between.
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise InputError(f"expected RGB batches (N, 3, H, W), got shape {tuple(images.shape)}")
    rgb = ((images.detach().to("cpu", torch.float64) + 1.0) / 2.0).clamp(0.0, 1.0)
    hwc = rgb.permute(0, 2, 3, 1).numpy()
    moved = np.stack([_transfer_rgb01(image, target_stats) for image in hwc])
    out = torch.from_numpy(moved).permute(0, 3, 1, 2) * 2.0 - 1.0
    return out.to(device=images.device, dtype=images.dtype)


class ReinhardBaseline:
    """Day→night baseline: ``fit`` on night images, then call it on day images (uint8 RGB)."""

    def __init__(self, stats: LabStats | None = None) -> None:
        self.stats = stats

    def fit(self, images: Iterable[np.ndarray]) -> Self:
        """Store the pooled Lab statistics of ``images`` ((H, W, 3) uint8) as the target."""
        self.stats = lab_stats(images)
        return self

    def _fitted_stats(self) -> LabStats:
        if self.stats is None:
            raise CompoganError("ReinhardBaseline has no target statistics; call fit(images) first")
        return self.stats

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Transfer one (H, W, 3) uint8 RGB image to the fitted statistics."""
        return reinhard_transfer(image, self._fitted_stats())

    def transfer_tensor(self, images: torch.Tensor) -> torch.Tensor:
        """Transfer a batch (N, 3, H, W) in [-1, 1] to the fitted statistics."""
        return reinhard_transfer_tensor(images, self._fitted_stats())
