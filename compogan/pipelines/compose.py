"""Geometric compositing with a trained ST-GAN: place a foreground where it belongs.

>>> from compogan.pipelines import Compositor
>>> compositor = Compositor.from_pretrained("runs/stgan-glasses")          # doctest: +SKIP
>>> result = compositor("glasses.png", "face.jpg", init=(0.5, 0.45, 1.0, 5.0))  # doctest: +SKIP
>>> result.save("out/comp.png", extras=["warp"]); result.warp              # doctest: +SKIP

The warp predictors run at the model's training resolution; the canonical warp they find is
applied to the full-resolution foreground and background, so the composite has the
background's full size whatever it is. The colours of the foreground's fully transparent
pixels never reach the result (they are replaced before any warp).
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from compogan.errors import InputError
from compogan.geometry import is_off_image, pixel_to_canonical
from compogan.io.images import (
    ImageLike,
    array_to_pil,
    has_alpha,
    load_image,
    pil_to_mask,
    pil_to_tensor,
    tensor_to_pil,
    to_pil,
)
from compogan.models.tasks import COMPOSE
from compogan.pipelines.base import Pipeline, PipelineResult, Port, beside

MIN_BACKGROUND_SIDE = 8
CHECK_SIDE = 256
Placement = tuple[float, float, float, float]


@dataclass
class CompositionResult(PipelineResult):
    """What :class:`Compositor` returns.

    Attributes:
        composite: the final composite, RGB, of the background's size.
        warp: (3, 3) canonical homography, foreground frame -> background frame.
        steps: composites at the initial placement and after each warp update.

    :meth:`save` writes the composite, and as extras ``steps`` (``<stem>_step<k>`` images) and
    ``warp`` (``<stem>.warp.json`` with the final homography).
    """

    composite: Image.Image
    warp: np.ndarray
    steps: list[Image.Image] = field(default_factory=list)
    main = "composite"
    extras = ("steps", "warp")

    def extra_files(self, base: Path, names: Collection[str]) -> dict[Path, Image.Image | str]:
        files: dict[Path, Image.Image | str] = {}
        if "steps" in names:
            for index, image in enumerate(self.steps):
                files[beside(base, f"step{index}")] = image
        if "warp" in names:
            files[base.with_suffix(".warp.json")] = warp_json(self.warp)
        return files


def warp_json(matrix: np.ndarray) -> str:
    """A (3, 3) canonical foreground → background homography as the JSON results save."""
    warp = {"homography": matrix.tolist(), "frame": "canonical", "maps": "foreground -> background"}
    return json.dumps(warp, indent=2)


def parse_placement(text: str, what: str = "the initial placement") -> Placement:
    """Parse ``"x,y,scale,angle"`` (four numbers; see :func:`placement_matrix`).

    Raises:
        InputError: not four numbers; the message starts with ``what``.
    """
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise InputError(f"{what} must be four numbers x,y,scale,angle, not '{text}'")
    return values


def placement_matrix(
    placement: Placement, fg_size: tuple[int, int], bg_size: tuple[int, int]
) -> torch.Tensor:
    """The canonical homography of a user placement ``(x, y, scale, angle)``.

    ``x, y``: where the foreground's centre goes, as fractions of the background's width and
    height (0.5, 0.5 = centre); ``scale``: the foreground's width as a fraction of the
    background's width (its aspect ratio is kept); ``angle``: rotation in degrees,
    counter-clockwise. For a foreground of the background's size, (0.5, 0.5, 1, 0) is the
    identity.

    Args:
        placement: ``(x, y, scale, angle)``, four finite numbers.
        fg_size: (height, width) of the foreground.
        bg_size: (height, width) of the background.

    Returns:
        (3, 3) float32 tensor.

    Raises:
        InputError: not four finite numbers, or a scale that is not positive.
    """
    if len(placement) != 4:
        raise InputError(f"a placement is four numbers (x, y, scale, angle), got {placement}")
    x, y, scale, angle = (float(value) for value in placement)
    if not all(math.isfinite(value) for value in (x, y, scale, angle)):
        raise InputError(f"the placement's numbers must be finite, got {tuple(placement)}")
    if scale <= 0:
        raise InputError(f"the placement's scale must be positive, got {scale}")
    (fg_h, fg_w), (bg_h, bg_w) = fg_size, bg_size
    s = scale * bg_w / fg_w
    c, si = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    # Pixel-centre coordinates (pixel_to_canonical's frame): the foreground's centre is at
    # ((w - 1) / 2, (h - 1) / 2) and a fraction x of the background's width at x * W - 0.5.
    to_centre = torch.tensor(
        [[1, 0, -(fg_w - 1) / 2], [0, 1, -(fg_h - 1) / 2], [0, 0, 1]], dtype=torch.float64
    )
    rotate_scale = torch.tensor(
        [[s * c, s * si, 0], [-s * si, s * c, 0], [0, 0, 1]], dtype=torch.float64
    )
    place = torch.tensor(
        [[1, 0, x * bg_w - 0.5], [0, 1, y * bg_h - 0.5], [0, 0, 1]], dtype=torch.float64
    )
    pixel = place @ rotate_scale @ to_centre
    return pixel_to_canonical(pixel[None], (fg_h, fg_w), (bg_h, bg_w))[0].float()


def load_foreground(path: str | Path, mask: str | Path | None = None) -> Image.Image:
    """An RGBA foreground from a file with alpha, or from any image plus a mask file.

    The mask's alpha channel is the foreground's alpha when it is not fully opaque; otherwise
    its grey level is (white = opaque), as in :func:`compogan.io.images.pil_to_mask`.

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
    alpha = array_to_pil(pil_to_mask(load_image(mask, mode="RGBA"))[0].numpy())
    if alpha.size != image.size:
        raise InputError(
            f"mask '{mask}' is {alpha.size[0]}x{alpha.size[1]} but the foreground is "
            f"{image.size[0]}x{image.size[1]}"
        )
    image.putalpha(alpha)
    return image


