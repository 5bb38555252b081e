"""Inpainting masks: generated (block, free-form strokes, irregular, half), read from files, and
fixed evaluation sets by hole-area bucket.

Every mask is a float32 numpy array of shape ``(H, W)`` with 1 where the image is missing (the
hole) and 0 where it is known. Generators draw all their randomness from the
:class:`numpy.random.Generator` passed in, so the same generator state gives the same mask.
Sizes are an int (a square) or a pair ``(height, width)``.
"""

import math
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from compogan.errors import ConfigError
from compogan.io.images import load_image, pil_to_mask

Size = int | tuple[int, int]
MaskGenerator = Callable[[Size, np.random.Generator], np.ndarray]

MASK_KINDS = ("block", "free_form", "irregular", "half", "mix")
"""Names accepted by :func:`mask_generator`."""

MASK_THRESHOLD = 0.5
"""Mask files are binarised at this level: a pixel above it is a hole."""

EVALUATION_BUCKETS: dict[str, tuple[float, float]] = {
    "10-20": (0.1, 0.2),
    "20-30": (0.2, 0.3),
    "30-40": (0.3, 0.4),
    "40-50": (0.4, 0.5),
}
"""Hole-area buckets of the EdgeConnect evaluation, as ``[low, high)`` fractions of the image."""

DEFAULT_MAX_STROKES = 5
IRREGULAR_AREA = (0.01, 0.6)
"""Hole fractions of :func:`irregular_mask`: the span of the irregular mask set of Liu et al.
(2018, six categories from 1% to 60%) that EdgeConnect trains on."""
MIN_EVALUATION_SIDE = 16
_MAX_STROKE_TRIES = 200


def mask_shape(size: Size) -> tuple[int, int]:
    """``size`` as ``(height, width)``; an int means a square. ConfigError if not positive."""
    height, width = (size, size) if isinstance(size, int) else size
    if height <= 0 or width <= 0:
        raise ConfigError(f"mask sizes must be positive, got {size}")
    return int(height), int(width)


def random_block_mask(
    size: Size, rng: np.random.Generator, block_fraction: float = 0.5
) -> np.ndarray:
    """One rectangular hole at a random position (EdgeConnect's random block).

    The block is ``block_fraction`` of the height by ``block_fraction`` of the width (a quarter
    of the image by default). Draws the top, then the left offset.

    Returns:
        (H, W) float32 mask, 1 inside the block.
    """
    if not 0.0 < block_fraction <= 1.0:
        raise ConfigError(f"block_fraction must be in (0, 1], got {block_fraction}")
    height, width = mask_shape(size)
    block_height = max(1, round(height * block_fraction))
    block_width = max(1, round(width * block_fraction))
    top = int(rng.integers(0, height - block_height + 1))
    left = int(rng.integers(0, width - block_width + 1))
    mask = np.zeros((height, width), dtype=np.float32)
    mask[top : top + block_height, left : left + block_width] = 1.0
    return mask


