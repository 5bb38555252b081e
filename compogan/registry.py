"""The model registry: each model class registers under its paper's short name.

Names in use: cyclegan, stgan, seigan, posewarp, edgeconnect, ingan, tpgan, keypatch. A model
is listed only once its file exists and registers itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from compogan.errors import ConfigError

if TYPE_CHECKING:
    from compogan.models.base import GANModel

ModelT = TypeVar("ModelT", bound="type[GANModel]")

_MODELS: dict[str, type[GANModel]] = {}


def register_model(cls: ModelT) -> ModelT:
    """Class decorator: make a model findable by ``cls.name``."""
    if cls.name in _MODELS and _MODELS[cls.name] is not cls:
        raise ValueError(f"model name '{cls.name}' is registered twice")
    _MODELS[cls.name] = cls
    return cls


def _ensure_models_imported() -> None:
    import compogan.models  # noqa: F401  (importing registers every model)


def get_model_class(name: str) -> type[GANModel]:
    """The model class registered as ``name``.

    Raises:
        ConfigError: no model has that name (the message lists the available ones).
    """
    _ensure_models_imported()
    if name not in _MODELS:
        known = ", ".join(sorted(_MODELS)) or "none"
        raise ConfigError(f"unknown model '{name}'; available models: {known}")
    return _MODELS[name]


def available_models() -> dict[str, str]:
    """Registered model names mapped to their one-line descriptions, sorted by name."""
    _ensure_models_imported()
    return {name: _MODELS[name].description for name in sorted(_MODELS)}
