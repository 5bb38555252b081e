"""Feature-space losses: discriminator feature matching, VGG perceptual and Gram-matrix style.

:class:`PerceptualLoss` and :class:`StyleLoss` take the :class:`~compogan.nn.vgg.VGG19` they use
as an argument, so one frozen VGG instance can serve both. They register it as a submodule (so
``.to(device)`` moves it); keep these losses out of the modules you save in checkpoints.
"""

from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from compogan.errors import ConfigError
from compogan.nn.vgg import VGG19, layer_channels

PERCEPTUAL_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
STYLE_LAYERS = ("relu2_2", "relu3_4", "relu4_4", "relu5_2")
CRITERIA = ("l1", "l2")


def feature_matching_loss(
    real_feats: Sequence[torch.Tensor],
    fake_feats: Sequence[torch.Tensor],
    reduction: str = "mean",
) -> torch.Tensor:
    """L1 distance between discriminator features of real and fake inputs.

    Args:
        real_feats: per-layer features of the real batch (detached here).
        fake_feats: per-layer features of the fake batch, same shapes.
        reduction: ``"mean"`` over layers, or ``"sum"`` (EdgeConnect's reference sums).

    Returns:
        Scalar loss.
    """
    if len(real_feats) != len(fake_feats) or not real_feats:
        raise ValueError(
            f"feature lists must be non-empty and equally long, got {len(real_feats)} and "
            f"{len(fake_feats)}"
        )
    if reduction not in ("mean", "sum"):
        raise ConfigError(f"unknown reduction {reduction!r}; use 'mean' or 'sum'")
    losses = torch.stack(
        [F.l1_loss(fake, real.detach()) for real, fake in zip(real_feats, fake_feats, strict=True)]
    )
    return losses.mean() if reduction == "mean" else losses.sum()


def gram_matrix(feat: torch.Tensor) -> torch.Tensor:
    """Gram matrix of feature maps: (N, C, H, W) -> (N, C, C), divided by C * H * W."""
    n, c, h, w = feat.shape
    flat = feat.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


