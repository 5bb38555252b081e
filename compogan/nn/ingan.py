"""InGAN's networks (Shocher et al., ICCV 2019): the retargeting generator with its geometric
transformation layer, the multi-scale patch discriminator, and the per-scale weighting rule.

Both networks use spectral normalisation on their convolutions (the ``weight_orig`` /
``weight_u`` / ``weight_v`` form of ``torch.nn.utils.spectral_norm``, as the reference) and the
reference's BatchNorm at batch 1, or another norm by name (``norm``). At its defaults the
generator has 4.80M parameters and the discriminator (9 scales at 256 px) 2.02M.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import spectral_norm

from compogan.errors import ConfigError
from compogan.geometry.retarget import resize_features, shift_warp_features, warp_features

NORMS = ("batch", "instance")
LEAKY_SLOPE = 0.2
D_MIN_REAL_SIZE = 16
"""The reference builds ``ceil(log(crop / 16) / log(scale_factor))`` discriminator nets."""


class BatchStatNorm2d(nn.BatchNorm2d):
    """BatchNorm2d that can normalise with the batch's own statistics in eval mode too.

    The reference never switches its networks to eval mode, so its retargets are normalised by
    each image's statistics; ``batch_stats_in_eval`` (set by the model) reproduces that without
    touching the running statistics. State-dict keys are BatchNorm2d's.
    """

    batch_stats_in_eval = False

    def forward(self, x: Tensor) -> Tensor:
        """(N,C,H,W) → (N,C,H,W)."""
        if self.training or not self.batch_stats_in_eval:
            return super().forward(x)
        return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)


def make_ingan_norm(kind: str, channels: int) -> nn.Module:
    """ "batch" (:class:`BatchStatNorm2d`, the reference) or "instance" (InstanceNorm with a
    learned scale and shift, no running statistics).

    Raises:
        ConfigError: another name.
    """
    if kind == "batch":
        return BatchStatNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)
    raise ConfigError(f"unknown InGAN norm {kind!r}; use one of {', '.join(NORMS)}")


class SNConv(nn.Module):
    """Optional reflect padding, a spectral-normalised convolution, a norm and LeakyReLU 0.2.

    Shapes: (N, in_channels, H, W) → (N, out_channels, H', W').
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        pad: int = 0,
        norm: str = "batch",
        activation: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.pad = nn.ReflectionPad2d(pad) if pad else nn.Identity()
        self.conv = spectral_norm(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, bias=bias)
        )
        self.norm = make_ingan_norm(norm, out_channels) if norm != "none" else nn.Identity()
        self.act = nn.LeakyReLU(LEAKY_SLOPE) if activation else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.norm(self.conv(self.pad(x))))


