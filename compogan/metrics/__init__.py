"""Image quality metrics: PSNR, SSIM, MSE, L1, and the harmonisation MSE / fMSE / mask IoU."""

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

__all__ = ["fmse", "l1_error", "mask_iou", "mse", "mse_255", "psnr", "ssim", "to_255"]
