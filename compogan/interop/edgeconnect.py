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
"""

import pickle
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from compogan.errors import CheckpointError
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


def _load_into(network: nn.Module, state: dict[str, torch.Tensor], what: str) -> nn.Module:
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as error:
        detail = " ".join(str(error).split())
        raise CheckpointError(
            f"official EdgeConnect {what} does not fit the network: {detail[:300]}"
        ) from None
    return network.eval()


def convert_generator(state: dict[str, torch.Tensor]) -> tuple[nn.Module, str]:
    """Build our generator from an official generator state_dict.

    The kind follows the head conv: 1 output channel → :class:`EdgeGenerator` (spectral norm if
    the file has ``weight_orig`` keys), 3 → :class:`InpaintGenerator`; the number of residual
    blocks is read from the keys.

    Raises:
        CheckpointError: not an EdgeConnect generator, or shapes that do not fit.
    """
    what = "generator"
    head = _require(state, "decoder.7.weight", what)
    blocks = {int(m.group(1)) for key in state if (m := re.match(r"middle\.(\d+)\.", key))}
    residual_blocks = len(blocks)
    if blocks != set(range(residual_blocks)):
        raise CheckpointError("official EdgeConnect generator has gaps in its residual blocks")
    network: nn.Module
    if head.shape[0] == 1:
        spectral = "encoder.1.weight_orig" in state
        network, kind = EdgeGenerator(residual_blocks, spectral_norm=spectral), EDGE_GENERATOR
    elif head.shape[0] == 3:
        network, kind = InpaintGenerator(residual_blocks), INPAINT_GENERATOR
    else:
        raise CheckpointError(
            f"official EdgeConnect generator has {head.shape[0]} output channels; expected 1 "
            "(edge) or 3 (inpainting)"
        )
    renamed = rename_keys(state, generator_key_table(residual_blocks), what)
    return _load_into(network, renamed, what), kind


def convert_discriminator(state: dict[str, torch.Tensor]) -> tuple[nn.Module, str]:
    """Build our :class:`PatchDiscriminator` from an official discriminator state_dict.

    Input channels, spectral norm and bias are read from the file; 3 input channels make an
    inpainting discriminator, any other number an edge discriminator. The ``features.*``
    duplicate of ``conv1.*`` is checked and dropped.

    Raises:
        CheckpointError: not an EdgeConnect discriminator, a ``features`` block that differs
            from ``conv1``, or shapes that do not fit.
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
    in_channels, ndf = first.shape[1], first.shape[0]
    network = PatchDiscriminator(
        in_channels,
        ndf=ndf,
        n_layers=3,
        norm="none",
        spectral_norm=f"{FIRST_CONV_PREFIX}.weight_orig" in state,
        bias=f"{FIRST_CONV_PREFIX}.bias" in state,
    )
    is_inpaint = in_channels == INPAINT_DISCRIMINATOR_CHANNELS
    kind = INPAINT_DISCRIMINATOR if is_inpaint else EDGE_DISCRIMINATOR
    renamed = rename_keys(state, DISCRIMINATOR_TABLE, what)
    return _load_into(network, renamed, what), kind


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
    entry, state = read_official_file(path)
    if entry == "generator":
        return convert_generator(state)
    return convert_discriminator(state)
