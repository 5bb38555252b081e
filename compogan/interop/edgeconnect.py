"""Import of official EdgeConnect checkpoints.

Files: ``EdgeModel_gen.pth`` / ``InpaintingModel_gen.pth`` hold ``{'iteration': int,
'generator': state_dict}``; ``EdgeModel_dis.pth`` / ``InpaintingModel_dis.pth`` hold
``{'discriminator': state_dict}``. Multi-GPU runs prefix every key with ``module.``.

The official generators are ``nn.Sequential`` stacks whose convs sit at positional indices::

    encoder.1, encoder.4, encoder.7        7x7 stem conv, two 4x4 stride-2 convs
    middle.{i}.conv_block.1, .5            first (dilated) and second conv of residual block i
    decoder.0, decoder.3                   4x4 stride-2 transposed convs
    decoder.7                              7x7 head conv

The official discriminator keeps its convs at ``conv1.0`` .. ``conv5.0`` and registers its first
block a second time as ``features``; that copy is checked to equal ``conv1`` and dropped.

Spectral-norm layers of the old ``torch.nn.utils.spectral_norm`` store ``weight_orig``,
``weight_u`` and ``weight_v``; ours use ``torch.nn.utils.parametrizations.spectral_norm`` with
``parametrizations.weight.original``, ``parametrizations.weight.0._u`` and ``._v``. The vectors
have the same shapes (u: output channels, dim 1 for transposed convs; v: the rest flattened), and
in eval mode both compute ``weight / (u · W v)`` from the stored vectors, so the effective weights
are identical. The networks come back in eval mode: training mode would run a power iteration and
change u and v.

:func:`import_official` (the ``edgeconnect`` importer of :mod:`compogan.interop.registry`)
reads a folder of those files, or one of them, into one EdgeConnect built once with the files'
sizes; :func:`load_official_edgeconnect` reads one file into a standalone network.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from compogan.errors import CheckpointError
from compogan.interop.registry import Importer
from compogan.models.base import load_network_state
from compogan.models.edgeconnect import EdgeConnect, EdgeConnectConfig
from compogan.nn.discriminators import PatchDiscriminator
from compogan.nn.inpainting import EdgeGenerator, InpaintGenerator

EDGE_GENERATOR = "edge_generator"
INPAINT_GENERATOR = "inpaint_generator"
EDGE_DISCRIMINATOR = "edge_discriminator"
INPAINT_DISCRIMINATOR = "inpaint_discriminator"

# Official parameter name inside a layer → ours.
LEAF_TABLE = {
    "weight": "weight",
    "bias": "bias",
    "weight_orig": "parametrizations.weight.original",
    "weight_u": "parametrizations.weight.0._u",
    "weight_v": "parametrizations.weight.0._v",
}

DISCRIMINATOR_TABLE = {
    "conv1.0": "layers.0.conv",
    "conv2.0": "layers.1.conv",
    "conv3.0": "layers.2.conv",
    "conv4.0": "layers.3.conv",
    "conv5.0": "layers.4.conv",
}
FEATURES_PREFIX, FIRST_CONV_PREFIX = "features.0", "conv1.0"
INPAINT_DISCRIMINATOR_CHANNELS = 3
DISCRIMINATOR_LAYERS = 3

OFFICIAL_FILES = {
    "G1": "EdgeModel_gen.pth",
    "D1": "EdgeModel_dis.pth",
    "G2": "InpaintingModel_gen.pth",
    "D2": "InpaintingModel_dis.pth",
}
"""Our network name → the official file that holds it."""
NETWORK_KINDS = {
    "G1": EDGE_GENERATOR,
    "D1": EDGE_DISCRIMINATOR,
    "G2": INPAINT_GENERATOR,
    "D2": INPAINT_DISCRIMINATOR,
}
"""Our network name → the kind of official network it takes."""
NETWORK_CLASSES: dict[str, type[nn.Module]] = {
    EDGE_GENERATOR: EdgeGenerator,
    INPAINT_GENERATOR: InpaintGenerator,
    EDGE_DISCRIMINATOR: PatchDiscriminator,
    INPAINT_DISCRIMINATOR: PatchDiscriminator,
}


def generator_key_table(residual_blocks: int) -> dict[str, str]:
    """Official EdgeGenerator / InpaintGenerator layer prefix → ours."""
    table = {
        "encoder.1": "encoder.0.conv",
        "encoder.4": "encoder.1.conv",
        "encoder.7": "encoder.2.conv",
        "decoder.0": "decoder.0.conv",
        "decoder.3": "decoder.1.conv",
        "decoder.7": "decoder.2.conv",
    }
    for block in range(residual_blocks):
        table[f"middle.{block}.conv_block.1"] = f"middle.{block}.conv1.conv"
        table[f"middle.{block}.conv_block.5"] = f"middle.{block}.conv2.conv"
    return table


def read_official_file(path: str | Path, entry: str | None = None) -> tuple[str, dict]:
    """Read an official EdgeConnect file safely (``weights_only=True``).

    Args:
        path: the ``.pth`` file.
        entry: ``"generator"`` or ``"discriminator"`` to require that entry; ``None`` accepts
            either.

    Returns:
        (entry found, its state_dict with any ``module.`` prefix removed).

    Raises:
        CheckpointError: missing, unreadable, or not an EdgeConnect network file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no such checkpoint file: {path}")
    try:
        content: Any = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"{path} is not a plain PyTorch checkpoint (corrupt, or holding pickled objects); "
            "use the official EdgeModel_*/InpaintingModel_* .pth files"
        ) from None
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"cannot read {path} as a PyTorch file: {reason}") from None
    entries = ("generator", "discriminator") if entry is None else (entry,)
    found = [name for name in entries if isinstance(content, dict) and name in content]
    if not found:
        raise CheckpointError(
            f"{path} is not an official EdgeConnect file (no {' or '.join(entries)!r} entry)"
        )
    state = content[found[0]]
    if not isinstance(state, dict) or not all(
        isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in state.items()
    ):
        raise CheckpointError(f"the {found[0]!r} entry of {path} is not a state_dict of tensors")
    return found[0], {key.removeprefix("module."): value for key, value in state.items()}


