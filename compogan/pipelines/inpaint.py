"""Hole filling with a trained or imported EdgeConnect, at any image size.

>>> from compogan.pipelines import Inpainter
>>> inpainter = Inpainter.from_pretrained("runs/edgeconnect-places")      # doctest: +SKIP
>>> result = inpainter("photo.jpg", "hole.png")                           # doctest: +SKIP
>>> result.save("out/filled.png", extras=["edges"])  # and out/filled_edges.png  # doctest: +SKIP

High-resolution strategy: the networks run on at most ``work_size`` pixels a side. An image
larger than that is not inpainted whole: a square crop around the hole's bounding box (padded by
a context margin, at least ``work_size`` a side, clipped to the image) is scaled down to
``work_size`` when bigger, inpainted, scaled back, and only its hole pixels are pasted into the
full-resolution image. Known pixels are never altered, bit for bit.

Mask rules: 1 (white, or opaque alpha) = hole; grey values are thresholded at 0.5; a mask of
another size than the image is resized to it with nearest-neighbour sampling and a warning
(``warnings.warn``); an empty mask returns the image unchanged without running the model; a mask
that is all hole runs the model on the whole image (scaled to ``work_size``).

Hand-drawn edges (grey, white = edge, thresholded at 0.5 and resized like the mask) give the
edge map inside the hole; outside it, the image's own Canny edges are used, as in the paper's
editing interface. Every Canny edge map is computed with the hole excluded (the model's
``canny(images, masks)``), so no output pixel depends on what the hole holds.

Alpha: an input with an alpha channel (an RGBA file, image or array) is inpainted in its
colours and keeps its alpha unchanged in the result.

Blending: ``blend="poisson"`` blends the generator's fill into the crop with Poisson blending
(:mod:`compogan.blending`, as Iizuka et al. 2017 post-process their fills) before it is scaled
back: the fill keeps its details and takes the colours of the hole's surroundings, which hides
the colour seams of a briefly trained model. The default, ``"none"``, pastes the fill as the
paper does.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from compogan.blending import poisson_blend
from compogan.data.masks import MASK_THRESHOLD, load_mask_file
from compogan.errors import ConfigError, InputError
from compogan.io.images import (
    ImageLike,
    pad_to_multiple,
    pil_to_mask,
    pil_to_tensor,
    split_alpha,
    with_alpha,
)
from compogan.models.base import GANModel
from compogan.models.tasks import INPAINT
from compogan.pipelines.base import Pipeline, PipelineResult, Port, beside

MaskLike = str | Path | Image.Image | np.ndarray

CONTEXT_FRACTION = 0.25
"""The crop's margin around the hole, as a fraction of the hole's longer side."""
MIN_CONTEXT = 8
"""The smallest margin around the hole, in pixels."""
MIN_IMAGE_SIDE = 2
BLEND_MODES = ("none", "poisson")
DEFAULT_WORK_SIZE = 256
"""The longest side the networks see by default: EdgeConnect's training size."""


@dataclass
class InpaintResult(PipelineResult):
    """What :class:`Inpainter` returns.

    Attributes:
        image: the inpainted image, of the input's size; known pixels are the input's. RGB, or
            RGBA with the input's alpha channel unchanged when the input had one.
        edges: the edge map used, "L" of the input's size (white = edge): the image's Canny
            edges outside the hole, the predicted or hand-drawn edges inside it. Made on first
            access: the Canny edges of a whole large image cost more than the inpainting.

    :meth:`save` writes the image, and as the extra ``edges`` ``<stem>_edges<suffix>``.
    """

    image: Image.Image
    make_edges: Callable[[], Image.Image] = field(repr=False)
    main = "image"
    extras = ("edges",)

    @cached_property
    def edges(self) -> Image.Image:
        return self.make_edges()

    def extra_files(self, base: Path, names: Collection[str]) -> dict[Path, Image.Image | str]:
        return {beside(base, "edges"): self.edges} if "edges" in names else {}


