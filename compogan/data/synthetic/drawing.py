"""Shared drawing helpers of the procedural data sets (faces, glasses, day/night scenes).

- colours: :data:`Color` triples in [0, 255] drawn, jittered, mixed and scaled
  (:func:`jitter_color`, :func:`pick_color`, :func:`random_color`, :func:`mix_colors`,
  :func:`scale_color`);
- polygons in the canonical frame [-1, 1]^2 of :mod:`compogan.geometry` (x right, y down):
  ellipses, thickened polylines, grown outlines, homographies, bounding boxes and the conversion
  to PIL pixel coordinates;
- rasterisation: renders are drawn at :data:`SUPERSAMPLING` times the output size (filled
  :class:`Shape` polygons over a :func:`linear_gradient`) and averaged down by :func:`downsample`
  (anti-aliasing), shaded by :func:`shade`;
- argument checks (:func:`check_size`, :func:`check_matrix`) and :func:`image_to_tensor`.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from compogan.errors import InputError

Color = tuple[int, int, int]
Rgba = tuple[int, int, int, int]

SUPERSAMPLING = 2  # downsample averages 2x2 blocks
MIN_SIZE = 16
POLYGON_POINTS = 48


# --------------------------------------------------------------------------- colours


def jitter_color(rng: np.random.Generator, base: Color, spread: int) -> Color:
    """``base`` with an independent integer in [-spread, spread] added to each channel.

    Draws three integers from ``rng``; the result is clipped to [0, 255].
    """
    values = np.clip(np.asarray(base) + rng.integers(-spread, spread + 1, size=3), 0, 255)
    return (int(values[0]), int(values[1]), int(values[2]))


def pick_color(rng: np.random.Generator, choices: tuple[Color, ...], spread: int) -> Color:
    """A uniformly chosen colour of ``choices``, jittered by :func:`jitter_color`."""
    return jitter_color(rng, choices[int(rng.integers(len(choices)))], spread)


def random_color(rng: np.random.Generator, low: int = 60, high: int = 220) -> Color:
    """A colour whose channels are independent integers uniform in [low, high)."""
    values = rng.integers(low, high, size=3)
    return (int(values[0]), int(values[1]), int(values[2]))


def mix_colors(a: Color, b: Color, t: float) -> Color:
    """The colour ``(1 - t) a + t b``, rounded and clipped to [0, 255]; ``t`` in [0, 1]."""
    mixed = (1.0 - t) * np.asarray(a, dtype=np.float64) + t * np.asarray(b, dtype=np.float64)
    values = np.clip(np.round(mixed), 0, 255).astype(int)
    return (int(values[0]), int(values[1]), int(values[2]))


def scale_color(color: Color, factor: float) -> Color:
    """``color`` times ``factor`` (< 1 darkens, > 1 brightens), rounded and clipped to [0, 255]."""
    values = np.clip(np.round(np.asarray(color, dtype=np.float64) * factor), 0, 255).astype(int)
    return (int(values[0]), int(values[1]), int(values[2]))


# --------------------------------------------------------------------------- polygons


def ellipse(cx: float, cy: float, rx: float, ry: float, n: int = POLYGON_POINTS) -> np.ndarray:
    """(n, 2) float64 points of an axis-aligned ellipse centred on ``(cx, cy)``."""
    t = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def band(points: np.ndarray, half_thickness: float | np.ndarray) -> np.ndarray:
    """A closed polygon (2N, 2) of a polyline (N, 2) thickened by ``half_thickness`` each side.

    ``half_thickness`` is a scalar or one value per point, shape (N,).
    """
    tangent = np.gradient(points, axis=0)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    offset = normal * np.asarray(half_thickness, dtype=np.float64).reshape(-1, 1)
    return np.concatenate([points + offset, (points - offset)[::-1]])


def grow(outline: np.ndarray, distance: float | np.ndarray) -> np.ndarray:
    """Move every vertex of a closed star-shaped outline (N, 2) outwards by ``distance``.

    ``distance`` is a scalar or one value per vertex, shape (N,); returns (N, 2).
    """
    tangent = np.roll(outline, -1, axis=0) - np.roll(outline, 1, axis=0)
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    if float(np.sum(normal * (outline - outline.mean(axis=0)))) < 0:
        normal = -normal
    return outline + normal * np.asarray(distance, dtype=np.float64).reshape(-1, 1)


def apply_homography(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (N, 2) points by a (3, 3) homography; returns (N, 2)."""
    mapped = points @ matrix[:2, :2].T + matrix[:2, 2]
    w = points @ matrix[2, :2] + matrix[2, 2]
    return mapped / w[:, None]


