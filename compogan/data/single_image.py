"""The single-image dataset (kind "single_image"): random crops of the one image a
single-image GAN such as InGAN learns from.

Item i is a random square crop of side ``data.size`` (clipped to the image, rounded down to a
multiple of 8) of the training image ``data.image``: a file path, or ``skimage:NAME`` for one of
the photos and textures inside scikit-image's wheel (e.g. ``skimage:brick``, offline). The image
is resized so its longer side is at most ``data.max_side`` (when set) and shaved to a multiple
of 8 on each side, as the reference does.

Items: ``{"image": (3,S,S)}`` in [-1,1] (S may be smaller than ``data.size`` for a small image).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image

from compogan.data.seeded import SeededDataset
from compogan.errors import ConfigError, InputError
from compogan.io.images import has_alpha, load_image, pil_to_tensor

SKIMAGE_PREFIX = "skimage:"
MULTIPLE = 8
MIN_SIDE = 32
"""The smallest side (after shaving) InGAN can learn from: its crops feed a 3-level encoder
and a discriminator of unpadded convolutions."""


def _skimage_picture(name: str) -> Image.Image:
    """A scikit-image data image as RGB (grey textures such as brick are replicated to RGB)."""
    import skimage.data

    loader = getattr(skimage.data, name, None)
    if loader is None or not callable(loader):
        raise ConfigError(f"scikit-image has no image {name!r} (try skimage:brick, skimage:coffee)")
    try:
        pixels = np.asarray(loader())
    except (OSError, ValueError, TypeError) as error:
        raise InputError(f"scikit-image cannot load {name!r} offline: {error}") from None
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3):
        raise InputError(f"scikit-image's {name!r} is not an 8-bit picture")
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    return Image.fromarray(np.ascontiguousarray(pixels[..., :3]), mode="RGB")


def read_rgb_picture(source: str) -> Image.Image:
    """The RGB picture at ``source`` (a path or ``skimage:NAME``).

    Raises:
        InputError: unreadable, grayscale or with an alpha channel (one line saying so).
        ConfigError: no ``source`` given.
    """
    if not source:
        raise ConfigError(
            "InGAN learns one image: set data.image=PATH (or data.image=skimage:NAME)"
        )
    if source.startswith(SKIMAGE_PREFIX):
        return _skimage_picture(source[len(SKIMAGE_PREFIX) :])
    if has_alpha(source):
        raise InputError(f"{source} has an alpha channel; InGAN retargets RGB images, flatten it")
    picture = load_image(source, mode="RGB")
    channels = np.asarray(picture)
    if (channels[..., 0] == channels[..., 1]).all() and (
        channels[..., 1] == channels[..., 2]
    ).all():
        raise InputError(f"{source} is a grayscale image; InGAN retargets RGB images")
    return picture


def prepare_picture(picture: Image.Image, max_side: int | None = None) -> torch.Tensor:
    """(1,3,H,W) in [-1,1]: ``picture`` resized (bicubic) so its longer side is at most
    ``max_side``, then shaved to multiples of 8.

    Raises:
        InputError: smaller than :data:`MIN_SIDE` pixels on a side after that.
    """
    if max_side is not None and max(picture.size) > max_side:
        ratio = max_side / max(picture.size)
        size = (max(1, round(picture.width * ratio)), max(1, round(picture.height * ratio)))
        picture = picture.resize(size, Image.Resampling.BICUBIC)
    width = picture.width - picture.width % MULTIPLE
    height = picture.height - picture.height % MULTIPLE
    if min(width, height) < MIN_SIDE:
        raise InputError(
            f"the image is {picture.width}x{picture.height}; InGAN needs at least "
            f"{MIN_SIDE}x{MIN_SIDE} pixels"
        )
    return pil_to_tensor(picture.crop((0, 0, width, height)))[None]


def load_training_image(source: str, max_side: int | None = None) -> torch.Tensor:
    """The training image of ``data.image`` as (1,3,H,W) in [-1,1] (see the module)."""
    return prepare_picture(read_rgb_picture(source), max_side)


class SingleImageCrops(SeededDataset):
    """Random square crops of one image (see the module docstring).

    Args:
        image: (1,3,H,W) in [-1,1].
        crop_size: the crop side, clipped to the image's shorter side − 1 and rounded down to
            a multiple of 8.
        length: crops per epoch.
        seed: the dataset seed.
        split: "train" draws new crops every epoch; "test" serves fixed ones.
    """

    def __init__(
        self, image: torch.Tensor, crop_size: int, length: int, seed: int, split: str
    ) -> None:
        super().__init__(seed, split)
        self.image = image[0]
        height, width = self.image.shape[-2:]
        side = min(crop_size, height - 1, width - 1)
        self.crop_size = side - side % MULTIPLE
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = self.item_rng(index)
        height, width = self.image.shape[-2:]
        side = self.crop_size
        top = int(rng.integers(0, height - side))
        left = int(rng.integers(0, width - side))
        return {"image": self.image[:, top : top + side, left : left + side].clone()}


def single_image_dataset(data_config: Any, split: str, seed: int) -> SingleImageCrops:
    """The factory of ("single_image", "single_image"): crops of ``data.image``."""
    image = load_training_image(data_config.image, data_config.max_side)
    return SingleImageCrops(image, data_config.size, data_config.split_length(split), seed, split)
