"""Image-to-image translation with any model that serves the translation contract.

>>> from compogan.pipelines import Translator
>>> translator = Translator.from_pretrained("runs/cyclegan-day2night")   # doctest: +SKIP
>>> night = translator("day.png", direction="AtoB").image                 # doctest: +SKIP
>>> results = list(translator.map(["a.png", "b.png"], batch_size=2))      # doctest: +SKIP

The model (a CycleGAN, trained or imported, or any model with the ``directions`` and
``translate`` of :class:`~compogan.models.tasks.Translation`) sees each image padded to its
``size_multiple`` and ``min_size``; the output is cropped back to the input's size. Images
larger than ``tile_size`` (1024 px a side by default) are translated in overlapping tiles
blended across their seams, so memory does not grow with the image. An input
with alpha (an RGBA file, image or array) is translated in its colours and keeps its alpha
channel unchanged in the output.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

import torch
from PIL import Image

from compogan.errors import CheckpointError, ConfigError, InputError
from compogan.io.images import (
    ImageLike,
    pad_to_multiple,
    pil_to_tensor,
    split_alpha,
    tensor_to_pil,
    with_alpha,
)
from compogan.models.base import GANModel
from compogan.models.tasks import TRANSLATE
from compogan.pipelines.base import Pipeline, PipelineResult, Port, progress_bar, run_tiled

DEFAULT_TILE_SIZE = 1024
"""Images with a side longer than this are translated in tiles by default."""
DEFAULT_TILE_OVERLAP = 64


@dataclass
class TranslationResult(PipelineResult):
    """What :class:`Translator` returns.

    Attributes:
        image: the translated image, of the input's size: RGB, or RGBA with the input's alpha
            when the input had one.
    """

    image: Image.Image
    main = "image"


class Translator(Pipeline):
    """Translate images between two domains, at any input size.

    Args:
        model: a model serving "translate" (e.g. a CycleGAN holding at least one generator).
        device: "auto", "cpu", "cuda", ...
        tile_size: images with a side longer than this are translated in overlapping tiles of
            at most this side, blended across their seams
            (:func:`~compogan.pipelines.base.run_tiled`), so memory stays bounded at any image
            size; 0 never tiles. Rounded down to the model's ``size_multiple``.
        tile_overlap: px shared by neighbouring tiles.

    Raises:
        CheckpointError: the model does not serve "translate" or holds no generator.
        ConfigError: a negative tile size, or an overlap that does not fit in a tile.
    """

    task = TRANSLATE
    inputs = (
        Port("image", "image", required=True, help="the image to translate, any size"),
        Port(
            "direction",
            "choice",
            help="the direction to translate in (CycleGAN: AtoB or BtoA); default the model's "
            "first",
        ),
    )
    outputs = (Port("image", "image", help="the translation, of the input's size"),)
    options = (
        Port(
            "tile_size",
            "number",
            default=DEFAULT_TILE_SIZE,
            help="larger images are translated in overlapping tiles of this side (0: never)",
        ),
        Port("tile_overlap", "number", default=DEFAULT_TILE_OVERLAP, help="px tiles share"),
    )

    def __init__(
        self,
        model: GANModel,
        device: str | torch.device = "auto",
        tile_size: int = DEFAULT_TILE_SIZE,
        tile_overlap: int = DEFAULT_TILE_OVERLAP,
    ) -> None:
        super().__init__(model, device)
        if not self.model.directions:
            raise CheckpointError(f"this {model.name} checkpoint holds no generator to translate")
        multiple = max(model.size_multiple, 1)
        self.tile_size = int(tile_size) // multiple * multiple
        self.tile_overlap = int(tile_overlap)
        if tile_size < 0 or (self.tile_size and not 0 <= self.tile_overlap < self.tile_size // 2):
            raise ConfigError(
                f"tile_size must be 0 or at least {multiple} with 0 <= tile_overlap < half of "
                f"it; got tile_size {tile_size}, tile_overlap {tile_overlap}"
            )
        if self.tile_size and self.tile_size < model.min_size:
            raise ConfigError(f"tile_size must be at least {model.min_size}, got {tile_size}")

    def input_ports(self) -> tuple[Port, ...]:
        """The inputs, with the directions this model's networks translate as choices."""
        image, direction = self.inputs
        directions = self.model.directions
        return image, replace(direction, choices=directions, default=directions[0])

    def direction(self, direction: str | None = None) -> str:
        """``direction`` checked against the model's, or the model's first when None.

        Raises:
            ConfigError: a direction the model's networks do not translate.
        """
        directions = self.model.directions
        if direction is None:
            return directions[0]
        if direction not in directions:
            raise ConfigError(
                f"these {self.model.name} weights cannot translate '{direction}'; they "
                f"translate {' or '.join(directions)}"
            )
        return direction

    @torch.no_grad()
    def translate_tensor(self, images: torch.Tensor, direction: str | None = None) -> torch.Tensor:
        """Translate a batch (N,3,H,W) in [-1,1] of any size; returns the same shape in [-1,1].

        Raises:
            InputError: memory ran out (the message gives the image size).
        """
        direction = self.direction(direction)
        model = self.model
        padded, (height, width) = pad_to_multiple(
            images.to(self.device), model.size_multiple, model.min_size
        )
        try:
            if self.tile_size:
                output = run_tiled(
                    lambda tile: model.translate(tile, direction),
                    padded,
                    self.tile_size,
                    self.tile_overlap,
                )
            else:
                output = model.translate(padded, direction)
            return output[..., :height, :width].clamp(-1, 1)
        except (torch.OutOfMemoryError, MemoryError) as error:
            raise self._out_of_memory(images, error) from None
        except RuntimeError as error:
            if "memory" not in str(error).lower():
                raise
            raise self._out_of_memory(images, error) from None

    def _out_of_memory(self, images: torch.Tensor, error: BaseException) -> InputError:
        count, _, height, width = images.shape
        tiles = f"smaller tiles (now {self.tile_size})" if self.tile_size else "tiles"
        return InputError(
            f"translating {count} image(s) of {width}x{height} ran out of memory on "
            f"{self.device}; use --batch-size 1, {tiles} (--tile-size) or a smaller image"
        )

    def map(
        self,
        images: Iterable[ImageLike],
        progress: bool = False,
        direction: str | None = None,
        batch_size: int = 4,
    ) -> Iterator[TranslationResult]:
        """Translate many images lazily, in order, batching consecutive images of equal size.

        Raises:
            ConfigError: right away (not at the first image) for a direction the model does
                not translate.
        """
        return self._batches(
            progress_bar(images, enabled=progress), self.direction(direction), batch_size
        )

    def _batches(
        self, images: Iterable[ImageLike], direction: str, batch_size: int
    ) -> Iterator[TranslationResult]:
        pending: list[tuple[torch.Tensor, Image.Image | None]] = []
        for image in images:
            picture, alpha = split_alpha(image)
            tensor = pil_to_tensor(picture)
            if pending and (pending[0][0].shape != tensor.shape or len(pending) == batch_size):
                yield from self._run(pending, direction)
                pending = []
            pending.append((tensor, alpha))
        if pending:
            yield from self._run(pending, direction)

    def _run(
        self, items: list[tuple[torch.Tensor, Image.Image | None]], direction: str
    ) -> Iterator[TranslationResult]:
        tensors = torch.stack([tensor for tensor, _ in items])
        outputs = self.translate_tensor(tensors, direction).cpu()
        for output, (_, alpha) in zip(outputs, items, strict=True):
            yield TranslationResult(with_alpha(tensor_to_pil(output), alpha))

    def __call__(self, image: ImageLike, direction: str | None = None) -> TranslationResult:
        """Translate one image (a path, PIL image or HxWx3 / HxWx4 uint8 array) in
        ``direction``; an alpha channel is passed through to the result."""
        return next(self.map([image], direction=direction))
