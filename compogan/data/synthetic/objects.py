"""Synthetic objects on backgrounds with every ground truth SEIGAN's tasks need.

A scene is a background (a two-colour gradient, a procedural texture, or a crop of one of
scikit-image's photos, each at a random exposure) and one object: a shaded, textured shape
(ellipse, rectangle, triangle, star or blob, rotated) rasterised with soft, anti-aliased edges
and standing on a blurred contact shadow. The object is **lit by its background**: its colour is
multiplied by the background's colour cast (mean colour over mean grey), scaled by its mean
brightness, and shaded from the side where the background is brighter. So the same object cut
from one scene and pasted naively into another carries the wrong light, and rendering it truly
into the other scene (:func:`render_object` with that scene's :func:`lighting_of`) is the ground
truth of paste-and-enhance.

All randomness comes from the generator passed in; :class:`SyntheticObjects` draws item ``i``
from ``SeededDataset.item_rng(i)``, so items are deterministic by seed. Images here are float
(H, W, 3) arrays in [0, 1]; the dataset returns tensors in [-1, 1].

Dataset items follow SEIGAN's crop convention (:mod:`compogan.data.objects`): the scene is the
square crop around the object's box, whose longer side is ``size / context``, centred.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from compogan.data.objects import DEFAULT_CONTEXT, Box, box_mask
from compogan.data.seeded import TRAIN_SPLIT, SeededDataset
from compogan.data.synthetic.drawing import check_size, ellipse

OBJECT_KINDS = ("ellipse", "rectangle", "triangle", "star", "blob")
TEXTURES = ("plain", "stripes", "checks", "noise")
BACKGROUND_KINDS = ("gradient", "texture", "photo")
BACKGROUND_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "brick", "grass", "gravel")
"""Colour photos of scikit-image's wheel used as backgrounds (crops, no download)."""
EXPOSURE_RANGE = (0.45, 1.25)
"""Every background is multiplied by a factor drawn in this range (dim to bright scenes)."""
SUPERSAMPLE = 4
"""Shapes are rasterised at this many times the resolution and averaged down (soft edges)."""
SHADOW_STRENGTH = 0.55
"""How much the contact shadow darkens the background at its centre."""
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class ObjectSpec:
    """One object's look, independent of where and under which light it is drawn.

    Attributes:
        kind: one of :data:`OBJECT_KINDS`.
        color: albedo (r, g, b) in [0, 1].
        texture: one of :data:`TEXTURES`.
        texture_color: the second colour of the texture, in [0, 1].
        frequency: texture periods across the object.
        angle: texture direction, radians.
        rotation: shape rotation, radians.
        seed: the seed of the blob's outline and the noise texture.
    """

    kind: str
    color: tuple[float, float, float]
    texture: str
    texture_color: tuple[float, float, float]
    frequency: float
    angle: float
    rotation: float
    seed: int


@dataclass(frozen=True)
class Lighting:
    """The light a background casts on an object in it.

    Attributes:
        cast: per-channel colour multiplier (mean colour over its grey), in [0.7, 1.3].
        brightness: overall multiplier from the mean luminance, in [0.45, 1.45].
        direction: unit (dx, dy) in the image plane towards the light (the brighter side).
    """

    cast: tuple[float, float, float]
    brightness: float
    direction: tuple[float, float]


@dataclass(frozen=True)
class ObjectScene:
    """A rendered scene and its ground truth.

    Attributes:
        image: (H, W, 3) in [0, 1], the object (and its shadow) on the background.
        background: (H, W, 3) in [0, 1], the clean background (truth of inpainting).
        mask: (H, W) in [0, 1], the object's soft alpha (truth of segmentation; no shadow).
        box: the object's bounding box (x0, y0, x1, y1), right and bottom exclusive.
        spec: the object, to re-render it elsewhere.
    """

    image: np.ndarray
    background: np.ndarray
    mask: np.ndarray
    box: Box
    spec: ObjectSpec


def _color(rng: np.random.Generator) -> tuple[float, float, float]:
    return tuple(float(v) for v in rng.uniform(0.15, 0.95, 3))  # type: ignore[return-value]


