"""pix2pix's U-Net generator (Isola et al. 2017, "unet_256"): stride-2 4x4 convolutions down
to a 1x1 bottleneck and transposed convolutions back up, every decoder level fed the encoder
features of its resolution. Unlike :class:`compogan.nn.unet.UNet` each level is a single
convolution, widths cap at 8·ngf, and the three 8·ngf decoder levels after the innermost drop
out.
"""

import torch
from torch import nn

from compogan.nn.blocks import ConvNormAct, check_divisible

MAX_WIDTH_FACTOR = 8
"""U-Net widths double from ``ngf`` up to ``8 * ngf`` (512 at ngf 64)."""
FIRST_DROPOUT_LEVEL = 5
"""The outermost U-Net level whose decoder block has dropout: levels 5 .. depth-1 are the
8·ngf-wide blocks between the fourth level and the innermost (three of them in unet_256)."""


class UnetSkipGenerator(nn.Module):
    """pix2pix's U-Net generator ("unet_256" at ``depth=8``).

    Encoder level i = 1 .. depth: a 4x4 stride-2 convolution to ``ngf * min(2**(i-1), 8)``
    channels, then norm (not at the outermost and innermost level) and LeakyReLU 0.2 (not at the
    innermost). Decoder level i = depth .. 1: ReLU, a 4x4 stride-2 transposed convolution of the
    level below's output concatenated with encoder level i's features (the innermost takes the
    bottleneck alone) to encoder level i-1's width, norm, and dropout at levels 5 .. depth-1;
    the outermost goes to ``out_channels`` and tanh. With BatchNorm no convolution has a bias
    but the last, as in the reference; 54,413,955 parameters at ``ngf=64, depth=8``.

    The reference's in-place LeakyReLU also rectifies the skip features it concatenates; that
    changes nothing, since the ReLU after the concatenation gives ReLU(LeakyReLU(e)) = ReLU(e).

    Shapes: (N, in_channels, H, W) in [-1, 1] -> (N, out_channels, H, W) in [-1, 1], H and W
    divisible by ``2 ** depth``.

    Args:
        in_channels: input image channels.
        out_channels: output image channels.
        ngf: width of the outermost level.
        depth: stride-2 levels (8 at 256 px).
        norm: normalisation name, see :func:`compogan.nn.make_norm`.
        dropout: dropout probability of decoder levels 5 .. depth-1 (0: none).
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        ngf: int = 64,
        depth: int = 8,
        norm: str = "batch",
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.size_multiple = 2**depth
        widths = [ngf * min(2**level, MAX_WIDTH_FACTOR) for level in range(depth)]
        bias = norm != "batch"
        self.down = nn.ModuleList()
        channels = in_channels
        for level, width in enumerate(widths, start=1):
            inner_level = 1 < level < depth
            self.down.append(
                ConvNormAct(
                    channels,
                    width,
                    4,
                    stride=2,
                    padding=1,
                    norm=norm if inner_level else "none",
                    activation="none" if level == depth else "lrelu",
                    bias=bias,
                )
            )
            channels = width
        self.up = nn.ModuleList()
        for level in range(depth, 0, -1):
            outermost = level == 1
            dropped = dropout > 0 and FIRST_DROPOUT_LEVEL <= level < depth
            self.up.append(
                nn.Sequential(
                    nn.ReLU(),
                    ConvNormAct(
                        widths[level - 1] * (1 if level == depth else 2),
                        out_channels if outermost else widths[level - 2],
                        4,
                        stride=2,
                        padding=1,
                        transposed=True,
                        norm="none" if outermost else norm,
                        activation="tanh" if outermost else "none",
                        bias=True if outermost else bias,
                    ),
                    nn.Dropout(dropout) if dropped else nn.Identity(),
                )
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Translate images: (N, C_in, H, W) in [-1, 1] -> (N, C_out, H, W) in [-1, 1].

        Raises:
            InputError: H or W is not divisible by ``2 ** depth``.
        """
        check_divisible(x, self.size_multiple)
        skips = []
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        skips.pop()  # the innermost features are x itself
        x = self.up[0](x)
        for step in self.up[1:]:
            x = step(torch.cat([skips.pop(), x], dim=1))
        return x
