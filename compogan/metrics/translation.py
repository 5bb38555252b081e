"""Scoring unpaired translation against ground truth, beside the classic baselines.

On the synthetic day/night scenes the test split renders every scene in both domains, so a
day→night translation can be scored by PSNR and SSIM against the true night render. Baselines:
``identity`` (the day image unchanged) and ``reinhard`` (global colour transfer in Lab to the
statistics of the night training images).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from compogan.baselines.color_transfer import ReinhardBaseline
from compogan.metrics.image import psnr, ssim

TranslateFn = Callable[[torch.Tensor], torch.Tensor]


def to_uint8_hwc(images: torch.Tensor) -> list[np.ndarray]:
    """(N,3,H,W) in [-1,1] → N arrays (H,W,3) uint8."""
    scaled = ((images.detach().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return list(scaled.permute(0, 2, 3, 1).numpy())


@torch.no_grad()
def score_translation(
    translate: TranslateFn, dataset: Dataset, batch_size: int = 16
) -> dict[str, float]:
    """Mean PSNR (dB) and SSIM of ``translate(A)`` against ``B`` over a paired dataset.

    Args:
        translate: maps (N,3,H,W) in [-1,1] to the same shape.
        dataset: yields {"A": source, "B": ground truth}, both (3,H,W) in [-1,1].
    """
    psnrs, ssims = [], []
    for batch in DataLoader(dataset, batch_size=batch_size):
        output = translate(batch["A"]).cpu().float().clamp(-1, 1)
        psnrs.append(psnr(output, batch["B"]))
        ssims.append(ssim(output, batch["B"]))
    return {"psnr": float(torch.cat(psnrs).mean()), "ssim": float(torch.cat(ssims).mean())}


def fit_reinhard_to_domain_b(train_dataset: Dataset, n_images: int = 64) -> ReinhardBaseline:
    """Fit the Reinhard baseline to the B-domain images of the first items of a training set."""
    count = min(n_images, len(train_dataset))
    night = [to_uint8_hwc(train_dataset[i]["B"].unsqueeze(0))[0] for i in range(count)]
    return ReinhardBaseline().fit(night)


def translation_table(
    methods: dict[str, TranslateFn], test_dataset: Dataset, reinhard: ReinhardBaseline
) -> dict[str, dict[str, float]]:
    """Scores of the identity and (fitted) Reinhard baselines followed by each method given."""
    candidates: dict[str, TranslateFn] = {
        "identity": lambda images: images,
        "reinhard": reinhard.transfer_tensor,
        **methods,
    }
    return {name: score_translation(fn, test_dataset) for name, fn in candidates.items()}
