"""Synthetic articulated figures: one figure in two poses on one background (PoseWarp's data).

A figure has the 14 joints and 10 limbs of :mod:`compogan.geometry.pose`. It is drawn as
shaded capsules whose clothing (shirt, sleeves, trousers; plain, striped or dotted, the pattern
fixed to each limb so it moves with it) and skin colours are drawn per figure, with a head that
has hair and a face. It stands on a static textured background that it occludes. Poses come
from three parametric motions (a walk, a wave, a jump) at a random phase, jittered within joint
limits, so a training pair is the same figure on the same background in two poses and the
target frame is ground truth.

>>> from compogan.data.synthetic.figures import sample_figure, sequence_pose, render_figure
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> figure, background = sample_figure(rng), sample_figure_background(rng, 128)
>>> joints = sequence_pose("wave", 0.25, 128)                         # (14, 2) pixels
>>> render_figure(figure, joints, background).shape
(128, 128, 3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from compogan.data.seeded import SeededDataset
from compogan.data.synthetic.drawing import Color, downsample, random_color
from compogan.data.synthetic.objects import sample_background
from compogan.errors import ConfigError
from compogan.geometry.pose import N_JOINTS

SEQUENCES = ("walk", "wave", "jump")
"""The motions poses are drawn from (and the video demos play)."""
PATTERNS = ("plain", "stripes", "dots")
SKIN_TONES: tuple[Color, ...] = ((241, 204, 170), (224, 172, 128), (190, 135, 95), (141, 94, 62))

# Body proportions as fractions of the figure's height H (crown to ankle).
TORSO = 0.30
NECK_TO_CROWN = 0.20
SHOULDER_HALF = 0.10
HIP_HALF = 0.07
UPPER_ARM, FOREARM = 0.16, 0.15
THIGH, SHIN = 0.22, 0.21
LIMB_RADIUS = 0.035
TORSO_RADIUS = 0.085
HEAD_RADIUS = 0.075
FIGURE_HEIGHT = 0.78
"""The figure's height as a fraction of the image side."""

# Joint limits (radians): arms and legs are measured from hanging straight down, outward > 0.
SHOULDER_LIMITS = (-0.4, 2.9)
ELBOW_LIMITS = (0.0, 2.3)
HIP_LIMITS = (-0.5, 1.0)
KNEE_LIMITS = (0.0, 1.9)
JITTER = 0.15
"""Per-angle uniform jitter (radians) added to a sequence pose in training pairs."""


@dataclass(frozen=True)
class FigureSpec:
    """What a figure looks like (drawn once per figure).

    Attributes:
        skin, shirt, trousers, hair: RGB colours.
        pattern: the clothing pattern ("plain", "stripes", "dots").
        pattern_color: the pattern's second colour.
        period: the pattern's period in fractions of H.
        long_sleeves: sleeves cover the forearms too.
        build: a width factor of the limbs and torso (0.85–1.2).
    """

    skin: Color
    shirt: Color
    trousers: Color
    hair: Color
    pattern: str
    pattern_color: Color
    period: float
    long_sleeves: bool
    build: float


def sample_figure(rng: np.random.Generator) -> FigureSpec:
    """A random :class:`FigureSpec`."""
    return FigureSpec(
        skin=SKIN_TONES[int(rng.integers(len(SKIN_TONES)))],
        shirt=random_color(rng),
        trousers=random_color(rng, 30, 180),
        hair=random_color(rng, 10, 120),
        pattern=PATTERNS[int(rng.integers(len(PATTERNS)))],
        pattern_color=random_color(rng),
        period=float(rng.uniform(0.03, 0.06)),
        long_sleeves=bool(rng.random() < 0.5),
        build=float(rng.uniform(0.85, 1.2)),
    )


