"""Geometric compositing with a trained ST-GAN: place a foreground where it belongs.

>>> from compogan.pipelines import Compositor
>>> compositor = Compositor.from_pretrained("runs/stgan-glasses")          # doctest: +SKIP
>>> result = compositor("glasses.png", "face.jpg", init=(0.5, 0.45, 1.0, 5.0))  # doctest: +SKIP
>>> result.composite.save("out.png"); result.warp                        # doctest: +SKIP

The warp predictors run at the model's training resolution; the canonical warp they find is
applied to the full-resolution foreground and background, so the composite has the
background's full size whatever it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from compogan.errors import InputError
from compogan.geometry import is_off_image, pixel_to_canonical
from compogan.io.images import has_alpha, load_image, pil_to_mask, pil_to_tensor, tensor_to_pil
from compogan.models.stgan import STGAN
from compogan.train.distributed import select_device

MIN_BACKGROUND_SIDE = 8
CHECK_SIDE = 256
Placement = tuple[float, float, float, float]


@dataclass
class CompositionResult:
    """What :class:`Compositor` returns.

    Attributes:
        composite: the final composite, RGB, of the background's size.
        warp: (3, 3) canonical homography, foreground frame -> background frame.
        steps: composites at the initial placement and after each warp update.
    """

    composite: Image.Image
    warp: np.ndarray
    steps: list[Image.Image] = field(default_factory=list)


def placement_matrix(placement: Placement, fg_size: tuple[int, int], bg_size: tuple[int, int]):
    """The canonical homography of a user placement ``(x, y, scale, angle)``.

    ``x, y``: where the foreground's centre goes, as fractions of the background's width and
    height (0.5, 0.5 = centre); ``scale``: the foreground's width as a fraction of the
    background's width (its aspect ratio is kept); ``angle``: rotation in degrees,
    counter-clockwise. For a foreground of the background's size, (0.5, 0.5, 1, 0) is the
    identity.

    Returns:
        (3, 3) float32 tensor.
    """
    x, y, scale, angle = placement
    if scale <= 0:
        raise InputError(f"the placement's scale must be positive, got {scale}")
    (fg_h, fg_w), (bg_h, bg_w) = fg_size, bg_size
    s = scale * bg_w / fg_w
    c, si = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    to_centre = torch.tensor([[1, 0, -fg_w / 2], [0, 1, -fg_h / 2], [0, 0, 1]], dtype=torch.float64)
    rotate_scale = torch.tensor(
        [[s * c, s * si, 0], [-s * si, s * c, 0], [0, 0, 1]], dtype=torch.float64
    )
    place = torch.tensor([[1, 0, x * bg_w], [0, 1, y * bg_h], [0, 0, 1]], dtype=torch.float64)
    pixel = place @ rotate_scale @ to_centre
    return pixel_to_canonical(pixel[None], (fg_h, fg_w), (bg_h, bg_w))[0].float()


def load_foreground(path: str | Path, mask: str | Path | None = None) -> Image.Image:
    """An RGBA foreground from a file with alpha, or from any image plus a mask file.

    Raises:
        InputError: the file has no alpha channel and no mask was given, or the mask's size
            differs from the image's.
    """
    if mask is None:
        if not has_alpha(path):
            raise InputError(
                f"foreground '{path}' has no alpha channel; give an RGBA image or --mask FILE"
            )
        return load_image(path, mode="RGBA")
    image = load_image(path, mode="RGB")
    alpha = load_image(mask, mode="L")
    if alpha.size != image.size:
        raise InputError(
            f"mask '{mask}' is {alpha.size[0]}x{alpha.size[1]} but the foreground is "
            f"{image.size[0]}x{image.size[1]}"
        )
    image.putalpha(alpha)
    return image


def _at_most(images: torch.Tensor, side: int) -> torch.Tensor:
    """Downscale (N, C, H, W) so the longer side is at most ``side`` (area averaging)."""
    height, width = images.shape[-2:]
    factor = side / max(height, width)
    if factor >= 1:
        return images
    size = (max(1, round(height * factor)), max(1, round(width * factor)))
    return torch.nn.functional.interpolate(images, size=size, mode="area")


def _rgba_tensor(image: Image.Image) -> torch.Tensor:
    """RGBA PIL → (1, 4, h, w): colour in [-1, 1], alpha in [0, 1]."""
    rgb = pil_to_tensor(image.convert("RGB"))
    return torch.cat([rgb, pil_to_mask(image.getchannel("A"))], dim=0)[None]


class Compositor:
    """Place foregrounds on backgrounds with a trained ST-GAN, at any resolution.

    Args:
        model: a trained STGAN.
        device: "auto", "cpu", "cuda", ...
    """

    def __init__(self, model: STGAN, device: str = "auto") -> None:
        self.device = select_device(device)
        self.model = model.to(self.device).eval()

    @classmethod
    def from_pretrained(cls, weights: str | Path, device: str = "auto") -> Compositor:
        """Load a run directory or a ``save_pretrained`` directory of an ST-GAN.

        Raises:
            CheckpointError: missing, unreadable, or the checkpoint of another model.
        """
        return cls(STGAN.from_pretrained(weights), device)

    def __call__(
        self,
        foreground: str | Path | Image.Image,
        background: str | Path | Image.Image,
        init: Placement | torch.Tensor | None = None,
        steps: int | None = None,
    ) -> CompositionResult:
        """Place ``foreground`` (RGBA) on ``background`` and return the composite.

        Args:
            foreground: an RGBA image or path (see :func:`load_foreground` for masks).
            background: an RGB image or path, at least 8 px on each side.
            init: the initial placement: None (the foreground canvas laid over the
                background's), ``(x, y, scale, angle)`` (see :func:`placement_matrix`) or a
                (3, 3) canonical homography.
            steps: how many warp updates to apply (default: all).

        Raises:
            InputError: a foreground without alpha, a tiny background, or a warp that becomes
                singular or sends the foreground off the image.
        """
        fg = foreground if isinstance(foreground, Image.Image) else load_foreground(foreground)
        if fg.mode != "RGBA":
            raise InputError("the foreground image must be RGBA (it has no alpha channel)")
        bg = background if isinstance(background, Image.Image) else load_image(background)
        if min(bg.size) < MIN_BACKGROUND_SIDE:
            raise InputError(
                f"the background is {bg.size[0]}x{bg.size[1]}; it must be at least "
                f"{MIN_BACKGROUND_SIDE} px on each side"
            )
        fg_tensor = _rgba_tensor(fg)
        bg_tensor = pil_to_tensor(bg.convert("RGB"))[None]
        start = self._initial_matrix(init, fg_tensor, bg_tensor)
        composite, warp, per_step = self.model.place(fg_tensor, bg_tensor, start, steps)
        self._check_warp(warp, fg_tensor, bg_tensor)
        return CompositionResult(
            composite=tensor_to_pil(composite[0].cpu()),
            warp=warp[0].cpu().double().numpy(),
            steps=[tensor_to_pil(image[0].cpu()) for image in per_step],
        )

    @staticmethod
    def _initial_matrix(
        init: Placement | torch.Tensor | None, fg: torch.Tensor, bg: torch.Tensor
    ) -> torch.Tensor:
        if init is None:
            return torch.eye(3)
        if isinstance(init, torch.Tensor):
            if init.shape != (3, 3):
                raise InputError(f"an initial warp must be a 3x3 matrix, got {tuple(init.shape)}")
            return init.float()
        return placement_matrix(tuple(init), tuple(fg.shape[-2:]), tuple(bg.shape[-2:]))

    @staticmethod
    def _check_warp(warp: torch.Tensor, fg: torch.Tensor, bg: torch.Tensor) -> None:
        """Refuse singular warps and warps that leave the image (checked at <= 256 px: the
        canonical warp is the same at every resolution)."""
        if not torch.isfinite(warp).all() or abs(float(torch.linalg.det(warp[0].double()))) < 1e-8:
            raise InputError("the predicted warp is singular; try another initial placement")
        alpha = _at_most(fg[:, 3:], CHECK_SIDE).to(warp.device)
        out_size = tuple(_at_most(bg[:, :1], CHECK_SIDE).shape[-2:])
        if bool(is_off_image(alpha, warp, out_size)[0]):
            raise InputError(
                "the predicted warp sends the foreground (mostly) off the image; try another "
                "initial placement"
            )
