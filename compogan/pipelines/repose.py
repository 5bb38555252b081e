"""Pose-guided person synthesis: the person of an image re-rendered in other poses (PoseWarp).

>>> from compogan.pipelines import Reposer
>>> reposer = Reposer.from_pretrained("runs/posewarp")                        # doctest: +SKIP
>>> reposer("person.png", "source.json", "target.json").save("out.png")        # doctest: +SKIP
>>> frames = reposer.sequence("person.png", "source.json", "walk.json")        # doctest: +SKIP

Poses are pose files (:mod:`compogan.io.poses`), :class:`~compogan.io.poses.Pose` objects or
(14, 2|3) arrays in pixels of the image. Any image size works: the image is padded to a square
(edge pixels), resized to the network's S, reposed, and the result resized back and cropped to
the image's size; the joints follow the same map.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from compogan.errors import InputError
from compogan.geometry.pose import N_JOINTS
from compogan.io.images import ImageLike, pil_to_tensor, tensor_to_pil, to_pil
from compogan.io.poses import Pose, check_image_size, check_inside, read_pose
from compogan.models.base import GANModel
from compogan.models.tasks import REPOSE
from compogan.pipelines.base import Pipeline, PipelineResult, Port, progress_bar

PoseLike = str | Path | Pose | np.ndarray
FRAME_BATCH = 8
"""Target poses reposed per network call in :meth:`Reposer.sequence`."""


@dataclass
class ReposeResult(PipelineResult):
    """What :class:`Reposer` returns.

    Attributes:
        image: the person in the target pose, at the input image's size.
    """

    image: Image.Image
    main = "image"


@dataclass(frozen=True)
class _Frame:
    """The square work frame: pad ``left``/``top`` px, then scale by ``scale`` to S."""

    left: int
    top: int
    side: int
    scale: float


class Reposer(Pipeline):
    """Re-render the person of an image in target poses with a model serving "repose".

    Args:
        model: a trained PoseWarp (or its U-Net baseline).
        device: "auto", "cpu", "cuda", ...

    Raises:
        CheckpointError: a model that does not serve "repose" or whose G is untrained.
    """

    task = REPOSE
    inputs = (
        Port("image", "image", required=True, help="the person to repose"),
        Port("pose", "pose", required=True, help="the person's pose in the image (pose JSON)"),
        Port("target_pose", "pose", required=True, help="the pose to render (pose JSON)"),
    )
    outputs = (Port("image", "image", help="the person in the target pose"),)

    def __init__(self, model: GANModel, device: str | torch.device = "auto") -> None:
        super().__init__(model, device)

    # ---- inputs ------------------------------------------------------------------------------
    @staticmethod
    def read_pose(pose: PoseLike, image_size: tuple[int, int], what: str) -> np.ndarray:
        """(14, 3) joints ``[x, y, visible]`` of ``pose`` for an image of ``image_size``
        (width, height).

        Raises:
            InputError: an unreadable or bad pose file, a pose for another image size, an
                array that is not (14, 2|3) or not finite, joints far outside the image.
        """
        if isinstance(pose, str | Path):
            return read_pose(pose, image_size).joints
        if isinstance(pose, Pose):
            check_image_size(pose.image_size, image_size, f"the {what}")
            return pose.joints
        array = np.asarray(pose, dtype=np.float64)
        if array.shape not in ((N_JOINTS, 2), (N_JOINTS, 3)):
            raise InputError(
                f"the {what} must be ({N_JOINTS}, 2) or ({N_JOINTS}, 3), got {array.shape}"
            )
        if not np.isfinite(array).all():
            raise InputError(f"the {what} has NaN or infinite coordinates")
        if array.shape[1] == 2:
            array = np.concatenate([array, np.ones((N_JOINTS, 1))], axis=1)
        check_inside(array, image_size, f"the {what}")
        return array

    def _frame(self, width: int, height: int) -> _Frame:
        side = max(width, height)
        return _Frame((side - width) // 2, (side - height) // 2, side, self.model.image_size / side)

    def _to_work(self, picture: Image.Image, frame: _Frame) -> torch.Tensor:
        """(1, 3, S, S) in [-1, 1]: the picture padded to a square and resized."""
        x = pil_to_tensor(picture)[None]
        right = frame.side - picture.width - frame.left
        bottom = frame.side - picture.height - frame.top
        if right or bottom or frame.left or frame.top:
            x = F.pad(x, (frame.left, right, frame.top, bottom), mode="replicate")
        size = self.model.image_size
        if frame.side != size:
            x = F.interpolate(
                x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )
        return x.to(self.device)

    @staticmethod
    def _pose_to_work(joints: np.ndarray, frame: _Frame) -> torch.Tensor:
        """(14, 3) image-pixel joints → (1, 14, 3) work-frame joints (pixel centres kept)."""
        work = joints.copy()
        work[:, 0] = (work[:, 0] + frame.left + 0.5) * frame.scale - 0.5
        work[:, 1] = (work[:, 1] + frame.top + 0.5) * frame.scale - 0.5
        return torch.from_numpy(work).float()[None]

    def _from_work(
        self, output: torch.Tensor, frame: _Frame, width: int, height: int
    ) -> Image.Image:
        """(3, S, S) network output → the image's size."""
        x = output[None].float().cpu()
        if frame.side != x.shape[-1]:
            x = F.interpolate(
                x, size=(frame.side, frame.side), mode="bilinear", align_corners=False
            )
        x = x[..., frame.top : frame.top + height, frame.left : frame.left + width].clamp(-1, 1)
        return tensor_to_pil(x[0])

    def _load(self, image: ImageLike) -> Image.Image:
        picture = to_pil(image)
        if min(picture.size) < 8:
            raise InputError(
                f"the image is {picture.width}x{picture.height}; reposing needs 8 px a side"
            )
        return picture

    # ---- running -----------------------------------------------------------------------------
    def __call__(self, image: ImageLike, pose: PoseLike, target_pose: PoseLike) -> ReposeResult:
        """The person of ``image`` (standing in ``pose``) rendered in ``target_pose``.

        Raises:
            InputError: bad image or poses (see :meth:`read_pose`).
        """
        picture = self._load(image)
        source = self.read_pose(pose, picture.size, "pose")
        target = self.read_pose(target_pose, picture.size, "target pose")
        return next(iter(self._render(picture, source, [target])))

    def sequence(
        self,
        image: ImageLike,
        pose: PoseLike,
        target_poses: Sequence[PoseLike],
        progress: bool = False,
    ) -> list[Image.Image]:
        """The person of ``image`` rendered in every one of ``target_poses``, in order.

        Raises:
            InputError: bad image or poses, or no target poses.
        """
        picture = self._load(image)
        if not target_poses:
            raise InputError("the pose sequence is empty")
        source = self.read_pose(pose, picture.size, "pose")
        targets = [
            self.read_pose(target, picture.size, f"target pose {index}")
            for index, target in enumerate(target_poses)
        ]
        results = progress_bar(
            self._render(picture, source, targets),
            enabled=progress,
            total=len(targets),
            unit="frame",
        )
        return [result.image for result in results]

    def _render(
        self, picture: Image.Image, source: np.ndarray, targets: list[np.ndarray]
    ) -> Iterator[ReposeResult]:
        frame = self._frame(*picture.size)
        x = self._to_work(picture, frame)
        source_pose = self._pose_to_work(source, frame).to(self.device)
        for start in range(0, len(targets), FRAME_BATCH):
            chunk = targets[start : start + FRAME_BATCH]
            target_pose = torch.cat([self._pose_to_work(t, frame) for t in chunk]).to(self.device)
            n = len(chunk)
            outputs = self.model.repose(
                x.expand(n, -1, -1, -1), source_pose.expand(n, -1, -1), target_pose
            )
            for output in outputs:
                yield ReposeResult(self._from_work(output, frame, *picture.size))
