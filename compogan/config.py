"""Experiment configuration: one dataclass per model, YAML files, and command-line overrides.

An experiment config has three sections:

- ``model``: the model's own dataclass (``ModelClass.Config``): architecture and loss weights,
- ``data``: the model's data dataclass (``ModelClass.DataConfig``): which dataset, image size,
- ``train``: :class:`TrainConfig`, the same for every model: steps, batch size, checkpoints.

YAML files in ``configs/`` hold those sections; dotlist overrides such as ``train.steps=2000`` are
merged last. Unknown keys and wrongly typed values raise :class:`~compogan.errors.ConfigError`.

Value ranges are declared on the dataclass fields and checked for every section when the config
is built (:func:`load_config`, :func:`validate_config`), before a run directory exists::

    @dataclass
    class MyConfig:
        ngf: int = ranged(64, ge=1)                 # an integer >= 1
        lr: float = ranged(2e-4, gt=0)              # a finite number > 0
        dropout: float = ranged(0.0, ge=0, lt=1)    # 0 <= dropout < 1
        stop_after: int | None = ranged(None, ge=1) # None, or >= 1

        def check(self) -> None:                    # optional: rules across fields
            if self.a > self.b:                     # reported as "bad config: model: ..."
                raise ConfigError(f"a ({self.a}) must be <= b ({self.b})")

A field's range is ``field(metadata={RANGE_KEY: Range(...)})``, which :func:`ranged` writes;
NaN and infinite values are outside every range; lists and tuples of numbers have every element
checked; nested config dataclasses are checked too; a subclass that redefines only a field's
default keeps the base class's range. A failure is one ConfigError line naming the key, the
allowed range and the value.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from compogan.errors import ConfigError

OPTIMIZER_IMPLS = ("default", "foreach", "fused")

SCHEDULE_KINDS = ("constant", "linear", "cosine", "step")

RANGE_KEY = "compogan_range"
"""The key of a field's :class:`Range` in its dataclass ``field(metadata=...)``."""


@dataclass(frozen=True)
class Range:
    """The values a numeric config field allows: finite, and within the given bounds.

    Attributes:
        ge: the value must be >= this (None: no lower bound, unless ``gt``).
        gt: the value must be > this.
        le: the value must be <= this.
        lt: the value must be < this.
    """

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def contains(self, value: float) -> bool:
        """Whether ``value`` is a finite number inside the bounds."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if not math.isfinite(value):
            return False
        return (
            (self.ge is None or value >= self.ge)
            and (self.gt is None or value > self.gt)
            and (self.le is None or value <= self.le)
            and (self.lt is None or value < self.lt)
        )

    def describe(self) -> str:
        """The bounds as text, e.g. ">= 1", "> 0 and < 1", "any finite number"."""
        parts = [
            f"{symbol} {bound:g}"
            for symbol, bound in ((">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt))
            if bound is not None
        ]
        return " and ".join(parts) or "any finite number"


def ranged(
    default: Any = MISSING,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    default_factory: Any = MISSING,
) -> Any:
    """A dataclass field with a declared :class:`Range` (see the module docstring).

    ``default`` (or ``default_factory`` for lists) is the field's default; None as a value is
    always allowed for an optional field (``int | None``). For a list or tuple field, every
    element must be in the range.
    """
    metadata = {RANGE_KEY: Range(ge=ge, gt=gt, le=le, lt=lt)}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def check_ranges(config: Any, prefix: str) -> None:
    """Check every declared range of a config dataclass instance, its nested config
    dataclasses, and then their ``check()`` hooks, innermost first.

    Args:
        config: a dataclass instance (a section such as ``TrainConfig()``).
        prefix: the section's key, e.g. "train", used in messages ("train.steps").

    Raises:
        ConfigError: a value outside its range (naming the key, the range and the value), or
            whatever a ``check()`` hook raises.
    """
    for spec in dataclasses.fields(config):
        value = getattr(config, spec.name)
        key = f"{prefix}.{spec.name}"
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            check_ranges(value, key)
            continue
        allowed = _declared_range(type(config), spec.name)
        if allowed is None or value is None:
            continue
        for item in value if isinstance(value, list | tuple) else (value,):
            if not allowed.contains(item):
                raise ConfigError(
                    f"bad config: {key} must be {allowed.describe()}, got {item!r}"
                    + (f" in {list(value)!r}" if isinstance(value, list | tuple) else "")
                )
    hook = getattr(config, "check", None)
    if callable(hook):
        try:
            hook()
        except ConfigError as error:
            raise ConfigError(f"bad config: {prefix}: {error}") from None


def _declared_range(config_cls: type, name: str) -> Range | None:
    """The :class:`Range` of field ``name``, declared on ``config_cls`` or, when a subclass
    redefines only the field's default (``size: int = 144``), on the nearest base dataclass."""
    for cls in config_cls.__mro__:
        spec = getattr(cls, "__dataclass_fields__", {}).get(name)
        if spec is not None and RANGE_KEY in spec.metadata:
            return spec.metadata[RANGE_KEY]
    return None


