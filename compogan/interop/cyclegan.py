"""Import of official pytorch-CycleGAN-and-pix2pix checkpoints.

The official ResnetGenerator is one ``nn.Sequential`` named ``model``; its parameters sit at
positional indices::

    model.1              7x7 stem conv          (0 reflect pad, 2 norm, 3 relu)
    model.4, model.7     stride-2 convs          (each conv, norm, relu)
    model.{10+i}         ResNet block i:  conv_block.1 = first conv,
                                          conv_block.5 = second conv (conv_block.6 with dropout)
    model.{10+n+3j}      transposed convs j = 0, 1
    model.{10+n+7}       7x7 head conv           (after a reflect pad; then tanh)

The NLayerDiscriminator (n_layers = 3) keeps its convs at ``model.0, 2, 5, 8, 11``.
Old files also carry InstanceNorm running statistics, which carry no information for an
InstanceNorm without tracked statistics and are dropped. Each table below maps official keys to
ours explicitly; nothing relies on module order.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch

from compogan.errors import CheckpointError
from compogan.interop.registry import Importer
from compogan.models.cyclegan import CycleGAN, CycleGANConfig

_NORM_STATISTICS = ("running_mean", "running_var", "num_batches_tracked")


def load_official_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read an official ``.pth`` state_dict safely (``weights_only=True``), dropping ``module.``.

    Raises:
        CheckpointError: missing, unreadable, or not a state_dict.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no such checkpoint file: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"{path} is not a plain PyTorch state_dict file (it is corrupt or holds pickled "
            "objects such as a whole model); save the network's state_dict() instead"
        ) from None
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"cannot read {path} as a PyTorch file: {reason}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} is not a plain state_dict of tensors")
    return {key.removeprefix("module."): value for key, value in state.items()}


def _drop_norm_statistics(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if k.rsplit(".", 1)[-1] not in _NORM_STATISTICS}


def is_official_generator(state: dict[str, torch.Tensor]) -> bool:
    """Whether a state_dict has the official ResnetGenerator's keys."""
    return "model.1.weight" in state and any(".conv_block." in key for key in state)


def is_official_discriminator(state: dict[str, torch.Tensor]) -> bool:
    """Whether a state_dict has the official NLayerDiscriminator's keys."""
    return "model.0.weight" in state and not any(".conv_block." in key for key in state)


def generator_key_table(n_blocks: int, dropout: bool) -> dict[str, str]:
    """Official ResnetGenerator key prefix → our ResnetGenerator key prefix."""
    second_conv = 6 if dropout else 5
    table = {"model.1": "stem.conv", "model.4": "down.0.conv", "model.7": "down.1.conv"}
    for block in range(n_blocks):
        table[f"model.{10 + block}.conv_block.1"] = f"blocks.{block}.conv1.conv"
        table[f"model.{10 + block}.conv_block.{second_conv}"] = f"blocks.{block}.conv2.conv"
    first_up = 10 + n_blocks
    table[f"model.{first_up}"] = "up.0.conv"
    table[f"model.{first_up + 3}"] = "up.1.conv"
    table[f"model.{first_up + 7}"] = "head.conv"
    return table


def discriminator_key_table(n_layers: int) -> dict[str, str]:
    """Official NLayerDiscriminator key prefix → our PatchDiscriminator key prefix."""
    indices = [0] + [2 + 3 * i for i in range(n_layers)] + [2 + 3 * n_layers]
    return {f"model.{index}": f"layers.{layer}.conv" for layer, index in enumerate(indices)}


def _rename(state: dict[str, torch.Tensor], table: dict[str, str], what: str) -> dict:
    renamed = {}
    for key, value in state.items():
        prefix, leaf = key.rsplit(".", 1)
        if prefix not in table:
            raise CheckpointError(f"unexpected key '{key}' in an official CycleGAN {what}")
        renamed[f"{table[prefix]}.{leaf}"] = value
    return renamed


