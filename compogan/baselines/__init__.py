"""Non-learned baselines to compare the GANs against."""

from compogan.baselines.color_transfer import (
    LabStats,
    ReinhardBaseline,
    lab_stats,
    reinhard_transfer,
    reinhard_transfer_tensor,
)

__all__ = [
    "LabStats",
    "ReinhardBaseline",
    "lab_stats",
    "reinhard_transfer",
    "reinhard_transfer_tensor",
]