def rename_keys(
    state: dict[str, torch.Tensor], table: dict[str, str], what: str
) -> dict[str, torch.Tensor]:
    """Rename official keys to ours through a layer table and :data:`LEAF_TABLE`.

    Raises:
        CheckpointError: a key whose layer or parameter name is not in the tables.
    """
    renamed = {}
    for key, value in state.items():
        prefix, _, leaf = key.rpartition(".")
        if prefix not in table or leaf not in LEAF_TABLE:
            raise CheckpointError(f"unexpected key '{key}' in an official EdgeConnect {what}")
        renamed[f"{table[prefix]}.{LEAF_TABLE[leaf]}"] = value
    return renamed


def _require(state: dict[str, torch.Tensor], key: str, what: str) -> torch.Tensor:
    if key not in state:
        raise CheckpointError(f"official EdgeConnect {what} lacks the key '{key}'")
    return state[key]


def _weight_key(state: dict[str, torch.Tensor], prefix: str) -> str:
    return f"{prefix}.weight_orig" if f"{prefix}.weight_orig" in state else f"{prefix}.weight"


@dataclass(frozen=True)
class ConvertedNetwork:
    """An official network's weights under our key names, and the network they need.

    Attributes:
        kind: ``"edge_generator"``, ``"inpaint_generator"``, ``"edge_discriminator"`` or
            ``"inpaint_discriminator"``.
        state: the state_dict of our network, as :data:`NETWORK_CLASSES` builds it.
        architecture: the keyword arguments of that class that fit the weights.
    """

    kind: str
    state: dict[str, torch.Tensor]
    architecture: dict[str, Any]

    def build(self) -> nn.Module:
        """Our network of :attr:`architecture` holding the weights, in eval mode.

        Raises:
            CheckpointError: the weights do not fit it.
        """
        network = NETWORK_CLASSES[self.kind](**self.architecture)
        what = "generator" if self.kind.endswith("generator") else "discriminator"
        try:
            network.load_state_dict(self.state, strict=True)
        except RuntimeError as error:
            detail = " ".join(str(error).split())
            raise CheckpointError(
                f"official EdgeConnect {what} does not fit the network: {detail[:300]}"
            ) from None
        return network.eval()


