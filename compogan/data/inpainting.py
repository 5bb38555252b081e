"""Inpainting data sets for EdgeConnect: images from a folder, or photos shipped with
scikit-image, each paired with a hole mask.

Each item is a dict of tensors, with S the data set's ``size``:

- ``"image"``: (3, S, S) float32 in [-1, 1], the complete image;
- ``"mask"``: (1, S, S) float32 in {0, 1}, 1 where the image is missing.

Masks come from a generator kind of :mod:`compogan.data.masks` ("block", "free_form", "half",
"mix") or from a folder of mask images (any format, thresholded at 0.5). Determinism: every
random choice of item ``i`` comes from ``np.random.default_rng([seed, epoch, i])`` in the "train"
split and from a fixed stream in the others (see :mod:`compogan.data.seeded`), drawn in the
order: image crop (top, left), flip (train only), symmetry, channel order and negative (train
only, with ``augment``), then the mask.
"""

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from compogan.data.masks import MaskGenerator, load_mask_file, mask_generator
from compogan.data.registry import require_root
from compogan.data.seeded import TRAIN_SPLIT, SeededDataset
from compogan.data.transforms import (
    center_crop,
    random_colours,
    random_crop,
    random_dihedral,
    random_flip,
    resize_shorter,
)
from compogan.errors import ConfigError, InputError
from compogan.io.images import (
    IMAGE_SUFFIXES,
    check_headers,
    list_images,
    load_image,
    pil_to_tensor,
)

DEFAULT_MASK_KIND = "free_form"

SKIMAGE_PHOTOS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "brick",
    "grass",
    "gravel",
    "camera",
    "immunohistochemistry",
    "hubble_deep_field",
    "moon",
    "coins",
)
"""Photos inside scikit-image's wheel (``skimage.data``) that load without a download."""

SYNTHETIC_SCALE_RANGE = (1.0, 2.0)
"""Before cropping, a photo's shorter side is resized to ``size`` times a factor in this range."""


def _suffix_list() -> str:
    """The readable image suffixes, for error messages."""
    return ", ".join(sorted(suffix.lstrip(".") for suffix in IMAGE_SUFFIXES))


def folder_images(folder: str | Path, what: str) -> list[Path]:
    """The sorted image files directly inside ``folder``.

    Every file's header is read up front (:func:`compogan.io.images.check_headers`). Raises
    InputError naming the folder (described as ``what``) when it is missing, not a folder,
    holds no images or holds a file that is not a readable image.
    """
    path = Path(folder)
    if not path.exists():
        raise InputError(f"{what} folder '{path}' does not exist; pass a folder of images")
    if not path.is_dir():
        raise InputError(f"{what} folder '{path}' is not a folder; pass a folder of images")
    try:
        images = list_images(path)
    except InputError:
        raise InputError(
            f"{what} folder '{path}' holds no images; add {_suffix_list()} files"
        ) from None
    check_headers(images, f"{what} files in '{path}'")
    return images


def _check_size(size: int) -> None:
    """ConfigError unless ``size`` is a positive integer."""
    if size <= 0:
        raise ConfigError(f"the image size must be a positive integer, got {size}")


class _MaskSource:
    """Masks for items: generated from a kind, or read from a folder of mask images.

    Args:
        kind: generator kind, used when ``mask_root`` is None.
        mask_root: folder of mask images; item i uses mask ``i % len`` in evaluation splits and
            a random one (one draw) in training.
        train: whether the split is "train".
    """

    def __init__(self, kind: str, mask_root: str | Path | None, train: bool) -> None:
        self.train = train
        self.paths = folder_images(mask_root, "mask") if mask_root is not None else []
        self.generator: MaskGenerator | None = None if self.paths else mask_generator(kind)

    def __call__(self, index: int, size: int, rng: np.random.Generator) -> torch.Tensor:
        """The (1, size, size) float32 {0, 1} mask of item ``index``."""
        if self.generator is not None:
            mask = self.generator(size, rng)
        else:
            choice = int(rng.integers(len(self.paths))) if self.train else index % len(self.paths)
            mask = load_mask_file(self.paths[choice], size)
        return torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None]


