"""A replay history of earlier fakes for the critic (Shrivastava et al. 2017), as ST-GAN keeps it.

ST-GAN's critic sees, in every batch, some composites from a queue of earlier ones, so that it
keeps penalising placements the generator has already moved away from. Unlike
:class:`compogan.data.image_pool.ImagePool` the history is one preallocated ring of ``capacity``
images, written in order and read at random, and a fixed share of each batch comes from it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from compogan.errors import ConfigError, InputError


class ReplayBuffer:
    """A ring of up to ``capacity`` earlier images that a batch of new fakes is mixed with.

    The images live in one tensor (capacity, C, H, W), allocated on the device and in the dtype
    of the first images pushed. Randomness comes from torch's global (CPU) RNG, so it is part of
    the trainer's RNG state and training resumes exactly.

    Args:
        capacity: how many images the history holds; 0 disables it (:meth:`mix` returns its
            input and stores nothing).

    Raises:
        ConfigError: negative capacity.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise ConfigError(f"the replay history size must be >= 0, got {capacity}")
        self.capacity = capacity
        self.images: Tensor | None = None
        self.count = 0
        self.position = 0

    def __len__(self) -> int:
        """Number of images held (at most ``capacity``)."""
        return self.count

    def clear(self) -> None:
        """Forget every stored image (the storage is kept)."""
        self.count = 0
        self.position = 0

    def push(self, images: Tensor) -> None:
        """Store (B, C, H, W) images (detached), overwriting the oldest once the ring is full.

        Raises:
            InputError: images of another shape than the ones already stored.
        """
        if self.capacity == 0 or images.shape[0] == 0:
            return
        images = images.detach()[-self.capacity :]
        if self.images is None:
            self.images = images.new_empty((self.capacity, *images.shape[1:]))
        if images.shape[1:] != self.images.shape[1:]:
            raise InputError(
                f"cannot store images of shape {tuple(images.shape[1:])} in a history of "
                f"{tuple(self.images.shape[1:])} images"
            )
        slots = (self.position + torch.arange(images.shape[0])) % self.capacity
        self.images[slots.to(self.images.device)] = images.to(self.images)
        self.count = min(self.count + images.shape[0], self.capacity)
        self.position = (self.position + images.shape[0]) % self.capacity

    def sample(self, k: int) -> Tensor:
        """``k`` distinct stored images drawn uniformly at random, as a new (k, C, H, W) tensor.

        Raises:
            InputError: fewer than ``k`` images are stored.
        """
        if k > self.count or self.images is None:
            raise InputError(f"cannot draw {k} images from a history holding {self.count}")
        chosen = torch.randperm(self.count)[:k]
        return self.images[chosen.to(self.images.device)].clone()

    def mix(self, fakes: Tensor, fraction: float) -> Tensor:
        """A batch like ``fakes`` with ``round(fraction * B)`` of them swapped for earlier ones.

        While the history holds fewer than that many images, every fake is stored and the batch
        is returned as is. Afterwards a random ``round(fraction * B)`` of the fakes go into the
        history (not into this batch) and as many stored images, drawn before the new ones are
        stored, take their places; the batch is the remaining new fakes followed by the drawn
        ones. ST-GAN uses ``fraction = 0.5`` (10 of its batch of 20).

        Args:
            fakes: (B, C, H, W) new fakes (detached here).
            fraction: share of the batch taken from the history, in [0, 1].

        Returns:
            (B, C, H, W) fakes for the critic.

        Raises:
            ConfigError: ``fraction`` outside [0, 1].
        """
        if not 0.0 <= fraction <= 1.0:
            raise ConfigError(f"the replay fraction must be in [0, 1], got {fraction}")
        fakes = fakes.detach()
        replaced = round(fraction * fakes.shape[0])
        if self.capacity == 0 or replaced == 0:
            return fakes
        if self.count < replaced:
            self.push(fakes)
            return fakes
        order = torch.randperm(fakes.shape[0]).to(fakes.device)
        drawn = self.sample(replaced).to(fakes)
        self.push(fakes[order[:replaced]])
        return torch.cat([fakes[order[replaced:]], drawn], dim=0)

    def state_dict(self) -> dict[str, Any]:
        """Stored images as one CPU tensor (count, C, H, W) (empty if none) and the write slot."""
        if self.images is None or self.count == 0:
            return {"images": torch.empty(0), "position": 0}
        return {"images": self.images[: self.count].cpu(), "position": self.position}

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        """Restore what :meth:`state_dict` returned, storing the images on ``device``.

        Raises:
            InputError: the state holds more images than this history's capacity.
        """
        stored: Tensor = state["images"]
        self.images, self.count, self.position = None, 0, 0
        if stored.numel() == 0:
            return
        if stored.shape[0] > self.capacity:
            raise InputError(
                f"the saved history holds {stored.shape[0]} images, more than this history's "
                f"capacity {self.capacity}; resume with the same history size"
            )
        self.images = stored.new_empty((self.capacity, *stored.shape[1:]), device=device)
        self.images[: stored.shape[0]] = stored.to(device)
        self.count = stored.shape[0]
        self.position = int(state["position"])
