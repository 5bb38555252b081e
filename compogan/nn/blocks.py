"""Convolution building blocks shared by every compogan network.

:class:`ConvNormAct` is the single conv + normalisation + activation unit that the generators and
discriminators are assembled from; :class:`ResnetBlock` is the residual block used by CycleGAN
(plain) and EdgeConnect (dilated, spectral-normalised); :class:`ResnetGenerator` is CycleGAN's
generator. Normalisation and activation layers are chosen by name through :func:`make_norm` and
:func:`make_activation`, so configs can name them as strings.
"""

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as apply_spectral_norm

from compogan.errors import ConfigError, InputError

NORM_KINDS = ("instance", "instance_affine", "batch", "layer", "none")
ACTIVATION_KINDS = ("relu", "lrelu", "tanh", "sigmoid", "elu", "none")
PADDING_MODES = ("zeros", "reflect", "replicate")
LEAKY_RELU_SLOPE = 0.2


def check_divisible(x: torch.Tensor, multiple: int) -> None:
    """Raise InputError unless the height and width of ``x`` (..., H, W) divide by ``multiple``."""
    height, width = x.shape[-2:]
    if height % multiple or width % multiple:
        raise InputError(
            f"image size {height}x{width} is not divisible by {multiple}; resize or crop it first"
        )


def make_norm(kind: str, channels: int) -> nn.Module:
    """Build a 2-D normalisation layer by name.

    Args:
        kind: ``"instance"`` (no affine, no running statistics, as CycleGAN and EdgeConnect),
            ``"instance_affine"`` (learned scale and shift), ``"batch"``, ``"layer"`` (one group
            over C, H, W, i.e. ``GroupNorm(1, C)``) or ``"none"`` (identity).
        channels: number of channels C of the (N, C, H, W) input.

    Raises:
        ConfigError: ``kind`` is not one of the names above.
    """
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "instance_affine":
        return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"unknown norm {kind!r}; use one of {', '.join(NORM_KINDS)}")


def make_activation(kind: str) -> nn.Module:
    """Build an activation layer by name.

    Args:
        kind: ``"relu"``, ``"lrelu"`` (LeakyReLU, slope 0.2), ``"tanh"``, ``"sigmoid"``,
            ``"elu"`` or ``"none"`` (identity).

    Raises:
        ConfigError: ``kind`` is not one of the names above.
    """
    if kind == "relu":
        return nn.ReLU()
    if kind == "lrelu":
        return nn.LeakyReLU(LEAKY_RELU_SLOPE)
    if kind == "tanh":
        return nn.Tanh()
    if kind == "sigmoid":
        return nn.Sigmoid()
    if kind == "elu":
        return nn.ELU()
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"unknown activation {kind!r}; use one of {', '.join(ACTIVATION_KINDS)}")


class ConvNormAct(nn.Module):
    """Convolution (or transposed convolution), then normalisation, then activation.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H', W') with H' given by the usual
    convolution arithmetic for ``kernel_size``, ``stride``, ``padding``, ``dilation`` (and
    ``output_padding`` when ``transposed``).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: square kernel size.
        stride: convolution stride.
        padding: padding on each side; ``None`` means ``dilation * (kernel_size // 2)``
            ("same" size for odd kernels at stride 1).
        padding_mode: ``"zeros"``, ``"reflect"`` or ``"replicate"``, handed to ``nn.Conv2d``;
            transposed convolutions support only ``"zeros"``.
        norm: normalisation name, see :func:`make_norm`.
        activation: activation name, see :func:`make_activation`.
        bias: whether the convolution has a bias; ``None`` means yes unless ``norm == "batch"``.
        spectral_norm: wrap the convolution weight in spectral normalisation
            (``torch.nn.utils.parametrizations.spectral_norm``).
        dilation: convolution dilation.
        transposed: use ``nn.ConvTranspose2d`` instead of ``nn.Conv2d``.
        output_padding: extra size on one side of a transposed convolution's output.

    Raises:
        ConfigError: unknown padding mode, norm or activation, or a non-zero padding mode with
            ``transposed=True``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int | None = None,
        padding_mode: str = "zeros",
        norm: str = "none",
        activation: str = "none",
        bias: bool | None = None,
        spectral_norm: bool = False,
        dilation: int = 1,
        transposed: bool = False,
        output_padding: int = 0,
    ) -> None:
        super().__init__()
        if padding_mode not in PADDING_MODES:
            raise ConfigError(
                f"unknown padding mode {padding_mode!r}; use one of {', '.join(PADDING_MODES)}"
            )
        if transposed and padding_mode != "zeros":
            raise ConfigError(
                f"transposed convolutions support only padding_mode 'zeros', not {padding_mode!r}"
            )
        if padding is None:
            padding = dilation * (kernel_size // 2)
        if bias is None:
            bias = norm != "batch"
        conv: nn.Module
        if transposed:
            conv = nn.ConvTranspose2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=padding,
                output_padding=output_padding,
                dilation=dilation,
                bias=bias,
            )
        else:
            conv = nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=padding,
                dilation=dilation,
                bias=bias,
                padding_mode=padding_mode,
            )
        self.conv = apply_spectral_norm(conv) if spectral_norm else conv
        self.norm = make_norm(norm, out_channels)
        self.act = make_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply conv, norm and activation: (N, C_in, H, W) -> (N, C_out, H', W')."""
        return self.act(self.norm(self.conv(x)))