def sample_object(rng: np.random.Generator) -> ObjectSpec:
    """Draw an object: kind, colours, texture and rotation."""
    return ObjectSpec(
        kind=OBJECT_KINDS[int(rng.integers(len(OBJECT_KINDS)))],
        color=_color(rng),
        texture=TEXTURES[int(rng.integers(len(TEXTURES)))],
        texture_color=_color(rng),
        frequency=float(rng.uniform(2.0, 5.0)),
        angle=float(rng.uniform(0, np.pi)),
        rotation=float(rng.uniform(-0.6, 0.6)),
        seed=int(rng.integers(2**31)),
    )


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """(size, size) smooth noise in [0, 1]: a ``cells`` x ``cells`` grid upsampled bicubically."""
    grid = (rng.random((cells, cells)) * 255).astype(np.uint8)
    picture = Image.fromarray(grid).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(picture, dtype=np.float32) / 255.0


def _photo_crop(rng: np.random.Generator, size: int) -> np.ndarray:
    from compogan.data.inpainting import skimage_photo

    photo = skimage_photo(BACKGROUND_PHOTOS[int(rng.integers(len(BACKGROUND_PHOTOS)))])
    side = int(rng.integers(min(photo.size) // 3, min(photo.size) + 1))
    left = int(rng.integers(0, photo.width - side + 1))
    top = int(rng.integers(0, photo.height - side + 1))
    crop = photo.crop((left, top, left + side, top + side))
    return np.asarray(crop.resize((size, size), Image.Resampling.BILINEAR), np.float32) / 255.0


def sample_background(rng: np.random.Generator, size: int, kind: str | None = None) -> np.ndarray:
    """A (size, size, 3) background in [0, 1] of ``kind`` (drawn when None) at a random exposure.

    Raises:
        ValueError: an unknown kind.
    """
    kind = kind or BACKGROUND_KINDS[int(rng.integers(len(BACKGROUND_KINDS)))]
    axis = np.linspace(-1, 1, size, dtype=np.float32)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    if kind == "gradient":
        angle = rng.uniform(0, 2 * np.pi)
        t = np.clip((xx * np.cos(angle) + yy * np.sin(angle) + 1) / 2, 0, 1)[..., None]
        image = (1 - t) * np.array(_color(rng)) + t * np.array(_color(rng))
    elif kind == "texture":
        t = _smooth_noise(rng, size, int(rng.integers(3, 9)))
        waves = 0.5 + 0.5 * np.sin(rng.uniform(4, 14) * (xx * rng.uniform(-1, 1) + yy))
        t = np.clip(0.7 * t + 0.3 * waves, 0, 1)[..., None]
        image = (1 - t) * np.array(_color(rng)) + t * np.array(_color(rng))
    elif kind == "photo":
        image = _photo_crop(rng, size)
    else:
        raise ValueError(f"unknown background kind {kind!r}; use one of {BACKGROUND_KINDS}")
    exposure = rng.uniform(*EXPOSURE_RANGE)
    return np.clip(image * exposure, 0, 1).astype(np.float32)


def lighting_of(background: np.ndarray) -> Lighting:
    """The :class:`Lighting` of a (H, W, 3) background in [0, 1]: colour cast and brightness
    from its mean colour, direction from where it is brighter (left/right and top/bottom
    thirds; top-left when it is even)."""
    mean = background.reshape(-1, 3).mean(0)
    grey = float(mean.mean())
    cast = np.clip(mean / max(grey, 1e-3), 0.7, 1.3)
    brightness = float(np.clip(0.45 + 1.1 * float(mean @ LUMA), 0.45, 1.45))
    luma = background @ LUMA
    height, width = luma.shape
    dx = float(luma[:, 2 * width // 3 :].mean() - luma[:, : width // 3].mean())
    dy = float(luma[2 * height // 3 :].mean() - luma[: height // 3].mean())
    norm = np.hypot(dx, dy)
    direction = (dx / norm, dy / norm) if norm > 0.02 else (-0.7071, -0.7071)
    return Lighting(tuple(float(c) for c in cast), brightness, direction)  # type: ignore[arg-type]


def _outline(spec: ObjectSpec) -> np.ndarray:
    """The shape's outline as (K, 2) points around the origin, unit size, before rotation."""
    if spec.kind == "ellipse":
        return ellipse(0, 0, 1, 1)
    if spec.kind == "rectangle":
        return np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64)
    if spec.kind == "triangle":
        return np.array([[0, -1], [1, 1], [-1, 1]], dtype=np.float64)
    theta = np.linspace(0, 2 * np.pi, 10 if spec.kind == "star" else 48, endpoint=False)
    if spec.kind == "star":
        radius = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
    else:
        phases = np.random.default_rng(spec.seed).uniform(0, 2 * np.pi, 3)
        radius = 1 + sum(
            0.12 * np.sin(k * theta + p) for k, p in zip((2, 3, 5), phases, strict=True)
        )
    return np.stack([radius * np.sin(theta), -radius * np.cos(theta)], axis=1)


def _fitted_outline(spec: ObjectSpec, box: Box) -> np.ndarray:
    """The rotated outline scaled so that its bounding box is ``box`` inset by one pixel."""
    c, s = np.cos(spec.rotation), np.sin(spec.rotation)
    points = _outline(spec) @ np.array([[c, s], [-s, c]])
    low, high = points.min(0), points.max(0)
    x0, y0, x1, y1 = box
    target_low = np.array([x0 + 1.0, y0 + 1.0])
    target_high = np.array([x1 - 1.0, y1 - 1.0])
    return target_low + (points - low) / (high - low) * (target_high - target_low)


def object_alpha(spec: ObjectSpec, box: Box, height: int, width: int) -> np.ndarray:
    """The object's soft alpha (height, width) in [0, 1], zero outside ``box``."""
    points = _fitted_outline(spec, box) * SUPERSAMPLE
    canvas = Image.new("L", (width * SUPERSAMPLE, height * SUPERSAMPLE), 0)
    ImageDraw.Draw(canvas).polygon([tuple(p) for p in points], fill=255)
    small = canvas.resize((width, height), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def _albedo(spec: ObjectSpec, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The textured colour (H, W, 3) at box coordinates ``u``, ``v`` in [-1, 1]."""
    base, other = np.array(spec.color), np.array(spec.texture_color)
    along = u * np.cos(spec.angle) + v * np.sin(spec.angle)
    if spec.texture == "plain":
        t = np.zeros_like(u)
    elif spec.texture == "stripes":
        t = (np.sin(np.pi * spec.frequency * along) > 0).astype(np.float32)
    elif spec.texture == "checks":
        across = -u * np.sin(spec.angle) + v * np.cos(spec.angle)
        t = np.sin(np.pi * spec.frequency * along) * np.sin(np.pi * spec.frequency * across) > 0
        t = t.astype(np.float32)
    else:
        rng = np.random.default_rng(spec.seed)
        t = _smooth_noise(rng, max(u.shape), int(spec.frequency * 2))[: u.shape[0], : u.shape[1]]
    return (1 - t[..., None]) * base + t[..., None] * other


def _shading(u: np.ndarray, v: np.ndarray, lighting: Lighting) -> np.ndarray:
    """Lambertian shading (H, W) of a dome over the box lit from ``lighting.direction``."""
    nz = np.sqrt(np.clip(1 - 0.5 * (u**2 + v**2), 0.05, 1))
    dx, dy = lighting.direction
    light = np.array([dx, dy, 0.9]) / np.linalg.norm([dx, dy, 0.9])
    normal_len = np.sqrt(u**2 + v**2 + nz**2)
    lambert = (u * light[0] + v * light[1] + nz * light[2]) / normal_len
    return 0.35 + 0.65 * np.clip(lambert, 0, 1)


def contact_shadow(box: Box, height: int, width: int, lighting: Lighting) -> np.ndarray:
    """The (height, width) shadow in [0, 1]: a blurred ellipse under the box's bottom edge,
    shifted away from the light."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2 - lighting.direction[0] * 0.15 * w
    cy = y1 - 0.06 * h
    canvas = Image.new("L", (width, height), 0)
    ImageDraw.Draw(canvas).ellipse(
        (cx - 0.55 * w, cy - 0.13 * h, cx + 0.55 * w, cy + 0.13 * h), fill=255
    )
    blurred = canvas.filter(ImageFilter.GaussianBlur(max(1.0, 0.07 * w)))
    return np.asarray(blurred, dtype=np.float32) / 255.0


def render_object(
    background: np.ndarray, spec: ObjectSpec, box: Box, lighting: Lighting | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``spec`` into ``box`` of a (H, W, 3) background in [0, 1], lit by ``lighting``
    (default: the background's own, :func:`lighting_of`), on its contact shadow.

    Returns:
        (the image (H, W, 3) in [0, 1], the object's alpha (H, W) in [0, 1]).
    """
    lighting = lighting or lighting_of(background)
    height, width = background.shape[:2]
    alpha = object_alpha(spec, box, height, width)
    x0, y0, x1, y1 = box
    xs = (np.arange(width, dtype=np.float32) + 0.5 - (x0 + x1) / 2) / max(1.0, (x1 - x0) / 2)
    ys = (np.arange(height, dtype=np.float32) + 0.5 - (y0 + y1) / 2) / max(1.0, (y1 - y0) / 2)
    v, u = np.meshgrid(ys, xs, indexing="ij")
    lit = _albedo(spec, u, v) * _shading(u, v, lighting)[..., None]
    lit = np.clip(lit * np.array(lighting.cast) * lighting.brightness, 0, 1)
    shadow = contact_shadow(box, height, width, lighting)
    shadowed = background * (1 - SHADOW_STRENGTH * shadow[..., None])
    image = alpha[..., None] * lit + (1 - alpha[..., None]) * shadowed
    return image.astype(np.float32), alpha


def centred_box(rng: np.random.Generator, size: int, context: float = DEFAULT_CONTEXT) -> Box:
    """A box centred in a ``size`` square whose longer side is ``size / context`` (the crop
    convention), the shorter side 55–100% of it."""
    longer = max(4, round(size / context))
    shorter = max(3, round(longer * rng.uniform(0.55, 1.0)))
    w, h = (longer, shorter) if rng.random() < 0.5 else (shorter, longer)
    x0, y0 = (size - w) // 2, (size - h) // 2
    return x0, y0, x0 + w, y0 + h


def sample_scene(
    rng: np.random.Generator,
    size: int,
    context: float = DEFAULT_CONTEXT,
    background: np.ndarray | None = None,
) -> ObjectScene:
    """Draw a background (unless given), an object and its box (:func:`centred_box`) and
    render the scene."""
    background = sample_background(rng, size) if background is None else background
    spec = sample_object(rng)
    box = centred_box(rng, size, context)
    image, mask = render_object(background, spec, box)
    return ObjectScene(image, background, mask, box, spec)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) in [0, 1] → (3, H, W) in [-1, 1]; (H, W) in [0, 1] → (1, H, W) in [0, 1]."""
    if image.ndim == 2:
        return torch.from_numpy(np.ascontiguousarray(image))[None].float()
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float() * 2 - 1


class SyntheticObjects(SeededDataset):
    """SEIGAN's unpaired data made in code (see the module docstring).

    Item ``i`` (all tensors (C, S, S)):

    - ``"x"``: a scene with an object, in [-1, 1];
    - ``"box"``: its bounding box as a mask in {0, 1} (the only supervision);
    - ``"y"``: a backgrounds-only image of another scene, in [-1, 1].

    The "test" split adds the ground truth: ``"mask"`` (the object's alpha in [0, 1]),
    ``"clean"`` (x's background without the object), ``"y_true"`` (y with x's object truly
    rendered in it at the same box, lit by y). Training items never carry them.

    Args:
        size: side S.
        length: items.
        split: "train" draws anew every epoch; "test" is fixed.
        context: the crop convention's ratio of S to the box's longer side.
        seed: non-negative seed.
    """

    def __init__(
        self,
        size: int,
        length: int,
        split: str = TRAIN_SPLIT,
        context: float = DEFAULT_CONTEXT,
        seed: int = 0,
    ) -> None:
        check_size(size, "synthetic objects size")
        super().__init__(seed, split)
        self.size, self.length, self.context = size, length, context

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = self.item_rng(index)
        scene = sample_scene(rng, self.size, self.context)
        other = sample_background(rng, self.size)
        item = {
            "x": to_tensor(scene.image),
            "box": box_mask(scene.box, self.size),
            "y": to_tensor(other),
        }
        if self.split != TRAIN_SPLIT:
            y_true, _ = render_object(other, scene.spec, scene.box)
            item.update(
                mask=to_tensor(scene.mask),
                clean=to_tensor(scene.background),
                y_true=to_tensor(y_true),
            )
        return item


def synthetic_objects_dataset(data_config: Any, split: str, seed: int) -> SyntheticObjects:
    """The "synthetic" objects dataset; reads ``size``, ``length``/``test_length``, ``context``."""
    return SyntheticObjects(
        data_config.size, data_config.split_length(split), split, data_config.context, seed
    )