def convert_generator(state: dict[str, torch.Tensor]) -> ConvertedNetwork:
    """Map an official generator state_dict to ours, reading its architecture from the keys.

    The kind follows the head conv: 1 output channel → :class:`EdgeGenerator` (spectral norm if
    the file has ``weight_orig`` keys), 3 → :class:`InpaintGenerator`; the number of residual
    blocks and the width come from the keys and shapes.

    Raises:
        CheckpointError: not an EdgeConnect generator.
    """
    what = "generator"
    head = _require(state, "decoder.7.weight", what)
    stem = _require(state, _weight_key(state, "encoder.1"), what)
    blocks = {int(m.group(1)) for key in state if (m := re.match(r"middle\.(\d+)\.", key))}
    residual_blocks = len(blocks)
    if blocks != set(range(residual_blocks)):
        raise CheckpointError("official EdgeConnect generator has gaps in its residual blocks")
    architecture: dict[str, Any] = {"residual_blocks": residual_blocks, "width": stem.shape[0]}
    if head.shape[0] == 1:
        kind = EDGE_GENERATOR
        architecture["spectral_norm"] = "encoder.1.weight_orig" in state
    elif head.shape[0] == 3:
        kind = INPAINT_GENERATOR
    else:
        raise CheckpointError(
            f"official EdgeConnect generator has {head.shape[0]} output channels; expected 1 "
            "(edge) or 3 (inpainting)"
        )
    renamed = rename_keys(state, generator_key_table(residual_blocks), what)
    return ConvertedNetwork(kind, renamed, architecture)


def convert_discriminator(state: dict[str, torch.Tensor]) -> ConvertedNetwork:
    """Map an official discriminator state_dict to our :class:`PatchDiscriminator`'s.

    Input channels, width, spectral norm and bias are read from the file; 3 input channels
    make an inpainting discriminator, any other number an edge discriminator. The
    ``features.*`` duplicate of ``conv1.*`` is checked and dropped.

    Raises:
        CheckpointError: not an EdgeConnect discriminator, or a ``features`` block that differs
            from ``conv1``.
    """
    what = "discriminator"
    state = dict(state)
    for key in [key for key in state if key.startswith(f"{FEATURES_PREFIX}.")]:
        twin = FIRST_CONV_PREFIX + key.removeprefix(FEATURES_PREFIX)
        if twin not in state or not torch.equal(state[twin], state[key]):
            raise CheckpointError(
                f"official EdgeConnect discriminator key '{key}' does not equal '{twin}'; "
                "the file is inconsistent"
            )
        del state[key]
    first = _require(state, _weight_key(state, FIRST_CONV_PREFIX), what)
    in_channels = first.shape[1]
    architecture = {
        "in_channels": in_channels,
        "ndf": first.shape[0],
        "n_layers": DISCRIMINATOR_LAYERS,
        "norm": "none",
        "spectral_norm": f"{FIRST_CONV_PREFIX}.weight_orig" in state,
        "bias": f"{FIRST_CONV_PREFIX}.bias" in state,
    }
    is_inpaint = in_channels == INPAINT_DISCRIMINATOR_CHANNELS
    kind = INPAINT_DISCRIMINATOR if is_inpaint else EDGE_DISCRIMINATOR
    return ConvertedNetwork(kind, rename_keys(state, DISCRIMINATOR_TABLE, what), architecture)


def convert_file(path: str | Path) -> ConvertedNetwork:
    """Read an official ``*_gen.pth`` or ``*_dis.pth`` file and map it to our key names.

    Raises:
        CheckpointError: missing, unreadable or foreign file.
    """
    entry, state = read_official_file(path)
    if entry == "generator":
        return convert_generator(state)
    return convert_discriminator(state)


def load_official_edgeconnect(path: str | Path) -> tuple[nn.Module, str]:
    """Load an official EdgeConnect ``*_gen.pth`` or ``*_dis.pth`` file into our network.

    Returns:
        (network in eval mode, kind): kind is ``"edge_generator"`` (:class:`EdgeGenerator`),
        ``"inpaint_generator"`` (:class:`InpaintGenerator`), ``"edge_discriminator"`` or
        ``"inpaint_discriminator"`` (:class:`PatchDiscriminator`, returning logits; the official
        network applies a sigmoid unless trained with the hinge loss).

    Raises:
        CheckpointError: missing, unreadable or foreign file, or weights that do not fit.
    """
    converted = convert_file(path)
    return converted.build(), converted.kind