def _crop_square(
    image: Image.Image,
    size: int,
    train: bool,
    flip: bool,
    rng: np.random.Generator,
    augment: bool = False,
) -> torch.Tensor:
    """A (3, size, size) tensor in [-1, 1]: a random crop (and flip) in training, else centred.

    With ``augment`` a training crop then takes one of the square's eight symmetries, a random
    channel order and, half the time, its negative. ``image`` must already have a shorter side
    of at least ``size``.
    """
    if train:
        picture = random_crop(image, size, rng)
        if flip:
            picture = random_flip(picture, rng)
        if augment:
            picture = random_colours(random_dihedral(picture, rng), rng)
    else:
        picture = center_crop(image, size)
    return pil_to_tensor(picture.convert("RGB"))


class InpaintingFolder(SeededDataset):
    """Images from a folder (any format compogan reads) with hole masks.

    Each image is resized so its shorter side is ``load_size`` (``size`` by default), then cut
    to ``size x size``: a random crop and a random left-right flip in the "train" split, the
    centre crop otherwise. Item ``i`` shows image ``i``.

    Args:
        root: folder of images.
        split: "train" draws anew every epoch; any other split is fixed.
        size: side S of the square items.
        mask_kind: mask generator kind ("block", "free_form", "irregular", "half" or "mix");
            ignored when ``mask_root`` is given.
        mask_root: folder of mask images (white or alpha = hole), thresholded at 0.5 and resized
            with nearest-neighbour sampling; item i uses mask ``i % len(masks)`` outside
            training and a random one in training.
        load_size: shorter side before cropping; at least ``size``.
        flip: whether training items are mirrored with probability 0.5.
        augment: whether training items also take a random square symmetry (rotation, mirror
            or transpose), a random channel order and, half the time, their negative: more
            variety from few images.
        seed: non-negative data seed.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = TRAIN_SPLIT,
        size: int = 256,
        mask_kind: str = DEFAULT_MASK_KIND,
        mask_root: str | Path | None = None,
        load_size: int | None = None,
        flip: bool = True,
        augment: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(seed, split)
        _check_size(size)
        self.size = int(size)
        self.load_size = self.size if load_size is None else int(load_size)
        if self.load_size < self.size:
            raise ConfigError(
                f"load_size ({self.load_size}) must be at least the crop size ({self.size})"
            )
        self.train = split == TRAIN_SPLIT
        self.flip = flip
        self.augment = augment
        self.root = Path(root)
        self.paths = folder_images(self.root, "image")
        self.masks = _MaskSource(mask_kind, mask_root, self.train)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        index = int(index)
        rng = self.item_rng(index)
        picture = resize_shorter(load_image(self.paths[index], mode="RGB"), self.load_size)
        image = _crop_square(picture, self.size, self.train, self.flip, rng, self.augment)
        return {"image": image, "mask": self.masks(index, self.size, rng)}


@lru_cache(maxsize=len(SKIMAGE_PHOTOS))
def skimage_photo(name: str) -> Image.Image:
    """One of :data:`SKIMAGE_PHOTOS` as an RGB PIL image (loaded once per process).

    Raises InputError when scikit-image cannot provide it offline.
    """
    if name not in SKIMAGE_PHOTOS:
        raise ConfigError(f"unknown scikit-image photo {name!r}; use one of {SKIMAGE_PHOTOS}")
    import skimage.data

    try:
        pixels = np.asarray(getattr(skimage.data, name)())
    except (OSError, ModuleNotFoundError, ValueError, AttributeError) as error:
        raise InputError(
            f"scikit-image cannot load its photo {name!r} offline ({type(error).__name__}); "
            "reinstall scikit-image"
        ) from error
    if pixels.dtype != np.uint8:
        raise InputError(f"scikit-image photo {name!r} is not 8-bit; reinstall scikit-image")
    mode = "L" if pixels.ndim == 2 else "RGB"
    return Image.fromarray(np.ascontiguousarray(pixels[..., :3]), mode=mode).convert("RGB")


class SyntheticInpainting(SeededDataset):
    """Offline inpainting data: crops of the photos shipped with scikit-image, with masks.

    Item ``i`` uses photo ``i % len(photos)``. Its shorter side is resized to ``size`` times a
    factor drawn in :data:`SYNTHETIC_SCALE_RANGE`, then a random ``size x size`` crop is taken
    (and mirrored with probability 0.5 in training). Evaluation splits draw from a fixed stream,
    so they serve the same crops and masks every time. Draw order: scale, crop top, crop left,
    flip (train only), mask.

    Args:
        split: "train" draws anew every epoch; any other split is fixed.
        size: side S of the square items.
        length: number of items.
        mask_kind: mask generator kind, ignored when ``mask_root`` is given.
        mask_root: optional folder of mask images (as in :class:`InpaintingFolder`).
        photos: names from :data:`SKIMAGE_PHOTOS`; all of them by default.
        augment: as in :class:`InpaintingFolder` (training only; drawn after the flip).
        seed: non-negative data seed.
    """

    def __init__(
        self,
        split: str = TRAIN_SPLIT,
        size: int = 64,
        length: int = 64,
        mask_kind: str = DEFAULT_MASK_KIND,
        mask_root: str | Path | None = None,
        photos: tuple[str, ...] = SKIMAGE_PHOTOS,
        augment: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(seed, split)
        _check_size(size)
        if length <= 0:
            raise ConfigError(f"the data set length must be positive, got {length}")
        if not photos:
            raise ConfigError("SyntheticInpainting needs at least one photo")
        unknown = sorted(set(photos) - set(SKIMAGE_PHOTOS))
        if unknown:
            raise ConfigError(f"unknown scikit-image photos {unknown}; use {SKIMAGE_PHOTOS}")
        self.size = int(size)
        self.length = int(length)
        self.photos = tuple(photos)
        self.augment = augment
        self.train = split == TRAIN_SPLIT
        self.masks = _MaskSource(mask_kind, mask_root, self.train)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        index = int(index)
        rng = self.item_rng(index)
        photo = skimage_photo(self.photos[index % len(self.photos)])
        scale = rng.uniform(*SYNTHETIC_SCALE_RANGE)
        picture = resize_shorter(photo, max(self.size, round(self.size * scale)))
        image = _crop_square(picture, self.size, True, self.train, rng, self.augment and self.train)
        return {"image": image, "mask": self.masks(index, self.size, rng)}


def split_photos(test_photos: list[str], train: bool) -> tuple[str, ...]:
    """The photos of a split of :class:`SyntheticInpainting` with ``test_photos`` held out.

    Training gets every other photo of :data:`SKIMAGE_PHOTOS`, the test split only
    ``test_photos``; with none held out, both get them all. Raises ConfigError for unknown names
    or when nothing is left to train on.
    """
    unknown = sorted(set(test_photos) - set(SKIMAGE_PHOTOS))
    if unknown:
        raise ConfigError(f"unknown data.test_photos {unknown}; use names from {SKIMAGE_PHOTOS}")
    if not test_photos:
        return SKIMAGE_PHOTOS
    if train:
        kept = tuple(name for name in SKIMAGE_PHOTOS if name not in test_photos)
        if not kept:
            raise ConfigError("data.test_photos holds out every photo; keep some for training")
        return kept
    return tuple(dict.fromkeys(test_photos))


# ---- the registered datasets (compogan.data.registry) ------------------------------------------
def skimage_inpainting_dataset(data_config: Any, split: str, seed: int) -> SyntheticInpainting:
    """The "skimage" inpainting dataset: scikit-image's photos with generated or file masks;
    reads ``size``, ``length``/``test_length``, ``mask_kind``, ``mask_root``, ``test_photos``,
    ``augment``."""
    return SyntheticInpainting(
        split,
        data_config.size,
        data_config.split_length(split),
        data_config.mask_kind,
        data_config.mask_root or None,
        photos=split_photos(data_config.test_photos, split == "train"),
        augment=data_config.augment,
        seed=seed,
    )


def inpainting_folder_dataset(data_config: Any, split: str, seed: int) -> InpaintingFolder:
    """The "folder" inpainting dataset; reads ``root``, ``size``, ``mask_kind``, ``mask_root``,
    ``augment``."""
    return InpaintingFolder(
        require_root(data_config, "images"),
        split,
        data_config.size,
        data_config.mask_kind,
        data_config.mask_root or None,
        augment=data_config.augment,
        seed=seed,
    )