def half_mask(size: Size, rng: np.random.Generator) -> np.ndarray:
    """The left, right, top or bottom half as the hole (one draw chooses which).

    Returns:
        (H, W) float32 mask.
    """
    height, width = mask_shape(size)
    mask = np.zeros((height, width), dtype=np.float32)
    side = int(rng.integers(4))
    if side == 0:
        mask[:, : width // 2] = 1.0
    elif side == 1:
        mask[:, width // 2 :] = 1.0
    elif side == 2:
        mask[: height // 2, :] = 1.0
    else:
        mask[height // 2 :, :] = 1.0
    return mask


def _draw_stroke(canvas: ImageDraw.ImageDraw, height: int, width: int, rng: np.random.Generator):
    """Draw one brush stroke: a polyline of random segment angles and lengths, one random width.

    Lengths and widths scale with the shorter side, so masks look alike at every size. Draws, in
    order: vertex count, width, start row and column, then an angle and a length per segment.
    """
    side = min(height, width)
    vertices = int(rng.integers(4, 10))
    brush = max(1, round(side * rng.uniform(0.03, 0.08)))
    row, column = rng.uniform(0, height), rng.uniform(0, width)
    points = [(column, row)]
    for _ in range(vertices):
        angle = rng.uniform(0.0, 2.0 * math.pi)
        length = side * rng.uniform(0.05, 0.2)
        column = float(np.clip(column + length * math.cos(angle), 0, width - 1))
        row = float(np.clip(row + length * math.sin(angle), 0, height - 1))
        points.append((column, row))
    canvas.line(points, fill=255, width=brush)
    radius = brush / 2
    for x, y in points:
        canvas.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)


def _canvas_to_mask(canvas: Image.Image) -> np.ndarray:
    """A drawn "L" canvas (0 or 255) as a float32 {0, 1} mask."""
    return (np.asarray(canvas) > 127).astype(np.float32)


def free_form_mask(
    size: Size, rng: np.random.Generator, max_strokes: int = DEFAULT_MAX_STROKES
) -> np.ndarray:
    """Irregular holes: 1 to ``max_strokes`` brush strokes of random width, angles and lengths.

    Returns:
        (H, W) float32 mask.
    """
    if max_strokes < 1:
        raise ConfigError(f"max_strokes must be at least 1, got {max_strokes}")
    height, width = mask_shape(size)
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(1, max_strokes + 1))):
        _draw_stroke(draw, height, width, rng)
    return _canvas_to_mask(canvas)


def _strokes_grown_to_area(
    height: int, width: int, low: float, high: float, rng: np.random.Generator
) -> np.ndarray:
    """Grow strokes until the hole fraction reaches a target drawn uniformly in ``[low, high)``;
    a stroke overshooting ``high`` is undone and another drawn. Starts again if it gets stuck."""
    while True:
        target = rng.uniform(low, high)
        canvas = Image.new("L", (width, height), 0)
        for _ in range(_MAX_STROKE_TRIES):
            trial = canvas.copy()
            _draw_stroke(ImageDraw.Draw(trial), height, width, rng)
            fraction = hole_fraction(_canvas_to_mask(trial))
            if fraction < high:
                canvas = trial
                if fraction >= target:
                    return _canvas_to_mask(canvas)


def irregular_mask(size: Size, rng: np.random.Generator) -> np.ndarray:
    """Free-form strokes grown to a hole fraction drawn uniformly from :data:`IRREGULAR_AREA`.

    The training counterpart of the evaluation buckets: :func:`free_form_mask`'s few strokes
    rarely cover more than a fifth of the image, these cover 1% to 60% evenly, like the
    irregular mask set the paper trains on.

    Returns:
        (H, W) float32 mask.
    """
    height, width = mask_shape(size)
    return _strokes_grown_to_area(height, width, *IRREGULAR_AREA, rng)


_GENERATORS: dict[str, MaskGenerator] = {
    "block": random_block_mask,
    "free_form": free_form_mask,
    "irregular": irregular_mask,
    "half": half_mask,
}


class MaskMix:
    """A weighted random choice among the generators "block", "free_form", "irregular", "half".

    Args:
        weights: kind name -> non-negative weight (normalised); equal weights by default.

    Calling it draws the kind first, then the mask from the same generator.
    """

    def __init__(self, weights: Mapping[str, float] | None = None) -> None:
        chosen = dict(weights) if weights is not None else dict.fromkeys(_GENERATORS, 1.0)
        unknown = sorted(set(chosen) - set(_GENERATORS))
        if unknown:
            raise ConfigError(
                f"unknown mask kinds {unknown} in a mask mix; use {sorted(_GENERATORS)}"
            )
        total = sum(chosen.values())
        if any(weight < 0 for weight in chosen.values()) or total <= 0:
            raise ConfigError(
                f"mask mix weights must be non-negative with a positive sum: {chosen}"
            )
        self.kinds = tuple(chosen)
        self.probabilities = np.array([chosen[kind] / total for kind in self.kinds])

    def __call__(self, size: Size, rng: np.random.Generator) -> np.ndarray:
        """A (H, W) float32 mask of a randomly chosen kind."""
        kind = self.kinds[int(rng.choice(len(self.kinds), p=self.probabilities))]
        return _GENERATORS[kind](size, rng)


def mask_generator(kind: str) -> MaskGenerator:
    """The generator for a kind in :data:`MASK_KINDS` ("mix" is an equal-weight :class:`MaskMix`).

    Raises ConfigError for an unknown kind.
    """
    if kind == "mix":
        return MaskMix()
    if kind not in _GENERATORS:
        raise ConfigError(f"unknown mask kind {kind!r}; use one of {', '.join(MASK_KINDS)}")
    return _GENERATORS[kind]


def load_mask_file(path: str | Path, size: Size | None = None) -> np.ndarray:
    """Read a mask image of any supported format and pixel mode as a binary hole mask.

    The mask is the alpha channel when the file has one that is not fully opaque, else the grey
    level (white = hole). It is always thresholded at :data:`MASK_THRESHOLD`, so compression
    noise (a JPEG mask) never leaks grey values. With ``size`` it is resized with
    nearest-neighbour sampling, which keeps it binary. Raises InputError for an unreadable file.

    Returns:
        (H, W) float32 mask in {0, 1}.
    """
    values = pil_to_mask(load_image(path, mode="RGBA"))[0].numpy()
    binary = values > MASK_THRESHOLD
    if size is not None:
        height, width = mask_shape(size)
        picture = Image.fromarray(binary.astype(np.uint8) * 255, mode="L")
        binary = np.asarray(picture.resize((width, height), Image.Resampling.NEAREST)) > 127
    return binary.astype(np.float32)


def hole_fraction(mask: np.ndarray | torch.Tensor) -> float:
    """The fraction of pixels that are holes (mean of a {0, 1} mask of any shape)."""
    if isinstance(mask, torch.Tensor):
        return float(mask.detach().float().mean())
    return float(np.asarray(mask, dtype=np.float64).mean())


def _bucket_range(bucket: str) -> tuple[float, float]:
    """The ``[low, high)`` fractions of a bucket name; ConfigError for an unknown one."""
    if bucket not in EVALUATION_BUCKETS:
        raise ConfigError(
            f"unknown mask bucket {bucket!r}; use one of {', '.join(EVALUATION_BUCKETS)}"
        )
    return EVALUATION_BUCKETS[bucket]


def evaluation_masks(size: Size, bucket: str, count: int, seed: int = 0) -> np.ndarray:
    """A fixed set of free-form masks whose hole fraction lies in ``bucket``.

    ``bucket`` is one of :data:`EVALUATION_BUCKETS` ("10-20", "20-30", "30-40", "40-50": percent
    of the image, low end included). Mask ``j`` depends only on ``(seed, bucket, j)`` and the
    size, so the same arguments always give identical masks and a longer set starts with a
    shorter one.

    Returns:
        (count, H, W) float32 masks in {0, 1}.
    """
    low, high = _bucket_range(bucket)
    if count < 0:
        raise ConfigError(f"the number of evaluation masks must be non-negative, got {count}")
    if seed < 0:
        raise ConfigError(f"the mask seed must be a non-negative integer, got {seed}")
    height, width = mask_shape(size)
    if min(height, width) < MIN_EVALUATION_SIDE:
        raise ConfigError(
            f"evaluation masks need sides of at least {MIN_EVALUATION_SIDE} pixels, "
            f"got {height}x{width}"
        )
    masks = np.zeros((count, height, width), dtype=np.float32)
    bucket_index = list(EVALUATION_BUCKETS).index(bucket)
    for index in range(count):
        rng = np.random.default_rng([seed, bucket_index, index])
        masks[index] = _strokes_grown_to_area(height, width, low, high, rng)
    return masks
