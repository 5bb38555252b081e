"""The model registry: each model is found by its paper's short name.

Built-in models are listed in :data:`BUILTIN_MODELS` as ``"module:Class"`` and imported only when
asked for, so a command that needs one model imports one model file (and none when it needs no
model). Names in use: cyclegan, pix2pix, stgan, seigan, posewarp, edgeconnect, ingan, tpgan,
keypatch; a model is listed once its file exists. Models defined elsewhere (a plugin, a test)
register at run time with :func:`register_model`.

The registry sits above the models: model files never import it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from compogan.errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    from compogan.models.base import GANModel

ModelT = TypeVar("ModelT", bound="type[GANModel]")

BUILTIN_MODELS = {
    "cyclegan": "compogan.models.cyclegan:CycleGAN",
    "edgeconnect": "compogan.models.edgeconnect:EdgeConnect",
    "ingan": "compogan.models.ingan:InGAN",
    "seigan": "compogan.models.seigan:SEIGAN",
    "pix2pix": "compogan.models.pix2pix:Pix2Pix",
    "posewarp": "compogan.models.posewarp:PoseWarp",
    "posewarp_unet": "compogan.models.posewarp:PoseWarpUNet",
    "stgan": "compogan.models.stgan:STGAN",
}
"""The registry line of each built-in model: name → ``"module:Class"``."""

_REGISTERED: dict[str, type[GANModel]] = {}


def register_model(cls: ModelT) -> ModelT:
    """Make a model class defined outside :data:`BUILTIN_MODELS` findable by ``cls.name``.

    Usable as a class decorator. Raises ValueError when another class holds the name.
    """
    known = _REGISTERED.get(cls.name)
    if cls.name in BUILTIN_MODELS or (known is not None and known is not cls):
        raise ValueError(f"model name '{cls.name}' is registered twice")
    _REGISTERED[cls.name] = cls
    return cls


def model_names() -> tuple[str, ...]:
    """Every registered model name, sorted."""
    return tuple(sorted({*BUILTIN_MODELS, *_REGISTERED}))


def get_model_class(name: str) -> type[GANModel]:
    """The model class registered as ``name`` (importing its file on first use).

    Raises:
        ConfigError: no model has that name (the message lists the available ones).
    """
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name not in BUILTIN_MODELS:
        raise ConfigError(f"unknown model '{name}'; available models: {', '.join(model_names())}")
    module_name, class_name = BUILTIN_MODELS[name].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    _REGISTERED[name] = cls
    return cls


def available_models() -> dict[str, str]:
    """Registered model names mapped to their one-line descriptions, sorted by name."""
    return {name: get_model_class(name).description for name in model_names()}


def load(path: str | Path, task: str | None = None) -> GANModel:
    """Load a compogan checkpoint, or official weights that a registered importer recognises.

    ``path`` is a run directory (its final weights, or its newest checkpoint when the run was
    stopped early), a ``save_pretrained`` directory (the model class comes from the ``model``
    entry of its ``config.json``), or official files: a path that is not a compogan checkpoint
    is offered to the importers of :mod:`compogan.interop.registry` (a CycleGAN
    ``latest_net_G.pth``, a folder holding EdgeConnect's ``EdgeModel_gen.pth``, ...). The
    model comes back in eval mode, its ``loaded_networks`` naming the networks it holds.

    Args:
        path: the checkpoint or official weights.
        task: if given, a model that does not serve this task ("translate", "inpaint",
            "compose"; see :mod:`compogan.models.tasks`) is refused before any weights are read.

    Raises:
        CheckpointError: nothing loadable at ``path``, a model this compogan does not have, or
            one that does not serve ``task``.
    """
    from compogan.interop.registry import find_importer, importers
    from compogan.io.checkpoints import CONFIG_NAME, read_metadata
    from compogan.models.base import resolve_checkpoint_dir

    path = Path(path)
    directory = resolve_checkpoint_dir(path)
    if (directory / CONFIG_NAME).is_file():
        name = read_metadata(directory)["model"]
        if name not in model_names():
            raise CheckpointError(
                f"{directory} holds a '{name}' checkpoint, a model this compogan does not have "
                f"(available: {', '.join(model_names())})"
            )
        _check_task(name, task, f"{directory} holds a '{name}' checkpoint")
        return get_model_class(name).from_pretrained(directory)
    importer = find_importer(path)
    if importer is not None:
        name = importer.model_name
        _check_task(name, task, f"{path} holds official '{name}' weights")
        return importer.load(path)
    if not path.exists():
        raise CheckpointError(f"no such checkpoint directory or file: {path}")
    accepted = "; ".join(f"{importer.model_name}: {importer.accepts}" for importer in importers())
    raise CheckpointError(
        f"{path} is not a compogan checkpoint (a run or save_pretrained directory with "
        f"{CONFIG_NAME}) or official weights an importer recognises ({accepted})"
    )


def _check_task(name: str, task: str | None, holds: str) -> None:
    """CheckpointError, starting with ``holds``, unless model ``name`` serves ``task``."""
    if task is None or task in get_model_class(name).tasks:
        return
    serving = [other for other in model_names() if task in get_model_class(other).tasks]
    expected = " or ".join(f"'{other}'" for other in serving) or "a model that serves it"
    raise CheckpointError(f"{holds}, not {expected}; '{name}' does not serve the {task} task")