class PerceptualLoss(nn.Module):
    """Weighted sum over VGG-19 layers of the L1 (or L2) distance between features.

    Inputs: ``pred`` and ``target`` (N, 3, H, W) in [-1, 1]; the target's features are computed
    without gradient. Returns a scalar.

    Args:
        vgg: the frozen feature extractor (shared with other losses).
        layers: VGG-19 layer names (default: EdgeConnect's relu1_1 .. relu5_1).
        weights: one weight per layer (default 1.0 each).
        criterion: ``"l1"`` or ``"l2"`` (mean squared error).

    Raises:
        ConfigError: unknown layer or criterion, or ``weights`` of the wrong length.
    """

    def __init__(
        self,
        vgg: VGG19,
        layers: Sequence[str] = PERCEPTUAL_LAYERS,
        weights: Sequence[float] | None = None,
        criterion: str = "l1",
    ) -> None:
        super().__init__()
        if criterion not in CRITERIA:
            raise ConfigError(f"unknown criterion {criterion!r}; use one of {', '.join(CRITERIA)}")
        self.vgg = vgg
        self.layers = VGG19.check_layers(layers)
        self.weights = [1.0] * len(self.layers) if weights is None else list(weights)
        if len(self.weights) != len(self.layers):
            raise ConfigError(
                f"{len(self.weights)} perceptual weights given for {len(self.layers)} layers"
            )
        self.distance = F.l1_loss if criterion == "l1" else F.mse_loss

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Scalar perceptual distance of ``pred`` to ``target``, both (N, 3, H, W) in [-1, 1]."""
        pred_feats = self.vgg(pred, self.layers)
        with torch.no_grad():
            target_feats = self.vgg(target, self.layers)
        losses = [
            weight * self.distance(pred_feats[name], target_feats[name])
            for name, weight in zip(self.layers, self.weights, strict=True)
        ]
        return torch.stack(losses).sum()


class StyleLoss(nn.Module):
    """Sum over VGG-19 layers of the L1 distance between Gram matrices (EdgeConnect's style loss).

    Inputs: ``pred`` and ``target`` (N, 3, H, W) in [-1, 1]; the target's features are computed
    without gradient. Returns a scalar.

    Args:
        vgg: the frozen feature extractor (shared with other losses).
        layers: VGG-19 layer names (default: relu2_2, relu3_4, relu4_4, relu5_2).

    Raises:
        ConfigError: unknown layer name.
    """

    def __init__(self, vgg: VGG19, layers: Sequence[str] = STYLE_LAYERS) -> None:
        super().__init__()
        self.vgg = vgg
        self.layers = VGG19.check_layers(layers)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Scalar Gram-matrix distance of ``pred`` to ``target``, both (N, 3, H, W) in [-1, 1]."""
        pred_feats = self.vgg(pred, self.layers)
        with torch.no_grad():
            target_feats = self.vgg(target, self.layers)
        losses = [
            F.l1_loss(gram_matrix(pred_feats[name]), gram_matrix(target_feats[name]))
            for name in self.layers
        ]
        return torch.stack(losses).sum()


POSEWARP_LAYERS = (
    "relu1_1",
    "relu1_2",
    "relu2_1",
    "relu2_2",
    "relu3_1",
    "relu3_2",
    "relu3_3",
    "relu3_4",
    "relu4_1",
    "relu4_2",
    "relu4_3",
    "relu4_4",
)
"""The 12 VGG-19 layers of PoseWarp's feature loss (every conv of blocks 1 to 4)."""


class FeatureStatistics(nn.Module):
    """Per-channel mean and standard deviation of VGG-19 features, kept with a model's weights.

    Buffers ``<layer>_mean`` and ``<layer>_std`` of shape (C_l,) per layer, and ``count``: the
    number of images they were computed from (0: not computed yet).

    Args:
        layers: VGG-19 layer names.
    """

    def __init__(self, layers: Sequence[str] = POSEWARP_LAYERS) -> None:
        super().__init__()
        self.layers = VGG19.check_layers(layers)
        for name in self.layers:
            self.register_buffer(f"{name}_mean", torch.zeros(layer_channels(name)))
            self.register_buffer(f"{name}_std", torch.ones(layer_channels(name)))
        self.register_buffer("count", torch.zeros((), dtype=torch.int64))

    @property
    def ready(self) -> bool:
        return int(self.count) > 0

    def std(self, name: str) -> torch.Tensor:
        """(C,) standard deviation of layer ``name``."""
        return getattr(self, f"{name}_std")

    @torch.no_grad()
    def compute(self, vgg: VGG19, batches: Iterable[torch.Tensor]) -> None:
        """Set the statistics from images (N, 3, H, W) in [-1, 1]: per channel over all
        images and positions (accumulated in float64)."""
        sums: dict[str, torch.Tensor] = {}
        squares: dict[str, torch.Tensor] = {}
        positions: dict[str, int] = {}
        count = 0
        for images in batches:
            features = vgg(images.to(self.count.device), self.layers)
            for name, feature in features.items():
                flat = feature.double().transpose(0, 1).reshape(feature.shape[1], -1)
                sums[name] = sums.get(name, 0) + flat.sum(dim=1)
                squares[name] = squares.get(name, 0) + flat.pow(2).sum(dim=1)
                positions[name] = positions.get(name, 0) + flat.shape[1]
            count += images.shape[0]
        if count == 0:
            raise ConfigError("no images to compute feature statistics from")
        for name in self.layers:
            mean = sums[name] / positions[name]
            variance = (squares[name] / positions[name] - mean.pow(2)).clamp_min(0)
            getattr(self, f"{name}_mean").copy_(mean.float())
            getattr(self, f"{name}_std").copy_(variance.sqrt().float())
        self.count.fill_(count)


class NormalizedFeatureLoss(nn.Module):
    """PoseWarp's VGG loss: the mean over layers of mean |φ_l(pred) − φ_l(target)| / (σ_l + reg),
    σ_l the per-channel standard deviation of layer l's features over a dataset.

    Inputs: ``pred`` and ``target`` (N, 3, H, W) in [-1, 1]; the target's features are computed
    without gradient. Returns a scalar.

    Args:
        vgg: the frozen feature extractor (average pooling in the reference).
        stats: the feature statistics (their layers are the loss's layers).
        reg: added to every σ (0.1).

    Raises:
        ConfigError: the statistics were never computed.
    """

    def __init__(self, vgg: VGG19, stats: FeatureStatistics, reg: float = 0.1) -> None:
        super().__init__()
        self.vgg = vgg
        self.stats = stats
        self.reg = reg

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if not self.stats.ready:
            raise ConfigError("the feature statistics of the VGG loss were never computed")
        layers = self.stats.layers
        pred_feats = self.vgg(pred, layers)
        with torch.no_grad():
            target_feats = self.vgg(target, layers)
        losses = [
            (
                (pred_feats[name] - target_feats[name]).abs()
                / (self.stats.std(name) + self.reg).view(1, -1, 1, 1)
            ).mean()
            for name in layers
        ]
        return torch.stack(losses).mean()
