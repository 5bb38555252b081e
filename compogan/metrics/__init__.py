"""Image quality metrics: PSNR, SSIM, MSE, L1, the harmonisation MSE / fMSE / mask IoU, and the
multi-scale patch sliced Wasserstein distance."""

from compogan.metrics.image import (
    fmse,
    l1_error,
    mask_iou,
    mse,
    mse_255,
    psnr,
    ssim,
    to_255,
)
from compogan.metrics.patches import patch_swd

__all__ = ["fmse", "l1_error", "mask_iou", "mse", "mse_255", "patch_swd", "psnr", "ssim", "to_255"]
