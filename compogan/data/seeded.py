"""The determinism contract every compogan dataset follows.

Item ``i`` of a training split draws all its randomness from
``np.random.default_rng([seed, epoch, i])``; evaluation splits use a fixed stream instead of the
epoch, so they serve the same items every time. Nothing touches a global RNG. This is what lets
the trainer resume mid-epoch exactly and lets DDP ranks shard a dataset the way one process
would see it.
"""

from __future__ import annotations

import numpy as np
from torch.utils.data import Dataset

from compogan.errors import ConfigError

TRAIN_SPLIT = "train"
EVAL_STREAM = 2**32 - 1
"""The stream that replaces the epoch for every split but "train"."""


class SeededDataset(Dataset):
    """Base class: ``set_epoch`` and the per-item generator :meth:`item_rng`.

    Args:
        seed: non-negative dataset seed.
        split: "train" draws anew every epoch; any other split is fixed.
    """

    def __init__(self, seed: int, split: str) -> None:
        if seed < 0:
            raise ConfigError(f"the data seed must be a non-negative integer, got {seed}")
        self.seed = int(seed)
        self.split = split
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose random draws the train split serves (no effect on others)."""
        if epoch < 0:
            raise ConfigError(f"epoch must be non-negative, got {epoch}")
        self.epoch = int(epoch)

    def item_rng(self, index: int) -> np.random.Generator:
        """The generator that every random choice of item ``index`` comes from.

        Raises:
            IndexError: ``index`` is outside the dataset.
        """
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a data set of {len(self)}")
        stream = self.epoch if self.split == TRAIN_SPLIT else EVAL_STREAM
        return np.random.default_rng([self.seed, stream, index])
