"""EdgeConnect's two generators (Nazeri et al., 2019) as reusable networks.

Both share one encoder / dilated-residual / decoder layout, assembled from
:class:`~compogan.nn.blocks.ConvNormAct` and :class:`~compogan.nn.blocks.ResnetBlock`:

- encoder: reflect-padded 7x7 conv to w = 64 channels, 4x4 stride-2 convs (padding 1) to 2w and
  4w, each with InstanceNorm (no affine, no running statistics) and ReLU;
- middle: ``residual_blocks`` residual blocks at 4w channels whose first conv has dilation 2
  (reflect padding);
- decoder: two 4x4 stride-2 transposed convs (padding 1) to 2w and w with InstanceNorm and ReLU,
  then a reflect-padded 7x7 conv to the output channels.

The width w is 64 in the paper (and needed for official weights); CPU configs may narrow it.

Normalisation: the paper's InstanceNorm (no affine parameters) removes each feature map's mean
and scale, so the generators see colour and brightness only through the image's structure: an
evenly coloured image with a white hole gives the same output for every grey level (tested). A
generator trained on millions of photos learns to read colour from structure; one trained for
minutes on a few photos fills holes with the colours of its training photos. ``norm="none"``
drops the normalisation layers (no parameters change, so state dicts keep their keys) for such
small-data training; official weights need the paper's ``"instance"``.

:class:`EdgeGenerator` (G1) has spectral norm on every conv but the last and no bias in its
residual blocks; :class:`InpaintGenerator` (G2) has no spectral norm. Parameter shapes equal the
official networks' one to one (see :mod:`compogan.interop.edgeconnect`).

Value ranges: these networks keep the official [0, 1] convention for images, grayscale, edges
and outputs, so that imported official weights give the official outputs. compogan images are in
[-1, 1]; :func:`edge_generator_input` and :func:`inpaint_generator_input` build the networks'
inputs from compogan images (converting to [0, 1] there), and :func:`to_signed` converts the
outputs back.
"""

import torch
from torch import nn

from compogan.blending import harmonic_interpolation
from compogan.errors import ConfigError
from compogan.nn.blocks import ConvNormAct, ResnetBlock, check_divisible

SIZE_MULTIPLE = 4
PAPER_WIDTH = 64
PAPER_NORM = "instance"
GENERATOR_NORMS = (PAPER_NORM, "none")
PAPER_HOLE_FILL = "white"
HOLE_FILLS = (PAPER_HOLE_FILL, "harmonic")
RESIDUAL_DILATION = 2


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """Map compogan images from [-1, 1] to EdgeConnect's [0, 1]."""
    return (images + 1) / 2


def to_signed(images: torch.Tensor) -> torch.Tensor:
    """Map EdgeConnect images from [0, 1] to compogan's [-1, 1]."""
    return images * 2 - 1


