"""Procedural glasses in a canonical pose, their placement on a face, and compositing them.

A :class:`GlassesSpec` (:func:`sample_glasses`) has one of six frame styles (round,
rectangular, aviator, cat-eye, rimless, browline), a frame colour, tinted lenses, a bridge and
temple stubs; lengths are in the canonical frame [-1, 1]^2 of :mod:`compogan.geometry`.
:func:`render_glasses` draws it as RGBA in the *canonical pose*: the lenses centred on
:data:`~compogan.data.synthetic.faces.CANONICAL_LEFT_EYE` /
:data:`~compogan.data.synthetic.faces.CANONICAL_RIGHT_EYE`; frame alpha 1, lens alpha 0.15–0.6,
alpha 0 elsewhere.

:func:`fit_glasses_warp` is the similarity that puts canonical-pose glasses on a face's eyes;
:func:`composite_glasses` composites glasses onto a rendered face image with a warp exactly as
ST-GAN composites, and :func:`render_face_with_glasses` renders a face wearing glasses (placed
correctly by default).
"""

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from compogan.data.synthetic.drawing import (
    POLYGON_POINTS,
    SUPERSAMPLING,
    Color,
    band,
    canonical_axis,
    check_matrix,
    check_size,
    downsample,
    grow,
    image_to_tensor,
    jitter_color,
    pick_color,
    to_pil,
)
from compogan.data.synthetic.faces import (
    CANONICAL_LEFT_EYE,
    CANONICAL_RIGHT_EYE,
    FaceRender,
    FaceSpec,
    face_landmarks,
    render_face,
)
from compogan.errors import InputError
from compogan.geometry import composite_warped, fit_similarity

GlassesStyle = Literal["round", "rectangular", "aviator", "cat_eye", "rimless", "browline"]

GLASSES_STYLES: tuple[GlassesStyle, ...] = (
    "round",
    "rectangular",
    "aviator",
    "cat_eye",
    "rimless",
    "browline",
)
MIN_LENS_ALPHA = 0.15
MAX_LENS_ALPHA = 0.6

_FRAME_COLORS: tuple[Color, ...] = (
    (18, 18, 20),
    (92, 52, 28),
    (196, 160, 80),
    (182, 184, 190),
    (156, 28, 36),
    (30, 40, 92),
    (70, 72, 78),
)
_LENS_TINTS: tuple[Color, ...] = (
    (200, 215, 230),
    (40, 40, 44),
    (74, 52, 30),
    (40, 70, 48),
    (60, 80, 120),
    (170, 120, 60),
)


@dataclass(frozen=True)
class GlassesSpec:
    """A pair of glasses in the canonical pose; lengths in canonical units.

    Each lens is a closed outline of half-size ``lens_half_width`` x ``lens_half_height`` whose
    bounding box is centred on a canonical eye; ``bridge_y`` is the bridge's height relative to
    the eye line (negative is up); lens alpha is ``lens_alpha`` plus ``lens_gradient`` times the
    height above the eye (in lens half-heights), clipped to [MIN_LENS_ALPHA, MAX_LENS_ALPHA].
    """

    style: GlassesStyle
    lens_half_width: float
    lens_half_height: float
    rim_thickness: float
    top_rim_thickness: float
    frame_color: Color
    lens_color: Color
    lens_alpha: float
    lens_gradient: float
    bridge_y: float
    bridge_arch: float
    bridge_thickness: float
    temple_length: float
    glint: bool


# --------------------------------------------------------------------------- sampling