def sample_figure_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A (size, size, 3) textured background in [0, 1]."""
    return sample_background(rng, size, "texture" if rng.random() < 0.7 else "gradient")


# ---- poses ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Angles:
    """A pose's parameters: pelvis position (fractions of the image side), lean of the torso and
    head, and per side the shoulder, elbow, hip and knee angles (radians)."""

    pelvis: tuple[float, float]
    lean: float
    head: float
    shoulders: tuple[float, float]
    elbows: tuple[float, float]
    hips: tuple[float, float]
    knees: tuple[float, float]

    def clipped(self) -> Angles:
        """The angles within the joint limits."""

        def clip(pair: tuple[float, float], limits: tuple[float, float]) -> tuple[float, float]:
            return (float(np.clip(pair[0], *limits)), float(np.clip(pair[1], *limits)))

        return Angles(
            self.pelvis,
            float(np.clip(self.lean, -0.3, 0.3)),
            float(np.clip(self.head, -0.4, 0.4)),
            clip(self.shoulders, SHOULDER_LIMITS),
            clip(self.elbows, ELBOW_LIMITS),
            clip(self.hips, HIP_LIMITS),
            clip(self.knees, KNEE_LIMITS),
        )


def sequence_angles(name: str, phase: float) -> Angles:
    """The pose of motion ``name`` ("walk", "wave", "jump") at ``phase`` in [0, 1).

    Raises:
        ConfigError: an unknown motion.
    """
    s, c = math.sin(2 * math.pi * phase), math.cos(2 * math.pi * phase)
    if name == "walk":
        return Angles(
            pelvis=(0.35 + 0.3 * phase, 0.55 - 0.01 * abs(c)),
            lean=0.04,
            head=0.0,
            shoulders=(0.15 - 0.35 * s, 0.15 + 0.35 * s),
            elbows=(0.3 + 0.2 * max(0.0, s), 0.3 + 0.2 * max(0.0, -s)),
            hips=(0.1 + 0.35 * s, 0.1 - 0.35 * s),
            knees=(0.7 * max(0.0, -s), 0.7 * max(0.0, s)),
        )
    if name == "wave":
        wave = 0.5 + 0.5 * math.sin(2 * math.pi * 2 * phase)
        return Angles(
            pelvis=(0.5, 0.55),
            lean=-0.05 * wave,
            head=0.1 * s,
            shoulders=(2.3 + 0.2 * wave, 0.2),
            elbows=(0.3 + 0.8 * wave, 0.2),
            hips=(0.15, 0.15),
            knees=(0.05, 0.05),
        )
    if name == "jump":
        air = math.sin(math.pi * phase)
        crouch = 1.0 - air
        return Angles(
            pelvis=(0.5, 0.57 - 0.12 * air + 0.04 * crouch),
            lean=0.0,
            head=0.0,
            shoulders=(0.3 + 2.2 * air, 0.3 + 2.2 * air),
            elbows=(0.6 * crouch, 0.6 * crouch),
            hips=(0.15 + 0.35 * air, 0.15 + 0.35 * air),
            knees=(1.1 * crouch, 1.1 * crouch),
        )
    raise ConfigError(f"unknown pose sequence {name!r}; use one of {', '.join(SEQUENCES)}")


def angles_to_joints(angles: Angles, size: int, build: float = 1.0) -> np.ndarray:
    """The 14 joints (14, 2) in pixels of a ``size`` image for ``angles``."""
    height = FIGURE_HEIGHT * size
    pelvis = np.array(angles.pelvis) * size
    up = np.array([math.sin(angles.lean), -math.cos(angles.lean)])
    across = np.array([-up[1], up[0]])  # image-right of the torso axis
    neck = pelvis + TORSO * height * up
    head_dir = np.array([math.sin(angles.lean + angles.head), -math.cos(angles.lean + angles.head)])
    crown = neck + NECK_TO_CROWN * height * head_dir
    joints = np.zeros((N_JOINTS, 2))
    joints[0], joints[1] = crown, neck
    # The figure faces the viewer: its right side is on the image's left (-across).
    for side, sign, (shoulder_i, elbow_i, wrist_i, hip_i, knee_i, ankle_i) in (
        (0, -1.0, (2, 3, 4, 8, 9, 10)),
        (1, 1.0, (5, 6, 7, 11, 12, 13)),
    ):
        shoulder = neck + sign * SHOULDER_HALF * build * height * across
        hip = pelvis + sign * HIP_HALF * build * height * across
        down = -up

        def direction(angle: float, sign: float = sign, down: np.ndarray = down) -> np.ndarray:
            return math.cos(angle) * down + sign * math.sin(angle) * across

        upper = angles.shoulders[side]
        elbow = shoulder + UPPER_ARM * height * direction(upper)
        wrist = elbow + FOREARM * height * direction(upper + angles.elbows[side])
        thigh = angles.hips[side]
        knee = hip + THIGH * height * direction(thigh)
        ankle = knee + SHIN * height * direction(thigh - angles.knees[side])
        joints[[shoulder_i, elbow_i, wrist_i, hip_i, knee_i, ankle_i]] = (
            shoulder,
            elbow,
            wrist,
            hip,
            knee,
            ankle,
        )
    return joints


def sequence_pose(name: str, phase: float, size: int, build: float = 1.0) -> np.ndarray:
    """Joints (14, 2) in pixels of motion ``name`` at ``phase``, for a ``size`` image."""
    return angles_to_joints(sequence_angles(name, phase).clipped(), size, build)


def sequence_poses(name: str, frames: int, size: int) -> np.ndarray:
    """(frames, 14, 2) joints of one cycle of motion ``name``."""
    return np.stack([sequence_pose(name, k / frames, size) for k in range(frames)])


def jittered_angles(angles: Angles, rng: np.random.Generator) -> Angles:
    """``angles`` with uniform ±:data:`JITTER` on every joint angle, within the limits."""

    def pair(values: tuple[float, float]) -> tuple[float, float]:
        a, b = rng.uniform(-JITTER, JITTER, 2)
        return (values[0] + float(a), values[1] + float(b))

    return Angles(
        angles.pelvis,
        angles.lean + float(rng.uniform(-JITTER, JITTER)) / 2,
        angles.head + float(rng.uniform(-JITTER, JITTER)),
        pair(angles.shoulders),
        pair(angles.elbows),
        pair(angles.hips),
        pair(angles.knees),
    ).clipped()


# ---- rendering -----------------------------------------------------------------------------------
def _capsule(
    xx: np.ndarray, yy: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coverage (in {0, 1}), the position along the axis (pixels from ``a``) and the signed
    distance across it (in radii) of every pixel for a capsule from ``a`` to ``b``."""
    axis = b - a
    length = max(float(np.hypot(*axis)), 1e-6)
    unit = axis / length
    dx, dy = xx - a[0], yy - a[1]
    along = dx * unit[0] + dy * unit[1]
    across = (-dx * unit[1] + dy * unit[0]) / radius
    t = np.clip(along, 0, length)
    distance = np.hypot(dx - t * unit[0], dy - t * unit[1])
    return distance <= radius, along, across


