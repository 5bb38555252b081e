"""Experiment configuration: one dataclass per model, YAML files, and command-line overrides.

An experiment config has three sections:

- ``model``: the model's own dataclass (``ModelClass.Config``): architecture and loss weights,
- ``data``: the model's data dataclass (``ModelClass.DataConfig``): which dataset, image size,
- ``train``: :class:`TrainConfig`, the same for every model: steps, batch size, checkpoints.

YAML files in ``configs/`` hold those sections; dotlist overrides such as ``train.steps=2000`` are
merged last. Unknown keys and wrongly typed values raise :class:`~compogan.errors.ConfigError`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from compogan.errors import ConfigError


@dataclass
class TrainConfig:
    """Settings of the training loop shared by every model.

    Attributes:
        steps: total number of optimisation steps; learning-rate schedules are laid out over it.
        stop_after: stop this run after this many steps (the schedule still follows ``steps``);
            ``--resume`` continues from there. None runs to ``steps``.
        max_minutes: stop (and checkpoint) once this much wall time has passed. None = no limit.
        batch_size: images per step and per process.
        seed: seeds torch, numpy, python and the data order.
        num_workers: DataLoader worker processes.
        checkpoint_every: write a resumable checkpoint every this many steps.
        keep_checkpoints: keep only the newest this many checkpoints.
        log_every: write scalars to TensorBoard and ``losses.jsonl`` every this many steps.
        image_every: write image grids to TensorBoard every this many steps (0 = never).
        device: "auto" (cuda > mps > cpu), "cpu", "cuda", "cuda:1", "mps".
        bf16: run forward passes under bf16 autocast (CUDA only; ignored elsewhere).
        progress: show a progress bar.
        ema_decay: average the weights of the model's ``averaged_networks()`` (its trained
            generators) with this decay and save the averages (0 = off; see
            compogan/train/averaging.py).
    """

    steps: int = 1000
    stop_after: int | None = None
    max_minutes: float | None = None
    batch_size: int = 1
    seed: int = 0
    num_workers: int = 0
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    log_every: int = 10
    image_every: int = 500
    device: str = "auto"
    bf16: bool = False
    progress: bool = True
    ema_decay: float = 0.0


def experiment_schema(model_cls: type) -> DictConfig:
    """The structured (typed, closed) experiment config of a model class, at its defaults."""
    schema = OmegaConf.create(
        {
            "model": OmegaConf.structured(model_cls.Config),
            "data": OmegaConf.structured(model_cls.DataConfig),
            "train": OmegaConf.structured(TrainConfig),
        }
    )
    OmegaConf.set_struct(schema, True)
    return schema


def _one_line(error: OmegaConfBaseException) -> str:
    """OmegaConf messages span several lines (full_key, object_type); keep the first + the key."""
    message = str(error).strip().splitlines()[0]
    key = getattr(error, "full_key", None)
    return f"{key}: {message}" if key and key not in message else message


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        content = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(
            f"config file {path} is not valid YAML: {error}".splitlines()[0]
        ) from None
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(f"config file {path} must hold a mapping with model/data/train sections")
    return content


def load_config(
    model_cls: type,
    config_path: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> DictConfig:
    """Build a model's experiment config: defaults ← YAML file ← dotlist overrides.

    Args:
        model_cls: a registered model class (provides ``Config`` and ``DataConfig``).
        config_path: optional YAML file with ``model``, ``data`` and ``train`` sections.
        overrides: ``section.key=value`` strings, e.g. ``["train.steps=2000"]``.

    Raises:
        ConfigError: unknown key, wrong type, malformed override or unreadable file.
    """
    config = experiment_schema(model_cls)
    try:
        if config_path is not None:
            config = OmegaConf.merge(config, OmegaConf.create(_read_yaml(Path(config_path))))
        for override in overrides:
            if "=" not in override:
                raise ConfigError(f"override '{override}' must look like section.key=value")
        config = OmegaConf.merge(config, OmegaConf.from_dotlist(list(overrides)))
    except OmegaConfBaseException as error:
        raise ConfigError(f"bad config: {_one_line(error)}") from None
    return config


def section_object(config: DictConfig, section: str) -> Any:
    """The dataclass instance of one section (``model``, ``data`` or ``train``)."""
    return OmegaConf.to_object(config[section])


def dataclass_from_dict(cls: type, values: dict[str, Any]) -> Any:
    """Rebuild a config dataclass from a plain dict (as stored in ``config.json``).

    Raises:
        ConfigError: the dict has keys the dataclass does not know.
    """
    try:
        merged = OmegaConf.merge(OmegaConf.structured(cls), values)
    except OmegaConfBaseException as error:
        raise ConfigError(f"bad config: {_one_line(error)}") from None
    return OmegaConf.to_object(merged)


def to_plain(config: Any) -> dict[str, Any]:
    """A JSON/YAML-serialisable dict of a DictConfig or a config dataclass."""
    if isinstance(config, DictConfig):
        return OmegaConf.to_container(config, resolve=True)
    return dataclasses.asdict(config)