def sample_glasses_from_rng(rng: np.random.Generator) -> GlassesSpec:
    """Draw a random :class:`GlassesSpec`, consuming only ``rng``."""
    style = GLASSES_STYLES[int(rng.integers(len(GLASSES_STYLES)))]
    half_width = float(rng.uniform(0.19, 0.25))
    aspect = {
        "round": (0.85, 1.0),
        "rectangular": (0.55, 0.72),
        "aviator": (0.8, 0.95),
        "cat_eye": (0.6, 0.75),
        "rimless": (0.6, 0.8),
        "browline": (0.6, 0.75),
    }[style]
    rim = 0.005 if style == "rimless" else float(rng.uniform(0.012, 0.028))
    top_rim = rim * float(rng.uniform(2.2, 3.2)) if style == "browline" else rim
    sunglasses = rng.random() < 0.35
    tint = (
        pick_color(rng, _LENS_TINTS[1:], 10)
        if sunglasses
        else jitter_color(rng, _LENS_TINTS[0], 10)
    )
    alpha_range = (0.4, 0.55) if sunglasses else (0.16, 0.26)
    thin = style in ("rimless", "aviator")
    frame_colors = _FRAME_COLORS[2:4] if thin else _FRAME_COLORS
    return GlassesSpec(
        style=style,
        lens_half_width=half_width,
        lens_half_height=half_width * float(rng.uniform(*aspect)),
        rim_thickness=rim,
        top_rim_thickness=top_rim,
        frame_color=pick_color(rng, frame_colors, 12),
        lens_color=tint,
        lens_alpha=float(rng.uniform(*alpha_range)),
        lens_gradient=float(rng.uniform(0.05, 0.15)) if rng.random() < 0.4 else 0.0,
        bridge_y=-half_width * float(rng.uniform(0.1, 0.45)),
        bridge_arch=float(rng.uniform(0.0, 0.03)),
        bridge_thickness=max(rim, 0.012) * float(rng.uniform(0.9, 1.4)),
        temple_length=float(rng.uniform(0.05, 0.1)),
        glint=bool(rng.random() < 0.6),
    )


def sample_glasses(seed: int) -> GlassesSpec:
    """The glasses of ``seed`` (>= 0)."""
    if seed < 0:
        raise InputError(f"glasses seed must be a non-negative integer, got {seed}")
    return sample_glasses_from_rng(np.random.default_rng(seed))


# --------------------------------------------------------------------------- rendering


_EMPTY, _FRAME, _LENS, _GLINT = 0, 1, 2, 3


def _superellipse(half_width: float, half_height: float, exponent: float) -> np.ndarray:
    """(2 POLYGON_POINTS, 2) points of ``|x / w|^e + |y / h|^e = 1``, by angle from +x."""
    t = np.linspace(0.0, 2.0 * math.pi, 2 * POLYGON_POINTS, endpoint=False)
    cos, sin = np.cos(t), np.sin(t)
    power = 2.0 / exponent
    x = half_width * np.sign(cos) * np.abs(cos) ** power
    return np.stack([x, half_height * np.sign(sin) * np.abs(sin) ** power], axis=1)


def _lens_outline(spec: GlassesSpec) -> np.ndarray:
    """Outline (N, 2) of the image-right lens, bounding box centred on 0; +x is away from the nose.

    Points run around the lens by angle, starting at the outer side.
    """
    w, h = spec.lens_half_width, spec.lens_half_height
    if spec.style == "round":
        outline = _superellipse(w, h, 2.0)
    elif spec.style == "aviator":
        outline = _superellipse(w, h, 2.6)
        x, y = outline[:, 0], outline[:, 1]
        inner_drop = 1.0 + 0.4 * (1.0 - x / w) / 2.0
        outline[:, 1] = np.where(y > 0, y * inner_drop, y * 0.85)
    elif spec.style == "cat_eye":
        outline = _superellipse(w, h, 2.6)
        x, y = outline[:, 0], outline[:, 1]
        sweep = 0.55 * h * np.clip(x / w, 0.0, 1.0) ** 3
        outline[:, 1] = np.where(y < 0, y - sweep, y)
    elif spec.style == "rimless":
        outline = _superellipse(w, h, 3.0)
    else:
        outline = _superellipse(w, h, 5.0 if spec.style == "rectangular" else 3.5)
    lo, hi = outline.min(axis=0), outline.max(axis=0)
    outline = outline - (lo + hi) / 2.0
    return outline * [w, h] / ((hi - lo) / 2.0)


