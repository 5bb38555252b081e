"""Discriminators: PatchGAN (pix2pix / CycleGAN / EdgeConnect), DCGAN-style global critics and
ST-GAN's plain strided critic.

Every discriminator returns raw logits; the adversarial loss (see
:class:`compogan.losses.AdversarialLoss`) applies the sigmoid where its mode needs one.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from compogan.errors import ConfigError, InputError
from compogan.nn.blocks import ConvNormAct

MAX_PATCH_WIDTH_FACTOR = 8


class PatchDiscriminator(nn.Module):
    """PatchGAN discriminator (pix2pix's NLayerDiscriminator; 70x70 receptive field at 3 layers).

    Layout: 4x4 stride-2 conv to ``ndf`` + LeakyReLU (no norm); for n = 1 .. n_layers-1 a 4x4
    stride-2 conv to ``ndf * min(2**n, 8)`` + norm + LeakyReLU; a 4x4 stride-1 conv to
    ``ndf * min(2**n_layers, 8)`` + norm + LeakyReLU; a 4x4 stride-1 conv to one channel (logits).
    All padding is 1. At the defaults: 2,764,737 parameters, a 30x30 logit map at 256 px.
    EdgeConnect's discriminator is ``norm="none", spectral_norm=True, bias=False``.

    Shapes: (N, in_channels, H, W) -> logits (N, 1, h, w).

    Args:
        in_channels: input channels.
        ndf: channels of the first layer.
        n_layers: stride-2 layers (>= 1).
        norm: normalisation name of the inner layers, see :func:`compogan.nn.make_norm`.
        spectral_norm: spectral normalisation on every convolution.
        bias: convolution bias; ``None`` follows pix2pix: bias on the first and last conv, and on
            the inner convs unless ``norm == "batch"``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        ndf: int = 64,
        n_layers: int = 3,
        norm: str = "instance",
        spectral_norm: bool = False,
        bias: bool | None = None,
    ) -> None:
        super().__init__()
        if n_layers < 1:
            raise ConfigError(f"PatchDiscriminator n_layers must be at least 1, got {n_layers}")
        outer_bias = True if bias is None else bias
        widths = [ndf * min(2**n, MAX_PATCH_WIDTH_FACTOR) for n in range(n_layers + 1)]
        self.layers = nn.ModuleList(
            [
                ConvNormAct(
                    in_channels,
                    widths[0],
                    4,
                    stride=2,
                    padding=1,
                    activation="lrelu",
                    spectral_norm=spectral_norm,
                    bias=outer_bias,
                )
            ]
        )
        for n in range(1, n_layers + 1):
            self.layers.append(
                ConvNormAct(
                    widths[n - 1],
                    widths[n],
                    4,
                    stride=2 if n < n_layers else 1,
                    padding=1,
                    norm=norm,
                    activation="lrelu",
                    spectral_norm=spectral_norm,
                    bias=bias,
                )
            )
        self.layers.append(
            ConvNormAct(widths[-1], 1, 4, padding=1, spectral_norm=spectral_norm, bias=outer_bias)
        )

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of every layer, for feature matching; the last one is the logit map."""
        features = []
        for layer in self.layers:
            x = layer(x)
            features.append(x)
        return features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Patch logits: (N, C, H, W) -> (N, 1, h, w)."""
        for layer in self.layers:
            x = layer(x)
        return x


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator: 4x4 stride-2 convs down to 4x4, then a 4x4 valid conv to one logit.

    Widths double from ``ndf`` up to ``max_channels``; the first conv has no norm; LeakyReLU 0.2.

    Shapes: (N, in_channels, image_size, image_size) -> logits (N, 1).

    Args:
        in_channels: input channels.
        image_size: square input size, a power of two >= 8.
        ndf: channels of the first layer.
        norm: normalisation of the inner layers, see :func:`compogan.nn.make_norm`.
        max_channels: cap on the layer widths.

    Raises:
        ConfigError: ``image_size`` is not a power of two >= 8, or an unknown norm.
    """

    def __init__(
        self,
        in_channels: int,
        image_size: int,
        ndf: int = 64,
        norm: str = "batch",
        max_channels: int = 512,
    ) -> None:
        super().__init__()
        if image_size < 8 or image_size & (image_size - 1):
            raise ConfigError(f"image_size must be a power of two >= 8, got {image_size}")
        self.image_size = image_size
        n_down = int(math.log2(image_size)) - 2
        self.layers = nn.ModuleList()
        channels = in_channels
        for i in range(n_down):
            width = min(ndf * 2**i, max_channels)
            self.layers.append(
                ConvNormAct(
                    channels,
                    width,
                    4,
                    stride=2,
                    padding=1,
                    norm="none" if i == 0 else norm,
                    activation="lrelu",
                )
            )
            channels = width
        self.layers.append(ConvNormAct(channels, 1, 4, padding=0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One logit per image: (N, C, S, S) -> (N, 1).

        Raises:
            InputError: the input is not ``image_size`` x ``image_size``.
        """
        height, width = x.shape[-2:]
        if height != self.image_size or width != self.image_size:
            raise InputError(
                f"discriminator expects {self.image_size}x{self.image_size} images, "
                f"got {height}x{width}"
            )
        for layer in self.layers:
            x = layer(x)
        return x.flatten(1)


