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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from compogan.errors import ConfigError

SCHEDULE_KINDS = ("constant", "linear", "cosine", "step")


@dataclass
class ScheduleConfig:
    """A learning-rate schedule: the factor on an optimiser's base lr after each training step.

    Built by :func:`compogan.train.schedules.lr_factor`. Positions are fractions of
    ``train.steps`` (rounded to whole steps), so a schedule keeps its shape when the number of
    steps is overridden.

    Attributes:
        kind: "constant"; "linear" (1 until ``start``, then linearly to ``final`` at ``end``:
            CycleGAN's decay over the second half is start 0.5, InGAN's window is a ``start``
            and an ``end`` before 1); "cosine" (the same span along a half cosine); "step"
            (multiplied by ``gamma`` at each of ``milestones``).
        start: where the decay begins, as a fraction of train.steps.
        end: where it reaches ``final``, as a fraction of train.steps (after it: ``final``).
        final: the factor at and after ``end``.
        milestones: fractions of train.steps at which "step" multiplies by ``gamma``.
        gamma: the factor of each "step" milestone.
    """

    kind: str = "constant"
    start: float = 0.0
    end: float = 1.0
    final: float = 0.0
    milestones: list[float] = field(default_factory=list)
    gamma: float = 0.1


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
        init_from: where a fresh run's networks start, by network name: a compogan run or
            pretrained directory, or official weights an importer recognises, e.g.
            ``train.init_from.G1=runs/edge`` (see compogan/train/init.py). Ignored on resume.
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
    init_from: dict[str, str] = field(default_factory=dict)


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
    OmegaConf.set_struct(schema.train.init_from, False)  # keys are network names, open by design
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


def resume_config(
    model_cls: type, run_dir: str | Path, overrides: list[str] | tuple[str, ...] = ()
) -> DictConfig:
    """The config to resume ``run_dir`` with: its ``config.yaml`` ← ``overrides``.

    The saved ``train.stop_after`` is dropped: it stopped the earlier invocation, and a resumed
    run continues to the end of its schedule unless the overrides give a new ``stop_after``.

    Raises:
        ConfigError: no config.yaml in ``run_dir``, or a bad override.
    """
    saved = Path(run_dir) / "config.yaml"
    if not saved.is_file():
        raise ConfigError(f"--resume: {run_dir} holds no config.yaml; is it a compogan run?")
    return load_config(model_cls, saved, ["train.stop_after=null", *overrides])


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