def _cloth(
    spec: FigureSpec, base: Color, along: np.ndarray, across: np.ndarray, height: float
) -> np.ndarray:
    """(h, w, 3) clothing colour in [0, 1] with the figure's pattern in limb coordinates."""
    colour = np.broadcast_to(np.array(base, np.float32) / 255, (*along.shape, 3)).copy()
    period = spec.period * height
    if spec.pattern == "stripes":
        on = np.sin(2 * np.pi * along / period) > 0.3
    elif spec.pattern == "dots":
        on = np.cos(2 * np.pi * along / period) * np.cos(2.5 * across) > 0.6
    else:
        return colour
    colour[on] = np.array(spec.pattern_color, np.float32) / 255
    return colour


def _paint(canvas: np.ndarray, inside: np.ndarray, colour: np.ndarray, across: np.ndarray) -> None:
    """Paint ``colour`` where ``inside``, shaded like a cylinder lit from the upper left."""
    shading = 0.72 + 0.28 * np.sqrt(np.clip(1 - across**2, 0, 1)) - 0.08 * np.clip(across, -1, 1)
    canvas[inside] = np.clip(colour[inside] * shading[inside, None], 0, 1)


def render_figure(
    spec: FigureSpec, joints: np.ndarray, background: np.ndarray, supersample: int = 2
) -> np.ndarray:
    """The figure in pose ``joints`` (14, 2) over ``background`` (S, S, 3) in [0, 1].

    Returns:
        (S, S, 3) uint8.
    """
    size = background.shape[0]
    scale = supersample
    side = size * scale
    canvas = np.repeat(np.repeat(background, scale, axis=0), scale, axis=1).astype(np.float32)
    coords = (np.arange(side, dtype=np.float32) + 0.5) / scale - 0.5
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    height = FIGURE_HEIGHT * size
    radius = LIMB_RADIUS * spec.build * height
    j = joints.astype(np.float32)
    skin = np.array(spec.skin, np.float32) / 255

    def limb(a: int | np.ndarray, b: int | np.ndarray, base: Color | None, r: float) -> None:
        pa = j[a] if isinstance(a, int) else a
        pb = j[b] if isinstance(b, int) else b
        inside, along, across = _capsule(xx, yy, pa, pb, r)
        colour = (
            np.broadcast_to(skin, (*along.shape, 3)).copy()
            if base is None
            else _cloth(spec, base, along, across, height)
        )
        _paint(canvas, inside, colour, across)

    for hip, knee, ankle in ((8, 9, 10), (11, 12, 13)):
        limb(hip, knee, spec.trousers, radius * 1.15)
        limb(knee, ankle, spec.trousers, radius)
    shoulders = (j[2] + j[5]) / 2
    hips = (j[8] + j[11]) / 2
    limb(shoulders, hips, spec.shirt, TORSO_RADIUS * spec.build * height)
    limb(2, 5, spec.shirt, radius * 1.2)
    limb(8, 11, spec.trousers, radius * 1.3)
    for shoulder, elbow, wrist in ((2, 3, 4), (5, 6, 7)):
        limb(shoulder, elbow, spec.shirt, radius)
        limb(elbow, wrist, spec.shirt if spec.long_sleeves else None, radius * 0.85)
    _draw_head(canvas, xx, yy, spec, j[1], j[0], HEAD_RADIUS * height)
    image = canvas
    while scale > 1:
        image = downsample(image)
        scale //= 2
    return np.clip(np.round(image * 255), 0, 255).astype(np.uint8)


