"""Pixel-space losses and regularisers: L1, EdgeConnect's hole-normalised L1, the cross-entropy of
probability maps in a hole, total variation."""

import torch
import torch.nn.functional as F


def l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of two tensors of the same shape; a scalar."""
    return F.l1_loss(pred, target)


def masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """EdgeConnect's reconstruction loss: whole-image L1 divided by the mean of the hole mask.

    ``mean(|pred - target|) / mean(mask)``, so a small hole weighs its pixels more. The mask
    mean is floored at one pixel's worth (``1 / (H * W)`` of one sample) to stay finite when a
    batch has no hole.

    Args:
        pred: predicted images (N, C, H, W).
        target: ground truth (N, C, H, W).
        mask: hole mask (N, 1, H, W) in [0, 1], 1 = missing.

    Returns:
        Scalar loss.
    """
    hole_fraction = mask.mean().clamp_min(1.0 / mask[0].numel())
    return F.l1_loss(pred, target) / hole_fraction


def hole_binary_cross_entropy(
    probabilities: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Mean binary cross-entropy of predicted probabilities over the hole's pixels alone.

    Args:
        probabilities: predicted maps (N, 1, H, W) in [0, 1] (an edge generator's sigmoid).
        target: true maps (N, 1, H, W) in [0, 1] (Canny edges).
        mask: hole mask (N, 1, H, W) in {0, 1}, 1 = missing.

    Returns:
        Scalar loss (in nats per hole pixel); 0 when the batch has no hole.
    """
    per_pixel = F.binary_cross_entropy(probabilities, target, reduction="none")
    return (per_pixel * mask).sum() / mask.sum().clamp_min(1.0)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation of images (N, C, H, W): mean |vertical| + mean |horizontal|
    differences of neighbouring pixels; a scalar."""
    vertical = (x[..., 1:, :] - x[..., :-1, :]).abs().mean()
    horizontal = (x[..., :, 1:] - x[..., :, :-1]).abs().mean()
    return vertical + horizontal
