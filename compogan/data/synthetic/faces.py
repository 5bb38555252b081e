"""Procedural faces and glasses: the offline glasses-compositing data set for ST-GAN.

Faces. A :class:`FaceSpec` (drawn by :func:`sample_face` from a seed, which is also the face's
identity) fixes a stylised frontal head: background gradient, shirt and neck, head shape, skin
tone, ears, one of seven hair styles, eyes (shape, spacing, iris colour), brows, nose and mouth.
All lengths are in the canonical frame [-1, 1]^2 of :mod:`compogan.geometry` (x right, y down),
so one spec renders at any size. :func:`render_face` draws it at twice the output size with PIL
and averages 2x2 blocks (anti-aliasing). Optionally:

- ``face_pose``: a (3, 3) canonical warp (normally a similarity) that moves the whole face
  (not the background) from the face frame into the image, e.g. ST-GAN's random face
  perturbation (:func:`sample_face_pose`);
- ``yaw`` in [-1, 1]: a simple head turn, **not** a 3-D render. Every feature point (eyes, brows,
  nose, mouth, ears) at horizontal offset x is treated as lying on a cylinder of radius
  ``1.05 * head_half_width`` flattened to depth ``z = 0.75 * sqrt(R^2 - x^2)`` (plus extra depth
  for the nose, less for the ears) and rotated by ``yaw * MAX_YAW_DEGREES`` about the vertical
  axis: ``x' = x cos(phi) + z sin(phi)``. Positive yaw turns the face towards image right, so
  features shift right and the image-right half is foreshortened; the head outline and hair stay
  put, and the far ear slips behind the head;
- ``glasses``: a :class:`GlassesSpec` composited with the similarity that maps the canonical eyes
  onto the face's eyes (or an explicit ``glasses_warp``), exactly as ST-GAN composites.

A render returns the image, five landmarks (eye centres, nose tip, mouth corners: see
:data:`LANDMARK_NAMES`) and four part boxes (:data:`PART_NAMES`), all in image-canonical
coordinates, so the faces also serve TP-GAN / KeyPatchGAN style models.

Glasses. A :class:`GlassesSpec` (:func:`sample_glasses`) has one of six frame styles (round,
rectangular, aviator, cat-eye, rimless, browline), a frame colour, tinted lenses, a bridge and
temple stubs. :func:`render_glasses` draws it as RGBA in the *canonical pose*: the lenses centred
on :data:`CANONICAL_LEFT_EYE` / :data:`CANONICAL_RIGHT_EYE`; frame alpha 1, lens alpha 0.15–0.6,
alpha 0 elsewhere.

Data set. :class:`GlassesCompositing` serves ST-GAN items (see its docstring); a 144 px item (two
faces, two glasses, one composite) renders in about 10–20 ms on one CPU core.
"""

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from compogan.data.seeded import SeededDataset
from compogan.data.synthetic.scenes import image_to_tensor
from compogan.errors import ConfigError, InputError
from compogan.geometry import composite_warped, fit_similarity, sl3_to_matrix

Color = tuple[int, int, int]
Rgba = tuple[int, int, int, int]
Box = tuple[float, float, float, float]
HairStyle = Literal["bald", "buzz", "short", "bangs", "bob", "long", "curly"]
GlassesStyle = Literal["round", "rectangular", "aviator", "cat_eye", "rimless", "browline"]
Split = Literal["train", "test"]

HAIR_STYLES: tuple[HairStyle, ...] = ("bald", "buzz", "short", "bangs", "bob", "long", "curly")
GLASSES_STYLES: tuple[GlassesStyle, ...] = (
    "round",
    "rectangular",
    "aviator",
    "cat_eye",
    "rimless",
    "browline",
)
CANONICAL_LEFT_EYE = (-0.32, -0.12)
CANONICAL_RIGHT_EYE = (0.32, -0.12)
LANDMARK_NAMES = ("left_eye", "right_eye", "nose_tip", "mouth_left", "mouth_right")
PART_NAMES = ("left_eye", "right_eye", "nose", "mouth")
MAX_YAW_DEGREES = 30.0
SUPERSAMPLING = 2  # _downsample averages 2x2 blocks
MIN_SIZE = 16
MAX_SEED = 2**62
MIN_LENS_ALPHA = 0.15
MAX_LENS_ALPHA = 0.6

_FACE_DEPTH = 0.75
_CYLINDER_SCALE = 1.05
_POLYGON_POINTS = 48
_EAR_DEPTH = -0.4  # ears sit behind the face surface, in head half-widths

_SKIN_TONES: tuple[Color, ...] = (
    (255, 226, 200),
    (240, 200, 168),
    (222, 174, 136),
    (196, 142, 104),
    (160, 108, 72),
    (118, 76, 50),
    (86, 56, 38),
)
_HAIR_COLORS: tuple[Color, ...] = (
    (24, 20, 20),
    (58, 38, 26),
    (104, 68, 40),
    (196, 160, 96),
    (146, 66, 32),
    (150, 150, 150),
    (222, 220, 212),
)
_IRIS_COLORS: tuple[Color, ...] = (
    (92, 56, 30),
    (54, 34, 22),
    (66, 108, 156),
    (78, 118, 70),
    (126, 96, 48),
    (104, 116, 128),
)
_SHIRT_COLORS: tuple[Color, ...] = (
    (40, 60, 110),
    (160, 40, 44),
    (220, 220, 220),
    (40, 40, 44),
    (70, 120, 80),
    (200, 170, 90),
    (110, 80, 140),
)
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
_SCLERA: Color = (240, 236, 230)
_PUPIL: Color = (12, 10, 10)
_LIP_RED: Color = (176, 64, 72)


