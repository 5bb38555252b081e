"""The history buffer of generated images (Shrivastava et al. 2017), as used by CycleGAN.

A discriminator trained on a pool of earlier fakes oscillates less than one trained on the
newest fakes alone.
"""

from __future__ import annotations

import torch


class ImagePool:
    """Keeps up to ``size`` earlier fakes; each query swaps half of the batch for pooled ones.

    Randomness comes from torch's global RNG, so its state is part of the trainer's RNG state.

    Args:
        size: pool capacity; 0 disables the pool (queries return their input).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch like ``images`` (N,C,H,W), mixing in pooled fakes once the pool is full.

        While the pool fills, inputs are stored and returned. Afterwards each image is, with
        probability 1/2, returned as is, or swapped with a random pooled image (which is
        returned while the new one takes its place).
        """
        if self.size == 0:
            return images
        returned = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                returned.append(image)
            elif torch.rand(()).item() > 0.5:
                index = int(torch.randint(0, self.size, ()).item())
                returned.append(self.images[index].clone())
                self.images[index] = image.clone()
            else:
                returned.append(image)
        return torch.cat(returned, 0)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The pooled images as one tensor (K,C,H,W), K <= size (empty when K = 0)."""
        if not self.images:
            return {"images": torch.empty(0)}
        return {"images": torch.cat(self.images, 0).cpu()}

    def load_state_dict(self, state: dict[str, torch.Tensor], device: torch.device) -> None:
        """Restore the pooled images from :meth:`state_dict`."""
        stored = state["images"]
        self.images = (
            [] if stored.numel() == 0 else [image.unsqueeze(0).to(device) for image in stored]
        )