def edge_generator_input(
    gray: torch.Tensor, edges: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """The edge generator's input: masked grayscale ⊕ masked edges ⊕ mask.

    Holes (mask 1) are white in the grayscale channel and empty in the edge channel, as in the
    official model.

    Args:
        gray: (N, 1, H, W) grayscale images in [0, 1] (as compogan.data.edges.rgb_to_gray gives).
        edges: (N, 1, H, W) edge maps in [0, 1].
        mask: (N, 1, H, W) hole masks in [0, 1], 1 = missing.

    Returns:
        (N, 3, H, W) in [0, 1].
    """
    keep = 1 - mask
    return torch.cat((gray * keep + mask, edges * keep, mask), dim=1)


def inpaint_generator_input(
    images: torch.Tensor, edges: torch.Tensor, mask: torch.Tensor, hole_fill: str = PAPER_HOLE_FILL
) -> torch.Tensor:
    """The inpainting generator's input: masked RGB ⊕ full edge map.

    Args:
        images: (N, 3, H, W) images in [-1, 1] (compogan convention).
        edges: (N, 1, H, W) edge map in [0, 1]: known edges outside the hole, predicted inside.
        mask: (N, 1, H, W) hole masks in {0, 1}, 1 = missing.
        hole_fill: what the RGB channels hold in the hole: "white" (the official model) or
            "harmonic" (the harmonic interpolation of the known pixels around it, a
            smooth first guess of the hole's colours; see
            :func:`~compogan.blending.harmonic_interpolation`).

    Returns:
        (N, 4, H, W) in [0, 1].
    """
    check_hole_fill(hole_fill)
    if hole_fill == "harmonic":
        rgb = to_unit(harmonic_interpolation(images, mask))
    else:
        rgb = to_unit(images) * (1 - mask) + mask
    return torch.cat((rgb, edges), dim=1)


def check_hole_fill(hole_fill: str) -> None:
    """ConfigError unless ``hole_fill`` is one of :data:`HOLE_FILLS`."""
    if hole_fill not in HOLE_FILLS:
        raise ConfigError(f"unknown hole_fill '{hole_fill}'; use one of {HOLE_FILLS}")


def check_generator_norm(norm: str) -> None:
    """ConfigError unless ``norm`` is one of :data:`GENERATOR_NORMS`."""
    if norm not in GENERATOR_NORMS:
        raise ConfigError(
            f"unknown EdgeConnect generator norm {norm!r}; use one of {GENERATOR_NORMS}"
        )


class _EdgeConnectGenerator(nn.Module):
    """Encoder, dilated residual blocks and decoder shared by both EdgeConnect generators.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H, W), H and W divisible by 4.
    The head's activation is ``head_activation``; ``width`` is the first conv's channels;
    ``norm`` is one of :data:`GENERATOR_NORMS`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        residual_blocks: int,
        spectral_norm: bool,
        head_activation: str,
        width: int = PAPER_WIDTH,
        norm: str = PAPER_NORM,
    ) -> None:
        super().__init__()
        check_generator_norm(norm)
        inner = {"norm": norm, "activation": "relu", "spectral_norm": spectral_norm}
        bottleneck = 4 * width
        self.encoder = nn.Sequential(
            ConvNormAct(in_channels, width, 7, padding=3, padding_mode="reflect", **inner),
            ConvNormAct(width, 2 * width, 4, stride=2, padding=1, **inner),
            ConvNormAct(2 * width, bottleneck, 4, stride=2, padding=1, **inner),
        )
        self.middle = nn.Sequential(
            *(
                ResnetBlock(
                    bottleneck,
                    dilation=RESIDUAL_DILATION,
                    norm=norm,
                    padding_mode="reflect",
                    spectral_norm=spectral_norm,
                    bias=not spectral_norm,
                )
                for _ in range(residual_blocks)
            )
        )
        self.decoder = nn.Sequential(
            ConvNormAct(bottleneck, 2 * width, 4, stride=2, padding=1, transposed=True, **inner),
            ConvNormAct(2 * width, width, 4, stride=2, padding=1, transposed=True, **inner),
            ConvNormAct(
                width,
                out_channels,
                7,
                padding=3,
                padding_mode="reflect",
                activation=head_activation,
            ),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C_out, H, W); H and W must divide by 4.

        Raises:
            InputError: H or W is not divisible by 4.
        """
        check_divisible(x, SIZE_MULTIPLE)
        return self.decoder(self.middle(self.encoder(x)))


class EdgeGenerator(_EdgeConnectGenerator):
    """EdgeConnect's edge generator G1: completes the edge map inside the holes.

    Shapes: (N, 3, H, W) input in [0, 1] (see :func:`edge_generator_input`) -> (N, 1, H, W)
    edge probabilities in [0, 1] (sigmoid). H and W divisible by 4.

    Args:
        residual_blocks: dilated residual blocks at the bottleneck (8 in the paper).
        spectral_norm: spectral norm on every conv but the last (the official setting); without
            it the residual convs get biases, as in the official code.
        width: channels of the first conv (64 in the paper; 2x and 4x that deeper in).
        norm: "instance" (the paper) or "none" (see the module docstring).
    """

    def __init__(
        self,
        residual_blocks: int = 8,
        spectral_norm: bool = True,
        width: int = PAPER_WIDTH,
        norm: str = PAPER_NORM,
    ) -> None:
        super().__init__(3, 1, residual_blocks, spectral_norm, "sigmoid", width, norm)


class InpaintGenerator(_EdgeConnectGenerator):
    """EdgeConnect's inpainting generator G2: fills the holes guided by the edge map.

    Shapes: (N, 4, H, W) input in [0, 1] (see :func:`inpaint_generator_input`) -> (N, 3, H, W)
    RGB in [0, 1], computed as (tanh + 1) / 2 like the official network; use :func:`to_signed`
    for compogan's [-1, 1]. H and W divisible by 4.

    Args:
        residual_blocks: dilated residual blocks at the bottleneck (8 in the paper).
        width: channels of the first conv (64 in the paper; 2x and 4x that deeper in).
        norm: "instance" (the paper) or "none" (see the module docstring).
    """

    def __init__(
        self, residual_blocks: int = 8, width: int = PAPER_WIDTH, norm: str = PAPER_NORM
    ) -> None:
        super().__init__(4, 3, residual_blocks, False, "tanh", width, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 4, H, W) in [0, 1] -> (N, 3, H, W) in [0, 1].

        Raises:
            InputError: H or W is not divisible by 4.
        """
        return to_unit(super().forward(x))
