"""A frozen VGG-19 feature extractor that loads torchvision's ImageNet weights without torchvision.

``VGG19.features`` has exactly torchvision's ``vgg19().features`` layout (indices 0..36), so the
``features.N.weight`` / ``features.N.bias`` entries of ``vgg19-dcbb9e9d.pth`` load as they are;
the classifier entries of that file are ignored. Layers are addressed by name (``"relu3_1"``).
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Self

import torch
from torch import nn

from compogan.errors import CheckpointError, ConfigError, InputError
from compogan.weights import VGG19_WEIGHTS, load_state_dict_file

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
POOLING_KINDS = ("max", "avg")
_BLOCKS = ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))


def _layer_index() -> dict[str, int]:
    """Names of torchvision's VGG-19 feature layers: conv1_1, relu1_1, ..., relu5_4, pool5."""
    names: dict[str, int] = {}
    index = 0
    for block, (_, n_convs) in enumerate(_BLOCKS, start=1):
        for conv in range(1, n_convs + 1):
            names[f"conv{block}_{conv}"] = index
            names[f"relu{block}_{conv}"] = index + 1
            index += 2
        names[f"pool{block}"] = index
        index += 1
    return names


LAYER_INDEX: dict[str, int] = _layer_index()


def layer_channels(name: str) -> int:
    """The channel count of VGG-19 layer ``name`` (``"relu3_2"`` → 256).

    Raises:
        ConfigError: unknown layer name.
    """
    VGG19.check_layers([name])
    block = int(name.removeprefix("conv").removeprefix("relu").removeprefix("pool")[0])
    return _BLOCKS[block - 1][0]


class VGG19(nn.Module):
    """VGG-19 convolutional features, frozen and always in eval mode.

    Args:
        pooling: ``"max"`` (ImageNet VGG) or ``"avg"`` (as PoseWarp's feature loss); the
            weights are the same.

    Raises:
        ConfigError: unknown ``pooling``.
    """

    LAYER_INDEX = LAYER_INDEX

    def __init__(self, pooling: str = "max") -> None:
        super().__init__()
        if pooling not in POOLING_KINDS:
            raise ConfigError(f"unknown pooling {pooling!r}; use one of {', '.join(POOLING_KINDS)}")
        layers: list[nn.Module] = []
        channels = 3
        for width, n_convs in _BLOCKS:
            for _ in range(n_convs):
                layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
                channels = width
            layers.append(nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2))
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> Self:
        """Stay in eval mode whatever a parent module asks (the network is a frozen tool)."""
        return super().train(False)

    @staticmethod
    def check_layers(layers: Sequence[str]) -> list[str]:
        """Return ``layers`` as a list (a single name becomes a one-item list), checking each.

        Raises:
            ConfigError: no layers, or an unknown layer name (the message lists valid names).
        """
        layers = [layers] if isinstance(layers, str) else list(layers)
        if not layers:
            raise ConfigError("no VGG-19 layers requested; name at least one, e.g. 'relu3_1'")
        unknown = [name for name in layers if name not in LAYER_INDEX]
        if unknown:
            raise ConfigError(
                f"unknown VGG-19 layer(s) {', '.join(unknown)}; valid names: "
                f"{', '.join(LAYER_INDEX)}"
            )
        return layers

    def forward(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """Features of the named layers for images ``x`` (N, 3, H, W) in [-1, 1].

        The images are mapped to [0, 1] and normalised with the ImageNet mean and std here; the
        network stops at the deepest requested layer. Returns ``{name: (N, C_l, H_l, W_l)}``.

        Raises:
            ConfigError: unknown layer name.
            InputError: ``x`` does not have 3 channels.
        """
        layers = self.check_layers(layers)
        wanted = {LAYER_INDEX[name]: name for name in layers}
        if x.ndim != 4 or x.shape[1] != 3:
            raise InputError(f"VGG-19 needs RGB images (N, 3, H, W), got shape {tuple(x.shape)}")
        x = ((x + 1) / 2 - self.mean) / self.std
        outputs: dict[str, torch.Tensor] = {}
        last = max(wanted)
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in wanted:
                outputs[wanted[index]] = x
            if index == last:
                break
        return {name: outputs[name] for name in layers}


def load_vgg19(
    weights: str | Path | None = None, *, random_init: bool = False, pooling: str = "max"
) -> VGG19:
    """Build a frozen :class:`VGG19` with ImageNet weights.

    Args:
        weights: path of torchvision's ``vgg19-dcbb9e9d.pth`` (or a directory holding it);
            ``None`` resolves it via :data:`compogan.weights.VGG19_WEIGHTS` ($COMPOGAN_WEIGHTS,
            the torch hub cache, then a download unless offline).
        random_init: skip the weights and keep PyTorch's random initialisation (tests only:
            a random VGG gives meaningless perceptual losses).
        pooling: ``"max"`` or ``"avg"``.

    Raises:
        WeightsNotFoundError: the weights file cannot be found or downloaded.
        CheckpointError: the file is unreadable or lacks VGG-19 feature weights of the right shape.
    """
    model = VGG19(pooling=pooling)
    if random_init:
        return model
    path = VGG19_WEIGHTS.resolve(weights)
    state = load_state_dict_file(path)
    model.load_state_dict(_feature_weights(state, model, path))
    return model


def _feature_weights(
    state: dict[str, torch.Tensor], model: VGG19, path: Path
) -> dict[str, torch.Tensor]:
    """Pick the ``features.*`` entries that ``model`` needs out of ``state``, checking shapes."""
    expected = model.state_dict()
    missing = [key for key in expected if key not in state]
    if missing:
        raise CheckpointError(
            f"{path} is not a VGG-19 weights file: {len(missing)} keys missing "
            f"(first: {missing[0]}); use torchvision's vgg19-dcbb9e9d.pth"
        )
    for key, tensor in expected.items():
        if state[key].shape != tensor.shape:
            raise CheckpointError(
                f"{path}: {key} has shape {tuple(state[key].shape)}, expected "
                f"{tuple(tensor.shape)}; use torchvision's vgg19-dcbb9e9d.pth"
            )
    return {key: state[key] for key in expected}
