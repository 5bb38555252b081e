"""Retargeting geometry: output sizes, and the two paths of InGAN's geometric transformation.

InGAN (Shocher et al., ICCV 2019) changes the size and shape of an image inside its generator,
on the feature map after the first convolution. Two paths do it, and a checkpoint's outputs can
only be reproduced by taking the same path the reference takes:

- :func:`resize_features`: a bilinear resize (``align_corners=False``), the reference's
  test-time path for rectangular outputs;
- :func:`warp_features`: sampling through a homography on a ``linspace(-1, 1)`` grid
  (``grid_sample`` with ``align_corners=True``, torch 0.4's behaviour), the path every training
  step takes (with a zero shift for a plain resize) and the one for non-rectangular outputs.

Coordinates are canonical: x and y in [-1, 1] across the width and height, y down. A sampling
homography maps output coordinates to the coordinates of the map it samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from compogan.errors import InputError

SQUARE_CORNERS = ((-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0))
"""The canonical frame's corners: top-left, top-right, bottom-right, bottom-left."""


def output_size(
    size: Sequence[int], scale: Sequence[float], multiple: int = 8, round_up: bool = False
) -> tuple[int, int]:
    """The (H, W) of ``size`` (H, W) scaled by ``scale`` (vertical, horizontal), rounded to a
    multiple of ``multiple``: down (the reference's test rule) or, with ``round_up``, up (its
    training rule)."""
    rounding = math.ceil if round_up else math.floor
    return tuple(
        int(rounding(length * factor / multiple) * multiple)
        for length, factor in zip(size, scale, strict=True)
    )  # type: ignore[return-value]


def curriculum_scale_range(
    step: int, min_scale: float, max_scale: float, ramp_steps: int, curriculum: bool = True
) -> tuple[float, float]:
    """The (smallest, largest) output scale per axis at training ``step``: both 1 at step 0,
    widening linearly to (``min_scale``, ``max_scale``) at ``ramp_steps`` (the reference's
    curriculum), or the whole range at once without ``curriculum``."""
    if not curriculum:
        return min_scale, max_scale
    reached = min(max(step / max(ramp_steps, 1), 0.0), 1.0)
    return 1.0 + (min_scale - 1.0) * reached, 1.0 + (max_scale - 1.0) * reached


