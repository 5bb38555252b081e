"""Per-image quality metrics in torch: PSNR, SSIM, MSE, L1 and the harmonisation helpers.

Unless a function says otherwise, inputs are image batches (N, C, H, W) in [-1, 1], so the
default ``data_range`` is 2.0; pass ``data_range=1.0`` for images in [0, 1] or 255.0 for 0–255.
Every metric returns one value per image, a tensor (N,), computed in float32 (float64 inputs stay
float64). PSNR and SSIM match ``skimage.metrics`` (SSIM: Gaussian window, σ = 1.5, 11 taps,
K1 = 0.01, K2 = 0.03, population covariances, mean over the valid region and the channels).

The harmonisation helpers follow the iHarmony4 convention: images in 0–255 (see :func:`to_255`),
MSE averaged over pixels and channels, and fMSE the squared error summed over the foreground
mask divided by (foreground pixels x channels).
"""

import torch
import torch.nn.functional as F

from compogan.errors import InputError

SSIM_K1 = 0.01
SSIM_K2 = 0.03


def _check_pair(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.dim() != 4:
        raise InputError(
            f"metrics expect image batches (N, C, H, W), got shape {tuple(pred.shape)}"
        )
    if pred.shape != target.shape:
        raise InputError(
            f"prediction and target shapes differ: {tuple(pred.shape)} vs {tuple(target.shape)}"
        )


def _as_float(x: torch.Tensor) -> torch.Tensor:
    return x if x.dtype == torch.float64 else x.to(torch.float32)


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image: (N, C, H, W) x 2 → (N,), in the inputs' units squared."""
    _check_pair(pred, target)
    return (_as_float(pred) - _as_float(target)).square().flatten(1).mean(dim=1)


def l1_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error per image: (N, C, H, W) x 2 → (N,), in the inputs' units."""
    _check_pair(pred, target)
    return (_as_float(pred) - _as_float(target)).abs().flatten(1).mean(dim=1)


def psnr(pred: torch.Tensor, target: torch.Tensor, data_range: float = 2.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image (N,); ``inf`` where the images are equal.

    ``data_range`` is max - min of the image value range (2.0 for [-1, 1]).
    """
    error = mse(pred, target)
    return 10.0 * torch.log10(data_range**2 / error)


def _gaussian_taps(window_size: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
    offsets = torch.arange(window_size, dtype=like.dtype, device=like.device)
    offsets = offsets - (window_size - 1) / 2
    taps = torch.exp(-(offsets**2) / (2.0 * sigma**2))
    return taps / taps.sum()


def _gaussian_filter_valid(x: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur of each channel without padding: (N, C, H, W) → smaller."""
    channels = x.shape[1]
    size = taps.numel()
    horizontal = taps.view(1, 1, 1, size).expand(channels, 1, 1, size)
    vertical = taps.view(1, 1, size, 1).expand(channels, 1, size, 1)
    return F.conv2d(F.conv2d(x, horizontal, groups=channels), vertical, groups=channels)


def ssim(
    pred: torch.Tensor,
    target: torch.Tensor,
    data_range: float = 2.0,
    window_size: int = 11,
    sigma: float = 1.5,
) -> torch.Tensor:
    """Structural similarity per image (N,) in [-1, 1] (Wang et al. 2004), differentiable.

    Local statistics use a Gaussian window (``window_size`` taps, ``sigma``) with population
    (co)variances; the SSIM map is averaged over the positions where the window fits inside the
    image and over channels, as ``skimage.metrics.structural_similarity(gaussian_weights=True,
    use_sample_covariance=False)`` does. Images must be at least ``window_size`` pixels each side.
    """
    _check_pair(pred, target)
    if window_size % 2 == 0 or window_size < 3:
        raise InputError(f"SSIM window size must be an odd number of at least 3, got {window_size}")
    if min(pred.shape[-2:]) < window_size:
        raise InputError(
            f"SSIM needs images of at least {window_size}x{window_size} pixels, got "
            f"{pred.shape[-2]}x{pred.shape[-1]}; use a smaller window_size"
        )
    x, y = _as_float(pred), _as_float(target)
    taps = _gaussian_taps(window_size, sigma, x)
    stacked = torch.cat([x, y, x * x, y * y, x * y], dim=1)
    mu_x, mu_y, mu_xx, mu_yy, mu_xy = _gaussian_filter_valid(stacked, taps).chunk(5, dim=1)
    var_x = mu_xx - mu_x.square()
    var_y = mu_yy - mu_y.square()
    cov_xy = mu_xy - mu_x * mu_y
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    numerator = (2.0 * mu_x * mu_y + c1) * (2.0 * cov_xy + c2)
    denominator = (mu_x.square() + mu_y.square() + c1) * (var_x + var_y + c2)
    return (numerator / denominator).flatten(1).mean(dim=1)


def to_255(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] → float in [0, 255] (clamped), for the harmonisation metrics."""
    return ((_as_float(images) + 1.0) * 127.5).clamp(0.0, 255.0)


def mse_255(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MSE per image (N,) of images in 0–255, averaged over pixels and channels (iHarmony4)."""
    return mse(pred, target)


def fmse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Foreground MSE per image (N,) of 0–255 images (N, C, H, W) inside ``mask`` (N, 1, H, W).

    ``mask`` is in [0, 1] (normally binary) and weights each pixel's squared error; the sum is
    divided by (mask area x C). An empty mask gives 0.
    """
    _check_pair(pred, target)
    if mask.dim() != 4 or mask.shape[1] != 1 or mask.shape[-2:] != pred.shape[-2:]:
        raise InputError(
            f"fMSE mask must have shape (N, 1, H, W) matching the images, got {tuple(mask.shape)}"
        )
    weight = _as_float(mask)
    squared = (_as_float(pred) - _as_float(target)).square() * weight
    area = weight.flatten(1).sum(dim=1) * pred.shape[1]
    return squared.flatten(1).sum(dim=1) / area.clamp_min(1.0)


def mask_iou(
    pred_mask: torch.Tensor, gt_mask: torch.Tensor, threshold: float = 0.5
) -> torch.Tensor:
    """Intersection over union per mask (N,) after binarising both masks at ``value >= threshold``.

    Masks are (N, 1, H, W) or (N, H, W) in [0, 1]; two empty masks have IoU 1.
    """
    if pred_mask.shape != gt_mask.shape or pred_mask.dim() not in (3, 4):
        raise InputError(
            f"masks must both be (N, 1, H, W) or (N, H, W) of equal shape, got "
            f"{tuple(pred_mask.shape)} and {tuple(gt_mask.shape)}"
        )
    pred_on = (pred_mask >= threshold).flatten(1)
    gt_on = (gt_mask >= threshold).flatten(1)
    intersection = (pred_on & gt_on).sum(dim=1).to(torch.float32)
    union = (pred_on | gt_on).sum(dim=1).to(torch.float32)
    return torch.where(union > 0, intersection / union.clamp_min(1.0), torch.ones_like(union))