def check_background(background: Image.Image) -> None:
    """Raise InputError for a background under ``MIN_BACKGROUND_SIDE`` px on a side."""
    if min(background.size) < MIN_BACKGROUND_SIDE:
        raise InputError(
            f"the background is {background.size[0]}x{background.size[1]}; it must be at least "
            f"{MIN_BACKGROUND_SIDE} px on each side"
        )


def _size_at_most(size: tuple[int, int], side: int) -> tuple[int, int]:
    """(height, width) scaled so the longer side is at most ``side``."""
    height, width = size
    factor = min(1.0, side / max(height, width))
    return max(1, round(height * factor)), max(1, round(width * factor))


def _foreground_alpha(image: Image.Image) -> torch.Tensor:
    """The alpha of an RGBA PIL image as (1, 1, h, w) in [0, 1]."""
    return pil_to_mask(image.getchannel("A"))[None]


def _rgba_tensor(image: Image.Image) -> torch.Tensor:
    """RGBA PIL → (1, 4, h, w): colour in [-1, 1], alpha in [0, 1].

    The colour of fully transparent pixels is set to 0 (mid grey): those pixels are what the
    composite replaces with the background, so nothing the pipeline returns may depend on
    them, yet warping and resizing blend neighbouring colours into the visible edge.
    """
    rgb = pil_to_tensor(image.convert("RGB"))[None]
    alpha = _foreground_alpha(image)
    return torch.cat([torch.where(alpha > 0, rgb, torch.zeros_like(rgb)), alpha], dim=1)


def _check_warp(
    warp: torch.Tensor, alpha: torch.Tensor, bg_size: tuple[int, int], what: str
) -> None:
    """Refuse a singular (3, 3) warp or one that sends the (1, 1, h, w) alpha off a background
    of ``bg_size`` (height, width); checked at <= 256 px, as a canonical warp is the same at
    every resolution. ``what`` names the warp in the message."""
    warp = warp.detach().to("cpu", torch.float64)
    if not bool(torch.isfinite(warp).all()) or abs(float(torch.linalg.det(warp))) < 1e-8:
        raise InputError(f"{what} is singular; try another initial placement")
    small_alpha = torch.nn.functional.interpolate(
        alpha, size=_size_at_most(tuple(alpha.shape[-2:]), CHECK_SIDE), mode="area"
    )
    if bool(is_off_image(small_alpha, warp.float(), _size_at_most(bg_size, CHECK_SIDE))[0]):
        raise InputError(
            f"{what} puts the foreground (mostly) off the image; try another initial placement"
        )


def _initial_matrix(
    init: Placement | torch.Tensor | None, alpha: torch.Tensor, bg_size: tuple[int, int]
) -> torch.Tensor:
    """The checked (3, 3) float32 initial warp for a foreground alpha (1, 1, h, w)."""
    if init is None:
        matrix = torch.eye(3)
    elif isinstance(init, torch.Tensor):
        if init.shape != (3, 3):
            raise InputError(f"an initial warp must be a 3x3 matrix, got {tuple(init.shape)}")
        matrix = init.detach().to("cpu", torch.float32)
    else:
        matrix = placement_matrix(tuple(init), tuple(alpha.shape[-2:]), bg_size)
    _check_warp(matrix, alpha, bg_size, "the initial placement")
    return matrix


