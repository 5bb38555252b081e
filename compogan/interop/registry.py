"""The importer registry: official-weight importers, found by model name.

An :class:`Importer` turns the official files of one model (its authors' released checkpoints)
into a compogan model. :func:`compogan.registry.load` offers every path that is not a compogan
checkpoint to the importers' ``recognizes`` (a cheap look at file names, nothing read), and
``compogan convert MODEL SOURCE OUT`` goes through :func:`import_official`.

Built-in importers are listed in :data:`BUILTIN_IMPORTERS` and imported on first use.
Importers defined elsewhere (a plugin, a test) register with :func:`register_importer` and are
asked before the built-in ones, which are asked in the table's order: the specific file names
(EdgeConnect's) before the catch-all ``*.pth`` (CycleGAN's).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from compogan.errors import ConfigError

if TYPE_CHECKING:
    from compogan.models.base import GANModel

BUILTIN_IMPORTERS = {
    "edgeconnect": "compogan.interop.edgeconnect:IMPORTER",
    "ingan": "compogan.interop.ingan:IMPORTER",
    "posewarp": "compogan.interop.posewarp:IMPORTER",
    "cyclegan": "compogan.interop.cyclegan:IMPORTER",
}
"""Model name → ``"module:attribute"`` of its built-in :class:`Importer`, in asking order."""


@dataclass(frozen=True)
class Importer:
    """How official weights of one model are recognised and loaded.

    Attributes:
        model_name: the registry name of the model the weights load into.
        recognizes: whether a path looks like this model's official weights (from names only;
            must not read the files or raise).
        load: the official file or folder → a compogan model in eval mode, its
            ``loaded_networks`` naming the networks it got. Raises CheckpointError (one line)
            for files it cannot read.
        accepts: one line saying what ``load`` takes, for error messages.
    """

    model_name: str
    recognizes: Callable[[Path], bool]
    load: Callable[[Path], GANModel]
    accepts: str


_REGISTERED: dict[str, Importer] = {}
_BUILTIN: dict[str, Importer] = {}


def register_importer(
    model_name: str,
    recognizes: Callable[[Path], bool],
    load: Callable[[Path], GANModel],
    accepts: str,
) -> Importer:
    """Register the official-weight importer of ``model_name`` (see :class:`Importer`).

    Raises:
        ValueError: that model already has an importer.
    """
    if model_name in BUILTIN_IMPORTERS or model_name in _REGISTERED:
        raise ValueError(f"model '{model_name}' already has an official-weight importer")
    importer = Importer(model_name, recognizes, load, accepts)
    _REGISTERED[model_name] = importer
    return importer


def _builtin(model_name: str) -> Importer:
    if model_name not in _BUILTIN:
        module_name, attribute = BUILTIN_IMPORTERS[model_name].split(":")
        _BUILTIN[model_name] = getattr(importlib.import_module(module_name), attribute)
    return _BUILTIN[model_name]


def importer_names() -> tuple[str, ...]:
    """The names of the models that have an importer, sorted."""
    return tuple(sorted({*BUILTIN_IMPORTERS, *_REGISTERED}))


def importers() -> tuple[Importer, ...]:
    """Every importer, in the order they are asked: registered ones, then the built-in ones."""
    return (*_REGISTERED.values(), *(_builtin(name) for name in BUILTIN_IMPORTERS))


def get_importer(model_name: str) -> Importer:
    """The importer of ``model_name``.

    Raises:
        ConfigError: that model has no importer (the message lists those that do).
    """
    if model_name in _REGISTERED:
        return _REGISTERED[model_name]
    if model_name not in BUILTIN_IMPORTERS:
        raise ConfigError(
            f"no importer for official '{model_name}' weights; models with one: "
            f"{', '.join(importer_names())}"
        )
    return _builtin(model_name)


def find_importer(path: str | Path) -> Importer | None:
    """The first importer (in :func:`importers`' order) that recognises ``path``, or None."""
    path = Path(path)
    return next((importer for importer in importers() if importer.recognizes(path)), None)


def import_official(model_name: str, path: str | Path) -> GANModel:
    """Load official weights of ``model_name`` at ``path`` through its importer.

    Unlike :func:`compogan.registry.load`, the importer is chosen by name, so files it would
    not recognise by their names are read too.

    Raises:
        ConfigError: ``model_name`` has no importer.
        CheckpointError: the importer cannot read ``path``.
    """
    return get_importer(model_name).load(Path(path))
