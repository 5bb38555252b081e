"""Feature-space losses: discriminator feature matching, VGG perceptual and Gram-matrix style.

:class:`PerceptualLoss` and :class:`StyleLoss` take the :class:`~compogan.nn.vgg.VGG19` they use
as an argument, so one frozen VGG instance can serve both. They register it as a submodule (so
``.to(device)`` moves it); keep these losses out of the modules you save in checkpoints.
"""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from compogan.errors import ConfigError
from compogan.nn.vgg import VGG19

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