@dataclass(frozen=True)
class FaceSpec:
    """One face identity; every length is in canonical units of the face frame.

    The face frame is the image's canonical frame when the face is rendered without a pose:
    head centred on x = 0, eye centres at ``(±eye_half_spacing, eye_y)``.
    """

    identity: int
    background_colors: tuple[Color, Color]
    background_angle: float
    skin: Color
    shirt: Color
    head_center_y: float
    head_half_width: float
    head_half_height: float
    jaw_taper: float
    ear_half_width: float
    ear_half_height: float
    eye_y: float
    eye_half_spacing: float
    eye_half_width: float
    eye_openness: float
    eye_tilt: float
    iris_color: Color
    iris_radius: float
    brow_color: Color
    brow_gap: float
    brow_thickness: float
    brow_arch: float
    nose_tip_y: float
    nose_half_width: float
    mouth_y: float
    mouth_half_width: float
    upper_lip: float
    lower_lip: float
    smile: float
    lip_color: Color
    blush: int
    hair_style: HairStyle
    hair_color: Color
    hair_volume: float
    hairline_y: float
    hair_part: float
    sideburn_y: float
    hair_length_y: float


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


@dataclass(frozen=True, eq=False)
class FaceRender:
    """A rendered face and its annotations, all coordinates in image-canonical units.

    Attributes:
        image: (size, size, 3) uint8 RGB.
        landmarks: (5, 2) float32 (x, y) of :data:`LANDMARK_NAMES`: left eye centre, right eye
            centre, nose tip, left mouth corner, right mouth corner ("left" = image left).
        part_boxes: (4, 4) float32 boxes ``(x0, y0, x1, y1)`` of :data:`PART_NAMES`.
        identity: the face's identity (the seed of :func:`sample_face`).
    """

    image: np.ndarray
    landmarks: np.ndarray
    part_boxes: np.ndarray
    identity: int


@dataclass(frozen=True, eq=False)
class GlassesDraw:
    """All random choices of one :class:`GlassesCompositing` item.

    Attributes:
        face_seed: seed of the background face (no glasses).
        face_pose: (3, 3) float64 similarity placing that face in the image.
        glasses_seed: seed of the foreground glasses.
        init_params: (8,) float64 sl(3) perturbation of the correct placement.
        real_face_seed: seed of the other face, shown wearing glasses.
        real_face_pose: (3, 3) float64 similarity placing that face.
        real_glasses_seed: seed of the glasses the real face wears.
    """

    face_seed: int
    face_pose: np.ndarray
    glasses_seed: int
    init_params: np.ndarray
    real_face_seed: int
    real_face_pose: np.ndarray
    real_glasses_seed: int


# --------------------------------------------------------------------------- sampling helpers


def _jitter(rng: np.random.Generator, base: Color, spread: int) -> Color:
    values = np.clip(np.asarray(base) + rng.integers(-spread, spread + 1, size=3), 0, 255)
    return (int(values[0]), int(values[1]), int(values[2]))


def _pick(rng: np.random.Generator, choices: tuple[Color, ...], spread: int) -> Color:
    return _jitter(rng, choices[int(rng.integers(len(choices)))], spread)


def _random_color(rng: np.random.Generator, low: int = 60, high: int = 220) -> Color:
    values = rng.integers(low, high, size=3)
    return (int(values[0]), int(values[1]), int(values[2]))


def _mix(a: Color, b: Color, t: float) -> Color:
    mixed = (1.0 - t) * np.asarray(a, dtype=np.float64) + t * np.asarray(b, dtype=np.float64)
    values = np.clip(np.round(mixed), 0, 255).astype(int)
    return (int(values[0]), int(values[1]), int(values[2]))


def _scale_color(color: Color, factor: float) -> Color:
    values = np.clip(np.round(np.asarray(color, dtype=np.float64) * factor), 0, 255).astype(int)
    return (int(values[0]), int(values[1]), int(values[2]))


def _skin_tone(rng: np.random.Generator) -> Color:
    """A skin colour interpolated along :data:`_SKIN_TONES`, lightly jittered."""
    position = float(rng.uniform(0.0, len(_SKIN_TONES) - 1))
    low = int(position)
    high = min(low + 1, len(_SKIN_TONES) - 1)
    return _jitter(rng, _mix(_SKIN_TONES[low], _SKIN_TONES[high], position - low), 6)


@dataclass(frozen=True)
class _Hair:
    style: HairStyle
    color: Color
    volume: float
    hairline_y: float
    part: float
    sideburn_y: float
    length_y: float


def _sample_hair(
    rng: np.random.Generator, eye_y: float, brow_top: float, chin_y: float, nose_tip_y: float
) -> _Hair:
    style = HAIR_STYLES[int(rng.integers(len(HAIR_STYLES)))]
    hairline = eye_y - float(rng.uniform(0.38, 0.5))
    if style == "bangs":
        hairline = brow_top - float(rng.uniform(0.02, 0.06))
    if style in ("long", "bob"):
        sideburn = nose_tip_y + float(rng.uniform(0.0, 0.12))
    else:
        sideburn = eye_y + float(rng.uniform(-0.04, 0.08))
    if style == "long":
        length = chin_y + float(rng.uniform(0.15, 0.5))
    elif style == "bob":
        length = chin_y - float(rng.uniform(0.0, 0.15))
    else:
        length = chin_y
    if style == "buzz":
        volume = 0.01
    elif style == "curly":
        volume = float(rng.uniform(0.16, 0.26))
    else:
        volume = float(rng.uniform(0.03, 0.08))
    return _Hair(
        style=style,
        color=_pick(rng, _HAIR_COLORS, 12),
        volume=volume,
        hairline_y=hairline,
        part=float(rng.uniform(-0.08, 0.08)),
        sideburn_y=sideburn,
        length_y=length,
    )


