"""Deterministic image transforms on PIL images.

Every random choice is drawn from a :class:`numpy.random.Generator` passed in by the caller, so
the same generator state always gives the same output (the data sets seed one generator per
sample; see :mod:`compogan.data.folder`). Sizes given as a pair are ``(height, width)``, the
order torch uses.
"""

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageOps

from compogan.errors import ConfigError, InputError
from compogan.io.images import pil_to_tensor

Size = int | tuple[int, int]


def _height_width(size: Size) -> tuple[int, int]:
    """``size`` as ``(height, width)``; an int means a square."""
    height, width = (size, size) if isinstance(size, int) else size
    if height <= 0 or width <= 0:
        raise ValueError(f"sizes must be positive, got {size}")
    return int(height), int(width)


def resize(
    image: Image.Image, size: Size, resample: Image.Resampling = Image.Resampling.BICUBIC
) -> Image.Image:
    """Resize to exactly ``size`` (int: a square; pair: ``(height, width)``), bicubic by default."""
    height, width = _height_width(size)
    if image.size == (width, height):
        return image.copy()
    return image.resize((width, height), resample)


def resize_shorter(
    image: Image.Image, size: int, resample: Image.Resampling = Image.Resampling.BICUBIC
) -> Image.Image:
    """Resize keeping the aspect ratio so the shorter side becomes ``size`` pixels."""
    width, height = image.size
    scale = size / min(width, height)
    new_height = max(1, round(height * scale))
    new_width = max(1, round(width * scale))
    return resize(image, (new_height, new_width), resample)


def _check_fits(image: Image.Image, height: int, width: int) -> None:
    """Raise InputError if a ``height x width`` crop does not fit inside ``image``."""
    if width > image.width or height > image.height:
        raise InputError(
            f"cannot crop {height}x{width} (height x width) from an image of "
            f"{image.height}x{image.width}; use a smaller crop size or a larger load size"
        )


def crop_at(image: Image.Image, top: int, left: int, size: Size) -> Image.Image:
    """The ``size`` crop whose top-left corner is at ``(top, left)``."""
    height, width = _height_width(size)
    _check_fits(image, height, width)
    return image.crop((left, top, left + width, top + height))


@dataclass(frozen=True)
class CropFlip:
    """One drawn crop window and mirror, to apply alike to every image of an item.

    Drawing the parameters once (:func:`draw_crop_flip`) and applying them to each image keeps
    the images of a pair, an image and its mask, or a profile and its frontal view aligned.
    """

    top: int
    left: int
    height: int
    width: int
    flip: bool = False

    def apply(self, image: Image.Image) -> Image.Image:
        """The crop of ``image`` at ``(top, left)``, then mirrored left-right if ``flip``."""
        picture = crop_at(image, self.top, self.left, (self.height, self.width))
        return picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if self.flip else picture


def draw_crop_flip(
    image_size: tuple[int, int],
    size: Size,
    rng: np.random.Generator | None,
    flip: bool = False,
) -> CropFlip:
    """The parameters of a ``size`` crop of an image of ``image_size`` (height, width).

    With ``rng`` the crop sits at a uniformly random position (draws the top, then the left
    offset) and, if ``flip``, is mirrored with probability 0.5 (one more draw); without it the
    crop is centred (offsets rounded to the nearest pixel) and never mirrored.

    Raises:
        InputError: the crop does not fit inside the image.
    """
    height, width = _height_width(size)
    image_height, image_width = image_size
    if width > image_width or height > image_height:
        raise InputError(
            f"cannot crop {height}x{width} (height x width) from an image of "
            f"{image_height}x{image_width}; use a smaller crop size or a larger load size"
        )
    if rng is None:
        top = round((image_height - height) / 2)
        left = round((image_width - width) / 2)
        return CropFlip(top, left, height, width)
    top = int(rng.integers(0, image_height - height + 1))
    left = int(rng.integers(0, image_width - width + 1))
    mirrored = bool(rng.random() < 0.5) if flip else False
    return CropFlip(top, left, height, width, mirrored)


