"""Single-image retargeting with InGAN: one image resynthesised at other sizes and shapes.

>>> from compogan.pipelines import Retargeter
>>> retargeter = Retargeter.from_pretrained("runs/ingan-brick")              # doctest: +SKIP
>>> retargeter(size="1.5x0.7").save("out/wide.png")                          # doctest: +SKIP
>>> retargeter(size="1x1", corners="0,20,256,0,256,236,0,256")              # doctest: +SKIP

A size is ``HxW``: two scale factors, height first (``1.5x0.7`` = 1.5 times as tall, 0.7 times
as wide), or two pixel counts with ``px`` (``256x384px`` = 256 rows, 384 columns); either is
rounded down to the model's ``size_multiple``. Without an image the model's own training image
is retargeted (InGAN learns one image; a run keeps it with its weights). With ``corners`` (the
input's top-left, top-right, bottom-right and bottom-left corners as x,y pixel positions in the
output) the output is non-rectangular: an RGBA image, transparent outside the quadrilateral.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
from PIL import Image

from compogan.errors import InputError
from compogan.geometry.retarget import output_size, quad_mask, quad_sampling_homography
from compogan.io.images import ImageLike, pil_to_tensor, tensor_to_pil, to_pil
from compogan.models.base import GANModel
from compogan.models.tasks import RETARGET
from compogan.pipelines.base import Pipeline, PipelineResult, Port

MAX_OUTPUT_PIXELS = 4096 * 4096
"""The largest output (pixels) a retarget may ask for: G's memory grows with the output."""
SWEEP_LEGS = ((1.0, 1.0), (1.0, 2.0), (1.0, 0.5), (1.0, 1.0), (2.0, 1.0), (0.5, 1.0))
SWEEP_LEGS += ((1.0, 1.0), (2.0, 2.0), (0.5, 0.5), (1.0, 1.0))
"""The (H, W) factors a retargeting video passes through, linearly, in order: wider and
narrower, taller and shorter, then both."""
_SIZE = re.compile(r"^\s*([0-9.]+)\s*x\s*([0-9.]+)\s*(px)?\s*$")