def sample_face_from_rng(rng: np.random.Generator, identity: int = -1) -> FaceSpec:
    """Draw a random :class:`FaceSpec`, consuming only ``rng``; ``identity`` is stored as is."""
    eye_half_spacing = float(rng.uniform(0.27, 0.36))
    eye_distance = 2.0 * eye_half_spacing
    eye_y = float(rng.uniform(-0.17, -0.07))
    chin_y = eye_y + eye_distance * float(rng.uniform(1.2, 1.45))
    crown_y = eye_y - eye_distance * float(rng.uniform(1.25, 1.45))
    head_half_width = eye_half_spacing * float(rng.uniform(1.85, 2.15))
    eye_half_width = eye_half_spacing * float(rng.uniform(0.3, 0.38))
    brow_gap = eye_half_width * float(rng.uniform(0.75, 1.1))
    brow_thickness = eye_half_width * float(rng.uniform(0.1, 0.2))
    nose_tip_y = eye_y + eye_distance * float(rng.uniform(0.45, 0.6))
    mouth_y = nose_tip_y + eye_distance * float(rng.uniform(0.24, 0.34))
    skin = _skin_tone(rng)
    hair = _sample_hair(rng, eye_y, eye_y - brow_gap - 2 * brow_thickness, chin_y, nose_tip_y)
    return FaceSpec(
        identity=identity,
        background_colors=(_random_color(rng), _random_color(rng)),
        background_angle=float(rng.uniform(0.0, 2.0 * math.pi)),
        skin=skin,
        shirt=_pick(rng, _SHIRT_COLORS, 25),
        head_center_y=(chin_y + crown_y) / 2,
        head_half_width=head_half_width,
        head_half_height=(chin_y - crown_y) / 2,
        jaw_taper=float(rng.uniform(0.1, 0.35)),
        ear_half_width=head_half_width * float(rng.uniform(0.09, 0.13)),
        ear_half_height=(nose_tip_y - eye_y) * float(rng.uniform(0.6, 0.8)),
        eye_y=eye_y,
        eye_half_spacing=eye_half_spacing,
        eye_half_width=eye_half_width,
        eye_openness=float(rng.uniform(0.34, 0.52)),
        eye_tilt=float(rng.uniform(-0.12, 0.12)),
        iris_color=_pick(rng, _IRIS_COLORS, 12),
        iris_radius=float(rng.uniform(0.38, 0.46)),
        brow_color=_mix(hair.color, (20, 16, 14), float(rng.uniform(0.2, 0.6))),
        brow_gap=brow_gap,
        brow_thickness=brow_thickness,
        brow_arch=eye_half_width * float(rng.uniform(0.05, 0.35)),
        nose_tip_y=nose_tip_y,
        nose_half_width=eye_half_spacing * float(rng.uniform(0.22, 0.32)),
        mouth_y=mouth_y,
        mouth_half_width=eye_half_spacing * float(rng.uniform(0.45, 0.65)),
        upper_lip=eye_half_spacing * float(rng.uniform(0.07, 0.12)),
        lower_lip=eye_half_spacing * float(rng.uniform(0.1, 0.16)),
        smile=eye_half_spacing * float(rng.uniform(-0.03, 0.1)),
        lip_color=_mix(skin, _LIP_RED, float(rng.uniform(0.3, 0.6))),
        blush=int(rng.integers(0, 50)),
        hair_style=hair.style,
        hair_color=hair.color,
        hair_volume=hair.volume,
        hairline_y=hair.hairline_y,
        hair_part=hair.part,
        sideburn_y=hair.sideburn_y,
        hair_length_y=hair.length_y,
    )


def sample_face(seed: int) -> FaceSpec:
    """The face of ``seed`` (>= 0), whose identity is the seed."""
    if seed < 0:
        raise InputError(f"face seed must be a non-negative integer, got {seed}")
    return sample_face_from_rng(np.random.default_rng(seed), identity=seed)


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
    tint = _pick(rng, _LENS_TINTS[1:], 10) if sunglasses else _jitter(rng, _LENS_TINTS[0], 10)
    alpha_range = (0.4, 0.55) if sunglasses else (0.16, 0.26)
    thin = style in ("rimless", "aviator")
    frame_colors = _FRAME_COLORS[2:4] if thin else _FRAME_COLORS
    return GlassesSpec(
        style=style,
        lens_half_width=half_width,
        lens_half_height=half_width * float(rng.uniform(*aspect)),
        rim_thickness=rim,
        top_rim_thickness=top_rim,
        frame_color=_pick(rng, frame_colors, 12),
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


def sample_face_pose(rng: np.random.Generator, strength: float) -> np.ndarray:
    """A random similarity (3, 3) float64: ST-GAN's perturbation of the face.

    Rotation angle (radians) about the image centre, log-scale and the two translations
    (canonical units) are each ~ N(0, strength^2), truncated to ±2 strength so the face stays in
    the frame. ``strength = 0`` gives the identity.
    """
    angle, log_scale, tx, ty = np.clip(rng.normal(0.0, 1.0, size=4), -2.0, 2.0) * strength
    scale = math.exp(log_scale)
    cos, sin = scale * math.cos(angle), scale * math.sin(angle)
    return np.array([[cos, -sin, tx], [sin, cos, ty], [0.0, 0.0, 1.0]])


# --------------------------------------------------------------------------- polygon helpers


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = _POLYGON_POINTS) -> np.ndarray:
    """(n, 2) points of an axis-aligned ellipse."""
    t = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _band(points: np.ndarray, half_thickness: float | np.ndarray) -> np.ndarray:
    """A closed polygon (2N, 2) of a polyline (N, 2) thickened by ``half_thickness`` each side."""
    tangent = np.gradient(points, axis=0)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    offset = normal * np.asarray(half_thickness, dtype=np.float64).reshape(-1, 1)
    return np.concatenate([points + offset, (points - offset)[::-1]])