def initial_placement(
    init: Placement | torch.Tensor | None, foreground: Image.Image, bg_size: tuple[int, int]
) -> torch.Tensor:
    """The (3, 3) canonical initial warp of an RGBA ``foreground`` on a background of
    ``bg_size`` (height, width), checked as :class:`Compositor` checks it.

    Args:
        init: None (identity), ``(x, y, scale, angle)`` (see :func:`placement_matrix`) or a
            (3, 3) canonical homography.

    Raises:
        InputError: a malformed or singular ``init``, or one that puts the foreground (mostly)
            off the image.
    """
    return _initial_matrix(init, _foreground_alpha(foreground), bg_size)


class Compositor(Pipeline):
    """Place foregrounds on backgrounds with a model serving "compose" (an ST-GAN), at any
    resolution.

    Args:
        model: a trained ST-GAN, or another model with the ``place`` of
            :class:`~compogan.models.tasks.Placement`.
        device: "auto", "cpu", "cuda", ...
    """

    task = COMPOSE
    inputs = (
        Port(
            "foreground",
            "rgba",
            required=True,
            help="the object to place, with alpha (an RGB file needs a mask: load_foreground)",
        ),
        Port(
            "background",
            "image",
            required=True,
            help=f"the picture to place it in, at least {MIN_BACKGROUND_SIDE} px a side",
        ),
        Port(
            "init",
            "placement",
            help="initial placement x,y,scale,angle: centre as fractions of the background, "
            "width as a fraction of its width, degrees counter-clockwise; default the "
            "foreground canvas over the background's",
        ),
        Port("steps", "number", help="how many warp updates to apply; default all"),
        Port(
            "keep_steps",
            "flag",
            default=True,
            help="also return the composite after every warp step",
        ),
    )
    outputs = (
        Port("composite", "image", help="the final composite, of the background's size"),
        Port("steps", "images", help="the composite at the start and after each warp step"),
        Port("warp", "matrix", help="the final 3x3 canonical homography, foreground -> background"),
    )

    def __call__(
        self,
        foreground: ImageLike,
        background: ImageLike,
        init: Placement | torch.Tensor | str | None = None,
        steps: int | None = None,
        keep_steps: bool = True,
    ) -> CompositionResult:
        """Place ``foreground`` (RGBA) on ``background`` and return the composite.

        Args:
            foreground: an RGBA file (see :func:`load_foreground` for masks), RGBA PIL image or
                HxWx4 uint8 array.
            background: an RGB image as a path, PIL image or HxWx3 uint8 array, at least 8 px
                on each side.
            init: the initial placement: None (the foreground canvas laid over the
                background's), ``(x, y, scale, angle)`` or its text ``"x,y,scale,angle"`` (see
                :func:`placement_matrix`), or a (3, 3) canonical homography.
            steps: how many warp updates to apply (default: all).
            keep_steps: also return the composite after every step (each costs one
                full-resolution warp; turn off for large backgrounds when they are not needed).

        Raises:
            InputError: a foreground without alpha, a tiny background, or an initial placement
                or predicted warp that is malformed, singular or puts the foreground off the
                image.
        """
        fg = _foreground_image(foreground)
        bg = to_pil(background)
        check_background(bg)
        fg_tensor = _rgba_tensor(fg)
        bg_size = (bg.height, bg.width)
        placement = parse_placement(init) if isinstance(init, str) else init
        start = _initial_matrix(placement, fg_tensor[:, 3:], bg_size)
        bg_tensor = pil_to_tensor(bg)[None]
        composite, warp, per_step = self.model.place(fg_tensor, bg_tensor, start, steps, keep_steps)
        _check_warp(warp[0], fg_tensor[:, 3:], bg_size, "the predicted warp")
        return CompositionResult(
            composite=tensor_to_pil(composite[0].cpu()),
            warp=warp[0].cpu().double().numpy(),
            steps=[tensor_to_pil(image[0].cpu()) for image in per_step],
        )


def _foreground_image(foreground: ImageLike) -> Image.Image:
    """An RGBA PIL foreground from a file with alpha, an RGBA PIL image or an HxWx4 array.

    Raises:
        InputError: no alpha channel.
    """
    if isinstance(foreground, Image.Image):
        if foreground.mode != "RGBA":
            raise InputError("the foreground image must be RGBA (it has no alpha channel)")
        return foreground
    if isinstance(foreground, np.ndarray):
        return to_pil(foreground, mode="RGBA")
    return load_foreground(foreground)
