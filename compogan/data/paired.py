"""Aligned image pairs in pix2pix's layout: ``root/train/``, ``root/test/`` of side-by-side A|B.

Each file holds one pair: domain A on the left half, domain B on the right half (facades: a
512x256 image holds a 256x256 photo and its 256x256 label map). The two halves of an item get one
drawn crop and flip (:meth:`compogan.data.transforms.ImageTransform.draw`), so they stay aligned
pixel for pixel.

Determinism contract (:mod:`compogan.data.seeded`): every random choice of training item ``i``
comes from ``np.random.default_rng([seed, epoch, i])``, of an evaluation item from a fixed
stream; no global random state is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from PIL import Image

from compogan.data.registry import require_root
from compogan.data.seeded import TRAIN_SPLIT, SeededDataset
from compogan.data.transforms import ImageTransform
from compogan.errors import InputError
from compogan.io.images import check_headers, list_images, load_image


def _layout_hint(root: Path, split: str) -> str:
    """The expected folder layout, for error messages."""
    return f"expected side-by-side A|B images (A left, B right) in '{root / split}'"


def split_pair(image: Image.Image, source: str | Path = "image") -> tuple[Image.Image, Image.Image]:
    """The left (A) and right (B) halves of a side-by-side pair image of even width.

    Raises:
        InputError: the width is odd, so the halves cannot be of one size (naming ``source``).
    """
    width, height = image.size
    if width % 2:
        raise InputError(
            f"'{source}' is {width}x{height} (width x height); an A|B pair image needs an even "
            "width, A on the left half and B on the right half"
        )
    half = width // 2
    return image.crop((0, 0, half, height)), image.crop((half, 0, width, height))


class PairedImageFolder(SeededDataset):
    """Aligned pairs read from the side-by-side images of ``root/{split}``, sorted by name.

    Item ``i`` is file ``i`` split into its halves; each half is resized (bicubic) to
    ``load_size x load_size`` and cropped to ``crop_size x crop_size``: in the "train" split at
    one random position and, with ``flip``, mirrored with probability 0.5, the same for both
    halves; in any other split centre-cropped, never mirrored. Each item is
    ``{"A": (3, crop_size, crop_size), "B": (3, crop_size, crop_size)}``, float32 in ``[-1, 1]``.

    Per item, random numbers are drawn in this order: crop top, crop left, flip.

    Args:
        root: the dataset folder, holding one folder of pair images per split.
        split: "train" (random crop and flip, drawn anew each epoch) or another split's folder
            name (fixed centre crop).
        load_size: side of the square each half is resized to (the paper's 286).
        crop_size: side of the square crop (the paper's 256).
        flip: random horizontal flips in training.
        seed: non-negative dataset seed.

    Raises:
        InputError: a missing folder or one without images (naming the expected layout).
        ConfigError: ``crop_size`` above ``load_size``, or a negative seed.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = TRAIN_SPLIT,
        load_size: int = 286,
        crop_size: int = 256,
        flip: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__(seed, split)
        self.root = Path(root)
        self.transform = ImageTransform(
            load_size=load_size, crop_size=crop_size, flip=flip, train=split == TRAIN_SPLIT
        )
        self.paths = self._pair_images()

    def _pair_images(self) -> list[Path]:
        """The sorted image files of ``root/{split}``, every header read up front; InputError
        naming the layout or the unreadable files."""
        if not self.root.is_dir():
            raise InputError(
                f"dataset folder '{self.root}' does not exist; "
                f"{_layout_hint(self.root, self.split)}"
            )
        folder = self.root / self.split
        if not folder.is_dir():
            raise InputError(f"missing folder '{folder}'; {_layout_hint(self.root, self.split)}")
        try:
            paths = list_images(folder)
        except InputError:
            raise InputError(
                f"no images in '{folder}'; {_layout_hint(self.root, self.split)}"
            ) from None
        check_headers(paths, f"pairs in '{folder}'")
        return paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        index = int(index)
        crop = self.transform.draw(self.item_rng(index))
        path = self.paths[index]
        image_a, image_b = split_pair(load_image(path, mode="RGB"), path)
        return {"A": self.transform.apply(image_a, crop), "B": self.transform.apply(image_b, crop)}


def paired_folder_dataset(data_config: Any, split: str, seed: int) -> PairedImageFolder:
    """The paired "folder" dataset; reads ``root``, ``load_size``, ``size`` (the crop) and
    ``flip``."""
    return PairedImageFolder(
        require_root(data_config, "train/ and test/ folders of side-by-side A|B images"),
        split=split,
        load_size=data_config.load_size,
        crop_size=data_config.size,
        flip=data_config.flip,
        seed=seed,
    )