def _grow(outline: np.ndarray, distance: float | np.ndarray) -> np.ndarray:
    """Move every vertex of a closed star-shaped outline (N, 2) outwards by ``distance``."""
    tangent = np.roll(outline, -1, axis=0) - np.roll(outline, 1, axis=0)
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    if float(np.sum(normal * (outline - outline.mean(axis=0)))) < 0:
        normal = -normal
    return outline + normal * np.asarray(distance, dtype=np.float64).reshape(-1, 1)


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (N, 2) points by a (3, 3) homography."""
    mapped = points @ matrix[:2, :2].T + matrix[:2, 2]
    w = points @ matrix[2, :2] + matrix[2, 2]
    return mapped / w[:, None]


def _box(points: np.ndarray) -> np.ndarray:
    """(4,) bounding box ``x0, y0, x1, y1`` of (N, 2) points."""
    return np.concatenate([points.min(axis=0), points.max(axis=0)])


# --------------------------------------------------------------------------- face geometry


@dataclass
class _Shape:
    points: np.ndarray
    fill: Rgba


class _FaceGeometry:
    """Polygons of a face in draw order (face frame, yaw applied), landmarks and part points."""

    def __init__(self, spec: FaceSpec, yaw: float) -> None:
        self.spec = spec
        angle = math.radians(MAX_YAW_DEGREES * yaw)
        self._cos, self._sin = math.cos(angle), math.sin(angle)
        self._radius = _CYLINDER_SCALE * spec.head_half_width
        self.shapes: list[_Shape] = []
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name in PART_NAMES}
        self._build()
        self.landmarks = self._landmarks()

    def _turn(self, points: np.ndarray, depth: float = 0.0) -> np.ndarray:
        """Apply the yaw to feature points (see the module docstring)."""
        x = points[:, 0]
        z = _FACE_DEPTH * np.sqrt(np.maximum(self._radius**2 - x**2, 0.0)) + depth
        return np.stack([x * self._cos + z * self._sin, points[:, 1]], axis=1)

    def _add(
        self, points: np.ndarray, color: Color, alpha: int = 255, part: str | None = None
    ) -> None:
        self.shapes.append(_Shape(points, (*color, alpha)))
        if part is not None:
            self.parts[part].append(points)

    def _build(self) -> None:
        self._body()
        self._back_hair()
        self._ears()
        self._add(self._head_outline(), self.spec.skin)
        self._cheeks()
        self._nose()
        for side in (-1, 1):
            self._eye(side)
            self._brow(side)
        self._mouth()
        self._front_hair()

    def _head_x(self, y: float) -> float:
        """Half-width of the head outline at height ``y``."""
        s = self.spec
        t = min(abs(y - s.head_center_y) / s.head_half_height, 1.0)
        half = s.head_half_width * math.sqrt(1.0 - t * t)
        return half * (1.0 - s.jaw_taper * t * t) if y > s.head_center_y else half

    def _head_outline(self) -> np.ndarray:
        s = self.spec
        t = np.linspace(0.0, 2.0 * math.pi, 2 * _POLYGON_POINTS, endpoint=False)
        sin = np.sin(t)
        x = s.head_half_width * np.cos(t) * (1.0 - s.jaw_taper * np.maximum(sin, 0.0) ** 2)
        return np.stack([x, s.head_center_y + s.head_half_height * sin], axis=1)

    def _body(self) -> None:
        s = self.spec
        chin = s.head_center_y + s.head_half_height
        shoulder_top = chin + 0.3 * s.head_half_width
        self._add(_ellipse(0.0, shoulder_top + 0.55, 2.4 * s.head_half_width, 0.6), s.shirt)
        neck = 0.5 * s.head_half_width
        column = np.array([[-neck, s.mouth_y], [neck, s.mouth_y], [neck, chin], [-neck, chin]])
        neck_color = _scale_color(s.skin, 0.84)
        self._add(column, neck_color)
        self._add(_ellipse(0.0, chin, neck, shoulder_top - chin + 0.08), neck_color)

    def _back_hair(self) -> None:
        s = self.spec
        if s.hair_style in ("long", "bob"):
            rx = s.head_half_width + s.hair_volume + 0.03
            ry = s.head_half_height + s.hair_volume
            t = np.linspace(math.pi, 2.0 * math.pi, _POLYGON_POINTS)
            top = np.stack([rx * np.cos(t), s.head_center_y + ry * np.sin(t)], axis=1)
            flare = 0.12 if s.hair_style == "long" else -0.02
            bottom = np.array([[rx + flare, s.hair_length_y], [-rx - flare, s.hair_length_y]])
            self._add(np.concatenate([top, bottom]), _scale_color(s.hair_color, 0.82))
        elif s.hair_style == "curly":
            t = np.linspace(0.0, 2.0 * math.pi, 4 * _POLYGON_POINTS, endpoint=False)
            bumps = 1.0 + 0.05 * np.sin(14.0 * t + 2.0 * s.hair_part)
            rx = (s.head_half_width + s.hair_volume) * bumps
            ry = (0.8 * s.head_half_height + s.hair_volume) * bumps
            blob_y = s.head_center_y - 0.15 * s.head_half_height
            blob = np.stack([rx * np.cos(t), blob_y + ry * np.sin(t)], axis=1)
            self._add(blob, _scale_color(s.hair_color, 0.9))

    def _ears(self) -> None:
        s = self.spec
        y = (s.eye_y + s.nose_tip_y) / 2
        depth = _EAR_DEPTH * s.head_half_width
        for side in (-1, 1):
            x = side * (self._head_x(y) - 0.2 * s.ear_half_width)
            outer = _ellipse(x, y, s.ear_half_width, s.ear_half_height)
            inner = _ellipse(
                x + side * 0.15 * s.ear_half_width,
                y,
                0.5 * s.ear_half_width,
                0.6 * s.ear_half_height,
            )
            self._add(self._turn(outer, depth), _scale_color(s.skin, 0.95))
            self._add(self._turn(inner, depth), _scale_color(s.skin, 0.78))

    def _cheeks(self) -> None:
        s = self.spec
        if s.blush == 0:
            return
        y = (s.nose_tip_y + s.mouth_y) / 2
        for side in (-1, 1):
            cheek = _ellipse(side * (s.eye_half_spacing + 0.04), y, 0.1, 0.06)
            self._add(self._turn(cheek), (220, 110, 110), s.blush)

    def _almond(self, xs: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
        """Upper and lower eyelid heights (eye-local y) at eye-local ``xs``."""
        s = self.spec
        half_height = s.eye_openness * s.eye_half_width
        base = 1.0 - (xs / s.eye_half_width) ** 2
        tilt = -s.eye_tilt * side * xs
        return tilt - half_height * base, tilt + 0.75 * half_height * base

    def _clipped_disc(self, radius: float, side: int) -> np.ndarray:
        """A centred disc of ``radius`` clipped to the eye opening (eye-local polygon)."""
        xs = np.linspace(-radius, radius, 25)
        chord = np.sqrt(np.maximum(radius**2 - xs**2, 0.0))
        upper, lower = self._almond(xs, side)
        top, bottom = np.maximum(-chord, upper), np.minimum(chord, lower)
        keep = top < bottom
        xs, top, bottom = xs[keep], top[keep], bottom[keep]
        return np.concatenate([np.stack([xs, top], 1), np.stack([xs, bottom], 1)[::-1]])

    def _eye(self, side: int) -> None:
        s = self.spec
        center = np.array([side * s.eye_half_spacing, s.eye_y])
        part = PART_NAMES[0] if side < 0 else PART_NAMES[1]
        xs = np.linspace(-s.eye_half_width, s.eye_half_width, 25)
        upper, lower = self._almond(xs, side)
        opening = np.concatenate([np.stack([xs, upper], 1), np.stack([xs, lower], 1)[::-1]])
        socket = _ellipse(
            0.0,
            -0.1 * s.eye_half_width,
            1.3 * s.eye_half_width,
            1.1 * s.eye_openness * s.eye_half_width + 0.02,
        )
        self._add(self._turn(socket + center), _scale_color(s.skin, 0.8), 70)
        self._add(self._turn(opening + center), _SCLERA, part=part)
        iris = s.iris_radius * s.eye_half_width
        self._add(self._turn(self._clipped_disc(iris, side) + center), s.iris_color)
        self._add(self._turn(self._clipped_disc(0.45 * iris, side) + center), _PUPIL)
        glint = _ellipse(-0.5 * iris, -0.5 * iris, 0.14 * iris, 0.14 * iris, 12)
        self._add(self._turn(glint + center), (255, 255, 255), 220)
        lid = np.stack([xs * 1.04, upper], 1) + center
        lid_color = _mix(_scale_color(s.skin, 0.3), s.brow_color, 0.5)
        self._add(self._turn(_band(lid, 0.09 * s.eye_half_width)), lid_color)
        lower_lid = np.stack([xs * 0.9, lower * 0.95], 1) + center + [0, 0.01]
        self._add(
            self._turn(_band(lower_lid, 0.03 * s.eye_half_width)), _scale_color(s.skin, 0.7), 110
        )

    def _brow(self, side: int) -> None:
        s = self.spec
        u = np.linspace(0.0, 1.0, 17)
        inner = s.eye_half_spacing - 0.9 * s.eye_half_width
        outer = s.eye_half_spacing + 1.15 * s.eye_half_width
        x = side * (inner + u * (outer - inner))
        y = s.eye_y - s.brow_gap - s.brow_arch * np.sin(math.pi * u**0.8) + 0.3 * s.brow_arch * u
        half_thickness = s.brow_thickness * (1.0 - 0.55 * u)
        self._add(self._turn(_band(np.stack([x, y], 1), half_thickness)), s.brow_color)

    def _nose(self) -> None:
        s = self.spec
        w, tip = s.nose_half_width, s.nose_tip_y
        tip_depth = 0.3 * s.eye_half_spacing
        ridge_y = np.linspace(s.eye_y + 0.03, tip - 0.5 * w, 12)
        ridge_x = 0.3 * w + 0.25 * w * ((ridge_y - ridge_y[0]) / (ridge_y[-1] - ridge_y[0])) ** 2
        ridge = _band(np.stack([ridge_x, ridge_y], 1), 0.1 * w)
        self._add(self._turn(ridge, 0.6 * tip_depth), _scale_color(s.skin, 0.8), 120, "nose")
        wing_color = _scale_color(s.skin, 0.9)
        for side in (-1, 1):
            wing = _ellipse(side * 0.68 * w, tip - 0.1 * w, 0.36 * w, 0.34 * w, 24)
            self._add(self._turn(wing, 0.7 * tip_depth), wing_color, part="nose")
        tip_shape = _ellipse(0.0, tip - 0.2 * w, 0.46 * w, 0.42 * w, 24)
        self._add(self._turn(tip_shape, tip_depth), _scale_color(s.skin, 1.03), part="nose")
        for side in (-1, 1):
            nostril = _ellipse(side * 0.42 * w, tip + 0.1 * w, 0.22 * w, 0.1 * w, 16)
            self._add(self._turn(nostril, 0.8 * tip_depth), _scale_color(s.skin, 0.45))

    def _mouth(self) -> None:
        s = self.spec
        w = s.mouth_half_width
        xs = np.linspace(-w, w, 33)
        line = s.mouth_y - s.smile * (xs / w) ** 2
        base = np.clip(1.0 - (xs / w) ** 2, 0.0, 1.0)
        bow = 1.0 - 0.3 * np.exp(-((xs / (0.2 * w)) ** 2))
        upper_top = line - s.upper_lip * base**0.7 * bow
        lower_bottom = line + s.lower_lip * base**0.6
        chin_shadow = np.stack([xs * 0.6, line + 1.4 * s.lower_lip], 1)
        self._add(
            self._turn(_band(chin_shadow, 0.15 * s.lower_lip)), _scale_color(s.skin, 0.85), 70
        )
        upper = np.concatenate([np.stack([xs, upper_top], 1), np.stack([xs, line], 1)[::-1]])
        lower = np.concatenate([np.stack([xs, line], 1), np.stack([xs, lower_bottom], 1)[::-1]])
        self._add(self._turn(lower), s.lip_color, part="mouth")
        self._add(self._turn(upper), _scale_color(s.lip_color, 0.85), part="mouth")
        self._add(
            self._turn(_band(np.stack([xs, line], 1), 0.06 * s.upper_lip + 0.003)),
            _scale_color(s.lip_color, 0.45),
        )

    def _front_hair(self) -> None:
        s = self.spec
        if s.hair_style == "bald":
            return
        rx, ry = s.head_half_width + s.hair_volume, s.head_half_height + s.hair_volume
        if s.hair_style == "curly":
            rx, ry = s.head_half_width + 0.04, s.head_half_height + 0.04
        side_y = min(s.sideburn_y, s.head_center_y + 0.8 * s.head_half_height)
        start = math.asin(np.clip((side_y - s.head_center_y) / ry, -1.0, 1.0))
        t = np.linspace(math.pi - start, 2.0 * math.pi + start, 2 * _POLYGON_POINTS)
        outer = np.stack([rx * np.cos(t), s.head_center_y + ry * np.sin(t)], axis=1)
        thickness = 0.05 * s.head_half_width
        temple_y = s.hairline_y + 0.06
        side_ys = np.linspace(side_y, temple_y, 10)
        right_side = np.array([[self._head_x(float(y)) - thickness, y] for y in side_ys])
        xs = np.linspace(right_side[-1, 0], -right_side[-1, 0], 33)
        reach = np.abs(xs) / max(right_side[-1, 0], 1e-6)
        hairline = s.hairline_y + 0.06 * reach**4 + s.hair_part * xs
        if s.hair_style == "bangs":
            hairline = hairline + 0.012 * np.sin(xs * 60.0)
        across = np.stack([xs, np.minimum(hairline, temple_y)], axis=1)
        left_side = right_side[::-1] * [-1.0, 1.0]
        color = _mix(s.hair_color, s.skin, 0.45) if s.hair_style == "buzz" else s.hair_color
        self._add(np.concatenate([outer, right_side, across, left_side]), color)

    def _landmarks(self) -> np.ndarray:
        s = self.spec
        eyes = np.array([[-s.eye_half_spacing, s.eye_y], [s.eye_half_spacing, s.eye_y]])
        tip = np.array([[0.0, s.nose_tip_y]])
        corner_y = s.mouth_y - s.smile
        corners = np.array([[-s.mouth_half_width, corner_y], [s.mouth_half_width, corner_y]])
        tip_depth = 0.3 * s.eye_half_spacing
        return np.concatenate([self._turn(eyes), self._turn(tip, tip_depth), self._turn(corners)])


# --------------------------------------------------------------------------- rasterisation


def _to_pil(points: np.ndarray, canvas: int) -> list[tuple[float, float]]:
    """Canonical points → PIL coordinates (PIL puts pixel centres at integers)."""
    pixels = (points + 1.0) * (canvas / 2.0) - 0.5
    return [(float(x), float(y)) for x, y in pixels]


def _downsample(image: np.ndarray) -> np.ndarray:
    """Average 2x2 blocks: (2S, 2S, ...) → (S, S, ...)."""
    total = image[0::2, 0::2] + image[1::2, 0::2] + image[0::2, 1::2] + image[1::2, 1::2]
    return total * np.float32(0.25)


def _canonical_axis(size: int) -> np.ndarray:
    """Canonical coordinates (size,) float32 of the pixel centres along one axis."""
    return ((2.0 * np.arange(size) + 1.0) / size - 1.0).astype(np.float32)


def _background(spec: FaceSpec, canvas: int) -> np.ndarray:
    """(canvas, canvas, 3) uint8 linear gradient between the spec's two background colours."""
    axis = _canonical_axis(canvas)
    along = math.cos(spec.background_angle) * axis[None, :]
    along = along + math.sin(spec.background_angle) * axis[:, None]
    t = np.clip(0.5 + 0.4 * along, 0.0, 1.0)[..., None]
    first, second = (np.asarray(c, dtype=np.float32) for c in spec.background_colors)
    return np.round(first * (1.0 - t) + second * t).astype(np.uint8)