def _rim_thickness(spec: GlassesSpec, outline: np.ndarray) -> np.ndarray:
    """Per-vertex rim thickness: thicker on top (browline) or on the upper outer wing (cat-eye)."""
    up = np.clip(-outline[:, 1] / spec.lens_half_height, 0.0, 1.0)
    out = np.clip(outline[:, 0] / spec.lens_half_width, 0.0, 1.0)
    thickness = spec.rim_thickness + (spec.top_rim_thickness - spec.rim_thickness) * up**0.7
    if spec.style == "cat_eye":
        thickness = thickness * (1.0 + 1.5 * up * out)
    return thickness


def _glasses_polygons(spec: GlassesSpec) -> list[tuple[np.ndarray, int]]:
    """(canonical polygon, element id) pairs in draw order."""
    eye_x, eye_y = CANONICAL_RIGHT_EYE
    w, h = spec.lens_half_width, spec.lens_half_height
    outline = _lens_outline(spec)
    frame = grow(outline, _rim_thickness(spec, outline))
    end = eye_x - 0.5 * w
    xs = np.linspace(-end, end, 25)
    bridge_y = eye_y + spec.bridge_y - spec.bridge_arch * (1.0 - (xs / end) ** 2)
    polygons = [(band(np.stack([xs, bridge_y], 1), spec.bridge_thickness / 2), _FRAME)]
    if spec.style == "aviator":
        bar = np.stack([xs * 1.25, np.full_like(xs, eye_y - 0.8 * h)], 1)
        polygons.append((band(bar, 0.35 * spec.bridge_thickness), _FRAME))
    temple_y = eye_y - 0.55 * h
    temple_x = np.linspace(eye_x + 0.7 * w, eye_x + w + spec.temple_length, 9)
    stub_half = 0.6 * max(spec.rim_thickness, 0.012)
    for side in (-1.0, 1.0):
        temple = np.stack([side * temple_x, np.full_like(temple_x, temple_y)], 1)
        polygons.append((band(temple, stub_half), _FRAME))
    mirror = np.array([-1.0, 1.0])
    for side in (mirror, np.ones(2)):
        center = np.array([eye_x, eye_y]) * side
        polygons.append((frame * side + center, _FRAME))
        polygons.append((outline * side + center, _LENS))
        if spec.glint:
            streak = np.array([[0.1 * w, -0.7 * h], [0.45 * w, -0.15 * h]])
            polygons.append((band(streak, 0.05 * w) * side + center, _GLINT))
    return polygons


def render_glasses(spec: GlassesSpec, size: int) -> np.ndarray:
    """Render glasses in the canonical pose as a (size, size, 4) uint8 RGBA image.

    The frame (rims, bridge, temple stubs) is opaque, the lenses have alpha in
    [MIN_LENS_ALPHA, MAX_LENS_ALPHA] (a white glint streak a little more), everything else 0.
    Colour is the alpha-weighted average colour of each pixel and 0 where alpha is 0.
    """
    check_size(size, "glasses")
    canvas = size * SUPERSAMPLING
    ids_image = Image.new("L", (canvas, canvas), _EMPTY)
    draw = ImageDraw.Draw(ids_image)
    for points, element in _glasses_polygons(spec):
        draw.polygon(to_pil(points, canvas), fill=element)
    ids = np.asarray(ids_image)
    rows = canonical_axis(canvas)[:, None]
    above_eye = (CANONICAL_RIGHT_EYE[1] - rows) / spec.lens_half_height
    lens_alpha = spec.lens_alpha + spec.lens_gradient * np.clip(above_eye, -1.0, 1.0)
    lens_alpha = np.clip(lens_alpha, MIN_LENS_ALPHA, MAX_LENS_ALPHA).astype(np.float32)
    glint_alpha = np.minimum(lens_alpha + 0.15, MAX_LENS_ALPHA + 0.1)
    alpha = np.select(
        [ids == _FRAME, ids == _LENS, ids == _GLINT], [1.0, lens_alpha, glint_alpha], 0.0
    ).astype(np.float32)
    palette = np.array(
        [(0, 0, 0), spec.frame_color, spec.lens_color, (255, 255, 255)], dtype=np.float32
    )
    premultiplied = downsample(palette[ids] * alpha[..., None])
    coverage = downsample(alpha)
    colour = premultiplied / np.maximum(coverage, 1e-6)[..., None]
    rgba = np.concatenate([colour, 255.0 * coverage[..., None]], axis=2)
    return np.clip(np.round(rgba), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- placement


def fit_glasses_warp(landmarks: np.ndarray | Tensor) -> Tensor:
    """The correct placement of canonical-pose glasses on a face.

    Args:
        landmarks: (N, 2) canonical landmarks whose first two rows are the left and right eye
            centres (e.g. :attr:`~compogan.data.synthetic.faces.FaceRender.landmarks`).

    Returns:
        (3, 3) float32 similarity mapping CANONICAL_LEFT_EYE / CANONICAL_RIGHT_EYE onto the eyes.
    """
    eyes = torch.as_tensor(np.asarray(landmarks, dtype=np.float64)[:2])
    canonical = torch.tensor([CANONICAL_LEFT_EYE, CANONICAL_RIGHT_EYE], dtype=torch.float64)
    similarity = fit_similarity(canonical[None], eyes[None])[0]
    bottom = torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64)
    return torch.cat([similarity, bottom]).to(torch.float32)


