"""Placement metrics for geometric compositing (ST-GAN): how far a predicted warp puts a foreground.

Warps are (N, 3, 3) canonical homographies from the foreground frame to the background frame
(see :mod:`compogan.geometry.homography`).
"""

from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from compogan.errors import InputError
from compogan.geometry import transform_points

ALPHA_THRESHOLD = 0.01  # foreground pixels above this alpha count towards its bounding box


def _check_warps(pred_warp: Tensor, target_warp: Tensor) -> None:
    square = pred_warp.dim() == 3 and pred_warp.shape[1:] == (3, 3)
    if not square or pred_warp.shape != target_warp.shape:
        raise InputError(
            f"warps must both be (N, 3, 3), got {tuple(pred_warp.shape)} and "
            f"{tuple(target_warp.shape)}"
        )


def foreground_corners(fg_alpha: Tensor | None, batch: int) -> Tensor:
    """Canonical corners of each foreground's bounding box, from its alpha.

    Args:
        fg_alpha: (N, 1, h, w) alpha in [0, 1], or None for the full canvas.
        batch: N, used when ``fg_alpha`` is None.

    Returns:
        (N, 4, 2) float64 corners (x0, y0), (x1, y0), (x1, y1), (x0, y1) of the box around the
        pixels with alpha > ALPHA_THRESHOLD, on pixel edges; the full canvas [-1, 1]^2 for a
        foreground with no such pixel.
    """
    full = torch.tensor([-1.0, -1.0, 1.0, 1.0], dtype=torch.float64)
    if fg_alpha is None:
        boxes = full.expand(batch, 4)
    else:
        if fg_alpha.dim() != 4 or fg_alpha.shape[1] != 1:
            raise InputError(f"fg_alpha must be (N, 1, h, w), got {tuple(fg_alpha.shape)}")
        height, width = fg_alpha.shape[2:]
        mask = fg_alpha[:, 0].detach().cpu() > ALPHA_THRESHOLD
        rows, cols = mask.any(dim=2).to(torch.uint8), mask.any(dim=1).to(torch.uint8)
        first_row, first_col = rows.argmax(dim=1), cols.argmax(dim=1)
        last_row = height - 1 - rows.flip(1).argmax(dim=1)
        last_col = width - 1 - cols.flip(1).argmax(dim=1)
        found = torch.stack(
            [
                2.0 * first_col / width - 1.0,
                2.0 * first_row / height - 1.0,
                2.0 * (last_col + 1) / width - 1.0,
                2.0 * (last_row + 1) / height - 1.0,
            ],
            dim=1,
        ).to(torch.float64)
        boxes = torch.where(rows.any(dim=1, keepdim=True).bool(), found, full)
    x0, y0, x1, y1 = boxes.unbind(dim=1)
    corners = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    return torch.stack([torch.stack(corner, dim=1) for corner in corners], dim=1)


def corner_error(
    pred_warp: Tensor, target_warp: Tensor, fg_alpha: Tensor | None, size: int
) -> Tensor:
    """Mean corner distance, in pixels, between a predicted and the correct placement.

    The four corners of the foreground's bounding box (from its alpha, or the full canvas when
    ``fg_alpha`` is None) are mapped by both warps; their distances are converted from canonical
    units to pixels of a ``size`` x ``size`` background (a canonical unit is ``size / 2`` px)
    and averaged over the corners. A metric: computed in float64 without gradients.

    Args:
        pred_warp: (N, 3, 3) predicted warps, foreground-canonical → background-canonical.
        target_warp: (N, 3, 3) correct warps.
        fg_alpha: (N, 1, h, w) foreground alpha in [0, 1], or None.
        size: side of the background in pixels.

    Returns:
        (N,) float32 mean corner errors in pixels (0 for identical warps).

    Raises:
        InputError: for mismatched shapes, a non-positive size, or a warp sending a corner to
            infinity.
    """
    _check_warps(pred_warp, target_warp)
    if not isinstance(size, int) or size < 1:
        raise InputError(f"size must be a positive integer number of pixels, got {size!r}")
    if fg_alpha is not None and fg_alpha.shape[0] != pred_warp.shape[0]:
        raise InputError(
            f"fg_alpha has {fg_alpha.shape[0]} items but the warps have {pred_warp.shape[0]}"
        )
    corners = foreground_corners(fg_alpha, pred_warp.shape[0]).to(pred_warp.device)
    predicted = transform_points(pred_warp.detach().to(torch.float64), corners)
    correct = transform_points(target_warp.detach().to(torch.float64), corners)
    distance = (predicted - correct).norm(dim=2).mean(dim=1) * (size / 2.0)
    return distance.to(torch.float32)


@torch.no_grad()
def mean_corner_errors(
    model: Any, dataset: Dataset, steps: int, size: int = 128, batch_size: int = 32
) -> list[float]:
    """Mean corner error (pixels at ``size``) after 0, 1, ..., ``steps`` warp updates.

    Args:
        model: anything with ST-GAN's ``refine(fg, bg, init, steps) -> list of warps``.
        dataset: items with "fg", "bg", "init" and the true placement "target".
    """
    totals, count = [0.0] * (steps + 1), 0
    for batch in DataLoader(dataset, batch_size=batch_size):
        warps = model.refine(batch["fg"], batch["bg"], batch["init"], steps)
        for k, warp in enumerate(warps):
            errors = corner_error(warp.matrix, batch["target"], batch["fg"][:, 3:], size)
            totals[k] += float(errors.sum())
        count += batch["bg"].shape[0]
    return [total / count for total in totals]