class BottleneckBlock(nn.Module):
    """Residual bottleneck: 1x1 to dim/4, reflect-padded 3x3, 1x1 back to dim (each SN conv +
    norm, LeakyReLU after the first two), added to the input. (N,dim,H,W) → same."""

    def __init__(self, dim: int, norm: str = "batch", bias: bool = True) -> None:
        super().__init__()
        self.reduce = SNConv(dim, dim // 4, 1, norm=norm, bias=bias)
        self.middle = SNConv(dim // 4, dim // 4, 3, pad=1, norm=norm, bias=bias)
        self.expand = SNConv(dim // 4, dim, 1, norm=norm, activation=False, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.expand(self.middle(self.reduce(x)))


class RetargetGenerator(nn.Module):
    """InGAN's generator G(x, size, transform).

    entry (reflect pad 3, 7x7 SN conv, norm, LeakyReLU) → the geometric transformation layer
    (the feature map resized to the output size, or sampled through a homography) →
    ``n_downsampling`` levels of reflect-padded 3x3 SN conv + norm + LeakyReLU, each followed by
    2x2 max-pooling → ``n_blocks`` bottleneck blocks at ``base·2^n`` channels → as many levels of
    nearest 2x upsampling, 3x3 SN conv + norm + LeakyReLU and the encoder map of that size
    added (skips) → reflect pad 3, 7x7 conv (no SN), tanh.

    Shapes: (N,3,h,w) in [-1,1], any h, w >= 4 → (N,3,H,W) in [-1,1], H and W multiples of
    ``2 ** n_downsampling`` (``size_multiple``).
    """

    def __init__(
        self,
        base_channels: int = 64,
        n_blocks: int = 6,
        n_downsampling: int = 3,
        norm: str = "batch",
        bias: bool = True,
        skips: bool = True,
    ) -> None:
        super().__init__()
        self.size_multiple = 2**n_downsampling
        self.skips = skips
        widths = [base_channels * 2**level for level in range(n_downsampling + 1)]
        self.entry = SNConv(3, base_channels, 7, pad=3, norm=norm, bias=bias)
        self.down = nn.ModuleList(
            SNConv(widths[i], widths[i + 1], 3, pad=1, norm=norm, bias=bias)
            for i in range(n_downsampling)
        )
        self.blocks = nn.Sequential(
            *(BottleneckBlock(widths[-1], norm, bias) for _ in range(n_blocks))
        )
        self.up = nn.ModuleList(
            SNConv(widths[i + 1], widths[i], 3, pad=1, norm=norm, bias=bias)
            for i in reversed(range(n_downsampling))
        )
        self.head = nn.Conv2d(base_channels, 3, 7)
        self.head_pad = nn.ReflectionPad2d(3)

    def forward(
        self,
        x: Tensor,
        size: Sequence[int],
        shifts: Tensor | None = None,
        matrix: Tensor | None = None,
    ) -> Tensor:
        """Retarget (N,3,h,w) images to ``size`` (H, W).

        Args:
            x: the input, in [-1, 1].
            size: the output (H, W), multiples of ``size_multiple``.
            shifts: (2,) corner shifts: the sampling path with the reference's shift
                homography (every training step; zeros for a plain resize).
            matrix: a (3,3) sampling homography (output → input canonical coordinates): the
                sampling path for a non-rectangular output. With neither, the bilinear
                resize (the reference's test path).
        """
        size = (int(size[0]), int(size[1]))
        features = self.entry(x)
        if shifts is not None:
            features = shift_warp_features(features, size, shifts)
        elif matrix is not None:
            features = warp_features(features, size, matrix)
        else:
            features = resize_features(features, size)
        pyramid = [features]
        for level in self.down:
            features = F.max_pool2d(level(features), 2)
            pyramid.append(features)
        features = self.blocks(features)
        for index, level in enumerate(self.up):
            features = level(F.interpolate(features, scale_factor=2.0, mode="nearest"))
            if self.skips:
                features = features + pyramid[-index - 2]
        return torch.tanh(self.head(self.head_pad(features)))


def discriminator_scale_count(real_size: int, scale_factor: float, max_scales: int) -> int:
    """How many nets the reference's D has for real crops of side ``real_size``."""
    return min(
        math.ceil(math.log(real_size / D_MIN_REAL_SIZE) / math.log(scale_factor)), max_scales
    )


def scale_weights(
    iteration: int,
    size: Sequence[int],
    even_iteration: int = 25000,
    sigma: float = 1.4,
    min_size: int = 13,
    max_scales: int = 99,
    scale_factor: float = 1.4,
) -> list[float]:
    """The per-scale weights of D's maps at training ``iteration`` for an input of ``size``.

    w_k ∝ f^k, f = sigma^((even_iteration − iteration) / even_iteration), normalised over the
    ``ceil(log(min(size) / min_size) / log(scale_factor))`` scales (at most ``max_scales``, at
    least 1). f is not clamped: coarse scales weigh most at the start, all weigh the same at
    ``even_iteration``, and the fine scales keep gaining after it (f ≈ 0.51 at 75k). Weights of
    scales beyond D's nets are dropped by D without renormalising (the reference's rule).
    """
    count = math.ceil(math.log(min(size) / min_size) / math.log(scale_factor))
    count = max(1, min(count, max_scales))
    factor = sigma ** ((even_iteration - iteration) / even_iteration)
    raw = [factor**k for k in range(count)]
    total = sum(raw)
    return [value / total for value in raw]


class MultiScaleDiscriminator(nn.Module):
    """InGAN's multi-scale patch discriminator: one small D per scale.

    Scale i sees the whole input bilinearly resized by ``scale_factor ** -i``; its map is
    resized bilinearly to scale 0's map size, and the maps are summed with the given weights.
    Each net: unpadded 3x3 SN convs 3 → base (stride 1) → 2·base (stride 2) → 2·base
    (stride 1), each with norm and LeakyReLU 0.2, then a 1x1 SN conv to 1 and a sigmoid.

    Shapes: (N,3,H,W) in [-1,1], H, W >= 7 → (N,1,(H−5)//2−1, ...) in [0,1].
    """

    def __init__(
        self,
        real_crop_size: int = 256,
        max_n_scales: int = 99,
        scale_factor: float = 1.4,
        base_channels: int = 64,
        norm: str = "batch",
    ) -> None:
        super().__init__()
        self.scale_factor = scale_factor
        count = discriminator_scale_count(real_crop_size, scale_factor, max_n_scales)
        self.nets = nn.ModuleList(self._make_net(base_channels, norm) for _ in range(count))

    @staticmethod
    def _make_net(base: int, norm: str) -> nn.Sequential:
        return nn.Sequential(
            SNConv(3, base, 3, norm=norm),
            SNConv(base, 2 * base, 3, stride=2, norm=norm),
            SNConv(2 * base, 2 * base, 3, norm=norm),
            spectral_norm(nn.Conv2d(2 * base, 1, 1)),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor, weights: Sequence[float]) -> Tensor:
        """The weighted sum of the scales' maps, (N,1,h,w) in [0,1] for weights summing to 1;
        scales beyond ``len(weights)`` or beyond the nets are left out."""
        total = self.nets[0](x) * weights[0]
        map_size = total.shape[2:]
        pairs = zip(self.nets[1:], weights[1:], strict=False)
        for index, (net, weight) in enumerate(pairs, start=1):
            scaled = F.interpolate(x, scale_factor=self.scale_factor**-index, mode="bilinear")
            result = F.interpolate(net(scaled), size=map_size, mode="bilinear")
            total = total + result * weight
        return total


class SourceImage(nn.Module):
    """The one image a single-image GAN was trained on, kept with its weights (a buffer
    ``image`` of shape (1,3,H,W) in [-1,1], or (0,) while empty). Loading a state dict takes
    the stored image's size."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("image", torch.zeros(0))

    @property
    def empty(self) -> bool:
        return self.image.numel() == 0

    def set(self, image: Tensor) -> None:
        """Keep (1,3,H,W) ``image`` in [-1,1]."""
        self.image = image.detach().to(self.image.device, torch.float32).clone()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        stored = state_dict.get(f"{prefix}image")
        if stored is not None:
            self.image = torch.empty_like(stored, device=self.image.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def init_ingan(module: nn.Module, gain: float = 0.01) -> nn.Module:
    """The reference's init: Xavier-normal (``gain``) weights and zero biases on every conv
    (the original weight of spectral-normalised ones); norms keep PyTorch's defaults."""
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.Conv2d):
                weight = getattr(layer, "weight_orig", None)
                nn.init.xavier_normal_(weight if weight is not None else layer.weight, gain)
                if layer.bias is not None:
                    layer.bias.zero_()
    return module