def _draw_head(
    canvas: np.ndarray,
    xx: np.ndarray,
    yy: np.ndarray,
    spec: FigureSpec,
    neck: np.ndarray,
    crown: np.ndarray,
    radius: float,
) -> None:
    """A neck, a round head under hair with two eyes and a mouth, facing the viewer."""
    axis = crown - neck
    unit = axis / max(float(np.hypot(*axis)), 1e-6)
    centre = crown - unit * radius
    skin = np.array(spec.skin, np.float32) / 255
    inside, _, across = _capsule(xx, yy, neck, centre, radius * 0.45)
    _paint(canvas, inside, np.broadcast_to(skin, (*xx.shape, 3)).copy(), across)
    dx, dy = xx - centre[0], yy - centre[1]
    up = dx * unit[0] + dy * unit[1]  # towards the crown
    right = dx * -unit[1] + dy * unit[0]  # image-right when upright
    head = dx**2 + dy**2 <= radius**2
    colour = np.broadcast_to(skin, (*xx.shape, 3)).copy()
    hair = head & (up > radius * 0.35)
    colour[hair] = np.array(spec.hair, np.float32) / 255
    for side in (-1, 1):
        eye = (right - side * 0.38 * radius) ** 2 + (up - 0.08 * radius) ** 2 <= (
            0.13 * radius
        ) ** 2
        colour[eye] = (0.1, 0.08, 0.08)
    mouth = (np.abs(right) < 0.3 * radius) & (np.abs(up + 0.45 * radius) < 0.06 * radius)
    colour[mouth] = (0.55, 0.2, 0.2)
    _paint(canvas, head, colour, right / radius)


