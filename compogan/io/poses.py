"""Pose files: the 14 joints of one person in one image (or a sequence of poses), as JSON.

One pose::

    {"image_size": [640, 480],
     "joints": {"head": [312, 40], "neck": [310, 92, 1], ..., "left_ankle": [350, 430, 0]}}

``image_size`` is [width, height] of the image the pose belongs to; ``joints`` names all 14
joints of :data:`compogan.geometry.pose.JOINT_NAMES` with [x, y] pixel coordinates (pixel
centres at integers, (0, 0) the top-left pixel's centre) and an optional visibility flag
(1 shown, 0 hidden; default 1). ``joints`` may also be a list of 14 [x, y(, v)] in that order.
A sequence is ``{"image_size": [w, h], "poses": [<joints>, <joints>, ...]}``.

Every reader checks what it reads and raises :class:`~compogan.errors.InputError` with one
line: a wrong joint count or unknown names, NaN or infinite coordinates, a joint far outside the
image (more than :data:`OUTSIDE_MARGIN` of the image's side beyond its border), a pose made for
another image size, an empty sequence.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from compogan.errors import InputError
from compogan.geometry.pose import JOINT_NAMES, N_JOINTS
from compogan.io.atomic import atomic_write_text

OUTSIDE_MARGIN = 0.25
"""A joint may lie at most this fraction of the image's side outside the image."""


@dataclass(frozen=True)
class Pose:
    """One pose: ``joints`` (14, 3) float64 ``[x, y, visible]`` in pixels of an image of
    ``image_size`` (width, height)."""

    joints: np.ndarray
    image_size: tuple[int, int]

    def to_json(self) -> dict[str, Any]:
        """The pose file's content."""
        return {
            "image_size": list(self.image_size),
            "joints": {
                name: [round(float(x), 3), round(float(y), 3), int(v > 0)]
                for name, (x, y, v) in zip(JOINT_NAMES, self.joints, strict=True)
            },
        }


def _image_size(value: Any, where: str) -> tuple[int, int]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        raise InputError(f"{where}: image_size must be [width, height] in pixels, got {value!r}")
    return int(value[0]), int(value[1])


def _joint(value: Any, name: str, where: str) -> list[float]:
    if not isinstance(value, list | tuple) or len(value) not in (2, 3):
        raise InputError(
            f"{where}: joint '{name}' must be [x, y] or [x, y, visible], got {value!r}"
        )
    try:
        numbers = [float(v) for v in value]
    except (TypeError, ValueError):
        raise InputError(f"{where}: joint '{name}' holds a value that is not a number") from None
    if not all(math.isfinite(v) for v in numbers):
        raise InputError(f"{where}: joint '{name}' has a NaN or infinite coordinate")
    return numbers if len(numbers) == 3 else [*numbers, 1.0]


def parse_joints(value: Any, image_size: tuple[int, int], where: str) -> np.ndarray:
    """A ``joints`` entry (names → [x, y(, v)], or a list of 14) as checked (14, 3) float64.

    Raises:
        InputError: wrong count, unknown or missing names, non-numbers, NaN, far outside.
    """
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(JOINT_NAMES))
        missing = [name for name in JOINT_NAMES if name not in value]
        if unknown or missing:
            problem = f"unknown joint '{unknown[0]}'" if unknown else f"no joint '{missing[0]}'"
            raise InputError(
                f"{where}: {problem}; a pose has the {N_JOINTS} joints {', '.join(JOINT_NAMES)}"
            )
        rows = [_joint(value[name], name, where) for name in JOINT_NAMES]
    elif isinstance(value, list):
        if len(value) != N_JOINTS:
            raise InputError(f"{where}: a pose has {N_JOINTS} joints, this one has {len(value)}")
        rows = [_joint(v, name, where) for v, name in zip(value, JOINT_NAMES, strict=True)]
    else:
        raise InputError(
            f"{where}: joints must be an object of named joints or a list of {N_JOINTS}"
        )
    joints = np.array(rows, dtype=np.float64)
    check_inside(joints, image_size, where)
    return joints


def check_inside(joints: np.ndarray, image_size: tuple[int, int], where: str) -> None:
    """InputError naming the first joint more than :data:`OUTSIDE_MARGIN` outside the image."""
    width, height = image_size
    margin_x, margin_y = OUTSIDE_MARGIN * width, OUTSIDE_MARGIN * height
    for name, (x, y, _) in zip(JOINT_NAMES, joints, strict=True):
        if not (-margin_x <= x <= width - 1 + margin_x and -margin_y <= y <= height - 1 + margin_y):
            raise InputError(
                f"{where}: joint '{name}' at ({x:g}, {y:g}) is far outside the {width}x{height} "
                "image; check the coordinates are pixels of this image"
            )


def _read_json(path: str | Path) -> tuple[dict[str, Any], str]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such pose file: {path}")
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path} is not a JSON pose file: {error}") from None
    if not isinstance(content, dict):
        raise InputError(f"{path}: a pose file holds a JSON object with image_size and joints")
    return content, str(path)


def check_image_size(
    pose_size: tuple[int, int], image_size: tuple[int, int] | None, where: str
) -> None:
    """InputError when a pose made for ``pose_size`` is used with an image of ``image_size``."""
    if image_size is not None and tuple(image_size) != tuple(pose_size):
        raise InputError(
            f"{where} was made for a {pose_size[0]}x{pose_size[1]} image, but the image is "
            f"{image_size[0]}x{image_size[1]}; give the pose of this image (or resize it)"
        )


def read_pose(path: str | Path, image_size: tuple[int, int] | None = None) -> Pose:
    """Read and check one pose file; with ``image_size`` (width, height) it must match.

    Raises:
        InputError: see the module docstring.
    """
    content, where = _read_json(path)
    if "joints" not in content:
        hint = " (a sequence: use --target-poses)" if "poses" in content else ""
        raise InputError(f"{where}: no 'joints' entry{hint}")
    size = _image_size(content.get("image_size"), where)
    check_image_size(size, image_size, where)
    return Pose(parse_joints(content["joints"], size, where), size)


def read_pose_sequence(path: str | Path, image_size: tuple[int, int] | None = None) -> list[Pose]:
    """Read and check a pose sequence file (``{"image_size", "poses": [...]}``).

    Raises:
        InputError: see the module docstring (an empty sequence too).
    """
    content, where = _read_json(path)
    poses = content.get("poses")
    if not isinstance(poses, list):
        raise InputError(f"{where}: a pose sequence holds a 'poses' list")
    if not poses:
        raise InputError(f"{where}: the pose sequence is empty")
    size = _image_size(content.get("image_size"), where)
    check_image_size(size, image_size, where)
    return [
        Pose(parse_joints(joints, size, f"{where}, pose {index}"), size)
        for index, joints in enumerate(poses)
    ]


def write_pose(path: str | Path, pose: Pose) -> None:
    """Write ``pose`` as a pose file, atomically."""
    atomic_write_text(path, json.dumps(pose.to_json(), indent=1) + "\n")


def write_pose_sequence(path: str | Path, poses: list[Pose]) -> None:
    """Write a pose sequence (all poses of one image size), atomically."""
    if not poses:
        raise InputError("a pose sequence needs at least one pose")
    content = {
        "image_size": list(poses[0].image_size),
        "poses": [pose.to_json()["joints"] for pose in poses],
    }
    atomic_write_text(path, json.dumps(content) + "\n")
