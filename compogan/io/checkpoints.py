"""Pretrained-model directories: ``config.json`` + ``model.safetensors``, loaded without pickle.

``config.json`` holds::

    {"model": "cyclegan", "compogan_version": "0.1.0",
     "networks": ["G_A", "G_B", "D_A", "D_B"],
     "config": {...model section...}, "data": {...data section...}}

``networks`` names the sub-networks whose weights the file holds; a converted one-direction
CycleGAN checkpoint, for example, holds only ``G_A``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from compogan.errors import CheckpointError
from compogan.io.atomic import atomic_path

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def write_pretrained(
    directory: str | Path, metadata: dict[str, Any], state_dict: dict[str, torch.Tensor]
) -> Path:
    """Write ``config.json`` and ``model.safetensors`` into ``directory`` (each atomically)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {key: value.detach().cpu().contiguous() for key, value in state_dict.items()}
    with atomic_path(directory / WEIGHTS_NAME) as tmp:
        save_file(tensors, str(tmp))
    with atomic_path(directory / CONFIG_NAME) as tmp:
        tmp.write_text(json.dumps(metadata, indent=2, sort_keys=True))
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


def read_weights(directory: str | Path) -> dict[str, torch.Tensor]:
    """Read ``model.safetensors`` of a pretrained directory (no pickle involved).

    Raises:
        CheckpointError: the file is missing or corrupt.
    """
    weights_file = Path(directory) / WEIGHTS_NAME
    if not weights_file.is_file():
        raise CheckpointError(f"missing weights file {weights_file}")
    try:
        return load_file(str(weights_file))
    except (SafetensorError, OSError, ValueError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"cannot read {weights_file}: {message}") from None
