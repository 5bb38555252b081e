"""Real pose data: videos of one person with per-frame joints, paired as PoseWarp pairs them.

Two layouts under ``root/<split>/`` (split "train" or "test"), each a folder of frames per video,
``frames/<video>/<k>.jpg`` or ``.png`` numbered from 1, and one pose file per video in ``info/``:

- "videos": the reference's ``info/<video>.mat`` with a struct ``data`` holding ``X``
  (14 x 2 x frames joint coordinates, 1-based as MATLAB's) and ``bbox`` (frames x 4,
  ``[x, y, w, h]`` of the person);
- "json": ``info/<video>.json`` = ``{"image_size": [w, h], "poses": [<joints>, ...],
  "boxes": [[x, y, w, h], ...]}`` with one pose per frame in the format of
  :mod:`compogan.io.poses` (0-based pixels); ``boxes`` is optional (default: the joints'
  bounding box).

A pair is two frames of one video more than ``min_frame_gap`` of its length apart. Both are
cropped by the reference's rule: scaled so that the larger of the two person scales
(max(2.5 x upper-body height, 5 x calf length) / 200) becomes ``crop_scale`` x S/256 and centred
on the mean of the two boxes' centres. Training pairs are augmented with one draw for both
frames: a horizontal flip (p 0.5, left and right joints swapped), scale U[0.9, 1.05], a shift of
up to ±5 px, a rotation of up to ±5° about the centre and the [-1, 1] image times U[0.95, 1.05],
clipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from compogan.data.registry import require_root
from compogan.data.seeded import SeededDataset
from compogan.errors import ConfigError, InputError
from compogan.geometry.pose import FLIP_PERMUTATION, N_JOINTS, similarity_about
from compogan.io.images import load_image
from compogan.io.poses import parse_joints

REFERENCE_SIZE = 256
SCALE_RANGE = (0.90, 1.05)
MAX_ROTATION = 5.0
MAX_SHIFT = 10
"""The reference draws ``int(10 * (u - 0.5))``: a shift of up to ±5 px."""
BRIGHTNESS = 0.05
FRAME_SUFFIXES = (".jpg", ".png")


@dataclass(frozen=True)
class Video:
    """One video: its frames folder, joints (frames, 14, 3) ``[x, y, visible]`` (0-based
    pixels) and person boxes (frames, 4) ``[x, y, w, h]``."""

    frames: Path
    joints: np.ndarray
    boxes: np.ndarray

    @property
    def length(self) -> int:
        return self.joints.shape[0]


def read_mat_video(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Joints (frames, 14, 3) 0-based and boxes (frames, 4) of a reference ``.mat`` file.

    Raises:
        InputError: unreadable, or not a struct ``data`` with X (14 x 2 x frames) and bbox.
    """
    from scipy.io import loadmat

    try:
        data = loadmat(path)["data"]
        coordinates = np.asarray(data["X"][0][0], dtype=np.float64)
        boxes = np.asarray(data["bbox"][0][0], dtype=np.float64)
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise InputError(
            f"{path} is not a PoseWarp .mat file (data.X, data.bbox): {error}"
        ) from None
    if coordinates.ndim == 2:
        coordinates = coordinates[..., None]
    if (
        coordinates.shape[:2] != (N_JOINTS, 2)
        or boxes.reshape(-1, 4).shape[0] != coordinates.shape[2]
    ):
        raise InputError(
            f"{path}: data.X must be 14 x 2 x frames and data.bbox frames x 4, got "
            f"{coordinates.shape} and {boxes.shape}"
        )
    joints = coordinates.transpose(2, 0, 1) - 1.0  # MATLAB's 1-based pixels
    if not np.isfinite(joints).all():
        raise InputError(f"{path}: data.X holds NaN or infinite coordinates")
    visible = np.ones((*joints.shape[:2], 1))
    return np.concatenate([joints, visible], axis=2), boxes.reshape(-1, 4)