def load_binary_map(source: MaskLike, size: tuple[int, int], what: str = "mask") -> np.ndarray:
    """A mask or edge map as a (H, W) bool array of ``size`` (height, width).

    Files go through :func:`~compogan.data.masks.load_mask_file` (any format; alpha if not
    opaque, else grey level); PIL images likewise; arrays are (H, W) with values in [0, 1]. All
    are thresholded at 0.5. One of another size is resized with nearest-neighbour sampling,
    with a warning.

    Raises:
        InputError: an unreadable file or an array that is not two-dimensional.
    """
    if isinstance(source, np.ndarray):
        if source.ndim != 2:
            raise InputError(f"a {what} array must be (H, W), got shape {source.shape}")
        binary = np.asarray(source, dtype=np.float32) > MASK_THRESHOLD
    elif isinstance(source, Image.Image):
        binary = pil_to_mask(source)[0].numpy() > MASK_THRESHOLD
    else:
        binary = load_mask_file(source) > MASK_THRESHOLD
    height, width = size
    if binary.shape != (height, width):
        warnings.warn(
            f"the {what} is {binary.shape[1]}x{binary.shape[0]} but the image is "
            f"{width}x{height}; resizing the {what} (nearest neighbour)",
            stacklevel=3,
        )
        picture = Image.fromarray(binary.astype(np.uint8) * 255, mode="L")
        binary = np.asarray(picture.resize((width, height), Image.Resampling.NEAREST)) > 127
    return binary