class ResnetBlock(nn.Module):
    """Residual block ``x + conv2(dropout(conv1(x)))`` with 3x3 convolutions.

    ``conv1`` has the given dilation (padding = dilation) and activation; ``conv2`` is undilated
    with normalisation but no activation. Shape-preserving: (N, C, H, W) -> (N, C, H, W).
    CycleGAN uses it with dilation 1 and reflect padding; EdgeConnect with dilation 2 and
    spectral norm (without bias in its edge generator).

    Args:
        channels: channels C of input and output.
        dilation: dilation of the first convolution.
        norm: normalisation name for both convolutions.
        padding_mode: padding mode of both convolutions.
        dropout: dropout probability between the convolutions (0 = no dropout layer).
        spectral_norm: spectral normalisation on both convolutions.
        activation: activation after the first convolution.
        bias: convolution bias, see :class:`ConvNormAct`.
    """

    def __init__(
        self,
        channels: int,
        dilation: int = 1,
        norm: str = "instance",
        padding_mode: str = "reflect",
        dropout: float = 0.0,
        spectral_norm: bool = False,
        activation: str = "relu",
        bias: bool | None = None,
    ) -> None:
        super().__init__()
        self.conv1 = ConvNormAct(
            channels,
            channels,
            3,
            padding=dilation,
            dilation=dilation,
            padding_mode=padding_mode,
            norm=norm,
            activation=activation,
            spectral_norm=spectral_norm,
            bias=bias,
        )
        self.dropout: nn.Module = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv2 = ConvNormAct(
            channels,
            channels,
            3,
            padding=1,
            padding_mode=padding_mode,
            norm=norm,
            activation="none",
            spectral_norm=spectral_norm,
            bias=bias,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual update of x: (N, C, H, W) -> (N, C, H, W)."""
        return x + self.conv2(self.dropout(self.conv1(x)))


class ResnetGenerator(nn.Module):
    """CycleGAN's ResNet generator: 7x7 stem, stride-2 downsampling, residual blocks, upsampling.

    Layout (defaults, 256 px): reflect-padded 7x7 conv to ``ngf``; ``n_downsampling`` 3x3
    stride-2 convs doubling the channels; ``n_blocks`` :class:`ResnetBlock`; as many 3x3
    transposed convs (output padding 1) halving the channels; reflect-padded 7x7 conv to
    ``out_channels`` and tanh. With instance norm every conv has a bias, as in the reference
    implementation; 11,378,179 parameters at ``ngf=64, n_blocks=9``.

    Shapes: (N, in_channels, H, W) in [-1, 1] -> (N, out_channels, H, W) in [-1, 1], with H and W
    divisible by ``2 ** n_downsampling``.

    Args:
        in_channels: input image channels.
        out_channels: output image channels.
        ngf: channels after the stem.
        n_blocks: residual blocks at the bottleneck (9 at 256 px, 6 at 128 px).
        n_downsampling: stride-2 downsampling (and matching upsampling) steps.
        norm: normalisation name, see :func:`make_norm`.
        dropout: dropout inside the residual blocks.
        padding_mode: padding mode of the residual blocks' convolutions.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        ngf: int = 64,
        n_blocks: int = 9,
        n_downsampling: int = 2,
        norm: str = "instance",
        dropout: float = 0.0,
        padding_mode: str = "reflect",
    ) -> None:
        super().__init__()
        self.size_multiple = 2**n_downsampling
        self.stem = ConvNormAct(
            in_channels, ngf, 7, padding=3, padding_mode="reflect", norm=norm, activation="relu"
        )
        self.down = nn.ModuleList(
            ConvNormAct(
                ngf * 2**i, ngf * 2 ** (i + 1), 3, stride=2, padding=1, norm=norm, activation="relu"
            )
            for i in range(n_downsampling)
        )
        bottleneck_channels = ngf * self.size_multiple
        self.blocks = nn.Sequential(
            *(
                ResnetBlock(
                    bottleneck_channels, norm=norm, dropout=dropout, padding_mode=padding_mode
                )
                for _ in range(n_blocks)
            )
        )
        self.up = nn.ModuleList(
            ConvNormAct(
                ngf * 2 ** (i + 1),
                ngf * 2**i,
                3,
                stride=2,
                padding=1,
                output_padding=1,
                transposed=True,
                norm=norm,
                activation="relu",
            )
            for i in reversed(range(n_downsampling))
        )
        self.head = ConvNormAct(
            ngf, out_channels, 7, padding=3, padding_mode="reflect", activation="tanh"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Translate images: (N, C_in, H, W) in [-1, 1] -> (N, C_out, H, W) in [-1, 1].

        Raises:
            InputError: H or W is not divisible by ``2 ** n_downsampling``.
        """
        check_divisible(x, self.size_multiple)
        x = self.stem(x)
        for layer in self.down:
            x = layer(x)
        x = self.blocks(x)
        for layer in self.up:
            x = layer(x)
        return self.head(x)
