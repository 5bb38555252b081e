"""Batched, differentiable homographies in the canonical frame.

The *canonical frame* of an image of size (height, width) is [-1, 1]^2 with x to the right and
y down, in the align_corners=False convention: the centre of pixel (u, v) (0-based column u,
row v) sits at ``x = (2u + 1) / width - 1``, ``y = (2v + 1) / height - 1``, so the image's outer
edges lie at ±1. A warp is a 3x3 matrix H mapping source-canonical points to
destination-canonical points (a forward map). Because both frames are canonical, a warp found
at 64 px applies unchanged at 1024 px.

Warps are parameterised as in ST-GAN:

- homography: 8 numbers p1..p8 are coordinates in sl(3), the trace-free 3x3 matrices,
  ``A = [[p3, p2, p1], [p6, -p3-p7, p5], [p4, p8, p7]]`` and ``H = expm(A)`` (det H = 1);
- affine: 6 numbers are the top two rows of the affine algebra matrix, row-major,
  ``A = [[p1, p2, p3], [p4, p5, p6], [0, 0, 0]]`` and ``H = expm(A)`` (bottom row [0, 0, 1]).

Matrices are float tensors of shape (B, 3, 3); parameters are (B, 8) or (B, 6). The logarithms
are computed in float64 by inverse scaling and squaring (Denman-Beavers square roots, then a
series), which, unlike an eigen-decomposition, also handles defective matrices such as shears.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

from compogan.errors import ConfigError, InputError

NUM_SL3_PARAMS = 8
NUM_AFFINE_PARAMS = 6

_LOG_SERIES_TERMS = 40
_LOG_SERIES_RADIUS = 0.25
_MAX_SQUARE_ROOTS = 60
_MAX_DENMAN_BEAVERS_STEPS = 100
_LOG_CHECK_TOLERANCE = 1e-8

CompositionMode = Literal["true", "additive"]


def _check_params(p: Tensor, size: int, name: str) -> None:
    if p.dim() != 2 or p.shape[1] != size:
        raise InputError(f"{name} must have shape (B, {size}), got {tuple(p.shape)}")
    if not p.is_floating_point():
        raise InputError(f"{name} must be a floating-point tensor, got {p.dtype}")


def _check_matrices(matrix: Tensor, name: str = "the homography") -> None:
    if matrix.dim() != 3 or matrix.shape[1:] != (3, 3):
        raise InputError(f"{name} must have shape (B, 3, 3), got {tuple(matrix.shape)}")
    if not matrix.is_floating_point():
        raise InputError(f"{name} must be a floating-point tensor, got {matrix.dtype}")


def sl3_algebra(p: Tensor) -> Tensor:
    """Build the trace-free algebra matrix of ST-GAN's 8 warp parameters.

    Args:
        p: (B, 8) sl(3) coordinates p1..p8 (any real values; 0 is the identity warp).

    Returns:
        (B, 3, 3) matrices ``[[p3, p2, p1], [p6, -p3-p7, p5], [p4, p8, p7]]``.
    """
    _check_params(p, NUM_SL3_PARAMS, "the sl(3) parameters")
    p1, p2, p3, p4, p5, p6, p7, p8 = p.unbind(dim=1)
    rows = (
        torch.stack([p3, p2, p1], dim=1),
        torch.stack([p6, -p3 - p7, p5], dim=1),
        torch.stack([p4, p8, p7], dim=1),
    )
    return torch.stack(rows, dim=1)


def affine_algebra(p: Tensor) -> Tensor:
    """Build the affine algebra matrix of 6 warp parameters.

    Args:
        p: (B, 6) parameters p1..p6 (0 is the identity warp).

    Returns:
        (B, 3, 3) matrices ``[[p1, p2, p3], [p4, p5, p6], [0, 0, 0]]``.
    """
    _check_params(p, NUM_AFFINE_PARAMS, "the affine parameters")
    top = p.reshape(-1, 2, 3)
    return torch.cat([top, torch.zeros_like(top[:, :1])], dim=1)


def sl3_to_matrix(p: Tensor) -> Tensor:
    """Map (B, 8) sl(3) parameters to (B, 3, 3) homographies ``expm(A(p))`` with det 1."""
    return torch.linalg.matrix_exp(sl3_algebra(p))


def affine_to_matrix(p: Tensor) -> Tensor:
    """Map (B, 6) affine parameters to (B, 3, 3) affine matrices ``expm(A(p))``."""
    return torch.linalg.matrix_exp(affine_algebra(p))


def _denman_beavers_sqrt(matrix: Tensor) -> Tensor:
    """Principal square root of (B, 3, 3) float64 matrices by the Denman-Beavers iteration.

    Returns NaN if an iterate becomes singular; without a real principal root the iteration does
    not converge and returns garbage, which :func:`_matrix_log` detects by its residual check.
    """
    eye = torch.eye(3, dtype=matrix.dtype, device=matrix.device).expand_as(matrix)
    root, inverse_root = matrix, eye
    for _ in range(_MAX_DENMAN_BEAVERS_STEPS):
        root_inv, root_info = torch.linalg.inv_ex(root)
        inverse_root_inv, inverse_info = torch.linalg.inv_ex(inverse_root)
        if bool((root_info != 0).any() or (inverse_info != 0).any()):
            return torch.full_like(matrix, float("nan"))
        next_root = 0.5 * (root + inverse_root_inv)
        inverse_root = 0.5 * (inverse_root + root_inv)
        step = float((next_root - root).detach().abs().amax())
        size = float(next_root.detach().abs().amax())
        root = next_root
        if not math.isfinite(step) or step <= 1e-15 * size:
            break
    return root


def _log_near_identity(matrix: Tensor) -> Tensor:
    """Series ``log(I + Y) = Y - Y^2/2 + Y^3/3 - ...`` for (B, 3, 3) matrices close to I."""
    eye = torch.eye(3, dtype=matrix.dtype, device=matrix.device)
    offset = matrix - eye
    power = offset
    log = offset.clone()
    for term in range(2, _LOG_SERIES_TERMS + 1):
        power = power @ offset
        sign = 1.0 if term % 2 else -1.0
        log = log + (sign / term) * power
    return log


def _matrix_log(matrix: Tensor) -> Tensor:
    """Real principal logarithm of (B, 3, 3) float64 matrices by inverse scaling and squaring.

    Raises:
        InputError: if a matrix has no real principal logarithm (e.g. a 180-degree rotation or
            an orientation flip) or contains non-finite values.
    """
    if not bool(torch.isfinite(matrix).all()):
        raise InputError("the homography contains NaN or infinite values; check the warp")
    eye = torch.eye(3, dtype=matrix.dtype, device=matrix.device)
    root = matrix
    num_roots = 0
    while float((root.detach() - eye).flatten(1).norm(dim=1).amax()) > _LOG_SERIES_RADIUS:
        if num_roots >= _MAX_SQUARE_ROOTS or not bool(torch.isfinite(root).all()):
            raise InputError(
                "the homography has no real logarithm (it flips orientation or rotates by "
                "about 180 degrees); use a warp closer to the identity"
            )
        root = _denman_beavers_sqrt(root)
        num_roots += 1
    log = _log_near_identity(root) * (2.0**num_roots)
    with torch.no_grad():
        residual = (torch.linalg.matrix_exp(log) - matrix).abs().amax(dim=(1, 2))
        scale = matrix.abs().amax(dim=(1, 2))
        if not bool((residual <= _LOG_CHECK_TOLERANCE * scale).all()):
            raise InputError(
                "the homography has no real logarithm (it flips orientation or rotates by "
                "about 180 degrees); use a warp closer to the identity"
            )
    return log


def _unit_determinant(matrix: Tensor) -> Tensor:
    """Scale (B, 3, 3) matrices by the real cube root of their determinant to get det 1."""
    det = torch.linalg.det(matrix)
    tiny = torch.finfo(matrix.dtype).eps * matrix.abs().amax(dim=(1, 2)) ** 3
    if not bool((det.abs() > tiny).all()):
        raise InputError("the homography is singular (determinant ~0); it is not a valid warp")
    cube_root = det.sign() * det.abs().pow(1.0 / 3.0)
    return matrix / cube_root[:, None, None]


def matrix_to_sl3(matrix: Tensor) -> Tensor:
    """Recover ST-GAN's 8 sl(3) parameters of (B, 3, 3) homographies (inverse of sl3_to_matrix).

    The matrix is first scaled to det 1 (homographies are defined up to scale), then its real
    principal logarithm is taken in float64. Differentiable.

    Args:
        matrix: (B, 3, 3) non-singular homographies.

    Returns:
        (B, 8) parameters p1..p8 in the matrix's dtype.

    Raises:
        InputError: for singular matrices or ones with no real logarithm.
    """
    _check_matrices(matrix)
    log = _matrix_log(_unit_determinant(matrix.to(torch.float64)))
    p = torch.stack(
        [
            log[:, 0, 2],
            log[:, 0, 1],
            log[:, 0, 0],
            log[:, 2, 0],
            log[:, 1, 2],
            log[:, 1, 0],
            log[:, 2, 2],
            log[:, 2, 1],
        ],
        dim=1,
    )
    return p.to(matrix.dtype)


def matrix_to_affine(matrix: Tensor) -> Tensor:
    """Recover the 6 affine parameters of (B, 3, 3) affine matrices (inverse of affine_to_matrix).

    Args:
        matrix: (B, 3, 3) affine matrices, up to scale (bottom row proportional to [0, 0, 1]).

    Returns:
        (B, 6) parameters in the matrix's dtype.

    Raises:
        InputError: if a matrix is not affine, is singular or has no real logarithm.
    """
    _check_matrices(matrix)
    normalised = normalize_homography(matrix.to(torch.float64))
    if not bool((normalised[:, 2, :2].abs() <= 1e-6).all()):
        raise InputError("the matrix is not affine (bottom row must be [0, 0, 1] up to scale)")
    if not bool((torch.linalg.det(normalised).abs() > 1e-12).all()):
        raise InputError("the affine matrix is singular (determinant ~0); it is not a valid warp")
    log = _matrix_log(normalised)
    return log[:, :2, :].reshape(-1, NUM_AFFINE_PARAMS).to(matrix.dtype)


def params_to_matrix(p: Tensor) -> Tensor:
    """Map (B, 8) sl(3) or (B, 6) affine parameters to (B, 3, 3) matrices."""
    if p.dim() == 2 and p.shape[1] == NUM_AFFINE_PARAMS:
        return affine_to_matrix(p)
    return sl3_to_matrix(p)


def matrix_to_params(matrix: Tensor, num_params: int = NUM_SL3_PARAMS) -> Tensor:
    """Map (B, 3, 3) matrices to (B, 8) sl(3) or (B, 6) affine parameters (``num_params``)."""
    if num_params == NUM_SL3_PARAMS:
        return matrix_to_sl3(matrix)
    if num_params == NUM_AFFINE_PARAMS:
        return matrix_to_affine(matrix)
    raise ConfigError(
        f"warp parameter count must be 8 (homography) or 6 (affine), got {num_params}"
    )


def compose_matrices(first: Tensor, second: Tensor) -> Tensor:
    """Warp by ``first`` then by ``second``: returns ``second @ first``, both (B, 3, 3)."""
    _check_matrices(first, "the first warp")
    _check_matrices(second, "the second warp")
    return second @ first


def compose_params(p: Tensor, dp: Tensor, mode: CompositionMode = "true") -> Tensor:
    """Compose warp parameters: the update ``dp`` is applied after ``p``.

    Args:
        p: (B, 8) sl(3) or (B, 6) affine parameters of the current warp.
        dp: update of the same shape.
        mode: "true" for ``log(expm(A(dp)) @ expm(A(p)))`` (exact composition, the default);
            "additive" for ``p + dp`` (the ST-GAN reference code's approximation).

    Returns:
        Parameters of the composed warp, same shape as ``p``.
    """
    if p.shape != dp.shape:
        raise InputError(
            f"p and dp must have the same shape, got {tuple(p.shape)} and {tuple(dp.shape)}"
        )
    if mode == "additive":
        return p + dp
    if mode == "true":
        composed = compose_matrices(params_to_matrix(p), params_to_matrix(dp))
        return matrix_to_params(composed, p.shape[1])
    raise ConfigError(f"warp composition mode must be 'true' or 'additive', got {mode!r}")


def normalize_homography(matrix: Tensor) -> Tensor:
    """Scale (B, 3, 3) homographies so that H[2, 2] = 1.

    Raises:
        InputError: if H[2, 2] is ~0 (the origin maps to infinity), so no such scaling exists.
    """
    _check_matrices(matrix)
    corner = matrix[:, 2:3, 2:3]
    tiny = torch.finfo(matrix.dtype).eps * matrix.abs().amax(dim=(1, 2), keepdim=True)
    if not bool((corner.abs() > tiny).all()):
        raise InputError("cannot normalise the homography: H[2, 2] is ~0 (origin maps to infinity)")
    return matrix / corner


def invert_homography(matrix: Tensor) -> Tensor:
    """Invert (B, 3, 3) homographies.

    Raises:
        InputError: if a matrix is singular or not finite.
    """
    _check_matrices(matrix)
    if not bool(torch.isfinite(matrix).all()):
        raise InputError("the warp contains NaN or infinite values; check its parameters")
    det = torch.linalg.det(matrix)
    tiny = 16 * torch.finfo(matrix.dtype).eps * matrix.abs().amax(dim=(1, 2)) ** 3
    if not bool((det.abs() > tiny).all()):
        raise InputError("the warp is singular (determinant ~0) and cannot be inverted")
    inverse = torch.linalg.inv(matrix)
    if not bool(torch.isfinite(inverse).all()):
        raise InputError("the warp is singular (its inverse is not finite) and cannot be inverted")
    return inverse


def _check_size(size: tuple[int, int], name: str) -> tuple[int, int]:
    if len(size) != 2 or any(int(s) != s or s < 1 for s in size):
        raise InputError(f"{name} must be (height, width) with positive integers, got {size}")
    return int(size[0]), int(size[1])


def canonical_to_pixel_matrix(
    height: int,
    width: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """(3, 3) matrix taking canonical points of a (height, width) image to pixel-centre coords.

    Pixel coordinates (u, v) are 0-based with pixel centres at integers:
    ``u = (width * x + width - 1) / 2``, ``v = (height * y + height - 1) / 2``.
    """
    height, width = _check_size((height, width), "the image size")
    return torch.tensor(
        [[width / 2, 0.0, (width - 1) / 2], [0.0, height / 2, (height - 1) / 2], [0.0, 0.0, 1.0]],
        dtype=dtype,
        device=device,
    )


def pixel_to_canonical_matrix(
    height: int,
    width: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """(3, 3) matrix taking pixel-centre coords of a (height, width) image to canonical points.

    ``x = (2u + 1) / width - 1``, ``y = (2v + 1) / height - 1``.
    """
    height, width = _check_size((height, width), "the image size")
    return torch.tensor(
        [[2 / width, 0.0, 1 / width - 1], [0.0, 2 / height, 1 / height - 1], [0.0, 0.0, 1.0]],
        dtype=dtype,
        device=device,
    )


def canonical_to_pixel(
    matrix: Tensor, src_size: tuple[int, int], dst_size: tuple[int, int]
) -> Tensor:
    """Express (B, 3, 3) canonical src->dst warps as pixel src->dst warps.

    Args:
        matrix: (B, 3, 3) warps between canonical frames.
        src_size: (height, width) of the source image.
        dst_size: (height, width) of the destination image (may differ from the source's).

    Returns:
        (B, 3, 3) warps from source pixel-centre coords to destination pixel-centre coords.
    """
    _check_matrices(matrix)
    to_pixel = canonical_to_pixel_matrix(*dst_size, dtype=matrix.dtype, device=matrix.device)
    from_pixel = pixel_to_canonical_matrix(*src_size, dtype=matrix.dtype, device=matrix.device)
    return to_pixel @ matrix @ from_pixel


def pixel_to_canonical(
    matrix: Tensor, src_size: tuple[int, int], dst_size: tuple[int, int]
) -> Tensor:
    """Express (B, 3, 3) pixel src->dst warps as canonical ones (inverse of canonical_to_pixel)."""
    _check_matrices(matrix)
    to_canonical = pixel_to_canonical_matrix(*dst_size, dtype=matrix.dtype, device=matrix.device)
    from_canonical = canonical_to_pixel_matrix(*src_size, dtype=matrix.dtype, device=matrix.device)
    return to_canonical @ matrix @ from_canonical


def transform_points(matrix: Tensor, points: Tensor) -> Tensor:
    """Apply homographies to 2-D points with the projective divide.

    Args:
        matrix: (B, 3, 3) homographies, or (3, 3) for all batches.
        points: (B, N, 2) points (x, y).

    Returns:
        (B, N, 2) transformed points.

    Raises:
        InputError: if a point maps to infinity (its homogeneous w is ~0).
    """
    if points.dim() != 3 or points.shape[2] != 2:
        raise InputError(f"points must have shape (B, N, 2), got {tuple(points.shape)}")
    if matrix.shape[-2:] != (3, 3) or matrix.dim() not in (2, 3):
        raise InputError(f"the homography must have shape (B, 3, 3), got {tuple(matrix.shape)}")
    homogeneous = torch.cat([points, torch.ones_like(points[..., :1])], dim=-1)
    mapped = homogeneous @ matrix.transpose(-1, -2)
    w = mapped[..., 2:]
    w_terms = (homogeneous.abs() @ matrix[..., 2:, :].abs().transpose(-1, -2)).clamp_min(1e-30)
    if not bool((w.abs() > 64 * torch.finfo(w.dtype).eps * w_terms).all()):
        raise InputError("a point maps to infinity under the homography (w ~ 0); check the warp")
    return mapped[..., :2] / w


def _check_point_sets(src: Tensor, dst: Tensor, min_points: int, what: str) -> None:
    if src.dim() != 3 or src.shape[2] != 2 or src.shape != dst.shape:
        raise InputError(
            f"src and dst points must both have shape (B, N, 2), got {tuple(src.shape)} "
            f"and {tuple(dst.shape)}"
        )
    if src.shape[1] < min_points:
        raise InputError(f"fitting a {what} needs at least {min_points} points, got {src.shape[1]}")


def _point_weights(src: Tensor, weights: Tensor | None) -> Tensor:
    """(B, N, 1) non-negative weights summing to 1 per batch item."""
    if weights is None:
        weights = torch.ones_like(src[..., 0])
    weights = weights.to(src.dtype).expand(src.shape[:2])
    if bool((weights < 0).any()) or not bool((weights.sum(dim=1) > 0).all()):
        raise InputError("point weights must be non-negative with a positive sum")
    return (weights / weights.sum(dim=1, keepdim=True)).unsqueeze(-1)


def fit_similarity(src: Tensor, dst: Tensor, weights: Tensor | None = None) -> Tensor:
    """Least-squares similarity (rotation, uniform scale, translation; no reflection).

    Minimises ``sum_i w_i |dst_i - (s R src_i + t)|^2`` over s >= 0, R in SO(2) and t, which in
    2-D is the linear problem over ``[[a, -b], [b, a]]`` (Umeyama's solution). Differentiable.

    Args:
        src: (B, N, 2) source points, N >= 2.
        dst: (B, N, 2) destination points.
        weights: optional (B, N) or (N,) non-negative point weights.

    Returns:
        (B, 2, 3) matrices ``[[a, -b, tx], [b, a, ty]]`` mapping src to dst.

    Raises:
        InputError: for fewer than 2 points or source points that all coincide.
    """
    _check_point_sets(src, dst, 2, "similarity")
    w = _point_weights(src, weights)
    src_mean = (w * src).sum(dim=1, keepdim=True)
    dst_mean = (w * dst).sum(dim=1, keepdim=True)
    s, d = src - src_mean, dst - dst_mean
    src_var = (w * s.pow(2)).sum(dim=(1, 2))
    scale = (w * src.pow(2)).sum(dim=(1, 2)).clamp_min(1.0)
    if not bool((src_var > 64 * torch.finfo(src.dtype).eps * scale).all()):
        raise InputError("cannot fit a similarity: the source points all coincide")
    a = (w[..., 0] * (s[..., 0] * d[..., 0] + s[..., 1] * d[..., 1])).sum(dim=1) / src_var
    b = (w[..., 0] * (s[..., 0] * d[..., 1] - s[..., 1] * d[..., 0])).sum(dim=1) / src_var
    linear = torch.stack([torch.stack([a, -b], dim=1), torch.stack([b, a], dim=1)], dim=1)
    translation = dst_mean.transpose(1, 2) - linear @ src_mean.transpose(1, 2)
    return torch.cat([linear, translation], dim=2)


def fit_affine(src: Tensor, dst: Tensor, weights: Tensor | None = None) -> Tensor:
    """Least-squares affine map from src to dst points. Differentiable.

    Args:
        src: (B, N, 2) source points, N >= 3, not all on one line.
        dst: (B, N, 2) destination points.
        weights: optional (B, N) or (N,) non-negative point weights.

    Returns:
        (B, 2, 3) matrices ``[A | t]`` with ``dst ~ A src + t``.

    Raises:
        InputError: for fewer than 3 points or collinear source points.
    """
    _check_point_sets(src, dst, 3, "affine map")
    w = _point_weights(src, weights)
    src_mean = (w * src).sum(dim=1, keepdim=True)
    dst_mean = (w * dst).sum(dim=1, keepdim=True)
    s, d = src - src_mean, dst - dst_mean
    src_cov = (w * s).transpose(1, 2) @ s
    cross_cov = (w * d).transpose(1, 2) @ s
    trace = src_cov.diagonal(dim1=1, dim2=2).sum(dim=1)
    det = torch.linalg.det(src_cov)
    scale = (w * src.pow(2)).sum(dim=(1, 2)).clamp_min(1.0)
    spread = trace > 64 * torch.finfo(src.dtype).eps * scale
    not_collinear = det > 1e3 * torch.finfo(src.dtype).eps * trace.pow(2)
    if not bool((spread & not_collinear).all()):
        raise InputError("cannot fit an affine map: the source points are collinear or coincide")
    linear = torch.linalg.solve(src_cov, cross_cov.transpose(1, 2)).transpose(1, 2)
    translation = dst_mean.transpose(1, 2) - linear @ src_mean.transpose(1, 2)
    return torch.cat([linear, translation], dim=2)