def with_visibility(joints: np.ndarray) -> torch.Tensor:
    """(14, 2) pixel joints → (14, 3) float32 ``[x, y, 1]`` (every joint of a figure shows)."""
    pose = np.concatenate([joints, np.ones((N_JOINTS, 1))], axis=1)
    return torch.from_numpy(pose.astype(np.float32))


def to_signed_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 → (3, H, W) float32 in [-1, 1]."""
    return torch.from_numpy(image).permute(2, 0, 1).float() / 127.5 - 1


class SyntheticFigures(SeededDataset):
    """Pairs of one synthetic figure in two poses on one background.

    Item: ``source``, ``target`` (3, S, S) in [-1, 1]; ``source_pose``, ``target_pose``
    (14, 3) ``[x, y, visible]`` in pixels. Both poses come from one motion of ``sequences`` at
    two phases at least 0.15 of a cycle apart, each jittered.

    Args:
        size: S.
        length: items.
        sequences: the motions to draw from.
        seed: dataset seed; split: "train" (new draws every epoch) or "test" (fixed).
    """

    def __init__(
        self,
        size: int,
        length: int,
        sequences: list[str] | tuple[str, ...] = SEQUENCES,
        seed: int = 0,
        split: str = "train",
    ) -> None:
        super().__init__(seed if split == "train" else seed + 1, split)
        unknown = [name for name in sequences if name not in SEQUENCES]
        if unknown or not sequences:
            raise ConfigError(f"data.sequences must name some of {', '.join(SEQUENCES)}")
        self.size, self.length, self.sequences = size, length, tuple(sequences)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = self.item_rng(index)
        spec = sample_figure(rng)
        background = sample_figure_background(rng, self.size)
        motion = self.sequences[int(rng.integers(len(self.sequences)))]
        first = float(rng.random())
        second = (first + rng.uniform(0.15, 0.85)) % 1.0
        offset = rng.uniform(-0.08, 0.08, 2)
        item: dict[str, torch.Tensor] = {}
        for key, phase in (("source", first), ("target", second)):
            angles = jittered_angles(sequence_angles(motion, phase), rng)
            pelvis = (angles.pelvis[0] + offset[0], angles.pelvis[1] + offset[1] / 2)
            angles = Angles(pelvis, *(getattr(angles, f) for f in _ANGLE_FIELDS))
            joints = angles_to_joints(angles, self.size, spec.build)
            item[key] = to_signed_tensor(render_figure(spec, joints, background))
            item[f"{key}_pose"] = with_visibility(joints)
        return item


_ANGLE_FIELDS = ("lean", "head", "shoulders", "elbows", "hips", "knees")


def figures_dataset(data_config: Any, split: str, seed: int) -> SyntheticFigures:
    """The "figures" pose-pair dataset of a PoseWarp data config."""
    length = data_config.split_length(split)
    return SyntheticFigures(data_config.size, length, data_config.sequences, seed, split)


def motion_like(joints: np.ndarray, motion: str, frames: int) -> np.ndarray:
    """One cycle of ``motion`` for the person of ``joints`` (14, 2+): the synthetic poses
    scaled to the person's height (head top to the ankles' middle) and moved so their hips'
    middle starts at the person's.

    Returns:
        (frames, 14, 2) pixel joints.

    Raises:
        ConfigError: an unknown motion, or fewer than one frame.
    """
    if frames < 1:
        raise ConfigError(f"a motion needs at least one frame, got {frames}")
    poses = sequence_poses(motion, frames, 256)

    def height(pose: np.ndarray) -> float:
        return float(np.hypot(*(pose[0, :2] - (pose[10, :2] + pose[13, :2]) / 2)))

    def hips(pose: np.ndarray) -> np.ndarray:
        return (pose[8, :2] + pose[11, :2]) / 2

    scale = height(joints) / max(height(poses[0]), 1e-6)
    return (poses - hips(poses[0])) * scale + hips(joints)
