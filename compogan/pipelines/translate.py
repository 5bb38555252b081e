"""Image-to-image translation with a trained or imported CycleGAN.

>>> from compogan.pipelines import Translator
>>> translator = Translator.from_pretrained("runs/cyclegan-day2night")   # doctest: +SKIP
>>> night = translator(["day.png"], direction="AtoB")[0]                  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from compogan.errors import InputError
from compogan.io.images import load_image, pil_to_tensor, tensor_to_pil
from compogan.models.cyclegan import CycleGAN
from compogan.train.distributed import select_device

ImageLike = str | Path | Image.Image | np.ndarray


def to_pil(image: ImageLike) -> Image.Image:
    """A path, PIL image or HxWx3 uint8 array as an RGB PIL image."""
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise InputError("arrays must be HxWx3 uint8 RGB images")
        return Image.fromarray(image)
    return load_image(image, mode="RGB")


def pad_to_multiple(
    images: torch.Tensor, multiple: int, min_size: int = 0
) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad (N,C,H,W) on the right and bottom to sizes divisible by ``multiple``.

    Each side is also padded up to at least ``min_size`` (a multiple of ``multiple``).
    Reflection padding where the image is large enough, replication otherwise. Returns the
    padded batch and the original (H, W) to crop back to.
    """
    height, width = images.shape[-2:]
    pad_h = max((-height) % multiple, min_size - height)
    pad_w = max((-width) % multiple, min_size - width)
    if pad_h == 0 and pad_w == 0:
        return images, (height, width)
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    return F.pad(images, (0, pad_w, 0, pad_h), mode=mode), (height, width)


class Translator:
    """Translate images between a CycleGAN's two domains, at any input size.

    Args:
        model: a CycleGAN holding at least the generator of the direction used.
        device: "auto", "cpu", "cuda", ...
    """

    size_multiple = 4
    min_size = 8  # the generator's 3x3 reflect pads need a bottleneck of at least 2x2

    def __init__(self, model: CycleGAN, device: str = "auto") -> None:
        self.device = select_device(device)
        self.model = model.to(self.device).eval()

    @classmethod
    def from_pretrained(cls, weights: str | Path, device: str = "auto") -> Translator:
        """Load a run directory, a ``save_pretrained`` directory or official ``.pth`` file(s).

        Raises:
            CheckpointError: missing, unreadable, or the checkpoint of another model.
        """
        weights = Path(weights)
        if weights.suffix == ".pth" or (weights.is_dir() and any(weights.glob("*.pth"))):
            from compogan.interop.cyclegan import import_official

            return cls(import_official([weights]), device)
        return cls(CycleGAN.from_pretrained(weights), device)

    @torch.no_grad()
    def translate_tensor(self, images: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """Translate a batch (N,3,H,W) in [-1,1] of any size; returns the same shape."""
        generator = self.model.generator(direction)
        padded, (height, width) = pad_to_multiple(
            images.to(self.device), self.size_multiple, self.min_size
        )
        return generator(padded)[..., :height, :width].clamp(-1, 1)

    def iter_translate(
        self, images: Iterable[ImageLike], direction: str = "AtoB", batch_size: int = 4
    ) -> Iterator[Image.Image]:
        """Translate images lazily, batching consecutive images of equal size.

        Raises:
            CheckpointError: right away (not at the first image) when the checkpoint holds no
                generator for ``direction``.
        """
        self.model.generator(direction)
        return self._iter_batches(images, direction, batch_size)

    def _iter_batches(
        self, images: Iterable[ImageLike], direction: str, batch_size: int
    ) -> Iterator[Image.Image]:
        pending: list[torch.Tensor] = []
        for image in images:
            tensor = pil_to_tensor(to_pil(image))
            if pending and (pending[0].shape != tensor.shape or len(pending) == batch_size):
                yield from self._run(pending, direction)
                pending = []
            pending.append(tensor)
        if pending:
            yield from self._run(pending, direction)

    def _run(self, tensors: list[torch.Tensor], direction: str) -> Iterator[Image.Image]:
        for output in self.translate_tensor(torch.stack(tensors), direction).cpu():
            yield tensor_to_pil(output)

    def __call__(
        self, images: ImageLike | Sequence[ImageLike], direction: str = "AtoB", batch_size: int = 4
    ) -> list[Image.Image]:
        """Translate one image or a list of them; returns RGB PIL images of the input sizes."""
        if isinstance(images, (str, Path, Image.Image, np.ndarray)):
            images = [images]
        return list(self.iter_translate(images, direction, batch_size))
