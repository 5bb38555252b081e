"""The models of the web page: found under one folder, loaded once, cached.

Under the ``--models`` folder, every run directory or ``save_pretrained`` directory (anything
holding a ``config.json``, or a run stopped early with only ``checkpoints/step_*``) is one
model, and so is every file or folder an official-weight importer recognises (a CycleGAN
``.pth``, a folder with EdgeConnect's ``EdgeModel_gen.pth``). Folders that are neither are
searched down to :data:`MAX_DEPTH` levels. What each model was trained on comes from its
``config.json`` (its ``data`` section); official weights do not record it.

A model is loaded the first time a request needs it, once even under concurrent requests,
and kept for the life of the server; a pipeline is built on it per set of options.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compogan.errors import CompoganError, ConfigError, InputError

if TYPE_CHECKING:
    from compogan.models.base import GANModel
    from compogan.pipelines.base import Pipeline

MAX_DEPTH = 3
"""How many folder levels under the models folder are searched."""


@dataclass(frozen=True)
class ModelEntry:
    """One model found under the models folder.

    Attributes:
        key: its path relative to the models folder (POSIX), shown in the page's menus.
        path: the run directory, pretrained directory or official file / folder.
        model: the registry name of its model ("cyclegan", ...).
        tasks: the pipeline tasks it serves.
        source: "compogan checkpoint" or "official weights".
        trained_on: one line on its training data (from its ``config.json``).
    """

    key: str
    path: Path
    model: str
    tasks: tuple[str, ...]
    source: str
    trained_on: str


def describe_training(metadata: Mapping[str, Any]) -> str:
    """One line on the training data recorded in a checkpoint's ``config.json`` metadata."""
    data = metadata.get("data")
    if not isinstance(data, Mapping) or not data:
        return "not recorded in its config.json"
    parts = [f"dataset {data.get('dataset', '?')}"]
    if data.get("root"):
        parts.append(f"from {data['root']}")
    if data.get("size"):
        parts.append(f"at {data['size']} px")
    trained = metadata.get("trained")
    if isinstance(trained, list) and trained:
        parts.append(f"networks trained: {', '.join(map(str, trained))}")
    return ", ".join(parts)


def _checkpoint_entry(root: Path, path: Path) -> ModelEntry | None:
    """The entry of a compogan checkpoint at ``path``, or None when it holds none."""
    from compogan.io.checkpoints import CONFIG_NAME, read_metadata
    from compogan.models.base import resolve_checkpoint_dir
    from compogan.registry import get_model_class

    directory = resolve_checkpoint_dir(path)
    if not (directory / CONFIG_NAME).is_file():
        return None
    metadata = read_metadata(directory)
    model = str(metadata["model"])
    tasks = tuple(get_model_class(model).tasks)
    key = path.relative_to(root).as_posix()
    return ModelEntry(key, path, model, tasks, "compogan checkpoint", describe_training(metadata))


def _official_entry(root: Path, path: Path) -> ModelEntry | None:
    """The entry of official weights at ``path``, or None when no importer recognises it."""
    from compogan.interop.registry import find_importer
    from compogan.registry import get_model_class

    importer = find_importer(path)
    if importer is None:
        return None
    tasks = tuple(get_model_class(importer.model_name).tasks)
    key = path.relative_to(root).as_posix()
    trained_on = "official weights: their training data is not recorded in the files"
    return ModelEntry(key, path, importer.model_name, tasks, "official weights", trained_on)