def validate_config(config: DictConfig) -> DictConfig:
    """Check the declared ranges and ``check()`` hooks of every section (see
    :func:`check_ranges`); returns ``config``.

    Raises:
        ConfigError: the first value out of range, naming its key and the allowed range.
    """
    for section in config:
        try:
            values = OmegaConf.to_object(config[section])
        except OmegaConfBaseException as error:
            raise ConfigError(f"bad config: {_one_line(error)}") from None
        if dataclasses.is_dataclass(values):
            check_ranges(values, str(section))
    return config


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
    start: float = ranged(0.0, ge=0, le=1)
    end: float = ranged(1.0, ge=0, le=1)
    final: float = ranged(0.0, ge=0)
    milestones: list[float] = field(default_factory=list, metadata={RANGE_KEY: Range(ge=0, le=1)})
    gamma: float = ranged(0.1, ge=0)

    def check(self) -> None:
        """ConfigError for an unknown kind or ``start`` after ``end``."""
        if self.kind not in SCHEDULE_KINDS:
            raise ConfigError(
                f"unknown schedule kind '{self.kind}'; use one of {', '.join(SCHEDULE_KINDS)}"
            )
        if self.start > self.end:
            raise ConfigError(
                f"a schedule's start ({self.start}) must not come after its end ({self.end})"
            )


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
        bf16: run forward passes under bf16 autocast, on CUDA and on CPUs with native bf16
            (AVX512-BF16 / AMX); ignored with a warning elsewhere (compogan/train/precision.py).
        optimizer_impl: how optimisers that offer it update parameters: "default" (PyTorch's
            choice: a loop over tensors on CPU), "foreach" (multi-tensor kernels) or "fused"
            (one fused kernel); the same arithmetic, see benchmarks/RESULTS.md for what pays.
        compile: compile every network with ``torch.compile`` (in place: the same parameters
            and checkpoint keys) before the first step. Each new input shape, train/eval mode
            and frozen/trained state compiles once (0.5-2 minutes per model on a 2-core
            CPU), so it pays on long runs of fixed-size inputs; a model's
            ``uncompiled_networks`` stay plain. See benchmarks/RESULTS.md for what it gains
            per model. Needs a C++ compiler on CPU.
        progress: show a progress bar.
        ema_decay: average the weights of the model's ``averaged_networks()`` (its trained
            generators) with this decay and save the averages (0 = off; see
            compogan/train/averaging.py).
        init_from: where a fresh run's networks start, by network name: a compogan run or
            pretrained directory, or official weights an importer recognises, e.g.
            ``train.init_from.G1=runs/edge`` (see compogan/train/init.py). Ignored on resume.
    """

    steps: int = ranged(1000, ge=1)
    stop_after: int | None = ranged(None, ge=1)
    max_minutes: float | None = ranged(None, gt=0)
    batch_size: int = ranged(1, ge=1)
    seed: int = ranged(0, ge=0, lt=2**32)
    num_workers: int = ranged(0, ge=0)
    checkpoint_every: int = ranged(500, ge=1)
    keep_checkpoints: int = ranged(3, ge=1)
    log_every: int = ranged(10, ge=1)
    image_every: int = ranged(500, ge=0)
    device: str = "auto"
    bf16: bool = False
    optimizer_impl: str = "default"
    compile: bool = False
    progress: bool = True
    ema_decay: float = ranged(0.0, ge=0, lt=1)
    init_from: dict[str, str] = field(default_factory=dict)

    def check(self) -> None:
        """ConfigError for an unknown optimizer_impl."""
        if self.optimizer_impl not in OPTIMIZER_IMPLS:
            raise ConfigError(
                f"train.optimizer_impl must be one of {', '.join(OPTIMIZER_IMPLS)}, "
                f"not '{self.optimizer_impl}'"
            )


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
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not a YAML text file") from None
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror or error}") from None
    try:
        content = yaml.safe_load(text)
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
        ConfigError: unknown key, wrong type, a value outside its declared range (see the module
            docstring), malformed override or unreadable file.
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
    return validate_config(config)


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
