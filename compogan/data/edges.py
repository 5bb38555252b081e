"""Edge maps for EdgeConnect: grey conversion and Canny edges on batches of tensors.

EdgeConnect trains its edge generator on Canny edges of the ground truth with a Gaussian of
standard deviation ``sigma`` (2 by default); ``sigma = 0`` draws a sigma uniformly in ``[1, 4]``
for every image. The thresholds are in the units of the unnormalised Sobel magnitude (a unit step
scores 4 before blurring), the same scale as scikit-image's ``canny``, whose defaults for float
images (0.1 and 0.2) are used here too.
"""

import math

import numpy as np
import torch
from kornia.filters import canny

from compogan.errors import ConfigError

DEFAULT_SIGMA = 2.0
RANDOM_SIGMA = 0.0
"""The sigma that means "draw one in :data:`RANDOM_SIGMA_RANGE` per image"."""
RANDOM_SIGMA_RANGE = (1.0, 4.0)
DEFAULT_LOW_THRESHOLD = 0.1
DEFAULT_HIGH_THRESHOLD = 0.2
KERNEL_RADIUS_PER_SIGMA = 3.0

_LUMA_WEIGHTS = (0.2125, 0.7154, 0.0721)  # ITU-R BT.709, as scikit-image's rgb2gray


def rgb_to_gray(images: torch.Tensor) -> torch.Tensor:
    """Luma of RGB images: ``(..., 3, H, W)`` in ``[-1, 1]`` -> ``(..., 1, H, W)`` in ``[0, 1]``.

    Uses the BT.709 weights (scikit-image's ``rgb2gray``, which EdgeConnect uses).
    """
    if images.dim() < 3 or images.shape[-3] != 3:
        raise ValueError(f"expected RGB images (..., 3, H, W), got {tuple(images.shape)}")
    weights = torch.tensor(_LUMA_WEIGHTS, dtype=images.dtype, device=images.device)
    rgb = (images.clamp(-1.0, 1.0) + 1.0) / 2.0
    return (rgb * weights.view(3, 1, 1)).sum(dim=-3, keepdim=True)


def _per_image_sigmas(sigma: float, count: int, rng: np.random.Generator | None) -> np.ndarray:
    """``count`` sigmas: ``sigma`` repeated, or random draws from ``rng`` when it is 0."""
    if sigma < 0 or not math.isfinite(sigma):
        raise ConfigError(f"the Canny sigma must be a finite number >= 0, got {sigma}")
    if sigma != RANDOM_SIGMA:
        return np.full(count, float(sigma))
    if rng is None:
        raise ValueError("sigma 0 draws a random sigma per image and needs a numpy Generator")
    low, high = RANDOM_SIGMA_RANGE
    return rng.uniform(low, high, size=count)


def _kernel_size(largest_sigma: float, height: int, width: int) -> int:
    """An odd Gaussian kernel of about ``3 sigma`` radius, small enough to reflect-pad the image."""
    radius = math.ceil(KERNEL_RADIUS_PER_SIGMA * largest_sigma)
    return 2 * max(1, min(radius, min(height, width) - 1)) + 1


def canny_edges(
    gray: torch.Tensor,
    sigma: float = DEFAULT_SIGMA,
    low_threshold: float = DEFAULT_LOW_THRESHOLD,
    high_threshold: float = DEFAULT_HIGH_THRESHOLD,
    rng: np.random.Generator | None = None,
) -> torch.Tensor:
    """Canny edges of grey images, with hysteresis.

    Args:
        gray: (N, 1, H, W) float tensor in ``[0, 1]``, H and W at least 2.
        sigma: standard deviation of the Gaussian blur; 0 draws one per image, uniformly in
            ``[1, 4]``, from ``rng`` (one draw per image, in batch order).
        low_threshold: weak-edge threshold on the unnormalised Sobel magnitude.
        high_threshold: strong-edge threshold; must be at least ``low_threshold``.
        rng: the generator for ``sigma = 0``; unused otherwise.

    Returns:
        (N, 1, H, W) float tensor of 0 and 1 (1 = edge), on ``gray``'s device, without gradient.
    """
    if gray.dim() != 4 or gray.shape[1] != 1:
        raise ValueError(f"expected grey images (N, 1, H, W), got {tuple(gray.shape)}")
    if not 0 < low_threshold <= high_threshold:
        raise ConfigError(
            f"Canny thresholds need 0 < low <= high, got low={low_threshold}, high={high_threshold}"
        )
    count, _, height, width = gray.shape
    if min(height, width) < 2:
        raise ValueError(f"Canny needs images of at least 2x2 pixels, got {height}x{width}")
    sigmas = _per_image_sigmas(float(sigma), count, rng)
    if count == 0:
        return torch.zeros_like(gray)
    kernel = _kernel_size(float(sigmas.max()), height, width)
    sigma_rows = torch.tensor(np.stack([sigmas, sigmas], axis=1), dtype=torch.float32)
    with torch.no_grad():
        _, edges = canny(
            gray.float(),
            low_threshold=low_threshold,
            high_threshold=high_threshold,
            kernel_size=(kernel, kernel),
            sigma=sigma_rows.to(gray.device),
        )
    return edges.to(gray.dtype)