def random_crop(image: Image.Image, size: Size, rng: np.random.Generator) -> Image.Image:
    """A ``size`` crop at a uniformly random position (draws the top, then the left offset)."""
    return draw_crop_flip((image.height, image.width), size, rng).apply(image)


def center_crop(image: Image.Image, size: Size) -> Image.Image:
    """The ``size`` crop in the middle of the image (offsets rounded to the nearest pixel)."""
    return draw_crop_flip((image.height, image.width), size, None).apply(image)


def random_flip(image: Image.Image, rng: np.random.Generator, p: float = 0.5) -> Image.Image:
    """Mirror left-right with probability ``p`` (always draws one number from ``rng``)."""
    if rng.random() < p:
        return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return image


DIHEDRAL_TRANSPOSES = (
    None,
    Image.Transpose.FLIP_LEFT_RIGHT,
    Image.Transpose.FLIP_TOP_BOTTOM,
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_180,
    Image.Transpose.ROTATE_270,
    Image.Transpose.TRANSPOSE,
    Image.Transpose.TRANSVERSE,
)
"""The eight symmetries of a square: identity, two mirrors, three rotations, two transposes."""


def random_dihedral(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """One of the square's eight symmetries, uniformly (draws one integer from ``rng``)."""
    transpose = DIHEDRAL_TRANSPOSES[int(rng.integers(len(DIHEDRAL_TRANSPOSES)))]
    return image if transpose is None else image.transpose(transpose)


def random_colours(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """An RGB image with its channels in a uniformly random order, and with probability 0.5 its
    negative (draws the order, then one number)."""
    bands = image.convert("RGB").split()
    recoloured = Image.merge("RGB", [bands[i] for i in rng.permutation(3)])
    return ImageOps.invert(recoloured) if rng.random() < 0.5 else recoloured


@dataclass(frozen=True)
class ImageTransform:
    """CycleGAN's "resize_and_crop" preprocessing, ending in a ``(3, H, W)`` tensor in ``[-1, 1]``.

    The image is resized (bicubic) to ``load_size x load_size``, then cropped to
    ``crop_size x crop_size``: at a random position when ``train`` is true, in the centre
    otherwise. When ``train`` and ``flip`` are both true it is mirrored with probability 0.5.
    Random numbers are drawn in a fixed order: crop top, crop left, flip.
    """

    load_size: int = 286
    crop_size: int = 256
    flip: bool = True
    train: bool = True

    def __post_init__(self) -> None:
        if self.load_size <= 0 or self.crop_size <= 0:
            raise ConfigError(
                f"load_size and crop_size must be positive, got {self.load_size} and "
                f"{self.crop_size}"
            )
        if self.crop_size > self.load_size:
            raise ConfigError(
                f"crop_size ({self.crop_size}) must not exceed load_size ({self.load_size})"
            )

    def draw(self, rng: np.random.Generator | None) -> CropFlip:
        """The crop (and flip) of one item, on the ``load_size`` square; ``rng`` is required
        when ``train`` is true and ignored otherwise."""
        if not self.train:
            return draw_crop_flip((self.load_size, self.load_size), self.crop_size, None)
        if rng is None:
            raise ValueError("a training transform needs a numpy random Generator")
        return draw_crop_flip((self.load_size, self.load_size), self.crop_size, rng, self.flip)

    def apply(self, image: Image.Image, crop: CropFlip) -> torch.Tensor:
        """Resize ``image`` (converted to RGB) to the ``load_size`` square, take ``crop``:
        ``(3, crop_size, crop_size)`` in [-1, 1]."""
        return pil_to_tensor(crop.apply(resize(image.convert("RGB"), self.load_size)))

    def __call__(self, image: Image.Image, rng: np.random.Generator | None = None) -> torch.Tensor:
        """Transform one image: :meth:`apply` of a fresh :meth:`draw`."""
        return self.apply(image, self.draw(rng))