def discover(root: str | Path) -> tuple[list[ModelEntry], list[str]]:
    """The models under ``root`` (sorted by key) and one line per path that could not be read.

    Raises:
        InputError: ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"the models folder '{root}' does not exist or is not a folder")
    entries: list[ModelEntry] = []
    problems: list[str] = []
    _search(root, root, 1, entries, problems)
    return sorted(entries, key=lambda entry: entry.key), problems


def _search(
    root: Path, folder: Path, depth: int, entries: list[ModelEntry], problems: list[str]
) -> None:
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        try:
            entry = (_checkpoint_entry(root, path) if path.is_dir() else None) or _official_entry(
                root, path
            )
        except CompoganError as error:
            problems.append(f"{path.relative_to(root).as_posix()}: {error}")
            continue
        if entry is not None:
            entries.append(entry)
        elif path.is_dir() and depth < MAX_DEPTH:
            _search(root, path, depth + 1, entries, problems)


@dataclass(frozen=True)
class LoadedModel:
    """A model the server has loaded: its entry and the device it is on."""

    entry: ModelEntry
    device: str


class ModelStore:
    """The models under one folder: discovery, loading once, the pipelines built on them.

    Thread-safe: concurrent requests for a model that is not loaded yet load it once.

    Args:
        root: the models folder.
        device: where models go ("auto", "cpu", "cuda", ...).

    Raises:
        InputError: ``root`` is not a folder.
        ConfigError: the device is unknown or not available.
    """

    def __init__(self, root: str | Path, device: str = "auto") -> None:
        from compogan.train.distributed import select_device

        self.root = Path(root)
        self.device = select_device(device)
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._models: dict[str, GANModel] = {}
        self._pipelines: dict[tuple[str, str, tuple[tuple[str, Any], ...]], Pipeline] = {}
        self.entries: list[ModelEntry] = []
        self.problems: list[str] = []
        self.rescan()

    def rescan(self) -> None:
        """Look for models under the folder again (loaded models stay loaded)."""
        entries, problems = discover(self.root)
        with self._lock:
            self.entries, self.problems = entries, problems

    def for_task(self, task: str) -> list[ModelEntry]:
        """The models that serve ``task``."""
        return [entry for entry in self.entries if task in entry.tasks]

    def entry(self, key: str | None) -> ModelEntry:
        """The model ``key``.

        Raises:
            ConfigError: no model chosen, or none with that key.
        """
        if not key:
            raise ConfigError(f"choose a model; none chosen (models are found under {self.root})")
        for entry in self.entries:
            if entry.key == key:
                return entry
        raise ConfigError(f"no model '{key}' under {self.root}; rescan in the Models tab")

    def model(self, key: str) -> GANModel:
        """The model ``key``, loaded on first use (once) and cached.

        Raises:
            ConfigError: no such model.
            CheckpointError: its weights cannot be loaded.
        """
        import compogan

        entry = self.entry(key)
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            if key not in self._models:
                model = compogan.load(entry.path)
                self._models[key] = model.to(self.device).eval()
            return self._models[key]

    def pipeline(self, key: str, task: str, options: Mapping[str, Any] | None = None) -> Pipeline:
        """The ``task`` pipeline on model ``key`` with constructor ``options``, cached.

        Raises:
            ConfigError: no such model or task, or bad options.
            CheckpointError: the model cannot be loaded or does not serve ``task``.
        """
        from compogan.pipelines import PIPELINES

        if task not in PIPELINES:
            raise ConfigError(f"no pipeline serves the task '{task}'")
        cache_key = (key, task, tuple(sorted((options or {}).items())))
        with self._lock:
            cached = self._pipelines.get(cache_key)
        if cached is not None:
            return cached
        model = self.model(key)
        try:
            pipeline = PIPELINES[task](model, self.device, **(options or {}))
        except TypeError as error:
            raise ConfigError(f"bad options for the {task} pipeline: {error}") from None
        with self._lock:
            return self._pipelines.setdefault(cache_key, pipeline)

    def loaded(self) -> list[LoadedModel]:
        """The models loaded so far, with their device."""
        with self._lock:
            keys = list(self._models)
        entries = {entry.key: entry for entry in self.entries}
        return [
            LoadedModel(entries[key], str(next(self._models[key].parameters()).device))
            for key in keys
            if key in entries
        ]

    def panel(self) -> str:
        """The Models tab's text (Markdown): every model found, whether it is loaded and on
        which device, what it was trained on, and the paths that could not be read."""
        loaded = {item.entry.key: item.device for item in self.loaded()}
        lines = [f"Models under `{self.root}` (this server's device: {self.device})", ""]
        if not self.entries:
            lines.append(
                "No models found: put run directories, save_pretrained directories or "
                "official weight files in this folder, then rescan."
            )
        for entry in self.entries:
            state = f"loaded on {loaded[entry.key]}" if entry.key in loaded else "not loaded yet"
            lines.append(
                f"- **{entry.key}**: {entry.model} ({', '.join(entry.tasks) or 'no task'}), "
                f"{entry.source}, {state}; trained on {entry.trained_on}"
            )
        lines.extend(f"- could not read {problem}" for problem in self.problems)
        return "\n".join(lines)


__all__ = [
    "MAX_DEPTH",
    "LoadedModel",
    "ModelEntry",
    "ModelStore",
    "describe_training",
    "discover",
]
