"""The sliced Wasserstein distance between the multi-scale patch sets of two images.

How far apart the patch distributions of two images of any sizes are, with no pretrained
network: InGAN's output should keep its input's patches at every scale while changing the
layout, so a good retarget has a small distance to its input. At each of ``levels`` pyramid
levels (2x average-pool between levels), ``n_patches`` 7x7 RGB patches are drawn from each image
(all positions, seeded), each set is projected on ``n_directions`` random unit directions of the
147-dimensional patch space, and the 1-D Wasserstein-1 distance of each projection (the mean
absolute difference of the sorted values) is averaged over directions and levels. Pixel values
are not normalised, so colour shifts count.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from compogan.errors import InputError


def _patches(
    image: torch.Tensor, patch: int, count: int, generator: torch.Generator
) -> torch.Tensor:
    """``count`` random (patch·patch·3,) patches of a (3,H,W) image, drawn with replacement."""
    columns = F.unfold(image[None], patch)[0]  # (3·p·p, L)
    picks = torch.randint(columns.shape[1], (count,), generator=generator)
    return columns[:, picks].T


def patch_swd(
    first: torch.Tensor,
    second: torch.Tensor,
    patch: int = 7,
    levels: int = 3,
    n_patches: int = 4096,
    n_directions: int = 128,
    seed: int = 0,
) -> float:
    """The multi-scale patch sliced Wasserstein distance of two (3,H,W) float images (any
    sizes, same value range; see the module docstring). 0 for identical images; symmetric.

    Raises:
        InputError: not (3,H,W), or too small for ``patch`` at the coarsest level.
    """
    for image in (first, second):
        if image.dim() != 3 or image.shape[0] != 3:
            raise InputError(f"patch_swd takes (3,H,W) images, got {tuple(image.shape)}")
        if min(image.shape[-2:]) < patch * 2 ** (levels - 1):
            raise InputError(
                f"an image of {image.shape[-1]}x{image.shape[-2]} is too small for {levels} "
                f"levels of {patch}x{patch} patches"
            )
    generator = torch.Generator().manual_seed(seed)
    directions = torch.randn(
        3 * patch * patch, n_directions, generator=generator, dtype=torch.float64
    )
    directions /= directions.norm(dim=0, keepdim=True)
    a, b = first.double(), second.double()
    total = 0.0
    for level in range(levels):
        if level:
            a, b = F.avg_pool2d(a[None], 2)[0], F.avg_pool2d(b[None], 2)[0]
        state = generator.get_state()
        projected_a = (_patches(a, patch, n_patches, generator) @ directions).sort(dim=0).values
        generator.set_state(state)
        projected_b = (_patches(b, patch, n_patches, generator) @ directions).sort(dim=0).values
        total += float((projected_a - projected_b).abs().mean())
    return total / levels
