"""A configurable U-Net: convolutional encoder, upsampling decoder, skip concatenation.

The encoder is a list of convolutions given by their output widths; the ones named in
``downsample_at`` have stride 2. The decoder undoes each downsampling in turn (transposed
convolution, or bilinear upsampling followed by a convolution), concatenates the last encoder
feature map of that resolution and fuses them with ``decoder_convs`` 3x3 convolutions.

Example (PoseWarp's U-Net, 5 downsamplings, 256 -> 8 px)::

    UNet(in_channels=17, out_channels=3, widths=[64, 64] + [128] * 9,
         downsample_at=(1, 3, 5, 7, 9), first_kernel_size=7, upsampling="bilinear",
         activation="lrelu", output_activation="tanh")
"""

from collections.abc import Sequence

import torch
from torch import nn

from compogan.errors import ConfigError
from compogan.nn.blocks import ConvNormAct, check_divisible

UPSAMPLING_KINDS = ("transposed", "bilinear")


class _UpStep(nn.Module):
    """Double the resolution, fuse the skip: (N, C, h, w), (N, S, 2h, 2w) -> (N, S, 2h, 2w)."""

    def __init__(
        self,
        in_channels: int,
        skip_channels: int,
        upsampling: str,
        n_convs: int,
        norm: str,
        activation: str,
        padding_mode: str,
    ) -> None:
        super().__init__()
        if upsampling == "transposed":
            self.upsample: nn.Module = ConvNormAct(
                in_channels,
                skip_channels,
                4,
                stride=2,
                padding=1,
                transposed=True,
                norm=norm,
                activation=activation,
            )
        else:
            self.upsample = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                ConvNormAct(
                    in_channels,
                    skip_channels,
                    3,
                    padding_mode=padding_mode,
                    norm=norm,
                    activation=activation,
                ),
            )
        self.fuse = nn.Sequential(
            *(
                ConvNormAct(
                    skip_channels * 2 if i == 0 else skip_channels,
                    skip_channels,
                    3,
                    padding_mode=padding_mode,
                    norm=norm,
                    activation=activation,
                )
                for i in range(n_convs)
            )
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.fuse(torch.cat([self.upsample(x), skip], dim=1))


class UNet(nn.Module):
    """U-Net with configurable widths, downsampling positions and upsampling kind.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H, W), with H and W divisible by
    ``2 ** depth`` where ``depth = len(downsample_at)``. Output range follows
    ``output_activation`` (tanh: [-1, 1]; sigmoid: [0, 1]; none: logits).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        widths: output width of each encoder convolution, in order.
        downsample_at: indices into ``widths`` of the stride-2 convolutions (each >= 1, so the
            first convolution runs at full resolution); ``None`` means every convolution but
            the first.
        first_kernel_size: kernel of the first encoder convolution (all others are 3x3).
        upsampling: ``"transposed"`` (4x4 stride-2 transposed conv) or ``"bilinear"``
            (bilinear x2, then 3x3 conv).
        decoder_convs: 3x3 convolutions after each skip concatenation.
        norm: normalisation name for every layer but the output convolution.
        activation: activation name for every layer but the output convolution.
        output_activation: activation of the output convolution.
        out_kernel_size: kernel of the output convolution.
        padding_mode: padding mode of the non-transposed convolutions.

    Raises:
        ConfigError: empty ``widths``, bad ``downsample_at``, unknown upsampling, norm or
            activation.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        widths: Sequence[int] = (64, 128, 256, 512),
        downsample_at: Sequence[int] | None = None,
        first_kernel_size: int = 3,
        upsampling: str = "transposed",
        decoder_convs: int = 1,
        norm: str = "none",
        activation: str = "lrelu",
        output_activation: str = "tanh",
        out_kernel_size: int = 3,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        widths = list(widths)
        if not widths:
            raise ConfigError("UNet widths must name at least one encoder convolution")
        if upsampling not in UPSAMPLING_KINDS:
            raise ConfigError(
                f"unknown upsampling {upsampling!r}; use one of {', '.join(UPSAMPLING_KINDS)}"
            )
        if decoder_convs < 1:
            raise ConfigError(f"UNet decoder_convs must be at least 1, got {decoder_convs}")
        down = _checked_downsample_at(downsample_at, len(widths))
        self.size_multiple = 2 ** len(down)
        self.skip_indices = [i - 1 for i in down]
        self.encoder = nn.ModuleList()
        channels = in_channels
        for index, width in enumerate(widths):
            self.encoder.append(
                ConvNormAct(
                    channels,
                    width,
                    first_kernel_size if index == 0 else 3,
                    stride=2 if index in down else 1,
                    padding_mode=padding_mode,
                    norm=norm,
                    activation=activation,
                )
            )
            channels = width
        self.decoder = nn.ModuleList()
        for skip_index in reversed(self.skip_indices):
            skip_channels = widths[skip_index]
            self.decoder.append(
                _UpStep(
                    channels,
                    skip_channels,
                    upsampling,
                    decoder_convs,
                    norm,
                    activation,
                    padding_mode,
                )
            )
            channels = skip_channels
        self.head = ConvNormAct(
            channels,
            out_channels,
            out_kernel_size,
            padding_mode=padding_mode,
            activation=output_activation,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the U-Net: (N, C_in, H, W) -> (N, C_out, H, W).

        Raises:
            InputError: H or W is not divisible by ``2 ** depth``.
        """
        check_divisible(x, self.size_multiple)
        skips: list[torch.Tensor] = []
        for index, layer in enumerate(self.encoder):
            x = layer(x)
            if index in self.skip_indices:
                skips.append(x)
        for step in self.decoder:
            x = step(x, skips.pop())
        return self.head(x)


def _checked_downsample_at(downsample_at: Sequence[int] | None, n_convs: int) -> list[int]:
    """Validate the stride-2 positions; default: every convolution but the first."""
    if downsample_at is None:
        return list(range(1, n_convs))
    down = sorted(set(downsample_at))
    if len(down) != len(downsample_at) or any(i < 1 or i >= n_convs for i in down):
        raise ConfigError(
            f"UNet downsample_at {list(downsample_at)} must hold distinct indices in "
            f"1..{n_convs - 1} (positions in widths)"
        )
    return down
