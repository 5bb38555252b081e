"""Procedural frontal faces with landmarks, part boxes and identities (no glasses).

A :class:`FaceSpec` (drawn by :func:`sample_face` from a seed, which is also the face's
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
  put, and the far ear slips behind the head.

A render returns the image, five landmarks (eye centres, nose tip, mouth corners: see
:data:`LANDMARK_NAMES`) and four part boxes (:data:`PART_NAMES`), all in image-canonical
coordinates, so the faces serve TP-GAN / KeyPatchGAN style models as well as ST-GAN.
:data:`CANONICAL_LEFT_EYE` / :data:`CANONICAL_RIGHT_EYE` are the eye positions of the canonical
pose that :mod:`compogan.data.synthetic.glasses` draws glasses in and aligns to a face's eyes
(:func:`compogan.data.synthetic.glasses.render_face_with_glasses` renders a face wearing them).
"""

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image
from torch import Tensor

from compogan.data.synthetic.drawing import (
    POLYGON_POINTS,
    SUPERSAMPLING,
    Color,
    Shape,
    apply_homography,
    band,
    bounding_box,
    check_matrix,
    check_size,
    downsample,
    draw_shapes,
    ellipse,
    jitter_color,
    linear_gradient,
    mix_colors,
    pick_color,
    random_color,
    scale_color,
    shade,
)
from compogan.errors import InputError

HairStyle = Literal["bald", "buzz", "short", "bangs", "bob", "long", "curly"]

HAIR_STYLES: tuple[HairStyle, ...] = ("bald", "buzz", "short", "bangs", "bob", "long", "curly")
CANONICAL_LEFT_EYE = (-0.32, -0.12)
CANONICAL_RIGHT_EYE = (0.32, -0.12)
LANDMARK_NAMES = ("left_eye", "right_eye", "nose_tip", "mouth_left", "mouth_right")
PART_NAMES = ("left_eye", "right_eye", "nose", "mouth")
MAX_YAW_DEGREES = 30.0

_FACE_DEPTH = 0.75
_CYLINDER_SCALE = 1.05
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


# --------------------------------------------------------------------------- sampling


def _skin_tone(rng: np.random.Generator) -> Color:
    """A skin colour interpolated along :data:`_SKIN_TONES`, lightly jittered."""
    position = float(rng.uniform(0.0, len(_SKIN_TONES) - 1))
    low = int(position)
    high = min(low + 1, len(_SKIN_TONES) - 1)
    return jitter_color(rng, mix_colors(_SKIN_TONES[low], _SKIN_TONES[high], position - low), 6)


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
        color=pick_color(rng, _HAIR_COLORS, 12),
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
        background_colors=(random_color(rng), random_color(rng)),
        background_angle=float(rng.uniform(0.0, 2.0 * math.pi)),
        skin=skin,
        shirt=pick_color(rng, _SHIRT_COLORS, 25),
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
        iris_color=pick_color(rng, _IRIS_COLORS, 12),
        iris_radius=float(rng.uniform(0.38, 0.46)),
        brow_color=mix_colors(hair.color, (20, 16, 14), float(rng.uniform(0.2, 0.6))),
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
        lip_color=mix_colors(skin, _LIP_RED, float(rng.uniform(0.3, 0.6))),
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


# --------------------------------------------------------------------------- face geometry