def _check_size(size: int, what: str) -> None:
    if not isinstance(size, int) or size < MIN_SIZE:
        raise InputError(f"{what} size must be an integer of at least {MIN_SIZE}, got {size!r}")


def _check_matrix(matrix: np.ndarray | Tensor, name: str) -> np.ndarray:
    array = np.asarray(matrix.detach().cpu() if isinstance(matrix, Tensor) else matrix)
    if array.shape != (3, 3) or not np.isfinite(array).all():
        raise InputError(f"{name} must be a finite (3, 3) canonical warp, got {array.shape}")
    return array.astype(np.float64)


def _shade(image: np.ndarray) -> np.ndarray:
    """Darken the corners slightly (a soft vignette); (S, S, 3) float32 in [0, 255]."""
    axis = _canonical_axis(image.shape[0])
    radius2 = axis[None, :] ** 2 + axis[:, None] ** 2
    return image * (1.0 - 0.1 * radius2)[..., None]


def fit_glasses_warp(landmarks: np.ndarray | Tensor) -> Tensor:
    """The correct placement of canonical-pose glasses on a face.

    Args:
        landmarks: (N, 2) canonical landmarks whose first two rows are the left and right eye
            centres (e.g. :attr:`FaceRender.landmarks`).

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


def _composite_glasses(image: np.ndarray, glasses: GlassesSpec, warp: np.ndarray) -> np.ndarray:
    """Composite canonical-pose glasses onto a (S, S, 3) uint8 image with ``warp``."""
    size = image.shape[0]
    foreground = glasses_to_tensor(render_glasses(glasses, size))[None]
    background = image_to_tensor(image)[None]
    matrix = torch.from_numpy(warp).to(torch.float32)[None]
    composite, _ = composite_warped(foreground, background, matrix)
    pixels = ((composite[0].permute(1, 2, 0) + 1.0) * 127.5).round().clamp(0, 255)
    return pixels.to(torch.uint8).numpy()


def render_face(
    spec: FaceSpec,
    size: int,
    *,
    yaw: float = 0.0,
    face_pose: np.ndarray | Tensor | None = None,
    glasses: GlassesSpec | None = None,
    glasses_warp: np.ndarray | Tensor | None = None,
) -> FaceRender:
    """Render a face, optionally posed, turned and wearing glasses.

    Args:
        spec: the face.
        size: output side in pixels (>= 16).
        yaw: head turn in [-1, 1] (x MAX_YAW_DEGREES; positive turns towards image right).
        face_pose: optional (3, 3) canonical warp from the face frame into the image (the
            background gradient is not moved); default identity.
        glasses: optional glasses to wear.
        glasses_warp: optional (3, 3) canonical placement of the canonical-pose glasses; default
            :func:`fit_glasses_warp` of the rendered landmarks (glasses worn correctly).

    Returns:
        A :class:`FaceRender`; landmarks and boxes are those of the face (after pose and yaw).

    Raises:
        InputError: for a bad size, yaw or matrix, or a ``glasses_warp`` without ``glasses``.
    """
    _check_size(size, "face")
    if not -1.0 <= yaw <= 1.0:
        raise InputError(f"yaw must be in [-1, 1], got {yaw}")
    if glasses_warp is not None and glasses is None:
        raise InputError("glasses_warp was given without glasses; pass glasses= too")
    pose = np.eye(3) if face_pose is None else _check_matrix(face_pose, "face_pose")
    geometry = _FaceGeometry(spec, yaw)
    canvas = size * SUPERSAMPLING
    image = Image.fromarray(_background(spec, canvas))
    draw = ImageDraw.Draw(image, "RGBA")
    for shape in geometry.shapes:
        draw.polygon(_to_pil(_apply(pose, shape.points), canvas), fill=shape.fill)
    pixels = _shade(_downsample(np.asarray(image, dtype=np.float32)))
    rendered = np.clip(np.round(pixels), 0, 255).astype(np.uint8)
    landmarks = _apply(pose, geometry.landmarks)
    boxes = np.stack(
        [_box(_apply(pose, np.concatenate(geometry.parts[name]))) for name in PART_NAMES]
    )
    if glasses is not None:
        warp = (
            fit_glasses_warp(landmarks).double().numpy()
            if glasses_warp is None
            else _check_matrix(glasses_warp, "glasses_warp")
        )
        rendered = _composite_glasses(rendered, glasses, warp)
    return FaceRender(
        image=rendered,
        landmarks=landmarks.astype(np.float32),
        part_boxes=boxes.astype(np.float32),
        identity=spec.identity,
    )


# --------------------------------------------------------------------------- glasses


_EMPTY, _FRAME, _LENS, _GLINT = 0, 1, 2, 3


def _superellipse(half_width: float, half_height: float, exponent: float) -> np.ndarray:
    t = np.linspace(0.0, 2.0 * math.pi, 2 * _POLYGON_POINTS, endpoint=False)
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
    frame = _grow(outline, _rim_thickness(spec, outline))
    end = eye_x - 0.5 * w
    xs = np.linspace(-end, end, 25)
    bridge_y = eye_y + spec.bridge_y - spec.bridge_arch * (1.0 - (xs / end) ** 2)
    polygons = [(_band(np.stack([xs, bridge_y], 1), spec.bridge_thickness / 2), _FRAME)]
    if spec.style == "aviator":
        bar = np.stack([xs * 1.25, np.full_like(xs, eye_y - 0.8 * h)], 1)
        polygons.append((_band(bar, 0.35 * spec.bridge_thickness), _FRAME))
    temple_y = eye_y - 0.55 * h
    temple_x = np.linspace(eye_x + 0.7 * w, eye_x + w + spec.temple_length, 9)
    stub_half = 0.6 * max(spec.rim_thickness, 0.012)
    for side in (-1.0, 1.0):
        temple = np.stack([side * temple_x, np.full_like(temple_x, temple_y)], 1)
        polygons.append((_band(temple, stub_half), _FRAME))
    mirror = np.array([-1.0, 1.0])
    for side in (mirror, np.ones(2)):
        center = np.array([eye_x, eye_y]) * side
        polygons.append((frame * side + center, _FRAME))
        polygons.append((outline * side + center, _LENS))
        if spec.glint:
            streak = np.array([[0.1 * w, -0.7 * h], [0.45 * w, -0.15 * h]])
            polygons.append((_band(streak, 0.05 * w) * side + center, _GLINT))
    return polygons


def render_glasses(spec: GlassesSpec, size: int) -> np.ndarray:
    """Render glasses in the canonical pose as a (size, size, 4) uint8 RGBA image.

    The frame (rims, bridge, temple stubs) is opaque, the lenses have alpha in
    [MIN_LENS_ALPHA, MAX_LENS_ALPHA] (a white glint streak a little more), everything else 0.
    Colour is the alpha-weighted average colour of each pixel and 0 where alpha is 0.
    """
    _check_size(size, "glasses")
    canvas = size * SUPERSAMPLING
    ids_image = Image.new("L", (canvas, canvas), _EMPTY)
    draw = ImageDraw.Draw(ids_image)
    for points, element in _glasses_polygons(spec):
        draw.polygon(_to_pil(points, canvas), fill=element)
    ids = np.asarray(ids_image)
    rows = _canonical_axis(canvas)[:, None]
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
    premultiplied = _downsample(palette[ids] * alpha[..., None])
    coverage = _downsample(alpha)
    colour = premultiplied / np.maximum(coverage, 1e-6)[..., None]
    rgba = np.concatenate([colour, 255.0 * coverage[..., None]], axis=2)
    return np.clip(np.round(rgba), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- data set


def render_glasses_item(draw: GlassesDraw, size: int) -> dict[str, Tensor]:
    """Render one :class:`GlassesCompositing` item from its random choices, at any size.

    The warps are canonical, so the same draw rendered at a larger size gives the same
    placement problem at higher resolution (ST-GAN composites at high resolution at test time).
    """
    face = render_face(sample_face(draw.face_seed), size, face_pose=draw.face_pose)
    foreground = glasses_to_tensor(render_glasses(sample_glasses(draw.glasses_seed), size))
    target = fit_glasses_warp(face.landmarks)
    perturbation = sl3_to_matrix(torch.from_numpy(draw.init_params)[None])[0]
    init = (target.double() @ perturbation).to(torch.float32)
    real = render_face(
        sample_face(draw.real_face_seed),
        size,
        face_pose=draw.real_face_pose,
        glasses=sample_glasses(draw.real_glasses_seed),
    )
    return {
        "bg": image_to_tensor(face.image),
        "fg": foreground,
        "target": target,
        "init": init,
        "real": image_to_tensor(real.image),
        "landmarks": torch.from_numpy(face.landmarks),
    }


class GlassesCompositing(SeededDataset):
    """ST-GAN glasses data: put canonical-pose glasses on a face (see the ST-GAN data contract).

    Item ``i`` draws all its randomness from ``np.random.default_rng([seed, epoch, i])`` for the
    train split (:meth:`set_epoch` changes it) and from a fixed epoch-independent stream for the
    test split. Train faces and glasses have even seeds, test ones odd, so the splits never share
    a face or a pair of glasses. Each item is a dict of tensors:

    - ``"bg"``: (3, S, S) float32 in [-1, 1], a face without glasses, moved by a random
      similarity of strength ``face_perturbation`` (:func:`sample_face_pose`);
    - ``"fg"``: (4, S, S) float32, glasses in the canonical pose: colour in [-1, 1], alpha [0, 1];
    - ``"target"``: (3, 3) float32, the correct placement (:func:`fit_glasses_warp` of bg's eyes);
    - ``"init"``: (3, 3) float32, ``target @ expm(A(p))`` with p ~ N(0, fg_perturbation^2) in sl(3);
    - ``"real"``: (3, S, S) float32 in [-1, 1], another face (its own random similarity) wearing
      other glasses placed correctly, composited exactly as ST-GAN composites;
    - ``"landmarks"``: (5, 2) float32 canonical eye centres, nose tip and mouth corners of bg.
    """

    def __init__(
        self,
        size: int = 144,
        length: int = 2000,
        split: Split = "train",
        seed: int = 0,
        fg_perturbation: float = 0.1,
        face_perturbation: float = 0.1,
    ) -> None:
        if split not in ("train", "test"):
            raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
        if not isinstance(size, int) or size < MIN_SIZE:
            raise ConfigError(f"image size must be an integer of at least {MIN_SIZE}, got {size!r}")
        if length < 1:
            raise ConfigError(f"data set length must be at least 1, got {length}")
        if fg_perturbation < 0 or face_perturbation < 0:
            raise ConfigError(
                f"perturbation strengths must be >= 0, got fg {fg_perturbation} and face "
                f"{face_perturbation}"
            )
        super().__init__(seed, split)
        self.size = size
        self.length = length
        self.fg_perturbation = fg_perturbation
        self.face_perturbation = face_perturbation

    def __len__(self) -> int:
        return self.length

    def _split_seed(self, rng: np.random.Generator) -> int:
        seed = int(rng.integers(MAX_SEED))
        return seed | 1 if self.split == "test" else seed & ~1

    def draw(self, index: int) -> GlassesDraw:
        """The random choices of item ``index`` (for the current epoch)."""
        rng = self.item_rng(index)
        face_seed = self._split_seed(rng)
        real_face_seed = face_seed
        while real_face_seed == face_seed:
            real_face_seed = self._split_seed(rng)
        return GlassesDraw(
            face_seed=face_seed,
            face_pose=sample_face_pose(rng, self.face_perturbation),
            glasses_seed=self._split_seed(rng),
            init_params=rng.normal(0.0, self.fg_perturbation, size=8),
            real_face_seed=real_face_seed,
            real_face_pose=sample_face_pose(rng, self.face_perturbation),
            real_glasses_seed=self._split_seed(rng),
        )

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return render_glasses_item(self.draw(index), self.size)