def parse_size(text: str, image_size: tuple[int, int], multiple: int) -> tuple[int, int]:
    """The output (H, W) of a size text (see the module docstring) for an input of
    ``image_size`` (H, W), rounded down to ``multiple``.

    Raises:
        InputError: a malformed size, a factor or pixel count that is not positive, an output
            under two multiples a side, or over :data:`MAX_OUTPUT_PIXELS`.
    """
    match = _SIZE.match(text)
    if match is None:
        raise InputError(
            f"a size is HxW scale factors (1.5x0.7) or pixels (256x384px), not {text!r}"
        )
    try:
        first, second = float(match.group(1)), float(match.group(2))
    except ValueError:
        raise InputError(f"a size is HxW with two numbers, not {text!r}") from None
    if not (math.isfinite(first) and math.isfinite(second)) or first <= 0 or second <= 0:
        raise InputError(f"the size {text!r} must have two positive numbers")
    if match.group(3):
        size = (int(first) // multiple * multiple, int(second) // multiple * multiple)
    else:
        size = output_size(image_size, (first, second), multiple)
    if min(size) < 2 * multiple:
        raise InputError(
            f"the size {text!r} gives {size[0]}x{size[1]} (HxW); the smallest output is "
            f"{2 * multiple} pixels a side"
        )
    if size[0] * size[1] > MAX_OUTPUT_PIXELS:
        raise InputError(
            f"the size {text!r} gives {size[0]}x{size[1]} = {size[0] * size[1]} pixels; at most "
            f"{MAX_OUTPUT_PIXELS} are allowed"
        )
    return size


def parse_corners(text: str) -> torch.Tensor:
    """Eight numbers ``x1,y1,...,x4,y4`` as (4,2) float64 corners.

    Raises:
        InputError: not eight numbers.
    """
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 8:
        raise InputError(f"--corners needs 8 numbers x1,y1,x2,y2,x3,y3,x4,y4, not {text!r}")
    return torch.tensor(values, dtype=torch.float64).reshape(4, 2)


def sweep_factors(frames: int) -> list[tuple[float, float]]:
    """``frames`` (H, W) factors evenly along the path through :data:`SWEEP_LEGS`.

    Raises:
        InputError: fewer than 2 frames.
    """
    if frames < 2:
        raise InputError(f"a retargeting video needs at least 2 frames, got {frames}")
    legs = len(SWEEP_LEGS) - 1
    factors = []
    for index in range(frames):
        position = index * legs / (frames - 1)
        leg = min(int(position), legs - 1)
        t = position - leg
        (h0, w0), (h1, w1) = SWEEP_LEGS[leg], SWEEP_LEGS[leg + 1]
        factors.append((h0 + (h1 - h0) * t, w0 + (w1 - w0) * t))
    return factors


@dataclass
class RetargetResult(PipelineResult):
    """What :class:`Retargeter` returns.

    Attributes:
        image: the retargeted image (RGB; RGBA transparent outside the corners' quadrilateral
            when corners were given).
        size: its (H, W).
    """

    image: Image.Image
    size: tuple[int, int]
    main = "image"


class Retargeter(Pipeline):
    """Retarget an image to other sizes and shapes with a model serving "retarget" (an InGAN).

    Args:
        model: a trained InGAN.
        device: "auto", "cpu", "cuda", ...

    Raises:
        CheckpointError: a model that does not serve "retarget" or whose G is untrained.
    """

    task = RETARGET
    inputs = (
        Port(
            "size", "text", required=True, help="HxW scale factors (1.5x0.7) or pixels (256x384px)"
        ),
        Port("image", "image", help="the image to retarget (default: the model's training image)"),
        Port(
            "corners", "text", help="non-rectangular output: x1,y1,...,x4,y4 of the input's corners"
        ),
    )
    outputs = (Port("image", "image", help="the retargeted image"),)

    def __init__(self, model: GANModel, device: str | torch.device = "auto") -> None:
        super().__init__(model, device)

    def _input(self, image: ImageLike | None) -> torch.Tensor:
        """(1,3,h,w) in [-1,1] on the device: ``image`` or the model's training image."""
        if image is None:
            return self.model.check_source().to(self.device)
        picture = to_pil(image)
        if min(picture.size) < self.model.min_size:
            raise InputError(
                f"the image is {picture.width}x{picture.height}; retargeting needs at least "
                f"{self.model.min_size} pixels a side"
            )
        return pil_to_tensor(picture)[None].to(self.device)

    def __call__(
        self, size: str, image: ImageLike | None = None, corners: str | None = None
    ) -> RetargetResult:
        """``image`` (default: the training image) at ``size``, through ``corners`` if given.

        Raises:
            InputError: a malformed or out-of-range size, malformed or folding corners, an
                unreadable or too small image.
        """
        x = self._input(image)
        target = parse_size(size, tuple(x.shape[-2:]), self.model.size_multiple)
        if corners is None:
            return RetargetResult(tensor_to_pil(self.model.retarget(x, target)[0].cpu()), target)
        quad = parse_corners(corners)
        matrix = quad_sampling_homography(quad, target).float().to(self.device)
        picture = tensor_to_pil(self.model.warp(x, target, matrix)[0].cpu())
        alpha = (quad_mask(quad, target)[0, 0] * 255).byte().numpy()
        picture.putalpha(Image.fromarray(alpha, mode="L"))
        return RetargetResult(picture, target)

    def sweep(self, frames: int = 60, image: ImageLike | None = None) -> list[RetargetResult]:
        """``image`` (default: the training image) retargeted along :func:`sweep_factors`,
        the frames of a retargeting video (sizes change from frame to frame)."""
        return [self(f"{h:.4f}x{w:.4f}", image) for h, w in sweep_factors(frames)]