class _FaceGeometry:
    """Landmarks (5, 2), polygons in draw order and part points of a face (face frame, yaw applied).

    The landmarks are computed on construction; :meth:`build` adds the polygons and part points.
    """

    def __init__(self, spec: FaceSpec, yaw: float) -> None:
        self.spec = spec
        angle = math.radians(MAX_YAW_DEGREES * yaw)
        self._cos, self._sin = math.cos(angle), math.sin(angle)
        self._radius = _CYLINDER_SCALE * spec.head_half_width
        self.shapes: list[Shape] = []
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name in PART_NAMES}
        self.landmarks = self._landmarks()

    def _turn(self, points: np.ndarray, depth: float = 0.0) -> np.ndarray:
        """Apply the yaw to feature points (see the module docstring)."""
        x = points[:, 0]
        z = _FACE_DEPTH * np.sqrt(np.maximum(self._radius**2 - x**2, 0.0)) + depth
        return np.stack([x * self._cos + z * self._sin, points[:, 1]], axis=1)

    def _add(
        self, points: np.ndarray, color: Color, alpha: int = 255, part: str | None = None
    ) -> None:
        self.shapes.append(Shape(points, (*color, alpha)))
        if part is not None:
            self.parts[part].append(points)

    def build(self) -> None:
        """Fill :attr:`shapes` (back to front) and :attr:`parts` (points per part box)."""
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
        t = np.linspace(0.0, 2.0 * math.pi, 2 * POLYGON_POINTS, endpoint=False)
        sin = np.sin(t)
        x = s.head_half_width * np.cos(t) * (1.0 - s.jaw_taper * np.maximum(sin, 0.0) ** 2)
        return np.stack([x, s.head_center_y + s.head_half_height * sin], axis=1)

    def _body(self) -> None:
        s = self.spec
        chin = s.head_center_y + s.head_half_height
        shoulder_top = chin + 0.3 * s.head_half_width
        self._add(ellipse(0.0, shoulder_top + 0.55, 2.4 * s.head_half_width, 0.6), s.shirt)
        neck = 0.5 * s.head_half_width
        column = np.array([[-neck, s.mouth_y], [neck, s.mouth_y], [neck, chin], [-neck, chin]])
        neck_color = scale_color(s.skin, 0.84)
        self._add(column, neck_color)
        self._add(ellipse(0.0, chin, neck, shoulder_top - chin + 0.08), neck_color)

    def _back_hair(self) -> None:
        s = self.spec
        if s.hair_style in ("long", "bob"):
            rx = s.head_half_width + s.hair_volume + 0.03
            ry = s.head_half_height + s.hair_volume
            t = np.linspace(math.pi, 2.0 * math.pi, POLYGON_POINTS)
            top = np.stack([rx * np.cos(t), s.head_center_y + ry * np.sin(t)], axis=1)
            flare = 0.12 if s.hair_style == "long" else -0.02
            bottom = np.array([[rx + flare, s.hair_length_y], [-rx - flare, s.hair_length_y]])
            self._add(np.concatenate([top, bottom]), scale_color(s.hair_color, 0.82))
        elif s.hair_style == "curly":
            t = np.linspace(0.0, 2.0 * math.pi, 4 * POLYGON_POINTS, endpoint=False)
            bumps = 1.0 + 0.05 * np.sin(14.0 * t + 2.0 * s.hair_part)
            rx = (s.head_half_width + s.hair_volume) * bumps
            ry = (0.8 * s.head_half_height + s.hair_volume) * bumps
            blob_y = s.head_center_y - 0.15 * s.head_half_height
            blob = np.stack([rx * np.cos(t), blob_y + ry * np.sin(t)], axis=1)
            self._add(blob, scale_color(s.hair_color, 0.9))

    def _ears(self) -> None:
        s = self.spec
        y = (s.eye_y + s.nose_tip_y) / 2
        depth = _EAR_DEPTH * s.head_half_width
        for side in (-1, 1):
            x = side * (self._head_x(y) - 0.2 * s.ear_half_width)
            outer = ellipse(x, y, s.ear_half_width, s.ear_half_height)
            inner = ellipse(
                x + side * 0.15 * s.ear_half_width,
                y,
                0.5 * s.ear_half_width,
                0.6 * s.ear_half_height,
            )
            self._add(self._turn(outer, depth), scale_color(s.skin, 0.95))
            self._add(self._turn(inner, depth), scale_color(s.skin, 0.78))

    def _cheeks(self) -> None:
        s = self.spec
        if s.blush == 0:
            return
        y = (s.nose_tip_y + s.mouth_y) / 2
        for side in (-1, 1):
            cheek = ellipse(side * (s.eye_half_spacing + 0.04), y, 0.1, 0.06)
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
        socket = ellipse(
            0.0,
            -0.1 * s.eye_half_width,
            1.3 * s.eye_half_width,
            1.1 * s.eye_openness * s.eye_half_width + 0.02,
        )
        self._add(self._turn(socket + center), scale_color(s.skin, 0.8), 70)
        self._add(self._turn(opening + center), _SCLERA, part=part)
        iris = s.iris_radius * s.eye_half_width
        self._add(self._turn(self._clipped_disc(iris, side) + center), s.iris_color)
        self._add(self._turn(self._clipped_disc(0.45 * iris, side) + center), _PUPIL)
        glint = ellipse(-0.5 * iris, -0.5 * iris, 0.14 * iris, 0.14 * iris, 12)
        self._add(self._turn(glint + center), (255, 255, 255), 220)
        lid = np.stack([xs * 1.04, upper], 1) + center
        lid_color = mix_colors(scale_color(s.skin, 0.3), s.brow_color, 0.5)
        self._add(self._turn(band(lid, 0.09 * s.eye_half_width)), lid_color)
        lower_lid = np.stack([xs * 0.9, lower * 0.95], 1) + center + [0, 0.01]
        self._add(
            self._turn(band(lower_lid, 0.03 * s.eye_half_width)), scale_color(s.skin, 0.7), 110
        )

    def _brow(self, side: int) -> None:
        s = self.spec
        u = np.linspace(0.0, 1.0, 17)
        inner = s.eye_half_spacing - 0.9 * s.eye_half_width
        outer = s.eye_half_spacing + 1.15 * s.eye_half_width
        x = side * (inner + u * (outer - inner))
        y = s.eye_y - s.brow_gap - s.brow_arch * np.sin(math.pi * u**0.8) + 0.3 * s.brow_arch * u
        half_thickness = s.brow_thickness * (1.0 - 0.55 * u)
        self._add(self._turn(band(np.stack([x, y], 1), half_thickness)), s.brow_color)

    def _nose(self) -> None:
        s = self.spec
        w, tip = s.nose_half_width, s.nose_tip_y
        tip_depth = 0.3 * s.eye_half_spacing
        ridge_y = np.linspace(s.eye_y + 0.03, tip - 0.5 * w, 12)
        ridge_x = 0.3 * w + 0.25 * w * ((ridge_y - ridge_y[0]) / (ridge_y[-1] - ridge_y[0])) ** 2
        ridge = band(np.stack([ridge_x, ridge_y], 1), 0.1 * w)
        self._add(self._turn(ridge, 0.6 * tip_depth), scale_color(s.skin, 0.8), 120, "nose")
        wing_color = scale_color(s.skin, 0.9)
        for side in (-1, 1):
            wing = ellipse(side * 0.68 * w, tip - 0.1 * w, 0.36 * w, 0.34 * w, 24)
            self._add(self._turn(wing, 0.7 * tip_depth), wing_color, part="nose")
        tip_shape = ellipse(0.0, tip - 0.2 * w, 0.46 * w, 0.42 * w, 24)
        self._add(self._turn(tip_shape, tip_depth), scale_color(s.skin, 1.03), part="nose")
        for side in (-1, 1):
            nostril = ellipse(side * 0.42 * w, tip + 0.1 * w, 0.22 * w, 0.1 * w, 16)
            self._add(self._turn(nostril, 0.8 * tip_depth), scale_color(s.skin, 0.45))

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
        self._add(self._turn(band(chin_shadow, 0.15 * s.lower_lip)), scale_color(s.skin, 0.85), 70)
        upper = np.concatenate([np.stack([xs, upper_top], 1), np.stack([xs, line], 1)[::-1]])
        lower = np.concatenate([np.stack([xs, line], 1), np.stack([xs, lower_bottom], 1)[::-1]])
        self._add(self._turn(lower), s.lip_color, part="mouth")
        self._add(self._turn(upper), scale_color(s.lip_color, 0.85), part="mouth")
        self._add(
            self._turn(band(np.stack([xs, line], 1), 0.06 * s.upper_lip + 0.003)),
            scale_color(s.lip_color, 0.45),
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
        t = np.linspace(math.pi - start, 2.0 * math.pi + start, 2 * POLYGON_POINTS)
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
        color = mix_colors(s.hair_color, s.skin, 0.45) if s.hair_style == "buzz" else s.hair_color
        self._add(np.concatenate([outer, right_side, across, left_side]), color)

    def _landmarks(self) -> np.ndarray:
        s = self.spec
        eyes = np.array([[-s.eye_half_spacing, s.eye_y], [s.eye_half_spacing, s.eye_y]])
        tip = np.array([[0.0, s.nose_tip_y]])
        corner_y = s.mouth_y - s.smile
        corners = np.array([[-s.mouth_half_width, corner_y], [s.mouth_half_width, corner_y]])
        tip_depth = 0.3 * s.eye_half_spacing
        return np.concatenate([self._turn(eyes), self._turn(tip, tip_depth), self._turn(corners)])


def _checked_pose(yaw: float, face_pose: np.ndarray | Tensor | None) -> np.ndarray:
    """The (3, 3) float64 face pose (identity for None); InputError for a bad yaw or pose."""
    if not -1.0 <= yaw <= 1.0:
        raise InputError(f"yaw must be in [-1, 1], got {yaw}")
    return np.eye(3) if face_pose is None else check_matrix(face_pose, "face_pose")


def face_landmarks(
    spec: FaceSpec, *, yaw: float = 0.0, face_pose: np.ndarray | Tensor | None = None
) -> np.ndarray:
    """The landmarks :func:`render_face` gives for these arguments, without rendering.

    Returns:
        (5, 2) float64 canonical (x, y) of :data:`LANDMARK_NAMES` (a render stores them rounded
        to float32).

    Raises:
        InputError: for a bad yaw or matrix.
    """
    pose = _checked_pose(yaw, face_pose)
    return apply_homography(pose, _FaceGeometry(spec, yaw).landmarks)


def render_face(
    spec: FaceSpec,
    size: int,
    *,
    yaw: float = 0.0,
    face_pose: np.ndarray | Tensor | None = None,
) -> FaceRender:
    """Render a face, optionally posed and turned.

    Args:
        spec: the face.
        size: output side in pixels (>= 16).
        yaw: head turn in [-1, 1] (x MAX_YAW_DEGREES; positive turns towards image right).
        face_pose: optional (3, 3) canonical warp from the face frame into the image (the
            background gradient is not moved); default identity.

    Returns:
        A :class:`FaceRender`: a (size, size, 3) uint8 image; landmarks and boxes are those of
        the face (after pose and yaw).

    Raises:
        InputError: for a bad size, yaw or matrix.
    """
    check_size(size, "face")
    pose = _checked_pose(yaw, face_pose)
    geometry = _FaceGeometry(spec, yaw)
    geometry.build()
    canvas = size * SUPERSAMPLING
    background = linear_gradient(spec.background_colors, spec.background_angle, canvas)
    image = Image.fromarray(background)
    draw_shapes(image, geometry.shapes, pose)
    pixels = shade(downsample(np.asarray(image, dtype=np.float32)))
    rendered = np.clip(np.round(pixels), 0, 255).astype(np.uint8)
    landmarks = apply_homography(pose, geometry.landmarks)
    parts = (np.concatenate(geometry.parts[name]) for name in PART_NAMES)
    boxes = np.stack([bounding_box(apply_homography(pose, points)) for points in parts])
    return FaceRender(
        image=rendered,
        landmarks=landmarks.astype(np.float32),
        part_boxes=boxes.astype(np.float32),
        identity=spec.identity,
    )