def read_official_networks(path: Path) -> dict[str, ConvertedNetwork]:
    """The official networks at ``path`` by our network name, each file read once: those of
    :data:`OFFICIAL_FILES` in a folder (each checked to hold the network its name says), or
    the one file ``path`` (its network told by its content).

    Raises:
        CheckpointError: unreadable or foreign files, or a file holding another network than
            its name says.
    """
    if not path.is_dir():
        network = convert_file(path)
        return {_network_of(network.kind): network}
    converted = {}
    for name, file in OFFICIAL_FILES.items():
        if not (path / file).is_file():
            continue
        network = convert_file(path / file)
        if network.kind != NETWORK_KINDS[name]:
            raise CheckpointError(
                f"{path / file} holds an official {network.kind.replace('_', ' ')}, not the "
                f"{NETWORK_KINDS[name].replace('_', ' ')} its name says"
            )
        converted[name] = network
    return converted


def _network_of(kind: str) -> str:
    return next(name for name, network_kind in NETWORK_KINDS.items() if network_kind == kind)


def _one_size(
    networks: list[ConvertedNetwork], keys: tuple[str, ...], where: Path
) -> tuple[Any, ...]:
    """The architecture values ``keys`` that all ``networks`` share."""
    sizes = {tuple(network.architecture[key] for key in keys) for network in networks}
    if len(sizes) > 1:
        raise CheckpointError(
            f"the official EdgeConnect files at {where} differ in {' and '.join(keys)}: "
            f"{sorted(sizes)}"
        )
    return sizes.pop()


def _config_for(converted: dict[str, ConvertedNetwork], where: Path) -> EdgeConnectConfig:
    """The released model's config ("edge_inpaint", no VGG losses) at the files' sizes."""
    generators = [converted[name] for name in ("G1", "G2") if name in converted]
    if not generators:
        raise CheckpointError(
            f"{where} holds no official EdgeConnect generator ({OFFICIAL_FILES['G1']} or "
            f"{OFFICIAL_FILES['G2']})"
        )
    if "G1" in converted and not converted["G1"].architecture["spectral_norm"]:
        raise CheckpointError(
            f"the official edge generator at {where} has no spectral norm; EdgeConnect's G1 "
            "has it (the released setting)"
        )
    blocks, width = _one_size(generators, ("residual_blocks", "width"), where)
    sizes: dict[str, Any] = {"residual_blocks": blocks, "width": width}
    discriminators = [converted[name] for name in ("D1", "D2") if name in converted]
    if discriminators:
        sizes["ndf"] = _one_size(discriminators, ("ndf",), where)[0]
    return EdgeConnectConfig(mode="edge_inpaint", content_weight=0, style_weight=0, **sizes)


def import_official(path: str | Path) -> EdgeConnect:
    """An "edge_inpaint" EdgeConnect holding the official networks at ``path``.

    ``path`` is a folder holding ``EdgeModel_gen.pth`` and/or ``InpaintingModel_gen.pth`` (and
    optionally their ``_dis.pth``), or one official file of any name. The model is built once
    at the files' sizes, with the paper's generator settings and no VGG losses (content and
    style weights 0), and its ``loaded_networks`` names exactly the networks found.

    Raises:
        CheckpointError: no official generator, unreadable or foreign files, a file that holds
            another network than its name says, or files of different sizes.
    """
    path = Path(path)
    converted = read_official_networks(path)
    model = EdgeConnect(_config_for(converted, path))
    for name, network in converted.items():
        load_network_state(getattr(model, name), network.state, f"{name} from {path}")
    model.loaded_networks = tuple(name for name in model.network_names if name in converted)
    return model.eval()


def recognizes(path: Path) -> bool:
    """Whether ``path`` is named like official EdgeConnect weights: one of
    :data:`OFFICIAL_FILES` or a folder holding one."""
    if path.is_dir():
        return any((path / file).is_file() for file in OFFICIAL_FILES.values())
    return path.name in OFFICIAL_FILES.values()


IMPORTER = Importer(
    model_name="edgeconnect",
    recognizes=recognizes,
    load=import_official,
    accepts="EdgeModel_gen.pth / InpaintingModel_gen.pth (+ _dis.pth) or a folder of them",
)
"""The official-weight importer of ``edgeconnect`` (see :mod:`compogan.interop.registry`)."""