def top_shift_homography(shifts: Tensor) -> Tensor:
    """The reference's sampling homography of a pair of horizontal corner shifts (s0, s1):
    the (3,3) matrix H (H[2,2] = 1) with (-1,-1) → (-1+s0, -1), (1,1) → (1+s1, 1),
    (-1,0) → (-1,0) and (1,0) → (1,0). Zero shifts give the identity; the reference's
    "inverse" of a transform is the homography of the negated shifts (not H⁻¹)."""
    s0, s1 = (float(v) for v in shifts.reshape(2))
    source = torch.tensor([[-1.0, -1.0], [1.0, 1.0], [-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    target = torch.tensor(
        [[-1.0 + s0, -1.0], [1.0 + s1, 1.0], [-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64
    )
    return four_point_homography(source, target).to(shifts.dtype)


def four_point_homography(source: Tensor, target: Tensor) -> Tensor:
    """The (3,3) float64 homography (H[2,2] = 1) that maps the four (4,2) ``source`` points to
    the four ``target`` points.

    Raises:
        InputError: three of the points are collinear (no such homography).
    """
    rows = []
    values = []
    for (x, y), (u, v) in zip(source.double().tolist(), target.double().tolist(), strict=True):
        rows.append([x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y])
        rows.append([0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y])
        values.extend([u, v])
    system = torch.tensor(rows, dtype=torch.float64)
    if torch.linalg.matrix_rank(system) < 8:
        raise InputError("the corners do not define a homography (three of them are collinear)")
    solution = torch.linalg.solve(system, torch.tensor(values, dtype=torch.float64))
    return torch.cat([solution, solution.new_ones(1)]).reshape(3, 3)


def check_quad(corners: Tensor) -> None:
    """Refuse four (4,2) corners (clockwise on screen: top-left, top-right, bottom-right,
    bottom-left) that do not form a convex quadrilateral, e.g. ones that fold over.

    Raises:
        InputError: one line saying what is wrong.
    """
    if corners.shape != (4, 2) or not torch.isfinite(corners).all():
        raise InputError("--corners needs 8 finite numbers: x1,y1,x2,y2,x3,y3,x4,y4")
    crosses = []
    for i in range(4):
        a, b, c = corners[i], corners[(i + 1) % 4], corners[(i + 2) % 4]
        crosses.append(float((b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])))
    if not all(cross > 1e-9 for cross in crosses):
        raise InputError(
            "the corners fold over or are not convex; give top-left, top-right, bottom-right, "
            "bottom-left in that order"
        )


def quad_sampling_homography(corners: Tensor, size: tuple[int, int]) -> Tensor:
    """The sampling homography of a non-rectangular target: output canonical coordinates →
    input canonical coordinates, for the input's four corners placed at ``corners`` (4,2),
    pixel (x, y) positions inside an output of ``size`` (H, W).

    Raises:
        InputError: the corners fold over (see :func:`check_quad`).
    """
    check_quad(corners)
    height, width = size
    scale = torch.tensor([2.0 / width, 2.0 / height], dtype=torch.float64)
    canonical = corners.double() * scale - 1.0
    square = torch.tensor(SQUARE_CORNERS, dtype=torch.float64)
    return four_point_homography(canonical, square)


def quad_mask(corners: Tensor, size: tuple[int, int]) -> Tensor:
    """A (1,1,H,W) mask in {0,1} of the pixels whose centres lie inside the convex
    quadrilateral ``corners`` (4,2) (pixel x, y, clockwise on screen)."""
    height, width = size
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=torch.float64) + 0.5,
        torch.arange(width, dtype=torch.float64) + 0.5,
        indexing="ij",
    )
    inside = torch.ones(height, width, dtype=torch.bool)
    points = corners.double()
    for i in range(4):
        a, b = points[i], points[(i + 1) % 4]
        inside &= (b[0] - a[0]) * (ys - a[1]) - (b[1] - a[1]) * (xs - a[0]) >= 0
    return inside.float()[None, None]


def resize_features(features: Tensor, size: tuple[int, int]) -> Tensor:
    """The test-time path: (N,C,h,w) → (N,C,H,W) by bilinear interpolation
    (``align_corners=False``)."""
    return F.interpolate(features, size=tuple(size), mode="bilinear", align_corners=False)


def linspace_grid(matrix: Tensor, size: tuple[int, int]) -> Tensor:
    """The (N,H,W,2) sampling grid of (N,3,3) homographies on the ``linspace(-1, 1)`` points
    of an (H, W) output (the first and last samples on the frame's edges)."""
    height, width = size
    ys, xs = torch.meshgrid(
        torch.linspace(-1.0, 1.0, height, device=matrix.device, dtype=matrix.dtype),
        torch.linspace(-1.0, 1.0, width, device=matrix.device, dtype=matrix.dtype),
        indexing="ij",
    )
    points = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1).reshape(1, -1, 3)
    mapped = points @ matrix.transpose(1, 2)
    return (mapped[..., :2] / mapped[..., 2:]).reshape(matrix.shape[0], height, width, 2)


def shift_padding(width: int, shifts: Tensor) -> tuple[int, int]:
    """The reference's reflect padding (left, right) of a map ``width`` wide before it is
    sampled with corner shifts (s0, s1): |ceil(W·s0)| and |ceil(−W·s1)|, computed in the
    shifts' own precision as the reference does (40 · 0.2 is 8 in float32, not 9)."""
    s0, s1 = shifts.detach().reshape(2).cpu()
    return abs(int(torch.ceil(width * s0))), abs(int(torch.ceil(-width * s1)))


def warp_features(
    features: Tensor, size: tuple[int, int], matrix: Tensor, padding: tuple[int, int] = (0, 0)
) -> Tensor:
    """The training (and non-rectangular) path: (N,C,h,w) features reflect-padded left and
    right by ``padding``, then sampled bilinearly through the (3,3) sampling homography
    ``matrix`` on a ``linspace(-1, 1)`` grid of ``size`` (H, W), borders replicated; returns
    (N,C,H,W). The padded map spans [-1, 1]."""
    if any(padding):
        features = F.pad(features, (padding[0], padding[1], 0, 0), mode="reflect")
    batch = features.shape[0]
    grid = linspace_grid(matrix.to(features).expand(batch, 3, 3), size)
    return F.grid_sample(features, grid, mode="bilinear", padding_mode="border", align_corners=True)


def shift_warp_features(features: Tensor, size: tuple[int, int], shifts: Tensor) -> Tensor:
    """:func:`warp_features` with the reference's corner-shift homography and padding
    (:func:`top_shift_homography`, :func:`shift_padding`)."""
    matrix = top_shift_homography(shifts.detach().double().cpu())
    return warp_features(features, size, matrix, shift_padding(features.shape[-1], shifts))
