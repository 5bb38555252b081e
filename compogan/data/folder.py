"""Unpaired image folders in CycleGAN's layout: ``root/trainA``, ``root/trainB``, ``root/testA``...

Determinism contract (the trainer relies on it for exact resume and for equal data across DDP
ranks): every random choice made for item ``i`` comes from
``np.random.default_rng([seed, epoch, i])`` and nothing else; the epoch is set with
:meth:`UnpairedImageFolder.set_epoch`. No global random state is used, so the same
``(seed, epoch, i)`` gives the same tensors in any process, worker or order.
"""

from pathlib import Path
from typing import Any

import numpy as np
import torch

from compogan.data.registry import require_root
from compogan.data.seeded import TRAIN_SPLIT, SeededDataset
from compogan.data.transforms import ImageTransform
from compogan.errors import InputError
from compogan.io.images import check_headers, list_images, load_image


def _layout_hint(root: Path, phase: str) -> str:
    """The expected folder layout, for error messages."""
    return f"expected images in '{root / (phase + 'A')}' and '{root / (phase + 'B')}'"


class UnpairedImageFolder(SeededDataset):
    """Two unaligned image domains A and B read from ``root/{phase}A`` and ``root/{phase}B``.

    The length is ``max(len(A), len(B))``. Item ``i`` uses ``A[i % len(A)]``. In the "train"
    phase its B image is drawn at random from the whole of B (unpaired) and both images get the
    training transform (random crop, random flip); in any other phase (e.g. "test") B is
    ``B[i % len(B)]`` and both are resized and centre-cropped. Each item is
    ``{"A": (3, crop_size, crop_size), "B": (3, crop_size, crop_size)}``, float32 in ``[-1, 1]``.
    Every file's header is read when the dataset is made, so a corrupt file is refused up front.

    Per item, random numbers are drawn in this order: B index, A crop and flip, B crop and flip.
    """

    def __init__(
        self,
        root: str | Path,
        phase: str = TRAIN_SPLIT,
        load_size: int = 286,
        crop_size: int = 256,
        flip: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__(seed, phase)
        self.root = Path(root)
        self.phase = phase
        self.train = phase == TRAIN_SPLIT
        self.transform = ImageTransform(
            load_size=load_size, crop_size=crop_size, flip=flip, train=self.train
        )
        self.paths_a = self._domain_images("A")
        self.paths_b = self._domain_images("B")

    def _domain_images(self, domain: str) -> list[Path]:
        """The sorted image files of ``root/{phase}{domain}``; InputError naming the layout."""
        if not self.root.is_dir():
            raise InputError(
                f"dataset folder '{self.root}' does not exist; "
                f"{_layout_hint(self.root, self.phase)}"
            )
        folder = self.root / f"{self.phase}{domain}"
        if not folder.is_dir():
            raise InputError(f"missing folder '{folder}'; {_layout_hint(self.root, self.phase)}")
        try:
            paths = list_images(folder)
        except InputError:
            raise InputError(
                f"no images in '{folder}'; {_layout_hint(self.root, self.phase)}"
            ) from None
        check_headers(paths, f"images in '{folder}'")
        return paths

    def _index_b(self, index: int, rng: np.random.Generator) -> int:
        """The B image of item ``index``: random in training (unpaired), else ``index % len(B)``."""
        if self.train:
            return int(rng.integers(len(self.paths_b)))
        return index % len(self.paths_b)

    def __len__(self) -> int:
        return max(len(self.paths_a), len(self.paths_b))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        index = int(index)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        rng = self.item_rng(index)
        image_a = load_image(self.paths_a[index % len(self.paths_a)], mode="RGB")
        image_b = load_image(self.paths_b[self._index_b(index, rng)], mode="RGB")
        return {"A": self.transform(image_a, rng), "B": self.transform(image_b, rng)}


def unpaired_folder_dataset(data_config: Any, split: str, seed: int) -> UnpairedImageFolder:
    """The unpaired "folder" dataset; reads ``root``, ``load_size``, ``size`` (the crop) and
    ``flip``."""
    return UnpairedImageFolder(
        require_root(data_config, "trainA/, trainB/, testA/ and testB/"),
        phase=split,
        load_size=data_config.load_size,
        crop_size=data_config.size,
        flip=data_config.flip,
        seed=seed,
    )