def convert_generator(state: dict[str, torch.Tensor]) -> tuple[dict, CycleGANConfig]:
    """Map an official generator state_dict to ours; infer ngf, n_blocks and dropout.

    Returns our generator's state_dict and a config with the inferred architecture.
    """
    state = _drop_norm_statistics(state)
    if not is_official_generator(state):
        raise CheckpointError("not an official CycleGAN ResnetGenerator state_dict")
    blocks = {int(m.group(1)) for key in state if (m := re.match(r"model\.(\d+)\.conv_block", key))}
    dropout = any(".conv_block.6." in key for key in state)
    config = CycleGANConfig(
        ngf=state["model.1.weight"].shape[0], n_blocks=len(blocks), dropout=0.5 if dropout else 0.0
    )
    return _rename(state, generator_key_table(len(blocks), dropout), "generator"), config


def convert_discriminator(state: dict[str, torch.Tensor]) -> tuple[dict, int, int]:
    """Map an official NLayerDiscriminator state_dict to ours; returns (state, ndf, n_layers)."""
    state = _drop_norm_statistics(state)
    if not is_official_discriminator(state):
        raise CheckpointError("not an official CycleGAN NLayerDiscriminator state_dict")
    n_layers = len({key.rsplit(".", 1)[0] for key in state}) - 2
    ndf = state["model.0.weight"].shape[0]
    return _rename(state, discriminator_key_table(n_layers), "discriminator"), ndf, n_layers


def network_name_for_file(path: Path) -> str:
    """Which of our networks an official file holds, from its name.

    ``*_net_G_A.pth`` → G_A, ``*_net_G_B.pth`` → G_B, ``*_net_D_A/B.pth`` → D_A/B, and the
    released one-direction ``latest_net_G.pth`` (or any other name) → G_A (A → B).
    """
    match = re.search(r"net_([GD])_?([AB])?\.pth$", path.name)
    if match is None:
        return "G_A"
    return f"{match.group(1)}_{match.group(2) or 'A'}"


def import_official(*paths: str | Path) -> CycleGAN:
    """Build a CycleGAN model from official files (one-direction G, or G_A/G_B/D_A/D_B).

    Each path is a ``.pth`` file or a directory, which is expanded to its ``*.pth`` files (for
    ``latest_net_*`` sets, the newest epoch's files are the ``latest_`` ones). The model
    remembers which networks were loaded (``model.loaded_networks``).

    Raises:
        CheckpointError: a file is not an official CycleGAN network, or sizes disagree.
    """
    files = _expand(paths)
    converted: dict[str, dict[str, torch.Tensor]] = {}
    config: CycleGANConfig | None = None
    ndf_layers: tuple[int, int] | None = None
    for path in files:
        name = network_name_for_file(path)
        if name in converted:
            raise CheckpointError(
                f"more than one of the given files holds {name} (one is {path}); "
                "pass the files of a single epoch"
            )
        state = load_official_file(path)
        if name.startswith("G"):
            converted[name], file_config = convert_generator(state)
            if config is not None and config != file_config:
                raise CheckpointError(f"{path} has another generator architecture than the rest")
            config = file_config
        else:
            converted[name], ndf, n_layers = convert_discriminator(state)
            ndf_layers = (ndf, n_layers)
    if config is None:
        raise CheckpointError("no generator among the given CycleGAN files")
    if ndf_layers is not None:
        config.ndf, config.n_layers_d = ndf_layers
    model = CycleGAN(config)
    flat = {
        f"{net}.{key}": value for net, state in converted.items() for key, value in state.items()
    }
    model.load_networks(flat, tuple(sorted(converted)))
    model.eval()
    return model


def _expand(paths: tuple[str | Path, ...]) -> list[Path]:
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            candidates = sorted(path.glob("latest_net_*.pth")) or sorted(path.glob("*.pth"))
            if not candidates:
                raise CheckpointError(f"no .pth files in {path}")
            files.extend(candidates)
        else:
            files.append(path)
    return files


def recognizes(path: Path) -> bool:
    """Whether ``path`` is a ``.pth`` file or a folder holding some (the official names vary:
    ``latest_net_G.pth``, ``horse2zebra.pth``, ...)."""
    if path.is_dir():
        return any(path.glob("*.pth"))
    return path.suffix == ".pth"


IMPORTER = Importer(
    model_name="cyclegan",
    recognizes=recognizes,
    load=import_official,
    accepts="a pytorch-CycleGAN-and-pix2pix .pth file or a folder of them",
)
"""The official-weight importer of ``cyclegan`` (see :mod:`compogan.interop.registry`)."""
