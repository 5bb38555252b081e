"""Import of official InGAN checkpoints (``checkpoint_0075000.pth.tar`` and the like).

The file is a dict with ``G``, ``D``, ``optim_G``, ``optim_D``, ``sched_G``, ``sched_D``,
``loss`` and ``iter``, written as a legacy (not zip) Python-2 pickle. Only ``G`` and ``D`` are
used. It is read with ``weights_only=True``; when that refuses the file (the scheduler states
can name classes of the reference's own code), it is read again by :class:`_TensorsOnlyUnpickler`,
which rebuilds tensors and plain containers and turns every other named class into an inert
placeholder: no code from the file is ever imported or run.

The reference's networks are ``nn.Sequential`` stacks; the tables below map their layer
prefixes to ours explicitly::

    entry_block.1 / .2                        7x7 SN conv / its BatchNorm   → entry.conv / .norm
    downscale_block.conv_i.1 / .2             encoder level i               → down.i.conv / .norm
    bottleneck_block.b.conv_block.0/1, 4/5, 7/8   1x1, 3x3, 1x1 (conv/norm) → blocks.b.reduce/
                                                                              middle/expand
    upscale_block.conv_i.1 / .2               decoder level (applied n-1-i th) → up.(n-1-i)
    final_block.1                             7x7 head conv                 → head
    nets.k.0/1, 3/4, 6/7, 9                   D scale k: three SN convs with BatchNorm, the 1x1

Spectral-norm layers keep ``weight_orig``, ``weight_u`` and ``weight_v`` (the form our networks
use too). Files from torch 0.4 carry the normalised ``weight`` as well and may lack ``weight_v``;
the missing ``v`` is recovered from ``weight_orig``, ``u`` and the stored σ = weight_orig /
weight. Official files hold no training image: retarget them with ``--image``.
"""

from __future__ import annotations

import pickle
import re
import types
from pathlib import Path
from typing import Any

import torch

from compogan.errors import CheckpointError
from compogan.interop.registry import Importer
from compogan.models.ingan import InGAN, InGANConfig, InGANDataConfig
from compogan.nn.ingan import D_MIN_REAL_SIZE

CHECKPOINT_NAME = re.compile(r"checkpoint_\d+\.pth\.tar$")
BOTTLENECK_LAYERS = {0: "reduce.conv", 1: "reduce.norm", 4: "middle.conv", 5: "middle.norm"}
BOTTLENECK_LAYERS |= {7: "expand.conv", 8: "expand.norm"}
D_LAYERS = {0: "0.conv", 1: "0.norm", 3: "1.conv", 4: "1.norm", 6: "2.conv", 7: "2.norm", 9: "3"}
NORM_STATISTICS = ("running_mean", "running_var", "num_batches_tracked")


def generator_key_table(n_blocks: int, n_downsampling: int) -> dict[str, str]:
    """Official Generator layer prefix → our :class:`RetargetGenerator` layer prefix."""
    table = {"entry_block.1": "entry.conv", "entry_block.2": "entry.norm", "final_block.1": "head"}
    for level in range(n_downsampling):
        for index, part in ((1, "conv"), (2, "norm")):
            table[f"downscale_block.conv_{level}.{index}"] = f"down.{level}.{part}"
            up = n_downsampling - 1 - level
            table[f"upscale_block.conv_{level}.{index}"] = f"up.{up}.{part}"
    for block in range(n_blocks):
        for index, ours in BOTTLENECK_LAYERS.items():
            table[f"bottleneck_block.{block}.conv_block.{index}"] = f"blocks.{block}.{ours}"
    return table


def discriminator_key_table(n_scales: int) -> dict[str, str]:
    """Official MultiScaleDiscriminator layer prefix → ours."""
    return {
        f"nets.{scale}.{index}": f"nets.{scale}.{ours}"
        for scale in range(n_scales)
        for index, ours in D_LAYERS.items()
    }


# ---- reading the file ------------------------------------------------------------------------
class _Placeholder:
    """Stands in for any class the file names that is not a tensor or a plain container."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass


_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch", "Size"),
}
_STORAGE_NAME = re.compile(r"[A-Za-z]*Storage$")


class _TensorsOnlyUnpickler(pickle.Unpickler):
    """An unpickler that resolves only tensor-rebuilding functions, storages and plain
    containers; any other global becomes :class:`_Placeholder` and is never imported."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS or (module == "torch" and _STORAGE_NAME.match(name)):
            return super().find_class(module, name)
        return _Placeholder


_TENSORS_ONLY_PICKLE = types.SimpleNamespace(
    Unpickler=_TensorsOnlyUnpickler, load=pickle.load, __name__="tensors_only_pickle"
)


