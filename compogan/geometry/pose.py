"""Human pose geometry: 14 joints, 10 limbs, joint heat-maps, limb masks, per-limb warps.

The joint set and limbs of Balakrishnan et al. (CVPR 2018), MPII-like. Joints are pixel
coordinates ``(x, y)`` with pixel centres at integers (the top-left pixel's centre is
``(0, 0)``), as (N, 14, 2) float tensors; an optional (N, 14) visibility in {0, 1} hides a
joint from the heat-maps. Everything here is computed from joints alone (no learning).

>>> import torch
>>> joints = torch.rand(1, 14, 2) * 200 + 28
>>> heatmaps(joints, (256, 256)).shape
torch.Size([1, 14, 128, 128])
>>> limb_log_prior(joints, (256, 256)).shape   # background + 10 limbs
torch.Size([1, 11, 256, 256])
>>> limb_similarities(joints, joints + 3).shape
torch.Size([1, 10, 2, 3])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from compogan.errors import InputError
from compogan.geometry.homography import fit_similarity

JOINT_NAMES = (
    "head",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
)
"""The 14 joints, in the reference's (and every pose file's) order."""
N_JOINTS = len(JOINT_NAMES)
LIMBS: tuple[tuple[int, ...], ...] = (
    (0, 1),
    (2, 3),
    (3, 4),
    (5, 6),
    (6, 7),
    (8, 9),
    (9, 10),
    (11, 12),
    (12, 13),
    (2, 5, 8, 11),
)
"""The 10 limbs by joint index: head-neck, upper/lower arms, upper/lower legs, the torso
(shoulders and hips)."""
N_LIMBS = len(LIMBS)
LIMB_NAMES = (
    "head",
    "right_upper_arm",
    "right_forearm",
    "left_upper_arm",
    "left_forearm",
    "right_thigh",
    "right_shin",
    "left_thigh",
    "left_shin",
    "torso",
)
FLIP_PERMUTATION = (0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10)
"""Joint order after a horizontal flip: left and right swapped."""
HEATMAP_DOWNSAMPLE = 2
"""Heat-maps are at half the image resolution (128 px for 256 px images)."""
JOINT_SIGMA = 7 / 4
"""Heat-map Gaussian σ, in heat-map pixels (the reference's)."""
LIMB_SIGMA = 11.0
TORSO_SIGMA = 13.0
"""σ perpendicular to a limb's axis (torso: its own), in image pixels at 256 px."""
MIN_PARALLEL_VARIANCE = 5.0
PARALLEL_VARIANCE_DIVISOR = 1.5
"""Variance along a limb: max(5, |Δ|² / 1.5), |Δ| its length in pixels."""
_LOG_FLOOR = 1e-10


def check_joints(joints: Tensor, name: str = "joints") -> None:
    """InputError unless ``joints`` is a finite (N, 14, 2) float tensor."""
    if joints.dim() != 3 or joints.shape[1:] != (N_JOINTS, 2) or not joints.is_floating_point():
        raise InputError(
            f"{name} must be an (N, {N_JOINTS}, 2) float tensor, got {tuple(joints.shape)}"
        )
    if not bool(torch.isfinite(joints).all()):
        raise InputError(f"{name} hold NaN or infinite coordinates")


def _pixel_grid(height: int, width: int, like: Tensor) -> tuple[Tensor, Tensor]:
    """(1, 1, H, W) x and y pixel coordinates."""
    ys = torch.arange(height, dtype=like.dtype, device=like.device)
    xs = torch.arange(width, dtype=like.dtype, device=like.device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return grid_x[None, None], grid_y[None, None]


def heatmaps(
    joints: Tensor,
    image_size: tuple[int, int],
    visible: Tensor | None = None,
    sigma: float = JOINT_SIGMA,
    downsample: int = HEATMAP_DOWNSAMPLE,
) -> Tensor:
    """One Gaussian per joint at 1/``downsample`` of the image resolution.

    Args:
        joints: (N, 14, 2) pixel coordinates in the image.
        image_size: (H, W) of the image.
        visible: (N, 14) visibility; hidden joints get an all-zero map.
        sigma: σ in heat-map pixels.
        downsample: heat-map resolution divisor.

    Returns:
        (N, 14, H/downsample, W/downsample) in [0, 1], peak 1 at each joint; a joint on or
        outside the heat-map's border pixels (the reference's rule) gets an all-zero map.
    """
    check_joints(joints)
    height, width = image_size[0] // downsample, image_size[1] // downsample
    scaled = joints / downsample
    x, y = scaled[..., 0, None, None], scaled[..., 1, None, None]
    grid_x, grid_y = _pixel_grid(height, width, joints)
    maps = torch.exp(-((grid_x - x) ** 2 + (grid_y - y) ** 2) / (2 * sigma**2))
    inside = (x > 0) & (y > 0) & (x < width - 1) & (y < height - 1)
    if visible is not None:
        inside = inside & (visible[..., None, None] > 0)
    return maps * inside.to(maps.dtype)


def limb_endpoints(joints: Tensor) -> tuple[Tensor, Tensor]:
    """The two ends (N, 10, 2) of each limb's axis: its joints, or for the torso the middle of
    the shoulders and the middle of the hips."""
    starts, ends = [], []
    for limb in LIMBS:
        if len(limb) == 4:
            starts.append(joints[:, list(limb[:2])].mean(dim=1))
            ends.append(joints[:, list(limb[2:])].mean(dim=1))
        else:
            starts.append(joints[:, limb[0]])
            ends.append(joints[:, limb[1]])
    return torch.stack(starts, dim=1), torch.stack(ends, dim=1)


def limb_masks(
    joints: Tensor,
    image_size: tuple[int, int],
    limb_sigma: float = LIMB_SIGMA,
    torso_sigma: float = TORSO_SIGMA,
) -> Tensor:
    """Soft masks of the 10 limbs: anisotropic Gaussians along each limb's axis.

    Centred on the axis's middle; variance ``max(5, |Δ|²/1.5)`` along it and σ² across it
    (``limb_sigma``, the torso ``torso_sigma``); each divided by its maximum over the image
    (+1e-6), as the reference.

    Args:
        joints: (N, 14, 2) pixel coordinates.
        image_size: (H, W).

    Returns:
        (N, 10, H, W) in [0, 1].
    """
    check_joints(joints)
    start, end = limb_endpoints(joints)
    centre = (start + end) / 2
    delta = end - start
    length2 = (delta**2).sum(dim=-1)
    parallel_var = length2.div(PARALLEL_VARIANCE_DIVISOR).clamp_min(MIN_PARALLEL_VARIANCE)
    perpendicular = torch.full_like(parallel_var, limb_sigma**2)
    perpendicular[:, -1] = torso_sigma**2
    direction = delta / length2.sqrt().clamp_min(1e-8)[..., None]
    degenerate = length2 < 1e-12
    direction = torch.where(
        degenerate[..., None],
        torch.tensor([1.0, 0.0], dtype=joints.dtype, device=joints.device),
        direction,
    )
    grid_x, grid_y = _pixel_grid(*image_size, joints)
    dx = grid_x - centre[..., 0, None, None]
    dy = grid_y - centre[..., 1, None, None]
    along = dx * direction[..., 0, None, None] + dy * direction[..., 1, None, None]
    across = -dx * direction[..., 1, None, None] + dy * direction[..., 0, None, None]
    masks = torch.exp(
        -(along**2) / (2 * parallel_var[..., None, None])
        - across**2 / (2 * perpendicular[..., None, None])
    )
    return masks / (masks.amax(dim=(-2, -1), keepdim=True) + 1e-6)


def limb_log_prior(
    joints: Tensor,
    image_size: tuple[int, int],
    limb_sigma: float = LIMB_SIGMA,
    torso_sigma: float = TORSO_SIGMA,
) -> Tensor:
    """The segmentation prior: log of [background, 10 limb masks] (+1e-10), where the
    background is 1 minus the largest limb mask.

    Returns:
        (N, 11, H, W), values in [log 1e-10, 0].
    """
    limbs = limb_masks(joints, image_size, limb_sigma, torso_sigma)
    background = 1.0 - limbs.amax(dim=1, keepdim=True)
    return torch.log(torch.cat([background, limbs], dim=1) + _LOG_FLOOR)


def limb_similarities(source: Tensor, target: Tensor) -> Tensor:
    """Per-limb similarity transforms that map target-pose pixels to source-pose pixels.

    Each limb's least-squares similarity (rotation, uniform scale, translation) from its
    joints in ``target`` to the same joints in ``source`` (exact for two-joint limbs, least
    squares over the torso's four): the backward warp that moves a limb of the source image
    into the target pose. A limb whose target joints coincide gets the translation between the
    two joints' centres.

    Args:
        source: (N, 14, 2) joints of the source image.
        target: (N, 14, 2) joints of the target pose.

    Returns:
        (N, 10, 2, 3) pixel-coordinate matrices ``[[a, -b, tx], [b, a, ty]]``.
    """
    check_joints(source, "source joints")
    check_joints(target, "target joints")
    matrices = []
    for limb in LIMBS:
        tgt, src = target[:, list(limb)].double(), source[:, list(limb)].double()
        spread = (tgt - tgt.mean(dim=1, keepdim=True)).pow(2).sum(dim=(1, 2))
        degenerate = spread < 1e-9
        if bool(degenerate.any()):
            offset = torch.zeros_like(tgt)
            offset[:, 1:, 0] = 1.0
            tgt_fixed = tgt.mean(dim=1, keepdim=True) + offset
            src_fixed = src.mean(dim=1, keepdim=True) + offset
            mask = degenerate[:, None, None]
            tgt, src = torch.where(mask, tgt_fixed, tgt), torch.where(mask, src_fixed, src)
        matrices.append(fit_similarity(tgt, src))
    return torch.stack(matrices, dim=1).to(source.dtype)


def warp_pixel_affine(images: Tensor, matrices: Tensor) -> Tensor:
    """Backward-warp images by pixel-coordinate 2x3 maps, as the reference samples.

    Output pixel ``(x, y)`` takes the bilinear sample of the image at ``M @ (x, y, 1)``, the
    image extended by one reflected pixel on each side and clamped beyond that.

    Args:
        images: (B, C, H, W), any value range.
        matrices: (B, 2, 3) output → input pixel maps.

    Returns:
        (B, C, H, W).
    """
    if images.dim() != 4 or matrices.shape != (images.shape[0], 2, 3):
        raise InputError(
            f"need (B, C, H, W) images and (B, 2, 3) maps, got {tuple(images.shape)} and "
            f"{tuple(matrices.shape)}"
        )
    height, width = images.shape[-2:]
    grid_x, grid_y = _pixel_grid(height, width, matrices)
    points = torch.stack([grid_x[0, 0], grid_y[0, 0], torch.ones_like(grid_x[0, 0])], dim=-1)
    sampled = torch.einsum("hwk,bjk->bhwj", points, matrices)
    padded = F.pad(images, (1, 1, 1, 1), mode="reflect")
    # +1: the padded image's pixel index; align_corners=True maps index i to 2i/(n-1)-1.
    norm_x = (sampled[..., 0] + 1) * (2 / (width + 1)) - 1
    norm_y = (sampled[..., 1] + 1) * (2 / (height + 1)) - 1
    grid = torch.stack([norm_x, norm_y], dim=-1).to(images.dtype)
    return F.grid_sample(padded, grid, mode="bilinear", padding_mode="border", align_corners=True)


def warp_limb_layers(image: Tensor, masks: Tensor, matrices: Tensor) -> Tensor:
    """Cut each limb layer out of the source and move it into the target pose.

    Args:
        image: (N, 3, H, W) source image in [-1, 1].
        masks: (N, 11, H, W) soft layer masks in [0, 1] (layer 0: background).
        matrices: (N, 10, 2, 3) target → source pixel maps of the limbs.

    Returns:
        (N, 30, H, W): the 10 warped masked limb images, 3 channels each, in limb order.
    """
    n, _, height, width = image.shape
    layers = masks[:, 1:, None] * image[:, None]  # (N, 10, 3, H, W)
    warped = warp_pixel_affine(
        layers.reshape(n * N_LIMBS, 3, height, width), matrices.reshape(n * N_LIMBS, 2, 3)
    )
    return warped.reshape(n, N_LIMBS * 3, height, width)


def flip_joints(joints: Tensor, width: int) -> Tensor:
    """Joints (N, 14, 2) of the horizontally flipped image of ``width`` px (left/right swapped)."""
    flipped = joints[:, list(FLIP_PERMUTATION)].clone()
    flipped[..., 0] = width - 1 - flipped[..., 0]
    return flipped


def similarity_about(
    centre: tuple[float, float], scale: float, degrees: float, shift: tuple[float, float]
) -> Tensor:
    """(2, 3) float64 pixel map: scale and rotate (counter-clockwise on screen) about
    ``centre``, then shift. Points map forward (input pixel → output pixel)."""
    angle = math.radians(degrees)
    cos, sin = scale * math.cos(angle), scale * math.sin(angle)
    cx, cy = centre
    return torch.tensor(
        [
            [cos, sin, cx - cos * cx - sin * cy + shift[0]],
            [-sin, cos, cy + sin * cx - cos * cy + shift[1]],
        ],
        dtype=torch.float64,
    )