def hole_crop(mask: np.ndarray, work_size: int) -> tuple[int, int, int, int]:
    """The (top, left, height, width) region to inpaint for a non-empty (H, W) bool mask.

    The whole image when it fits in ``work_size`` or is all hole; otherwise a square around the
    hole's bounding box with a margin (see :data:`CONTEXT_FRACTION`), at least ``work_size`` a
    side, shifted to lie inside the image and clipped to it.
    """
    height, width = mask.shape
    if max(height, width) <= work_size or bool(mask.all()):
        return 0, 0, height, width
    rows, columns = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    top, bottom, left, right = rows[0], rows[-1] + 1, columns[0], columns[-1] + 1
    longest = max(bottom - top, right - left)
    margin = max(MIN_CONTEXT, round(CONTEXT_FRACTION * longest))
    side = max(work_size, longest + 2 * margin)
    crop_h, crop_w = min(side, height), min(side, width)
    crop_top = int(np.clip((top + bottom - crop_h) // 2, 0, height - crop_h))
    crop_left = int(np.clip((left + right - crop_w) // 2, 0, width - crop_w))
    return crop_top, crop_left, crop_h, crop_w


def _shrink(tensor: torch.Tensor, size: tuple[int, int], binary: bool) -> torch.Tensor:
    """Resize (N,C,h,w) to ``size``: area for images; binary maps keep any pixel touched."""
    if tuple(tensor.shape[-2:]) == size:
        return tensor
    resized = F.interpolate(tensor, size=size, mode="area")
    return (resized > 0).to(tensor.dtype) if binary else resized


def _grow(tensor: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize (N,C,h,w) back up to ``size`` (bicubic)."""
    if tuple(tensor.shape[-2:]) == size:
        return tensor
    return F.interpolate(tensor, size=size, mode="bicubic", align_corners=False)


def _to_uint8(tensor: torch.Tensor, low: float) -> np.ndarray:
    """(1,C,H,W) in [low, 1] → (H, W, C) uint8."""
    unit = (tensor[0].clamp(low, 1.0) - low) / (1.0 - low)
    return (unit * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


class Inpainter(Pipeline):
    """Fill holes with a model serving "inpaint" (an EdgeConnect), at any image size (see the
    module docstring).

    Args:
        model: an EdgeConnect able to predict edges ("edge_inpaint", "joint", "end_to_end"),
            one in "inpaint" mode (which uses the image's Canny edges), or one holding G2 alone
            when every call gives hand-drawn edges.
        device: "auto", "cpu", "cuda", ...
        work_size: the longest side the networks see (256, EdgeConnect's training size).
        blend: "none" (paste the fill, as the paper) or "poisson" (see the module docstring).

    Raises:
        CheckpointError: a model that does not serve "inpaint" or cannot fill holes.
        ConfigError: a work size under the model's ``min_size`` or an unknown blend.
    """

    task = INPAINT
    inputs = (
        Port("image", "image", required=True, help="the image to fill, any size of 2x2 or more"),
        Port("mask", "mask", required=True, help="the holes to fill: white / 1 = hole"),
        Port("edges", "mask", help="a hand-drawn edge map (white = edge) used inside the hole"),
    )
    options = (
        Port(
            "work_size",
            "number",
            default=DEFAULT_WORK_SIZE,
            help="the longest side the networks see; larger images are inpainted in a crop",
        ),
        Port(
            "blend",
            "choice",
            default="none",
            choices=BLEND_MODES,
            help="none: paste the fill (the paper); poisson: blend it into its surroundings",
        ),
    )
    outputs = (
        Port("image", "image", help="the filled image; known pixels unchanged"),
        Port("edges", "mask", help="the edge map used: Canny outside the hole, drawn inside"),
    )

    def __init__(
        self,
        model: GANModel,
        device: str | torch.device = "auto",
        work_size: int = DEFAULT_WORK_SIZE,
        blend: str = "none",
    ) -> None:
        super().__init__(model, device)
        self.model.check_inpainting(edges_given=True)
        if work_size < model.min_size:
            raise ConfigError(f"work_size must be at least {model.min_size}, got {work_size}")
        if blend not in BLEND_MODES:
            raise ConfigError(f"unknown blend {blend!r}; use one of {BLEND_MODES}")
        self.work_size = work_size
        self.blend = blend

    def __call__(
        self, image: ImageLike, mask: MaskLike, edges: MaskLike | None = None
    ) -> InpaintResult:
        """Inpaint the holes (mask 1 / white) of ``image``.

        Args:
            image: a path, PIL image or HxWx3 uint8 array, any size of at least 2x2.
            mask: a path, PIL image or (H, W) array in [0, 1]; see the module docstring for
                sizes, empty and full masks.
            edges: an optional hand-drawn edge map (white = edge) used inside the hole.

        Raises:
            InputError: an unreadable image, mask or edge map, or an image under 2x2.
        """
        picture, alpha = split_alpha(image)
        if min(picture.size) < MIN_IMAGE_SIDE:
            raise InputError(f"the image is {picture.width}x{picture.height}; it is too small")
        size = (picture.height, picture.width)
        hole = load_binary_map(mask, size, "mask")
        drawn = None if edges is None else load_binary_map(edges, size, "edge map")
        original = np.asarray(picture)
        tensor = pil_to_tensor(picture)[None].to(self.device)
        if not hole.any():
            return InpaintResult(
                with_alpha(picture.copy(), alpha),
                lambda: Image.fromarray(self._canny(tensor, hole), mode="L"),
            )
        filled, edge_map = self._inpaint_region(tensor, hole, drawn)
        result = np.where(hole[..., None], filled, original)

        def full_edges() -> Image.Image:
            return Image.fromarray(np.where(hole, edge_map, self._canny(tensor, hole)), mode="L")

        return InpaintResult(with_alpha(Image.fromarray(result), alpha), full_edges)

    def _canny(self, tensor: torch.Tensor, hole: np.ndarray) -> np.ndarray:
        """The (H, W) uint8 Canny edge map (0 / 255) of a (1,3,H,W) image, the (H, W) bool
        ``hole`` excluded."""
        masks = torch.from_numpy(hole.astype(np.float32))[None, None].to(tensor.device)
        return _to_uint8(self.model.canny(tensor, masks)[1], 0.0)[..., 0]

    def _inpaint_region(
        self, tensor: torch.Tensor, hole: np.ndarray, drawn: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Inpaint the crop around the hole and return full-size (H,W,3) and (H,W) uint8 maps,
        valid inside the crop (and so at every hole pixel)."""
        height, width = hole.shape
        top, left, crop_h, crop_w = hole_crop(hole, self.work_size)
        scale = min(1.0, self.work_size / max(crop_h, crop_w))
        work = (max(1, round(crop_h * scale)), max(1, round(crop_w * scale)))
        window = (slice(top, top + crop_h), slice(left, left + crop_w))

        def crop(array: np.ndarray) -> torch.Tensor:
            values = torch.from_numpy(array[window].astype(np.float32))[None, None]
            return _shrink(values.to(self.device), work, binary=True)

        image = _shrink(tensor[..., window[0], window[1]], work, binary=False)
        stacked = [image, crop(hole)] + ([] if drawn is None else [crop(drawn)])
        model = self.model
        padded, _ = pad_to_multiple(torch.cat(stacked, 1), model.size_multiple, model.min_size)
        masks = (padded[:, 3:4] > MASK_THRESHOLD).float()
        edges = None
        if drawn is not None:
            known = self.model.canny(padded[:, :3], masks)[1]
            edges = padded[:, 4:5] * masks + known * (1 - masks)
        if self.blend == "poisson":
            fill, edge_map = self.model.generate(padded[:, :3], masks, edges)
            output = poisson_blend(padded[:, :3], fill, masks)
        else:
            output, edge_map = self.model.inpaint(padded[:, :3], masks, edges)
        output = _grow(output[..., : work[0], : work[1]], (crop_h, crop_w))
        edge_map = _grow(edge_map[..., : work[0], : work[1]], (crop_h, crop_w))
        filled = np.zeros((height, width, 3), dtype=np.uint8)
        filled[window] = _to_uint8(output, -1.0)
        edge_full = np.zeros((height, width), dtype=np.uint8)
        edge_full[window] = _to_uint8(edge_map, 0.0)[..., 0]
        return filled, edge_full