def _load(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        return torch.load(
            path, map_location="cpu", weights_only=False, pickle_module=_TENSORS_ONLY_PICKLE
        )


def read_official_checkpoint(path: str | Path) -> tuple[dict, dict]:
    """The ``G`` and ``D`` state_dicts of an official checkpoint (``module.`` dropped).

    Raises:
        CheckpointError: missing, unreadable, or without tensor state_dicts under G and D.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no such checkpoint file: {path}")
    try:
        content = _load(path)
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"cannot read {path} as an InGAN checkpoint: {reason}") from None
    if not isinstance(content, dict) or not {"G", "D"} <= content.keys():
        raise CheckpointError(f"{path} is not an official InGAN checkpoint (no 'G' and 'D')")
    states = []
    for name in ("G", "D"):
        state = content[name]
        if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
        ):
            raise CheckpointError(f"the {name!r} entry of {path} is not a state_dict of tensors")
        states.append({k.removeprefix("module."): v for k, v in state.items()})
    return states[0], states[1]


# ---- spectral norm of old files --------------------------------------------------------------
def recover_spectral_vector(
    weight_orig: torch.Tensor, weight: torch.Tensor, u: torch.Tensor
) -> torch.Tensor:
    """The right singular estimate v of a torch-0.4 spectral-norm layer that stored only u.

    Solves W v ∝ u in the least-squares sense (W = weight_orig as a (out, rest) matrix) and
    scales v so that uᵀ W v equals the stored σ = mean(weight_orig / weight), which makes our
    layer's normalised weight equal to the file's ``weight``.
    """
    matrix = weight_orig.flatten(1).double()
    sigma = (weight_orig.double() / weight.double()).mean()
    v = torch.linalg.pinv(matrix.t() @ matrix) @ matrix.t() @ u.double()
    v = v * sigma / torch.dot(u.double(), matrix @ v)
    return v.to(weight_orig.dtype)


def _modernise_spectral_norm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the stored normalised ``weight`` of spectral-norm layers, adding ``weight_v``
    where the file lacks it."""
    state = dict(state)
    for key in [k for k in state if k.endswith(".weight_orig")]:
        prefix = key.removesuffix(".weight_orig")
        stored = state.pop(f"{prefix}.weight", None)
        if f"{prefix}.weight_v" not in state:
            if stored is None or f"{prefix}.weight_u" not in state:
                raise CheckpointError(f"spectral-norm layer '{prefix}' lacks weight_v and weight")
            u = state[f"{prefix}.weight_u"]
            state[f"{prefix}.weight_v"] = recover_spectral_vector(state[key], stored, u)
    return state


def _rename(state: dict[str, torch.Tensor], table: dict[str, str], what: str) -> dict:
    renamed = {}
    for key, value in state.items():
        prefix, _, leaf = key.rpartition(".")
        if prefix not in table:
            raise CheckpointError(f"unexpected key '{key}' in an official InGAN {what}")
        renamed[f"{table[prefix]}.{leaf}"] = value
    return renamed


# ---- architecture from the weights -----------------------------------------------------------
def _count(state: dict[str, torch.Tensor], pattern: str) -> int:
    return len({m.group(1) for key in state if (m := re.match(pattern, key))})


def config_from_weights(g_state: dict, d_state: dict) -> tuple[InGANConfig, InGANDataConfig]:
    """The model and data configs whose networks have these weights' sizes: G's width,
    bottleneck blocks and levels; D's width and number of scales (from which the crop size
    that gives that many nets is chosen)."""
    if "entry_block.1.weight_orig" not in g_state or "nets.0.0.weight_orig" not in d_state:
        raise CheckpointError("the checkpoint's G and D are not InGAN's Generator and D")
    n_scales = _count(d_state, r"nets\.(\d+)\.")
    config = InGANConfig(
        base_channels=g_state["entry_block.1.weight_orig"].shape[0],
        n_blocks=_count(g_state, r"bottleneck_block\.(\d+)\."),
        n_downsampling=_count(g_state, r"downscale_block\.conv_(\d+)\."),
        d_base_channels=d_state["nets.0.0.weight_orig"].shape[0],
        d_max_scales=n_scales,
    )
    crop = int(D_MIN_REAL_SIZE * config.d_scale_factor**n_scales) + 1
    return config, InGANDataConfig(size=max(crop, 32))


def import_official(path: str | Path) -> InGAN:
    """An InGAN holding the G and D of an official checkpoint (file, or a folder with one
    ``checkpoint_*.pth.tar``; the newest is taken), in eval mode, without a training image.

    Raises:
        CheckpointError: not an official InGAN checkpoint, or its weights do not fit.
    """
    path = _checkpoint_in(Path(path))
    g_state, d_state = (_modernise_spectral_norm(s) for s in read_official_checkpoint(path))
    config, data_config = config_from_weights(g_state, d_state)
    table_g = generator_key_table(config.n_blocks, config.n_downsampling)
    table_d = discriminator_key_table(config.d_max_scales)
    flat = {f"G.{k}": v for k, v in _rename(g_state, table_g, "generator").items()}
    flat |= {f"D.{k}": v for k, v in _rename(d_state, table_d, "discriminator").items()}
    model = InGAN(config, data_config)
    model.load_networks(flat, ("G", "D"))
    return model.eval()


def _checkpoint_in(path: Path) -> Path:
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if CHECKPOINT_NAME.search(p.name))
        if not found:
            raise CheckpointError(f"no checkpoint_*.pth.tar in {path}")
        return found[-1]
    return path


def recognizes(path: Path) -> bool:
    """An official ``checkpoint_NNNNNNN.pth.tar``, or a folder holding one."""
    if path.is_dir():
        return any(CHECKPOINT_NAME.search(p.name) for p in path.iterdir())
    return bool(CHECKPOINT_NAME.search(path.name))


IMPORTER = Importer(
    model_name="ingan",
    recognizes=recognizes,
    load=import_official,
    accepts="an official InGAN checkpoint_NNNNNNN.pth.tar or a folder holding one",
)
"""The official-weight importer of ``ingan`` (see :mod:`compogan.interop.registry`)."""