class WGANCritic(DCGANDiscriminator):
    """WGAN critic: the DCGAN layout without batch norm and with an unbounded (linear) output.

    Batch norm would couple the samples of a batch and break the per-sample gradient penalty,
    so ``norm`` is ``"none"`` (default), ``"layer"`` or ``"instance_affine"``/``"instance"``.

    Shapes: (N, in_channels, image_size, image_size) -> scores (N, 1).

    Raises:
        ConfigError: ``norm == "batch"``, or as :class:`DCGANDiscriminator`.
    """

    def __init__(
        self,
        in_channels: int,
        image_size: int,
        ndf: int = 64,
        norm: str = "none",
        max_channels: int = 512,
    ) -> None:
        if norm == "batch":
            raise ConfigError(
                "WGANCritic cannot use batch norm (it breaks the gradient penalty); "
                "use 'none' or 'layer'"
            )
        super().__init__(in_channels, image_size, ndf=ndf, norm=norm, max_channels=max_channels)


def pad_to_even(x: torch.Tensor) -> torch.Tensor:
    """Zero-pad an odd height or width of ``x`` (..., H, W) by one row/column at the bottom/right.

    Before a 4x4 stride-2 convolution with padding 1 this gives TensorFlow's "SAME" arithmetic
    (output ``ceil(H / 2)``, extra padding at the end); before a 2x2 average pool it keeps the
    last row/column instead of dropping it.
    """
    height, width = x.shape[-2:]
    if height % 2 == 0 and width % 2 == 0:
        return x
    return F.pad(x, (0, width % 2, 0, height % 2))


class StridedCritic(nn.Module):
    """Plain strided critic: 4x4 stride-2 convs with LeakyReLU 0.2, then a 3x3 conv to a score map.

    ST-GAN's discriminator (widths 32, 64, 128, 256, 512, no normalisation). Every stride-2 conv
    halves the size rounding up (odd sizes are padded at the bottom/right, TensorFlow's "SAME"),
    so any input size works: a 144 px image gives a 5x5 map with five layers. Batch norm is
    refused because it breaks the per-sample gradient penalty of WGAN-GP.

    Shapes: (N, in_channels, H, W) -> scores (N, 1, ceil(H / 2**L), ceil(W / 2**L)), L =
    ``len(widths)``.

    Args:
        in_channels: input channels.
        widths: output channels of the stride-2 layers, one entry per layer (at least one).
        norm: normalisation of the stride-2 layers after the first, see
            :func:`compogan.nn.make_norm` ("none" in ST-GAN).

    Raises:
        ConfigError: no widths, or ``norm == "batch"``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        widths: tuple[int, ...] = (32, 64, 128, 256, 512),
        norm: str = "none",
    ) -> None:
        super().__init__()
        if not widths:
            raise ConfigError("StridedCritic needs at least one stride-2 layer width")
        if norm == "batch":
            raise ConfigError(
                "StridedCritic cannot use batch norm (it breaks the gradient penalty); "
                "use 'none' or 'layer'"
            )
        channels = [in_channels, *widths]
        self.layers = nn.ModuleList(
            ConvNormAct(
                channels[i],
                channels[i + 1],
                4,
                stride=2,
                padding=1,
                norm="none" if i == 0 else norm,
                activation="lrelu",
            )
            for i in range(len(widths))
        )
        self.head = ConvNormAct(widths[-1], 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Score map: (N, C, H, W) -> (N, 1, ceil(H / 2**L), ceil(W / 2**L))."""
        for layer in self.layers:
            x = layer(pad_to_even(x))
        return self.head(x)
