"""Pretrained-model directories: ``config.json`` + ``model.safetensors``, loaded without pickle.

``config.json`` holds::

    {"model": "cyclegan", "compogan_version": "0.1.0",
     "networks": ["G_A", "G_B", "D_A", "D_B"],
     "config": {...model section...}, "data": {...data section...}}

``networks`` names the sub-networks whose weights the file holds; a converted one-direction
CycleGAN checkpoint, for example, holds only ``G_A``. ``trained`` (when present) names those of
them whose weights were trained (see :meth:`compogan.models.base.GANModel.trained_networks`).
``checksums`` maps the weights file's name to ``"sha256:<hex>"`` of its bytes, written with it
and verified whenever it is read: a flipped bit is refused with one line naming the file. For a
weights file edited on purpose, set ``COMPOGAN_SKIP_CHECKSUMS=1`` (or pass ``verify=False`` to
:func:`read_weights`) to load it without the check.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from compogan.errors import CheckpointError
from compogan.io.atomic import atomic_path, remove_stale_temporaries

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CHECKSUMS_KEY = "checksums"
SKIP_CHECKSUMS_ENV = "COMPOGAN_SKIP_CHECKSUMS"
"""Set to 1 to load weights files whose checksum does not match (files edited on purpose)."""


def file_checksum(path: str | Path) -> str:
    """``"sha256:<hex>"`` of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def _reason(error: BaseException) -> str:
    """The first line of an error's message (or its type's name)."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def write_pretrained(
    directory: str | Path, metadata: dict[str, Any], state_dict: dict[str, torch.Tensor]
) -> Path:
    """Write ``config.json`` and ``model.safetensors`` into ``directory`` (each atomically);
    ``config.json`` also records the weights file's checksum (see the module docstring).

    Raises:
        CheckpointError: a file cannot be written (a full disk, a folder that is not writable,
            a path that is a file); nothing half-written is left.
    """
    directory = Path(directory)
    tensors = {key: value.detach().cpu().contiguous() for key, value in state_dict.items()}
    metadata = dict(metadata)
    try:
        if directory.exists() and not directory.is_dir():
            raise NotADirectoryError(20, "it is a file, not a folder")
        directory.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(directory)
        with atomic_path(directory / WEIGHTS_NAME) as tmp:
            save_file(tensors, str(tmp))
            metadata[CHECKSUMS_KEY] = {WEIGHTS_NAME: file_checksum(tmp)}
        with atomic_path(directory / CONFIG_NAME) as tmp:
            tmp.write_text(json.dumps(metadata, indent=2, sort_keys=True))
    except (OSError, SafetensorError, RuntimeError) as error:
        raise CheckpointError(f"cannot write weights to {directory}: {_reason(error)}") from None
    return directory


def read_metadata(directory: str | Path) -> dict[str, Any]:
    """Read ``config.json`` of a pretrained directory.

    Raises:
        CheckpointError: the directory or its config is missing or unreadable.
    """
    directory = Path(directory)
    config_file = directory / CONFIG_NAME
    if not directory.exists():
        raise CheckpointError(f"no such checkpoint directory: {directory}")
    if not config_file.is_file():
        raise CheckpointError(
            f"{directory} is not a compogan checkpoint (no {CONFIG_NAME}); "
            "pass a run directory, a directory written by save_pretrained, or convert official "
            "weights with `compogan convert`"
        )
    try:
        metadata = json.loads(config_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"cannot read {config_file}: {error}") from None
    if not isinstance(metadata, dict) or "model" not in metadata or "config" not in metadata:
        raise CheckpointError(f"{config_file} lacks the 'model' and 'config' entries")
    return metadata


def checksums_skipped() -> bool:
    """Whether ``$COMPOGAN_SKIP_CHECKSUMS`` turns the weights checksum check off."""
    return os.environ.get(SKIP_CHECKSUMS_ENV, "").strip().lower() in {"1", "true", "yes"}


def verify_checksum(weights_file: Path) -> None:
    """Compare a weights file with the checksum its folder's ``config.json`` records (files
    without one, written by older versions, are not checked).

    Raises:
        CheckpointError: the file's bytes differ from the recorded checksum.
    """
    config_file = weights_file.parent / CONFIG_NAME
    try:
        recorded = json.loads(config_file.read_text()).get(CHECKSUMS_KEY, {})
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return
    expected = recorded.get(weights_file.name) if isinstance(recorded, dict) else None
    if expected is None:
        return
    if file_checksum(weights_file) != expected:
        raise CheckpointError(
            f"{weights_file} does not match the checksum in {config_file} (the file is corrupt "
            f"or was changed); if you edited it on purpose, set {SKIP_CHECKSUMS_ENV}=1"
        )


def read_weights(directory: str | Path, verify: bool | None = None) -> dict[str, torch.Tensor]:
    """Read ``model.safetensors`` of a pretrained directory (no pickle involved), after
    checking it against the checksum in its ``config.json``.

    Args:
        directory: the pretrained directory.
        verify: check the checksum; None (default) checks unless ``$COMPOGAN_SKIP_CHECKSUMS``
            is set.

    Raises:
        CheckpointError: the file is missing, corrupt, or does not match its checksum.
    """
    weights_file = Path(directory) / WEIGHTS_NAME
    if not weights_file.is_file():
        raise CheckpointError(f"missing weights file {weights_file}")
    if verify if verify is not None else not checksums_skipped():
        verify_checksum(weights_file)
    try:
        return load_file(str(weights_file))
    except (SafetensorError, OSError, ValueError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"cannot read {weights_file}: {message}") from None