def bounding_box(points: np.ndarray) -> np.ndarray:
    """(4,) bounding box ``x0, y0, x1, y1`` of (N, 2) points."""
    return np.concatenate([points.min(axis=0), points.max(axis=0)])


def to_pil(points: np.ndarray, canvas: int) -> list[tuple[float, float]]:
    """Canonical (N, 2) points → PIL coordinates on a ``canvas``-pixel square.

    PIL puts pixel centres at integers, so canonical -1 maps to -0.5 and +1 to ``canvas - 0.5``.
    """
    pixels = (points + 1.0) * (canvas / 2.0) - 0.5
    return [(float(x), float(y)) for x, y in pixels]


# --------------------------------------------------------------------------- rasterisation


@dataclass
class Shape:
    """A filled polygon: (N, 2) canonical points and an RGBA fill (channels in [0, 255])."""

    points: np.ndarray
    fill: Rgba


def draw_shapes(image: Image.Image, shapes: Iterable[Shape], matrix: np.ndarray) -> None:
    """Fill ``shapes`` in order onto a square RGB PIL ``image`` (alpha-blended, in place).

    Each shape's points are first mapped by the (3, 3) canonical homography ``matrix``.
    """
    canvas = image.size[0]
    draw = ImageDraw.Draw(image, "RGBA")
    for shape in shapes:
        draw.polygon(to_pil(apply_homography(matrix, shape.points), canvas), fill=shape.fill)


def linear_gradient(colors: tuple[Color, Color], angle: float, canvas: int) -> np.ndarray:
    """(canvas, canvas, 3) uint8 linear gradient from ``colors[0]`` to ``colors[1]``.

    The gradient runs along the direction ``angle`` (radians, canonical frame); its mixing weight
    is ``0.5 + 0.4 * (cos(angle) x + sin(angle) y)`` clipped to [0, 1].
    """
    axis = canonical_axis(canvas)
    along = math.cos(angle) * axis[None, :]
    along = along + math.sin(angle) * axis[:, None]
    t = np.clip(0.5 + 0.4 * along, 0.0, 1.0)[..., None]
    first, second = (np.asarray(c, dtype=np.float32) for c in colors)
    return np.round(first * (1.0 - t) + second * t).astype(np.uint8)


def downsample(image: np.ndarray) -> np.ndarray:
    """Average 2x2 blocks: (2S, 2S, ...) → (S, S, ...), float32 for a float32 input."""
    total = image[0::2, 0::2] + image[1::2, 0::2] + image[0::2, 1::2] + image[1::2, 1::2]
    return total * np.float32(0.25)


def canonical_axis(size: int) -> np.ndarray:
    """Canonical coordinates (size,) float32 in (-1, 1) of the pixel centres along one axis."""
    return ((2.0 * np.arange(size) + 1.0) / size - 1.0).astype(np.float32)


def shade(image: np.ndarray) -> np.ndarray:
    """Darken the corners slightly (a soft vignette); (S, S, 3) float32 in [0, 255] → same."""
    axis = canonical_axis(image.shape[0])
    radius2 = axis[None, :] ** 2 + axis[:, None] ** 2
    return image * (1.0 - 0.1 * radius2)[..., None]


def image_to_tensor(image: np.ndarray) -> Tensor:
    """(H, W, 3) uint8 image → (3, H, W) float32 tensor in [-1, 1]."""
    chw = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
    return chw.to(torch.float32) / 127.5 - 1.0


# --------------------------------------------------------------------------- argument checks


def check_size(size: int, what: str) -> None:
    """Raise InputError unless ``size`` is an integer of at least :data:`MIN_SIZE` pixels."""
    if not isinstance(size, int) or size < MIN_SIZE:
        raise InputError(f"{what} size must be an integer of at least {MIN_SIZE}, got {size!r}")


def check_matrix(matrix: np.ndarray | Tensor, name: str) -> np.ndarray:
    """``matrix`` as a (3, 3) float64 array; InputError unless it is a finite (3, 3) warp."""
    array = np.asarray(matrix.detach().cpu() if isinstance(matrix, Tensor) else matrix)
    if array.shape != (3, 3) or not np.isfinite(array).all():
        raise InputError(f"{name} must be a finite (3, 3) canonical warp, got {array.shape}")
    return array.astype(np.float64)
