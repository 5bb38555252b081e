"""Cut an object out of one photo, fill the hole, and paste it enhanced into another (SEIGAN).

>>> from compogan.pipelines import CutPaster
>>> cutpaster = CutPaster.from_pretrained("runs/seigan")                    # doctest: +SKIP
>>> result = cutpaster("photo.png", "40,30,120,110", "scene.png")           # doctest: +SKIP
>>> result.save("out/")   # out/composite.png, out/mask.png, out/removed.png  # doctest: +SKIP

How images of any size are handled: the networks see the square crop around a box (side
``box_context`` x the box's longer side, centred, edge-padded where it leaves the image) resized
to the model's ``work_size``, as in training. The source's crop gives the mask (G_seg) and the
fill (G_inp); the mask and the fill are resized back and applied inside the crop only, so pixels
away from the object are the source's, bit for bit. The target's crop is taken around ``at``
(default: the source's box): the object keeps its aspect and is scaled with the crop, by the
ratio of the two boxes' longer sides. With ``placer`` (a :class:`~compogan.pipelines.Compositor`,
e.g. from an ST-GAN run) the cut object (the source's box, its alpha the mask) starts at ``at``
and the placer's warps move it; the enhancer then works around where it ended. The naive paste
is made at the target's full resolution (object over target through the object's alpha) and the
enhanced composite (G_enh) replaces the target inside the object's mask grown by
:data:`PASTE_GROWTH` of the crop and feathered, so the enhancer's changes around the object (its
shadow, light spill) come through and the rest of the target is unchanged.

Nothing returned depends on the pixels the pipeline replaces: the source's hole pixels are
blanked before the fill's crop is taken, and the target's pixels under the fully opaque object
are covered before the enhancer's crop is taken.

Inputs: RGB images; grey and RGBA inputs are converted to RGB (alpha dropped). The mask is
thresholded at ``threshold``; a box where no pixel reaches it is refused ("no object found"),
before anything is written. With ``inpainter`` (an :class:`~compogan.pipelines.Inpainter`, e.g.
from an EdgeConnect run) the hole is filled by it instead of G_inp.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter

from compogan.data.objects import (
    Box,
    Square,
    box_in_square,
    box_mask,
    check_box,
    crop_square,
    parse_box,
    square_around,
)
from compogan.errors import ConfigError, InputError
from compogan.geometry import warp_image
from compogan.io.images import ImageLike, to_pil
from compogan.models.base import GANModel
from compogan.models.tasks import CUTPASTE
from compogan.pipelines.base import Pipeline, PipelineResult, Port, beside

PASTE_GROWTH = 1 / 16
"""How far (a fraction of the crop's side) the pasted region reaches beyond the object's mask."""
HOLE_GROWTH_PX = 2
"""The hole filled in the source: the mask grown by this many pixels of the full image (the
soft edge of the object would otherwise stay behind)."""

BoxLike = str | tuple[int, int, int, int] | list[int]


@dataclass
class CutPasteResult(PipelineResult):
    """What :class:`CutPaster` returns.

    Attributes:
        composite: the target with the object pasted and enhanced, the target's size.
        mask: the object's mask in the source, "L" of the source's size (white = object).
        removed: the source with the object removed and the hole filled.
        box: where the object went in the target (x0, y0, x1, y1): ``at``, or with a placer
            the box around the placed object's mask.

    :meth:`save` to a folder writes ``composite.png``, ``mask.png`` and ``removed.png``; to a
    file name, the composite there and the extras ``<stem>_mask``, ``<stem>_removed`` beside it.
    """

    composite: Image.Image
    mask: Image.Image
    removed: Image.Image
    box: Box
    main = "composite"
    extras = ("mask", "removed")

    def extra_files(self, base: Path, names: Collection[str]) -> dict[Path, Image.Image | str]:
        if base.stem == self.main:
            return {base.with_name(f"{name}{base.suffix}"): getattr(self, name) for name in names}
        return {beside(base, name): getattr(self, name) for name in names}


def _box(value: BoxLike, picture: Image.Image, what: str) -> Box:
    raw = parse_box(value, what) if isinstance(value, str) else tuple(value)
    if len(raw) != 4:
        raise InputError(f"the {what} must be four numbers x0,y0,x1,y1, got {value!r}")
    return check_box(raw, picture.width, picture.height, what)  # type: ignore[arg-type]


def _unit(tensor: torch.Tensor) -> np.ndarray:
    """(1,C,S,S) in [-1,1] → (S,S,C) float in [0,1]."""
    return ((tensor[0].clamp(-1, 1) + 1) / 2).permute(1, 2, 0).cpu().numpy()


def _place(values: np.ndarray, square: Square, height: int, width: int) -> np.ndarray:
    """Resize (S,S,C) float ``values`` to the square's side and place them on a zero (H,W,C)
    canvas at the square (the part inside the image)."""
    side = square.side
    resized = (
        F.interpolate(
            torch.from_numpy(values).permute(2, 0, 1)[None],
            size=(side, side),
            mode="bilinear",
            align_corners=False,
        )[0]
        .permute(1, 2, 0)
        .numpy()
    )
    canvas = np.zeros((height, width, values.shape[2]), dtype=np.float32)
    top, left = max(0, square.top), max(0, square.left)
    bottom, right = min(height, square.top + side), min(width, square.left + side)
    if bottom > top and right > left:
        canvas[top:bottom, left:right] = resized[
            top - square.top : bottom - square.top, left - square.left : right - square.left
        ]
    return canvas


def _crop(image: np.ndarray, square: Square, size: int) -> np.ndarray:
    """The ``square`` of an (H,W,C) float image in [0,1] at ``size``: (size,size,C) in [0,1]."""
    as_bytes = (image * 255).round().clip(0, 255).astype(np.uint8)
    if as_bytes.shape[2] == 1:
        return crop_square(np.repeat(as_bytes, 3, axis=2), square, size)[..., :1] / 255.0
    return crop_square(as_bytes, square, size) / 255.0


def _tensor(values: np.ndarray, device: torch.device) -> torch.Tensor:
    """(S,S,C) float in [0,1] → (1,C,S,S) float32 in [-1,1] on ``device``."""
    tensor = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32)).permute(2, 0, 1)
    return (tensor[None] * 2 - 1).to(device)


def _mask_box(mask: np.ndarray, threshold: float) -> Box | None:
    """The box (x0, y0, x1, y1) around the pixels of an (H,W) mask at or above ``threshold``,
    or None when there are none."""
    rows, cols = np.nonzero(mask >= threshold)
    if rows.size == 0:
        return None
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


def _grown(mask: np.ndarray, pixels: int, feather: float = 0.0) -> np.ndarray:
    """(H,W) float mask in [0,1] grown by ``pixels`` (max filter) and optionally blurred."""
    picture = Image.fromarray((mask * 255).round().astype(np.uint8))
    if pixels > 0:
        picture = picture.filter(ImageFilter.MaxFilter(2 * pixels + 1))
    if feather > 0:
        picture = picture.filter(ImageFilter.GaussianBlur(feather))
    return np.asarray(picture, dtype=np.float32) / 255.0


class CutPaster(Pipeline):
    """Cut, fill and paste-and-enhance with a model serving "cutpaste" (a SEIGAN); see the
    module docstring.

    Args:
        model: a SEIGAN whose G_seg, G_enh and G_inp are trained.
        device: "auto", "cpu", "cuda", ...
        threshold: the mask's threshold in (0, 1).
        seed: the seed of the enhancer's noise.
        inpainter: fill the hole with this pipeline (an Inpainter) instead of G_inp.
        placer: place the cut object with this pipeline (a Compositor) before enhancing it.

    Raises:
        CheckpointError: a model that does not serve "cutpaste" or lacks trained generators.
        ConfigError: a threshold outside (0, 1).
    """

    task = CUTPASTE
    inputs = (
        Port("source", "image", required=True, help="the photo holding the object"),
        Port("box", "text", required=True, help="the object's box in the source: x0,y0,x1,y1"),
        Port("target", "image", required=True, help="the scene to paste the object into"),
        Port("at", "text", help="where in the target: x0,y0,x1,y1 (default: the source's box)"),
    )
    options = (
        Port("threshold", "number", default=0.5, help="mask threshold in (0, 1)"),
        Port("seed", "number", default=0, help="seed of the enhancer's noise"),
    )
    outputs = (
        Port("composite", "image", help="the target with the object pasted and enhanced"),
        Port("mask", "mask", help="the object's mask in the source (white = object)"),
        Port("removed", "image", help="the source with the object removed and filled"),
    )

    def __init__(
        self,
        model: GANModel,
        device: str | torch.device = "auto",
        threshold: float = 0.5,
        seed: int = 0,
        inpainter: Pipeline | None = None,
        placer: Pipeline | None = None,
    ) -> None:
        super().__init__(model, device)
        if not 0 < threshold < 1:
            raise ConfigError(f"threshold must be in (0, 1), got {threshold}")
        self.threshold, self.seed = threshold, int(seed)
        self.inpainter, self.placer = inpainter, placer

    def __call__(
        self, source: ImageLike, box: BoxLike, target: ImageLike, at: BoxLike | None = None
    ) -> CutPasteResult:
        """Cut the object in ``box`` of ``source``, fill its hole, paste it into ``target`` at
        ``at`` (default ``box``) and enhance it.

        Raises:
            InputError: unreadable images; a box or ``at`` that is malformed, empty, inverted
                or outside its image; no object found in the box; a placer that moves the
                object off the target.
        """
        model, size = self.model, self.model.work_size
        source_pil, target_pil = to_pil(source), to_pil(target)
        box = _box(box, source_pil, "box")
        at = box if at is None else _box(at, target_pil, "target box (at)")
        src = np.asarray(source_pil, dtype=np.float32) / 255.0
        tgt = np.asarray(target_pil, dtype=np.float32) / 255.0
        square = square_around(box, model.box_context)
        x = _tensor(_crop(src, square, size), self.device)
        boxes = box_mask(box_in_square(box, square, size), size)[None].to(self.device)
        m = model.segment(x, boxes)
        if not bool((m >= self.threshold).any()):
            raise InputError(
                f"no object found in the box {','.join(map(str, box))}: the mask is empty at "
                f"threshold {self.threshold}; draw the box around the object"
            )
        height, width = src.shape[:2]
        full_mask = _place(_unit(m * 2 - 1), square, height, width)[..., 0]
        removed = self._remove(src, square, full_mask)
        if self.placer is None:
            naive, alpha, placed = self._naive_paste(tgt, x, m, at)
        else:
            naive, alpha, placed = self._placed_paste(src, full_mask, box, tgt, at)
        composite = self._enhance(tgt, naive, alpha, placed)
        mask_picture = Image.fromarray((full_mask * 255).round().astype(np.uint8), mode="L")
        return CutPasteResult(composite, mask_picture, removed, placed)

    def _remove(self, src: np.ndarray, square: Square, full_mask: np.ndarray) -> Image.Image:
        """The source (H,W,3) in [0,1] with the grown mask's pixels replaced by the fill; the
        fill sees the source with those pixels blanked."""
        hole = _grown((full_mask >= self.threshold).astype(np.float32), HOLE_GROWTH_PX) > 0
        source_bytes = (src * 255).round().astype(np.uint8)
        if self.inpainter is not None:
            hole_picture = Image.fromarray(hole.astype(np.uint8) * 255, mode="L")
            return self.inpainter(Image.fromarray(source_bytes), hole_picture).image
        size = self.model.work_size
        blanked = np.where(hole[..., None], 0.5, src)
        crop_hole = _tensor(_crop(hole[..., None].astype(np.float32), square, size), self.device)
        crop_hole = (crop_hole > -1).float()
        filled = self.model.fill(_tensor(_crop(blanked, square, size), self.device), crop_hole)
        height, width = src.shape[:2]
        fill = _place(_unit(filled), square, height, width)
        result = np.where(hole[..., None], fill * 255, source_bytes.astype(np.float32))
        return Image.fromarray(result.round().clip(0, 255).astype(np.uint8))

    def _naive_paste(
        self, tgt: np.ndarray, x: torch.Tensor, m: torch.Tensor, at: Box
    ) -> tuple[np.ndarray, np.ndarray, Box]:
        """The object's crop ``x`` (1,3,S,S) with mask ``m`` (1,1,S,S) scaled into the square
        around ``at``: (naive paste (H,W,3) in [0,1], object alpha (H,W,1) in [0,1], ``at``)."""
        height, width = tgt.shape[:2]
        square = square_around(at, self.model.box_context)
        colours = _place(_unit(x), square, height, width)
        alpha = _place(_unit(m * 2 - 1), square, height, width)
        return alpha * colours + (1 - alpha) * tgt, alpha, at

    def _placed_paste(
        self, src: np.ndarray, full_mask: np.ndarray, box: Box, tgt: np.ndarray, at: Box
    ) -> tuple[np.ndarray, np.ndarray, Box]:
        """The object (the source's ``box``, alpha = the mask) placed by the placer starting
        at ``at``: (naive paste (H,W,3), object alpha (H,W,1), the box around the placed mask).
        """
        x0, y0, x1, y1 = box
        rgba = np.concatenate([src[y0:y1, x0:x1], full_mask[y0:y1, x0:x1, None]], axis=2)
        foreground = Image.fromarray((rgba * 255).round().astype(np.uint8), mode="RGBA")
        height, width = tgt.shape[:2]
        factor = max(at[2] - at[0], at[3] - at[1]) / max(x1 - x0, y1 - y0)
        init = ((at[0] + at[2]) / (2 * width), (at[1] + at[3]) / (2 * height))
        placement = (*init, (x1 - x0) * factor / width, 0.0)
        target = Image.fromarray((tgt * 255).round().astype(np.uint8))
        placed = self.placer(foreground, target, init=placement, keep_steps=False)
        warp = torch.from_numpy(placed.warp).float()
        alpha_in = torch.from_numpy(rgba[..., 3].astype(np.float32))[None, None]
        alpha = warp_image(alpha_in, warp, (height, width))[0, 0].clamp(0, 1).numpy()
        placed_box = _mask_box(alpha, self.threshold)
        if placed_box is None:
            raise InputError("the placer moved the object off the target; try another --at")
        naive = np.asarray(placed.composite, dtype=np.float32) / 255.0
        return naive, alpha[..., None], placed_box

    def _enhance(
        self, tgt: np.ndarray, naive: np.ndarray, alpha: np.ndarray, placed: Box
    ) -> Image.Image:
        """The target with G_enh's output on the square around ``placed`` of the naive paste
        (H,W,3) in [0,1], inside the object's alpha (H,W,1) grown and feathered."""
        model, size = self.model, self.model.work_size
        height, width = tgt.shape[:2]
        square = square_around(placed, model.box_context)
        region = _tensor(_crop(alpha, square, size), self.device).add(1).div(2)
        composite = _tensor(_crop(naive, square, size), self.device)
        enhanced = model.enhance(composite, region, seed=self.seed)
        grow = max(1, round(PASTE_GROWTH * size))
        region = F.max_pool2d(region, 2 * grow + 1, stride=1, padding=grow)
        region = F.avg_pool2d(region, 2 * grow + 1, stride=1, padding=grow, count_include_pad=False)
        weight = _place(_unit(region * 2 - 1), square, height, width)
        pasted = _place(_unit(enhanced), square, height, width)
        result = (weight * pasted + (1 - weight) * tgt) * 255
        return Image.fromarray(result.round().clip(0, 255).astype(np.uint8))
