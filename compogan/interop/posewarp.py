"""Import of the official PoseWarp generators (Keras .h5: ``vgg_100000.h5``, ``vgg+gan_5000.h5``).

The reference saves the whole generator with Keras' ``model.save``: an HDF5 file whose group
``model_weights`` (or the root, for ``save_weights`` files) lists its layers in the attribute
``layer_names``; the group of a layer with weights lists them in ``weight_names`` and holds
each as a dataset at ``<layer>/<weight name>`` (``conv2d_7/conv2d_7/kernel:0``, ``.../bias:0``).
Only Conv2D layers hold weights. Their names are Keras' automatic ``conv2d_<k>`` (``conv2d``
for the first in newer Keras), numbered in the order the reference built them, which depends
on what else its session built first; so the importer orders the conv layers by that number
and maps them through :func:`generator_key_table`, the reference's construction order:

    segmentation U-Net (11 encoder + 5 decoder convs), its 11-layer head,
    background U-Net (16), its tanh head, foreground U-Net (16), its tanh head, the mask head

(52 convs). Keras kernels are (kh, kw, in, out), ours (out, in, kh, kw). The reference reads
images as BGR and ours are RGB, so the colour channels of the first convolutions' inputs (each
3-channel group of the 30-channel limb stack, the image part of the background input) and of
the two tanh heads' outputs are reversed: the imported model on an RGB image computes exactly
what the reference computes on the BGR image. The model is built with ``reference_ops`` (the
reference's upsampling and TF padding).
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from compogan.errors import CheckpointError
from compogan.interop.registry import Importer
from compogan.models.base import load_network_state
from compogan.models.posewarp import PoseWarp, PoseWarpConfig, PoseWarpDataConfig
from compogan.nn.posewarp import DECODER_CONVS, ENCODER_CONVS

OFFICIAL_FILES = ("vgg_100000.h5", "vgg+gan_5000.h5")
REFERENCE_SIZE = 256
_CONV_NAME = re.compile(r"^conv(?:olution)?2d(?:_(\d+))?$")


def unet_keys(prefix: str) -> list[str]:
    """Our layer prefixes of one U-Net's convs in the reference's order."""
    return [f"{prefix}.encoder.{i}.conv" for i in range(ENCODER_CONVS)] + [
        f"{prefix}.decoder.{i}.conv" for i in range(DECODER_CONVS)
    ]


def generator_key_table() -> list[str]:
    """Our layer prefix (in ``PoseWarp.G``) of each official conv, in creation order."""
    return [
        *unet_keys("segmenter"),
        "segmentation_head.conv",
        *unet_keys("background"),
        "background_head.conv",
        *unet_keys("foreground"),
        "foreground_head.conv",
        "mask_head.conv",
    ]


def _reverse_groups(weight: torch.Tensor, dim: int, channels: int) -> torch.Tensor:
    """Reverse each consecutive group of 3 among the first ``channels`` along ``dim``."""
    order = list(range(weight.shape[dim]))
    for start in range(0, channels, 3):
        order[start : start + 3] = order[start : start + 3][::-1]
    return weight.index_select(dim, torch.tensor(order))


COLOUR_INPUTS = {
    "segmenter.encoder.0.conv": 3,
    "background.encoder.0.conv": 3,
    "foreground.encoder.0.conv": 30,
}
COLOUR_OUTPUTS = ("background_head.conv", "foreground_head.conv")
"""BGR → RGB: the input channels (groups of 3 up to the count) and outputs that are colours."""


def read_conv_layers(path: Path) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """The (name, kernel (kh,kw,in,out), bias (out,)) of every Conv2D layer of a Keras .h5
    file, ordered by Keras' creation number.

    Raises:
        CheckpointError: not an HDF5 file, or no Keras layers in it.
    """
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise CheckpointError(f"cannot read {path} as a Keras .h5 file: {error}") from None
    with handle:
        group = handle.get("model_weights", handle)
        names = [_text(name) for name in group.attrs.get("layer_names", [])]
        if not names:
            raise CheckpointError(f"{path} is not a Keras weights file (no layer_names)")
        layers = []
        for position, name in enumerate(names):
            weight_names = [_text(w) for w in group[name].attrs.get("weight_names", [])]
            if not weight_names:
                continue
            match = _CONV_NAME.match(name)
            if match is None:
                raise CheckpointError(
                    f"{path}: layer '{name}' is not a Conv2D; not a PoseWarp generator file"
                )
            values = {w.rsplit("/", 1)[-1].split(":")[0]: group[name][w][()] for w in weight_names}
            if set(values) != {"kernel", "bias"}:
                raise CheckpointError(
                    f"{path}: layer '{name}' holds {sorted(values)}, not kernel+bias"
                )
            number = int(match.group(1) or 0)
            layers.append(
                (
                    (number, position),
                    name,
                    torch.from_numpy(values["kernel"]),
                    torch.from_numpy(values["bias"]),
                )
            )
    layers.sort(key=lambda layer: layer[0])
    return [(name, kernel, bias) for _, name, kernel, bias in layers]


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def convert_generator(
    layers: list[tuple[str, torch.Tensor, torch.Tensor]],
) -> dict[str, torch.Tensor]:
    """Our ``G`` state_dict from the ordered official conv layers (BGR → RGB).

    Raises:
        CheckpointError: another number of conv layers than the reference's generator has.
    """
    table = generator_key_table()
    if len(layers) != len(table):
        raise CheckpointError(
            f"the file holds {len(layers)} conv layers; PoseWarp's generator has {len(table)} "
            "(is it the reference's network_posewarp?)"
        )
    state = {}
    for prefix, (_, kernel, bias) in zip(table, layers, strict=True):
        weight = kernel.permute(3, 2, 0, 1).contiguous().float()
        bias = bias.float()
        if prefix in COLOUR_INPUTS:
            weight = _reverse_groups(weight, 1, COLOUR_INPUTS[prefix])
        if prefix in COLOUR_OUTPUTS:
            weight, bias = _reverse_groups(weight, 0, 3), _reverse_groups(bias, 0, 3)
        state[f"{prefix}.weight"], state[f"{prefix}.bias"] = weight, bias
    return state


def import_official(path: str | Path) -> PoseWarp:
    """A PoseWarp (256 px, ``reference_ops``) holding the official generator in ``path``.

    ``vgg+gan_5000.h5`` gives a stage-2 model, any other name a stage-1 one; ``loaded_networks``
    is ("G",).

    Raises:
        CheckpointError: missing, unreadable or foreign files, or weights that do not fit.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no such Keras weights file: {path}")
    stage = 2 if "gan" in path.name else 1
    model = PoseWarp(
        PoseWarpConfig(reference_ops=True, stage=stage), PoseWarpDataConfig(size=REFERENCE_SIZE)
    )
    state = convert_generator(read_conv_layers(path))
    load_network_state(model.G, state, f"the official PoseWarp generator in {path}")
    model.loaded_networks = ("G",)
    return model.eval()


def recognizes(path: Path) -> bool:
    """Whether ``path`` is a Keras .h5 file (the reference's generators are the only .h5
    weights compogan imports)."""
    return path.suffix.lower() == ".h5" and not path.is_dir()


IMPORTER = Importer(
    model_name="posewarp",
    recognizes=recognizes,
    load=import_official,
    accepts="the reference's Keras vgg_100000.h5 / vgg+gan_5000.h5",
)
"""The official-weight importer of ``posewarp`` (see :mod:`compogan.interop.registry`)."""
