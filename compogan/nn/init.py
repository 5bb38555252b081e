"""Weight initialisation in the pix2pix / CycleGAN / EdgeConnect convention."""

import torch
from torch import nn
from torch.nn.utils import parametrize

from compogan.errors import ConfigError

INIT_KINDS = ("normal", "xavier", "kaiming", "orthogonal")
_WEIGHTED_LAYERS = (nn.modules.conv._ConvNd, nn.Linear)


def init_weights(module: nn.Module, kind: str = "normal", gain: float = 0.02) -> nn.Module:
    """Initialise every conv and linear layer of ``module`` in place, and return ``module``.

    Conv / linear weights: ``"normal"`` N(0, gain); ``"xavier"`` Xavier-normal with ``gain``;
    ``"kaiming"`` Kaiming-normal (fan-in, ReLU gain; ``gain`` unused); ``"orthogonal"`` with
    ``gain``. Their biases are set to 0. Batch-norm weights are drawn from N(1, gain) and their
    biases set to 0. For spectral-normalised layers the original (unnormalised) weight is
    initialised.

    Raises:
        ConfigError: unknown ``kind``.
    """
    if kind not in INIT_KINDS:
        raise ConfigError(f"unknown init {kind!r}; use one of {', '.join(INIT_KINDS)}")
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, _WEIGHTED_LAYERS):
                _init_weight(_raw_weight(layer), kind, gain)
                if layer.bias is not None:
                    layer.bias.zero_()
            elif isinstance(layer, nn.modules.batchnorm._BatchNorm) and layer.affine:
                layer.weight.normal_(1.0, gain)
                layer.bias.zero_()
    return module


def _raw_weight(layer: nn.Module) -> torch.Tensor:
    """The stored weight tensor: the parametrisation's original when the weight is parametrised."""
    if parametrize.is_parametrized(layer, "weight"):
        return layer.parametrizations.weight.original
    return layer.weight


def _init_weight(weight: torch.Tensor, kind: str, gain: float) -> None:
    if kind == "normal":
        nn.init.normal_(weight, 0.0, gain)
    elif kind == "xavier":
        nn.init.xavier_normal_(weight, gain=gain)
    elif kind == "kaiming":
        nn.init.kaiming_normal_(weight, a=0, mode="fan_in")
    else:
        nn.init.orthogonal_(weight, gain=gain)
