"""What a bounding box alone says about a soft mask: BoxInst's two losses (Tian et al., CVPR 2021)
and a colour prior from the pixels just outside the box.

- :func:`box_projection_loss`: the box is *tight*, so every row and every column through it
  meets the object: the mask's maximum along each axis must match the box's.
- :func:`color_affinity_loss`: neighbouring pixels of similar colour (in CIE Lab) inside the box
  most likely belong to the same side of the object's edge, so they should share a label.
- :func:`border_colour_loss`: the pixels just outside a tight box are background, so a pixel
  inside it whose colour is found among them is most likely background too (GrabCut's colour
  model, non-parametric: :func:`border_likeness`).

None needs a true mask. The first two make a mask follow the colour edges of an object that
spans its box, but neither rules out the whole box (nor, with the projection alone, a thin
stroke across it): the border colours are what tell the object from its background.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from kornia.color import rgb_to_lab

NEIGHBOUR_OFFSETS = ((0, 1), (1, 0), (1, 1), (1, -1))
"""The four directions (dy, dx) that, with their opposites, make a pixel's eight neighbours."""


def dice_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """1 − Dice of (N, ...) maps in [0, 1], with squared terms in the denominator (BoxInst's
    form), averaged over the N samples; a scalar in [0, 1]."""
    pred, target = pred.flatten(1), target.flatten(1)
    overlap = 2 * (pred * target).sum(1)
    return (1 - overlap / ((pred**2).sum(1) + (target**2).sum(1) + eps)).mean()


def box_projection_loss(masks: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Dice of the mask's projections onto both axes against the box's.

    Args:
        masks: soft masks (N, 1, H, W) in [0, 1].
        boxes: the boxes as masks (N, 1, H, W) in {0, 1}.

    Returns:
        Scalar in [0, 2]: 0 when each row and column of the box holds a mask pixel at 1 and none
        outside the box does.
    """
    return sum(dice_loss(masks.amax(dim), boxes.amax(dim)) for dim in (2, 3))


def _pairs(images: torch.Tensor, dy: int, dx: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The pixels of (N, C, H, W) ``images`` and their neighbours ``(dy ≥ 0, dx)`` away, as two
    (N, C, H − |dy|, W − |dx|) views over the pairs that lie inside the image."""
    h, w = images.shape[-2:]
    rows, cols = slice(0, h - dy), slice(max(0, -dx), w - max(0, dx))
    rows_n, cols_n = slice(dy, h), slice(max(0, dx), w - max(0, -dx))
    return images[..., rows, cols], images[..., rows_n, cols_n]


def color_affinity_loss(
    masks: torch.Tensor,
    images: torch.Tensor,
    boxes: torch.Tensor,
    distances: Sequence[int] = (1, 2),
    threshold: float = 0.3,
    theta: float = 2.0,
) -> torch.Tensor:
    """BoxInst's pairwise loss: −log P(same label) over the similar-coloured neighbour pairs.

    A pair (i, j) of pixels one of ``distances`` apart (in the eight directions), both inside the
    box, is counted when its colour similarity exp(−‖Lab_i − Lab_j‖ / theta) is at least
    ``threshold``; its probability of sharing a label is m_i m_j + (1 − m_i)(1 − m_j). BoxInst
    takes pairs two apart on a mask at a quarter of the image's resolution; on a full-resolution
    mask pairs at distance 1 are needed too, or a mask alternating pixel by pixel (which the
    swap's reconstructions favour, as a channel for what the cut hides) satisfies the loss.

    Args:
        masks: soft masks (N, 1, H, W) in [0, 1].
        images: the images (N, 3, H, W) in [-1, 1], RGB.
        boxes: the boxes as masks (N, 1, H, W) in {0, 1}.
        distances: the pairs' distances in pixels.
        threshold: the least colour similarity of a counted pair, in (0, 1].
        theta: the Lab distance at which similarity falls to 1/e.

    Returns:
        Scalar ≥ 0 (nats per counted pair); 0 when no pair is counted.
    """
    lab = _lab(images)
    total = masks.new_zeros(())
    count = masks.new_zeros(())
    for (dy, dx), distance in itertools.product(NEIGHBOUR_OFFSETS, distances):
        dy, dx = dy * distance, dx * distance
        lab_i, lab_j = _pairs(lab, dy, dx)
        box_i, box_j = _pairs(boxes, dy, dx)
        m_i, m_j = _pairs(masks, dy, dx)
        similarity = torch.exp(-(lab_i - lab_j).norm(dim=1, keepdim=True) / theta)
        counted = ((similarity >= threshold) & (box_i * box_j > 0)).to(masks.dtype)
        same = m_i * m_j + (1 - m_i) * (1 - m_j)
        total = total + (-torch.log(same.clamp_min(1e-6)) * counted).sum()
        count = count + counted.sum()
    return total / count.clamp_min(1.0)


def _lab(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB images in [-1, 1] as CIE Lab (L in [0, 100]), detached."""
    return rgb_to_lab(((images.detach() + 1) / 2).clamp(0, 1))


def border_likeness(
    images: torch.Tensor, boxes: torch.Tensor, ring: int = 3, theta: float = 5.0
) -> torch.Tensor:
    """How much each pixel's colour resembles the box's surroundings.

    Args:
        images: (N, 3, H, W) RGB in [-1, 1].
        boxes: the boxes as masks (N, 1, H, W) in {0, 1}.
        ring: the width in pixels of the band just outside the box that serves as background.
        theta: the Lab distance at which likeness falls to 1/e.

    Returns:
        (N, 1, H, W) in [0, 1]: exp(−d / theta), d the Lab distance from the pixel's colour to
        the nearest colour in the band; 1 everywhere for an image whose band is empty (a box
        that fills the image).
    """
    lab = _lab(images)
    band = (F.max_pool2d(boxes, 2 * ring + 1, 1, ring) - boxes) > 0
    likeness = torch.ones_like(boxes)
    for index in range(images.shape[0]):
        colours = lab[index].flatten(1).T
        surround = colours[band[index, 0].flatten()]
        if len(surround):
            distance = torch.cdist(colours, surround).amin(1)
            likeness[index, 0] = torch.exp(-distance / theta).view(boxes.shape[-2:])
    return likeness


def border_colour_loss(
    masks: torch.Tensor,
    images: torch.Tensor,
    boxes: torch.Tensor,
    ring: int = 3,
    theta: float = 5.0,
) -> torch.Tensor:
    """Binary cross-entropy of the mask inside the box against 1 − :func:`border_likeness`.

    Args:
        masks: soft masks (N, 1, H, W) in [0, 1].
        images: the images (N, 3, H, W) in [-1, 1], RGB.
        boxes: the boxes as masks (N, 1, H, W) in {0, 1}.
        ring, theta: as :func:`border_likeness`.

    Returns:
        Scalar ≥ 0 (nats per box pixel; the soft target's own entropy is its floor).
    """
    target = 1 - border_likeness(images, boxes, ring, theta)
    per_pixel = F.binary_cross_entropy(masks.clamp(1e-6, 1 - 1e-6), target, reduction="none")
    return (per_pixel * boxes).sum() / boxes.sum().clamp_min(1.0)
