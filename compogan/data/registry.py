"""The dataset registry: datasets found by their batch contract ("kind") and a name.

A model declares the kind of batch it trains on (``GANModel.data_kind``: "unpaired", "paired",
"inpainting", "compositing", ...) and the user picks a dataset of that kind with
``data.dataset=NAME``. A dataset is made by a factory ``factory(data_config, split, seed)``
that reads the fields it needs from the model's data config (every one has the common fields of
:class:`DataConfig`) and returns a :class:`torch.utils.data.Dataset`.

Built-in datasets are listed in :data:`BUILTIN_DATASETS` as ``"module:function"`` and imported
only when asked for; others (a plugin, a test, a new model's own data) register at run time
with :func:`register_dataset`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from torch.utils.data import Dataset

from compogan.config import ranged
from compogan.errors import ConfigError

DatasetFactory = Callable[[Any, str, int], Dataset]
FactoryT = TypeVar("FactoryT", bound=DatasetFactory)

SPLITS = ("train", "test")

BUILTIN_DATASETS: dict[tuple[str, str], str] = {
    ("unpaired", "daynight"): "compogan.data.synthetic.scenes:daynight_dataset",
    ("unpaired", "folder"): "compogan.data.folder:unpaired_folder_dataset",
    ("paired", "daynight"): "compogan.data.synthetic.scenes:paired_daynight_dataset",
    ("paired", "folder"): "compogan.data.paired:paired_folder_dataset",
    ("inpainting", "skimage"): "compogan.data.inpainting:skimage_inpainting_dataset",
    ("inpainting", "folder"): "compogan.data.inpainting:inpainting_folder_dataset",
    ("compositing", "glasses"): "compogan.data.synthetic.glasses_compositing:glasses_dataset",
    ("compositing", "folder"): "compogan.data.compositing:compositing_folder_dataset",
    ("compositing", "celeba"): "compogan.data.compositing:celeba_glasses_dataset",
    ("objects", "synthetic"): "compogan.data.synthetic.objects:synthetic_objects_dataset",
    ("objects", "folder"): "compogan.data.objects:object_folder_dataset",
    ("single_image", "image"): "compogan.data.single_image:single_image_dataset",
    ("pose_pair", "figures"): "compogan.data.synthetic.figures:figures_dataset",
    ("pose_pair", "videos"): "compogan.data.pose_videos:mat_videos_dataset",
    ("pose_pair", "json"): "compogan.data.pose_videos:json_videos_dataset",
}
"""Each built-in dataset: ``(kind, name)`` → ``"module:factory"``."""

_REGISTERED: dict[tuple[str, str], DatasetFactory] = {}


@dataclass
class DataConfig:
    """The fields every model's data config has (a model's ``DataConfig`` subclasses this).

    Attributes:
        dataset: the dataset's name among those registered for the model's data kind.
        root: the dataset folder, for datasets read from disk ("" for procedural ones).
        size: the side of the square training images, in pixels.
        length: items per training epoch for procedural datasets.
        test_length: items of the evaluation split for procedural datasets.
    """

    dataset: str = ""
    root: str = ""
    size: int = ranged(256, ge=1)
    length: int = ranged(2000, ge=1)
    test_length: int = ranged(64, ge=1)

    def split_length(self, split: str) -> int:
        """``length`` for "train", ``test_length`` for "test"."""
        return self.length if split == "train" else self.test_length


def register_dataset(kind: str, name: str) -> Callable[[FactoryT], FactoryT]:
    """A decorator that makes ``factory`` the dataset ``name`` of batch contract ``kind``.

    Raises ValueError when the pair is taken by another factory.
    """

    def register(factory: FactoryT) -> FactoryT:
        key = (kind, name)
        known = _REGISTERED.get(key)
        if key in BUILTIN_DATASETS or (known is not None and known is not factory):
            raise ValueError(f"dataset '{name}' of kind '{kind}' is registered twice")
        _REGISTERED[key] = factory
        return factory

    return register


def dataset_names(kind: str) -> tuple[str, ...]:
    """The names of the datasets registered for ``kind``, sorted."""
    return tuple(sorted({n for k, n in (*BUILTIN_DATASETS, *_REGISTERED) if k == kind}))


def _factory(kind: str, name: str) -> DatasetFactory:
    """The factory of ``(kind, name)``, importing a built-in one on first use."""
    key = (kind, name)
    if key in _REGISTERED:
        return _REGISTERED[key]
    if key not in BUILTIN_DATASETS:
        names = ", ".join(f"'{n}'" for n in dataset_names(kind)) or "none"
        raise ConfigError(f"unknown {kind} dataset '{name}'; use one of: {names}")
    module_name, function_name = BUILTIN_DATASETS[key].split(":")
    factory = getattr(importlib.import_module(module_name), function_name)
    _REGISTERED[key] = factory
    return factory


def build_dataset(kind: str, data_config: Any, split: str, seed: int = 0) -> Dataset:
    """The ``split`` ("train" or "test") of the dataset ``data_config.dataset`` of ``kind``.

    Raises:
        ConfigError: an unknown dataset name or split, or a setting the dataset refuses.
    """
    if split not in SPLITS:
        raise ConfigError(f"unknown split '{split}'; use 'train' or 'test'")
    return _factory(kind, data_config.dataset)(data_config, split, seed)


def require_root(data_config: Any, what: str) -> str:
    """``data_config.root``, or a ConfigError naming ``what`` the folder should hold."""
    if not data_config.root:
        raise ConfigError(
            f"data.dataset={data_config.dataset} reads {what} from disk; set data.root to the "
            "dataset folder"
        )
    return data_config.root