def glasses_to_tensor(rgba: np.ndarray) -> Tensor:
    """(S, S, 4) uint8 RGBA → (4, S, S) float32: colour in [-1, 1] (0 where alpha is 0), alpha
    in [0, 1]."""
    chw = torch.from_numpy(np.ascontiguousarray(rgba)).permute(2, 0, 1).to(torch.float32)
    alpha = chw[3:] / 255.0
    colour = torch.where(alpha > 0, chw[:3] / 127.5 - 1.0, torch.zeros_like(chw[:3]))
    return torch.cat([colour, alpha])


def composite_glasses(image: np.ndarray, glasses: GlassesSpec, warp: np.ndarray) -> np.ndarray:
    """Composite canonical-pose glasses onto an image, exactly as ST-GAN composites.

    Args:
        image: (S, S, 3) uint8 RGB, e.g. a :class:`~compogan.data.synthetic.faces.FaceRender`'s.
        glasses: the glasses, rendered at S px by :func:`render_glasses`.
        warp: (3, 3) float64 canonical placement of the canonical-pose glasses.

    Returns:
        (S, S, 3) uint8 RGB composite.
    """
    size = image.shape[0]
    foreground = glasses_to_tensor(render_glasses(glasses, size))[None]
    background = image_to_tensor(image)[None]
    matrix = torch.from_numpy(warp).to(torch.float32)[None]
    composite, _ = composite_warped(foreground, background, matrix)
    pixels = ((composite[0].permute(1, 2, 0) + 1.0) * 127.5).round().clamp(0, 255)
    return pixels.to(torch.uint8).numpy()


def render_face_with_glasses(
    spec: FaceSpec,
    size: int,
    glasses: GlassesSpec,
    *,
    yaw: float = 0.0,
    face_pose: np.ndarray | Tensor | None = None,
    glasses_warp: np.ndarray | Tensor | None = None,
) -> FaceRender:
    """Render a face (see :func:`~compogan.data.synthetic.faces.render_face`) wearing glasses.

    Args:
        spec: the face.
        size: output side in pixels (>= 16).
        glasses: the glasses to wear.
        yaw: head turn in [-1, 1].
        face_pose: optional (3, 3) canonical warp from the face frame into the image.
        glasses_warp: optional (3, 3) canonical placement of the canonical-pose glasses; default
            :func:`fit_glasses_warp` of the face's (float64) landmarks (glasses worn correctly).

    Returns:
        The face's :class:`~compogan.data.synthetic.faces.FaceRender` with the glasses
        composited onto its (size, size, 3) uint8 image; landmarks and boxes are the face's.

    Raises:
        InputError: for a bad size, yaw or matrix.
    """
    face = render_face(spec, size, yaw=yaw, face_pose=face_pose)
    if glasses_warp is None:
        landmarks = face_landmarks(spec, yaw=yaw, face_pose=face_pose)
        warp = fit_glasses_warp(landmarks).double().numpy()
    else:
        warp = check_matrix(glasses_warp, "glasses_warp")
    return replace(face, image=composite_glasses(face.image, glasses, warp))
