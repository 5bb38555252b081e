"""Losses shared by the compogan models: adversarial, feature-space, pixel-space and
box-supervised segmentation."""

from compogan.losses.adversarial import GAN_MODES, AdversarialLoss, gradient_penalty
from compogan.losses.box_supervision import (
    border_colour_loss,
    border_likeness,
    box_projection_loss,
    color_affinity_loss,
    dice_loss,
)
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
    "border_colour_loss",
    "border_likeness",
    "box_projection_loss",
    "color_affinity_loss",
    "dice_loss",
    "feature_matching_loss",
    "gradient_penalty",
    "gram_matrix",
    "hole_binary_cross_entropy",
    "l1_loss",
    "masked_l1",
    "total_variation",
]
