"""Losses shared by the compogan models: adversarial, feature-space and pixel-space."""

from compogan.losses.adversarial import GAN_MODES, AdversarialLoss, gradient_penalty
from compogan.losses.perceptual import (
    PERCEPTUAL_LAYERS,
    POSEWARP_LAYERS,
    STYLE_LAYERS,
    FeatureStatistics,
    NormalizedFeatureLoss,
    PerceptualLoss,
    StyleLoss,
    feature_matching_loss,
    gram_matrix,
)
from compogan.losses.regularizers import (
    hole_binary_cross_entropy,
    l1_loss,
    masked_l1,
    total_variation,
)

__all__ = [
    "GAN_MODES",
    "PERCEPTUAL_LAYERS",
    "POSEWARP_LAYERS",
    "STYLE_LAYERS",
    "AdversarialLoss",
    "FeatureStatistics",
    "NormalizedFeatureLoss",
    "PerceptualLoss",
    "StyleLoss",
    "feature_matching_loss",
    "gradient_penalty",
    "gram_matrix",
    "hole_binary_cross_entropy",
    "l1_loss",
    "masked_l1",
    "total_variation",
]
