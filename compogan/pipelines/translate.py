"""Image-to-image translation with any model that serves the translation contract.

>>> from compogan.pipelines import Translator
>>> translator = Translator.from_pretrained("runs/cyclegan-day2night")   # doctest: +SKIP
>>> night = translator("day.png", direction="AtoB").image                 # doctest: +SKIP
>>> results = list(translator.map(["a.png", "b.png"], batch_size=2))      # doctest: +SKIP

The model (a CycleGAN, trained or imported, or any model with the ``directions`` and
``translate`` of :class:`~compogan.models.tasks.Translation`) sees each image padded to its
``size_multiple`` and ``min_size``; the output is cropped back to the input's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

import torch
from PIL import Image

from compogan.errors import CheckpointError, ConfigError
from compogan.io.images import ImageLike, pad_to_multiple, pil_to_tensor, tensor_to_pil, to_pil
from compogan.models.base import GANModel
from compogan.models.tasks import TRANSLATE
from compogan.pipelines.base import Pipeline, PipelineResult, Port, progress_bar


@dataclass
class TranslationResult(PipelineResult):
    """What :class:`Translator` returns.

    Attributes:
        image: the translated RGB image, of the input's size.
    """

    image: Image.Image
    main = "image"


class Translator(Pipeline):
    """Translate images between two domains, at any input size.

    Args:
        model: a model serving "translate" (e.g. a CycleGAN holding at least one generator).
        device: "auto", "cpu", "cuda", ...

    Raises:
        CheckpointError: the model does not serve "translate" or holds no generator.
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

    def __init__(self, model: GANModel, device: str | torch.device = "auto") -> None:
        super().__init__(model, device)
        if not self.model.directions:
            raise CheckpointError(f"this {model.name} checkpoint holds no generator to translate")

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
        """Translate a batch (N,3,H,W) in [-1,1] of any size; returns the same shape in [-1,1]."""
        direction = self.direction(direction)
        model = self.model
        padded, (height, width) = pad_to_multiple(
            images.to(self.device), model.size_multiple, model.min_size
        )
        return model.translate(padded, direction)[..., :height, :width].clamp(-1, 1)

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
        pending: list[torch.Tensor] = []
        for image in images:
            tensor = pil_to_tensor(to_pil(image))
            if pending and (pending[0].shape != tensor.shape or len(pending) == batch_size):
                yield from self._run(pending, direction)
                pending = []
            pending.append(tensor)
        if pending:
            yield from self._run(pending, direction)

    def _run(self, tensors: list[torch.Tensor], direction: str) -> Iterator[TranslationResult]:
        for output in self.translate_tensor(torch.stack(tensors), direction).cpu():
            yield TranslationResult(tensor_to_pil(output))

    def __call__(self, image: ImageLike, direction: str | None = None) -> TranslationResult:
        """Translate one image (a path, PIL image or HxWx3 uint8 array) in ``direction``."""
        return next(self.map([image], direction=direction))
