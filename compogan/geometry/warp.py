"""Differentiable image warps by canonical-frame homographies, and alpha compositing.

Warps are (B, 3, 3) forward maps from source-canonical to destination-canonical points (see
:mod:`compogan.geometry.homography` for the frame). Images are backward-warped: every output
pixel centre, in destination-canonical coordinates, samples the source at ``H^-1(x)`` with
``torch.nn.functional.grid_sample(..., align_corners=False)``, whose grid convention is exactly
the canonical frame. Images are (B, C, h, w) floats in [-1, 1]; alpha masks are in [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from compogan.errors import ConfigError, InputError

SAMPLING_MODES = ("bilinear", "nearest", "bicubic")
PADDING_MODES = ("zeros", "border", "reflection")
_ALPHA_EPSILON = 1e-6
_OUTSIDE = 4.0  # a canonical coordinate well outside [-1, 1], for points at infinity


def canonical_grid(
    height: int,
    width: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """Canonical (x, y) coordinates of every pixel centre of a (height, width) image.

    Returns:
        (height, width, 2) tensor with ``[v, u] = ((2u + 1) / width - 1, (2v + 1) / height - 1)``.
    """
    xs = (2 * torch.arange(width, dtype=dtype, device=device) + 1) / width - 1
    ys = (2 * torch.arange(height, dtype=dtype, device=device) + 1) / height - 1
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y], dim=-1)


def _check_out_size(out_size: tuple[int, int]) -> tuple[int, int]:
    if len(out_size) != 2 or any(int(s) != s or s < 1 for s in out_size):
        raise InputError(f"out_size must be (height, width) with positive integers, got {out_size}")
    return int(out_size[0]), int(out_size[1])


def _batched_warp(matrix: Tensor, batch: int) -> Tensor:
    """Check a (B, 3, 3) or (3, 3) warp and expand it to (batch, 3, 3)."""
    if matrix.dim() == 2:
        matrix = matrix.unsqueeze(0)
    if matrix.dim() != 3 or matrix.shape[1:] != (3, 3) or matrix.shape[0] not in (1, batch):
        raise InputError(
            f"the warp must have shape ({batch}, 3, 3) to match the images, "
            f"got {tuple(matrix.shape)}"
        )
    if not matrix.is_floating_point():
        raise InputError(f"the warp must be a floating-point tensor, got {matrix.dtype}")
    return matrix.expand(batch, 3, 3)


def _inverse_warp(matrix: Tensor) -> Tensor:
    """Invert (B, 3, 3) warps, refusing singular or non-finite ones."""
    if not bool(torch.isfinite(matrix).all()):
        raise InputError("the warp is singular or invalid: it contains NaN or infinite values")
    det = torch.linalg.det(matrix)
    tiny = 16 * torch.finfo(matrix.dtype).eps * matrix.abs().amax(dim=(1, 2)) ** 3
    if not bool((det.abs() > tiny).all()):
        raise InputError("the warp is singular (determinant ~0); predict a non-degenerate warp")
    inverse = torch.linalg.inv(matrix)
    if not bool(torch.isfinite(inverse).all()):
        raise InputError("the warp is singular (its inverse is not finite); predict another warp")
    return inverse


def _apply_to_grid(matrix: Tensor, grid: Tensor) -> Tensor:
    """Map a (H, W, 2) grid by (B, 3, 3) homographies; points sent to infinity land outside."""
    homogeneous = torch.cat([grid, torch.ones_like(grid[..., :1])], dim=-1)
    mapped = torch.einsum("bij,hwj->bhwi", matrix, homogeneous)
    w = mapped[..., 2:]
    tiny = torch.finfo(w.dtype).eps
    at_infinity = w.abs() <= tiny
    safe_w = torch.where(at_infinity, torch.ones_like(w), w)
    points = mapped[..., :2] / safe_w
    return torch.where(at_infinity, torch.full_like(points, _OUTSIDE), points)


def warp_image(
    image: Tensor,
    matrix: Tensor,
    out_size: tuple[int, int],
    mode: str = "bilinear",
    padding_mode: str = "zeros",
) -> Tensor:
    """Warp images by canonical src->dst homographies (differentiable in image and matrix).

    Args:
        image: (B, C, h, w) float images (any value range).
        matrix: (B, 3, 3) or (3, 3) forward warps, source-canonical -> destination-canonical.
        out_size: (height, width) of the output.
        mode: grid_sample interpolation, one of "bilinear", "nearest", "bicubic".
        padding_mode: grid_sample padding, one of "zeros", "border", "reflection".

    Returns:
        (B, C, height, width) warped images, same dtype as ``image``.

    Raises:
        InputError: for bad shapes or a singular / non-finite warp.
        ConfigError: for an unknown mode or padding mode.
    """
    if image.dim() != 4 or not image.is_floating_point():
        raise InputError(f"image must be a (B, C, h, w) float tensor, got {tuple(image.shape)}")
    if mode not in SAMPLING_MODES:
        raise ConfigError(f"warp mode must be one of {SAMPLING_MODES}, got {mode!r}")
    if padding_mode not in PADDING_MODES:
        raise ConfigError(f"warp padding mode must be one of {PADDING_MODES}, got {padding_mode!r}")
    height, width = _check_out_size(out_size)
    matrix = _batched_warp(matrix, image.shape[0])
    inverse = _inverse_warp(matrix)
    grid = canonical_grid(height, width, dtype=inverse.dtype, device=inverse.device)
    source_points = _apply_to_grid(inverse, grid).to(image.dtype)
    return F.grid_sample(
        image, source_points, mode=mode, padding_mode=padding_mode, align_corners=False
    )


def _check_rgba(rgba: Tensor) -> None:
    if rgba.dim() != 4 or rgba.shape[1] != 4:
        raise InputError(f"the foreground must be (B, 4, h, w) RGBA, got {tuple(rgba.shape)}")


def warp_rgba(
    rgba: Tensor, matrix: Tensor, out_size: tuple[int, int], mode: str = "bilinear"
) -> Tensor:
    """Warp RGBA images with premultiplied alpha, so transparent pixels do not bleed into edges.

    Colour is multiplied by alpha before sampling and divided by the sampled alpha after, so each
    output colour is an alpha-weighted average of source colours. Outside the source, alpha is 0.

    Args:
        rgba: (B, 4, h, w); RGB in [-1, 1], alpha in [0, 1].
        matrix: (B, 3, 3) or (3, 3) canonical src->dst warps.
        out_size: (height, width) of the output.
        mode: interpolation, as in :func:`warp_image`.

    Returns:
        (B, 4, height, width): RGB in [-1, 1] (0 where alpha is ~0), alpha in [0, 1].
    """
    _check_rgba(rgba)
    rgb, alpha = rgba[:, :3], rgba[:, 3:]
    warped = warp_image(torch.cat([rgb * alpha, alpha], dim=1), matrix, out_size, mode=mode)
    premultiplied, warped_alpha = warped[:, :3], warped[:, 3:].clamp(0.0, 1.0)
    visible = warped_alpha > _ALPHA_EPSILON
    colour = premultiplied / warped_alpha.clamp_min(_ALPHA_EPSILON)
    colour = torch.where(visible, colour, torch.zeros_like(colour)).clamp(-1.0, 1.0)
    return torch.cat([colour, warped_alpha], dim=1)


def alpha_composite(fg_rgb: Tensor, alpha: Tensor, bg: Tensor) -> Tensor:
    """Composite ``fg_rgb * alpha + bg * (1 - alpha)``.

    Args:
        fg_rgb: (B, 3, H, W) foreground colour in [-1, 1].
        alpha: (B, 1, H, W) foreground opacity in [0, 1].
        bg: (B, 3, H, W) background in [-1, 1].

    Returns:
        (B, 3, H, W) composite in [-1, 1].
    """
    if fg_rgb.shape != bg.shape or alpha.dim() != 4 or alpha.shape[1] != 1:
        raise InputError(
            f"cannot composite: foreground {tuple(fg_rgb.shape)}, alpha {tuple(alpha.shape)} "
            f"and background {tuple(bg.shape)} must be (B, C, H, W), (B, 1, H, W), (B, C, H, W)"
        )
    if alpha.shape[0] != bg.shape[0] or alpha.shape[2:] != bg.shape[2:]:
        raise InputError(
            f"alpha {tuple(alpha.shape)} must match the background's batch and size "
            f"{tuple(bg.shape)}"
        )
    return fg_rgb * alpha + bg * (1.0 - alpha)


def composite_warped(
    fg_rgba: Tensor, bg: Tensor, matrix: Tensor, mode: str = "bilinear"
) -> tuple[Tensor, Tensor]:
    """Warp an RGBA foreground onto a background's canvas and alpha-composite it.

    Args:
        fg_rgba: (B, 4, h, w) foreground; RGB in [-1, 1], alpha in [0, 1].
        bg: (B, 3, H, W) background in [-1, 1].
        matrix: (B, 3, 3) or (3, 3) canonical warps, foreground frame -> background frame.
        mode: interpolation, as in :func:`warp_image`.

    Returns:
        (composite (B, 3, H, W) in [-1, 1], warped alpha (B, 1, H, W) in [0, 1]).
    """
    if bg.dim() != 4 or bg.shape[1] != 3:
        raise InputError(f"the background must be (B, 3, H, W), got {tuple(bg.shape)}")
    warped = warp_rgba(fg_rgba, matrix, (bg.shape[2], bg.shape[3]), mode=mode)
    warped_alpha = warped[:, 3:]
    return alpha_composite(warped[:, :3], warped_alpha, bg), warped_alpha


def foreground_visible_fraction(
    source_alpha: Tensor, matrix: Tensor, warped_alpha: Tensor
) -> Tensor:
    """Fraction of a warped foreground's alpha mass that lands inside the output image.

    The mass the warped foreground would have on an unbounded canvas is integrated in the source
    frame, each source pixel weighted by the warp's area change ``|det H| / |w|^3`` (the Jacobian
    determinant of the projective map); the visible mass is the sum of ``warped_alpha``; both are
    in canonical units. A foreground that straddles the warp's horizon (w changes sign) has
    unbounded mass, hence a fraction of ~0.

    Args:
        source_alpha: (B, 1, h, w) alpha of the unwarped foreground, in [0, 1].
        matrix: (B, 3, 3) or (3, 3) canonical src->dst warps used to make ``warped_alpha``.
        warped_alpha: (B, 1, H, W) alpha after warping into the output frame, in [0, 1].

    Returns:
        (B,) fractions in [0, 1]; 0 for an empty foreground.
    """
    if source_alpha.dim() != 4 or source_alpha.shape[1] != 1:
        raise InputError(f"source alpha must be (B, 1, h, w), got {tuple(source_alpha.shape)}")
    if warped_alpha.dim() != 4 or warped_alpha.shape[:2] != source_alpha.shape[:2]:
        raise InputError(
            f"warped alpha must be (B, 1, H, W) like the source alpha, "
            f"got {tuple(warped_alpha.shape)}"
        )
    matrix = _batched_warp(matrix, source_alpha.shape[0]).to(torch.float64)
    det = torch.linalg.det(matrix).abs()[:, None, None]
    src_h, src_w = source_alpha.shape[2:]
    grid = canonical_grid(src_h, src_w, dtype=torch.float64, device=matrix.device)
    w = grid[..., 0] * matrix[:, 2, 0, None, None] + grid[..., 1] * matrix[:, 2, 1, None, None]
    w = w + matrix[:, 2, 2, None, None]
    area_change = det / w.abs().clamp_min(1e-12).pow(3)
    alpha64 = source_alpha[:, 0].to(torch.float64)
    total = (alpha64 * area_change).sum(dim=(1, 2)) * 4.0 / (src_h * src_w)
    out_h, out_w = warped_alpha.shape[2:]
    visible = warped_alpha.to(torch.float64).sum(dim=(1, 2, 3)) * 4.0 / (out_h * out_w)
    fraction = torch.where(total > 0, visible / total.clamp_min(1e-30), torch.zeros_like(total))
    return fraction.clamp(0.0, 1.0).to(source_alpha.dtype)


def is_off_image(
    source_alpha: Tensor,
    matrix: Tensor,
    out_size: tuple[int, int],
    min_visible_fraction: float = 0.5,
) -> Tensor:
    """Tell which warped foregrounds have mostly left the output image.

    Args:
        source_alpha: (B, 1, h, w) alpha of the unwarped foreground, in [0, 1].
        matrix: (B, 3, 3) or (3, 3) canonical src->dst warps.
        out_size: (height, width) of the output image.
        min_visible_fraction: a foreground is off-image when less than this fraction of its
            warped alpha mass is inside the output.

    Returns:
        (B,) bool tensor, True where the foreground is (mostly) off the image.
    """
    with torch.no_grad():
        warped_alpha = warp_image(source_alpha, matrix, out_size).clamp(0.0, 1.0)
        fraction = foreground_visible_fraction(source_alpha, matrix, warped_alpha)
    return fraction < min_visible_fraction


def mask_boxes(masks: Tensor) -> Tensor:
    """Canonical boxes around each mask's pixels above ½.

    Args:
        masks: (B, 1, h, w) masks in [0, 1].

    Returns:
        (B, 4) canonical (x0, y0, x1, y1) of the pixel edges bounding each mask; the whole
        image, (-1, -1, 1, 1), for an empty mask.
    """
    if masks.dim() != 4 or masks.shape[1] != 1:
        raise InputError(f"masks must be (B, 1, h, w), got {tuple(masks.shape)}")
    inside = masks[:, 0] > 0.5
    corners = []
    for along, length in ((1, masks.shape[-1]), (2, masks.shape[-2])):
        occupied = inside.any(dim=along)
        index = torch.arange(length, device=masks.device)
        first = torch.where(occupied, index, length).amin(dim=1)
        last = torch.where(occupied, index + 1, 0).amax(dim=1)
        empty = ~occupied.any(dim=1)
        first, last = torch.where(empty, 0, first), torch.where(empty, length, last)
        corners.append((2 * first / length - 1, 2 * last / length - 1))
    (x0, x1), (y0, y1) = corners
    return torch.stack([x0, y0, x1, y1], dim=1).to(masks.dtype)


def zoom_to_boxes(images: Tensor, boxes: Tensor, context: float) -> Tensor:
    """Resample each image's square around its box to the image's own size (differentiable).

    The square is centred on the box, its side ``context`` times the box's longer side (in
    pixels); where it leaves the image the border pixels are repeated.

    Args:
        images: (B, C, h, w) float images (any value range).
        boxes: (B, 4) canonical (x0, y0, x1, y1), as :func:`mask_boxes` gives.
        context: the square's side over the box's longer side, > 0.

    Returns:
        (B, C, h, w) bilinear resamplings.
    """
    if context <= 0:
        raise InputError(f"context must be > 0, got {context}")
    height, width = images.shape[-2:]
    x0, y0, x1, y1 = boxes.unbind(dim=1)
    side_px = context * torch.maximum((x1 - x0) * width, (y1 - y0) * height) / 2
    half_x, half_y = side_px / width, side_px / height
    zeros, ones = torch.zeros_like(half_x), torch.ones_like(half_x)
    source_to_view = torch.stack(
        [
            torch.stack([1 / half_x, zeros, -(x0 + x1) / 2 / half_x], dim=1),
            torch.stack([zeros, 1 / half_y, -(y0 + y1) / 2 / half_y], dim=1),
            torch.stack([zeros, zeros, ones], dim=1),
        ],
        dim=1,
    )
    return warp_image(images, source_to_view, (height, width), padding_mode="border")