def read_json_video(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Joints (frames, 14, 3) and boxes (frames, 4) of a JSON video pose file.

    Raises:
        InputError: unreadable or bad poses (see :mod:`compogan.io.poses`).
    """
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"cannot read {path} as a JSON pose file: {error}") from None
    poses, size = content.get("poses"), content.get("image_size")
    if not isinstance(poses, list) or not poses or not isinstance(size, list) or len(size) != 2:
        raise InputError(f"{path}: a video pose file holds image_size and a non-empty poses list")
    joints = np.stack(
        [
            parse_joints(p, (int(size[0]), int(size[1])), f"{path}, frame {k}")
            for k, p in enumerate(poses)
        ]
    )
    if "boxes" in content:
        boxes = np.asarray(content["boxes"], dtype=np.float64)
        if boxes.shape != (len(poses), 4):
            raise InputError(f"{path}: boxes must be one [x, y, w, h] per pose")
    else:
        low, high = joints[..., :2].min(axis=1), joints[..., :2].max(axis=1)
        boxes = np.concatenate([low, high - low], axis=1)
    return joints, boxes


def person_scale(joints: np.ndarray) -> float:
    """The reference's person scale of (14, 2+) joints: max(2.5 x upper-body height,
    5 x mean calf length) / 200."""
    upper_body = (joints[8, 1] + joints[11, 1]) / 2 - joints[0, 1]
    calves = (
        np.hypot(*(joints[9, :2] - joints[10, :2])) + np.hypot(*(joints[12, :2] - joints[13, :2]))
    ) / 2
    return float(max(2.5 * upper_body, 5.0 * calves)) / 200.0


def frame_file(folder: Path, index: int) -> Path:
    """Frame ``index`` (0-based) of a video: ``<index + 1>.jpg`` or ``.png``.

    Raises:
        InputError: neither exists.
    """
    for suffix in FRAME_SUFFIXES:
        path = folder / f"{index + 1}{suffix}"
        if path.is_file():
            return path
    raise InputError(f"no frame {index + 1}.jpg or .png in {folder}")


def list_videos(split_dir: Path, kind: str) -> list[Video]:
    """Every video of one split folder ("videos": .mat, "json": .json pose files).

    Raises:
        ConfigError: no ``info`` folder, no videos, or a pose file without frames.
    """
    info = split_dir / "info"
    suffix = ".mat" if kind == "videos" else ".json"
    files = sorted(info.glob(f"*{suffix}")) if info.is_dir() else []
    if not files:
        raise ConfigError(f"no {suffix} pose files in {info}")
    videos = []
    for file in files:
        frames = split_dir / "frames" / file.stem
        if not frames.is_dir():
            raise ConfigError(f"{file.name} has no frames folder {frames}")
        joints, boxes = read_mat_video(file) if kind == "videos" else read_json_video(file)
        if joints.shape[0] >= 2:
            videos.append(Video(frames, joints, boxes))
    if not videos:
        raise ConfigError(f"no video with two frames or more in {split_dir}")
    return videos


def crop_matrix(
    joints: tuple[np.ndarray, np.ndarray],
    boxes: tuple[np.ndarray, np.ndarray],
    size: int,
    crop_scale: float,
) -> np.ndarray:
    """(3, 3) frame → crop pixel map of a pair (the reference's crop rule at S = ``size``)."""
    scale = crop_scale * size / REFERENCE_SIZE / max(person_scale(j) for j in joints)
    centres = [box[:2] + box[2:] / 2 for box in boxes]
    position = (centres[0] + centres[1]) / 2
    offset = (size - 1) / 2 - position * scale
    return np.array([[scale, 0, offset[0]], [0, scale, offset[1]], [0, 0, 1.0]])


def augmentation_matrix(rng: np.random.Generator, size: int) -> tuple[np.ndarray, bool, float]:
    """One draw of the reference's augmentation: the (3, 3) crop → augmented pixel map (flip,
    scale about the origin, shift, rotation about the centre), whether it flips, and the
    brightness factor."""
    flip = bool(rng.random() >= 0.5)
    scale = float(rng.uniform(*SCALE_RANGE))
    shift = (int(MAX_SHIFT * (rng.random() - 0.5)), int(MAX_SHIFT * (rng.random() - 0.5)))
    degrees = float((rng.random() - 0.5) * 2 * MAX_ROTATION)
    brightness = float(rng.uniform(1 - BRIGHTNESS, 1 + BRIGHTNESS))
    matrix = np.eye(3)
    if flip:
        matrix = np.array([[-1.0, 0, size - 1], [0, 1, 0], [0, 0, 1]])
    matrix = np.diag([scale, scale, 1.0]) @ matrix
    matrix = np.array([[1.0, 0, shift[0]], [0, 1, shift[1]], [0, 0, 1]]) @ matrix
    centre = ((size - 1) / 2, (size - 1) / 2)
    rotation = np.vstack([similarity_about(centre, 1.0, degrees, (0, 0)).numpy(), [0, 0, 1]])
    return rotation @ matrix, flip, brightness


def warp_frame(image: np.ndarray, matrix: np.ndarray, size: int) -> torch.Tensor:
    """(H, W, 3) uint8 frame → (3, S, S) float32 in [-1, 1] through a (3, 3) pixel map (black
    outside the frame, as the reference)."""
    warped = cv2.warpAffine(
        image, matrix[:2].astype(np.float64), (size, size), flags=cv2.INTER_LINEAR
    )
    return torch.from_numpy(warped).permute(2, 0, 1).float() / 127.5 - 1


def map_joints(joints: np.ndarray, matrix: np.ndarray, flip: bool) -> torch.Tensor:
    """(14, 3) joints through a (3, 3) pixel map; a flip swaps left and right."""
    mapped = joints.copy()
    mapped[:, :2] = joints[:, :2] @ matrix[:2, :2].T + matrix[:2, 2]
    if flip:
        mapped = mapped[list(FLIP_PERMUTATION)]
    return torch.from_numpy(mapped.astype(np.float32))


class PoseVideos(SeededDataset):
    """PoseWarp pairs from real videos (see the module docstring).

    Item: ``source``, ``target`` (3, S, S) in [-1, 1]; ``source_pose``, ``target_pose``
    (14, 3) ``[x, y, visible]`` in crop pixels.

    Args:
        videos: the split's videos.
        size: S.
        length: items per epoch.
        augment: apply the augmentation (training).
        min_frame_gap: the pair's frames are more than this fraction of the video apart.
        crop_scale: the reference's 1.14.
        seed, split: see :class:`SeededDataset`.
    """

    def __init__(
        self,
        videos: list[Video],
        size: int,
        length: int,
        augment: bool = True,
        min_frame_gap: float = 0.02,
        crop_scale: float = 1.14,
        seed: int = 0,
        split: str = "train",
    ) -> None:
        super().__init__(seed, split)
        self.videos, self.size, self.length = videos, size, length
        self.augment, self.min_frame_gap, self.crop_scale = augment, min_frame_gap, crop_scale

    def __len__(self) -> int:
        return self.length

    def pick_pair(self, rng: np.random.Generator) -> tuple[Video, int, int]:
        """A video and two of its frames more than ``min_frame_gap`` of it apart."""
        video = self.videos[int(rng.integers(len(self.videos)))]
        n = video.length
        while True:
            first, second = (int(k) for k in rng.choice(n, 2, replace=False))
            if abs(first - second) / n > self.min_frame_gap or n < 3:
                return video, first, second

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = self.item_rng(index)
        video, first, second = self.pick_pair(rng)
        frames = (first, second)
        matrix = crop_matrix(
            tuple(video.joints[k] for k in frames),
            tuple(video.boxes[k] for k in frames),
            self.size,
            self.crop_scale,
        )
        flip, brightness = False, 1.0
        if self.augment:
            extra, flip, brightness = augmentation_matrix(rng, self.size)
            matrix = extra @ matrix
        item = {}
        for key, frame in zip(("source", "target"), frames, strict=True):
            image = np.asarray(load_image(frame_file(video.frames, frame)))
            item[key] = (warp_frame(image, matrix, self.size) * brightness).clamp(-1, 1)
            item[f"{key}_pose"] = map_joints(video.joints[frame], matrix, flip)
        return item


def _dataset(kind: str, data_config: Any, split: str, seed: int) -> PoseVideos:
    root = Path(require_root(data_config, f"{kind} (info/ + frames/ per split)"))
    return PoseVideos(
        list_videos(root / split, kind),
        data_config.size,
        data_config.split_length(split),
        augment=data_config.augment and split == "train",
        min_frame_gap=data_config.min_frame_gap,
        crop_scale=data_config.crop_scale,
        seed=seed,
        split=split,
    )


def mat_videos_dataset(data_config: Any, split: str, seed: int) -> PoseVideos:
    """The "videos" pose-pair dataset (the reference's .mat layout)."""
    return _dataset("videos", data_config, split, seed)


def json_videos_dataset(data_config: Any, split: str, seed: int) -> PoseVideos:
    """The "json" pose-pair dataset (JSON pose files per video)."""
    return _dataset("json", data_config, split, seed)
