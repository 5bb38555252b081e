"""SEIGAN's generators (Ostyakov et al. 2018): segment in a box, enhance a paste, fill a hole.

The paper draws its networks only as block diagrams and publishes no code; these are built from
the shared blocks (choices documented in docs/seigan.md). Its two discriminators (D_bg, D_obj)
are plain :class:`~compogan.nn.PatchDiscriminator`\\ s.

- :class:`BoxSegmenter` (G_seg): a U-Net from the image and its box to a soft mask, zero
  outside the box.
- :class:`NoiseEnhancer` (G_enh): a ResNet generator from a naive composite and a noise map
  to the enhanced composite, as a residual on the composite.
- :class:`HoleFiller` (G_inp): a ResNet generator from the image with the mask's pixels
  removed (and the mask) to the background; outside the mask the input is kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from compogan.blending import harmonic_interpolation
from compogan.errors import ConfigError, InputError
from compogan.nn.blocks import ResnetGenerator
from compogan.nn.unet import UNet

INP_HOLE_FILLS = ("empty", "harmonic")
"""What the hole holds in G_inp's input (:class:`HoleFiller`)."""


def _signed(mask: torch.Tensor) -> torch.Tensor:
    """A mask in [0, 1] as an input channel in [-1, 1]."""
    return mask * 2 - 1


class BoxSegmenter(nn.Module):
    """G_seg: (N,3,H,W) images in [-1,1] and (N,1,H,W) box masks in {0,1} → (N,1,H,W) soft
    masks in [0,1], exactly 0 outside the box (the box constrains the mask).

    Args:
        widths: the U-Net's encoder widths; every one but the first halves the resolution,
            so H and W must be divisible by ``2 ** (len(widths) - 1)``.
        norm: normalisation of the U-Net's layers.
    """

    def __init__(self, widths: Sequence[int] = (64, 128, 256, 512, 512), norm: str = "instance"):
        super().__init__()
        self.unet = UNet(4, 1, widths, norm=norm, activation="lrelu", output_activation="none")
        self.size_multiple = self.unet.size_multiple

    def forward(self, images: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        logits = self.unet(torch.cat([images, _signed(boxes)], 1))
        return torch.sigmoid(logits) * boxes


class NoiseEnhancer(nn.Module):
    """G_enh: (N,3,H,W) composites in [-1,1] (+ (N,noise_channels,H,W) noise, N(0,1) drawn from
    torch's RNG when not given) → (N,3,H,W) enhanced composites in [-1,1]: the composite plus
    the generator's correction, clamped. H, W divisible by 4.

    With ``sees_mask`` the network also sees the paste's (N,1,H,W) mask in [0,1] (detached: no
    gradient reaches whoever made it), as image harmonisation networks do, so it knows which
    pixels came from elsewhere; without it, ``masks`` is ignored.

    Args:
        ngf, n_blocks, norm: the ResNet generator's width, residual blocks and normalisation.
        noise_channels: channels of the noise map concatenated to the input (0 = no noise).
        sees_mask: concatenate the paste's mask to the input.
    """

    def __init__(
        self,
        ngf: int = 64,
        n_blocks: int = 9,
        noise_channels: int = 1,
        norm: str = "instance",
        sees_mask: bool = False,
    ) -> None:
        super().__init__()
        self.noise_channels = noise_channels
        self.sees_mask = sees_mask
        in_channels = 3 + noise_channels + int(sees_mask)
        self.net = ResnetGenerator(in_channels, 3, ngf=ngf, n_blocks=n_blocks, norm=norm)
        self.size_multiple = self.net.size_multiple

    def forward(
        self,
        composites: torch.Tensor,
        noise: torch.Tensor | None = None,
        masks: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if noise is None:
            n, _, h, w = composites.shape
            noise = torch.randn(
                n, self.noise_channels, h, w, device=composites.device, dtype=composites.dtype
            )
        inputs = [composites, noise]
        if self.sees_mask:
            if masks is None:
                raise InputError("this G_enh sees the paste's mask: give masks")
            inputs.append(_signed(masks.detach()))
        return (composites + self.net(torch.cat(inputs, 1))).clamp(-1, 1)


class HoleFiller(nn.Module):
    """G_inp: (N,3,H,W) images in [-1,1] and (N,1,H,W) masks in [0,1] (1 = remove) → (N,3,H,W)
    backgrounds in [-1,1]. The network sees (1−m)⊙x and m; its output replaces the image where
    the mask is: m⊙G + (1−m)⊙x. H, W divisible by 4.

    With ``hard_hole`` the network sees the hole as the binary mask m ≥ ½ and nothing of the
    image inside it (the output still blends with the soft m): a soft mask lets faint traces of
    what it removed through (1−m)⊙x, and the swap back can learn to hide and read information
    there. No gradient flows to the mask through the binarised input.

    With ``hole_fill="harmonic"`` the binarised hole holds the harmonic interpolation of the
    pixels around it (:func:`~compogan.blending.harmonic_interpolation`, computed without
    gradient) and G is a correction added to that first guess, clamped to [-1,1]; its last
    convolution starts at zero, so an untrained G_inp returns the harmonic fill. Implies
    ``hard_hole`` (the interpolation needs a binary hole).

    Args:
        ngf, n_blocks, norm: the ResNet generator's width, residual blocks and normalisation.
        hard_hole: give the network the binarised hole instead of the soft one.
        hole_fill: what the hole holds in the network's input: "empty" (zeros, the paper's
            (1−m)⊙x) or "harmonic".
    """

    def __init__(
        self,
        ngf: int = 64,
        n_blocks: int = 9,
        norm: str = "instance",
        hard_hole: bool = False,
        hole_fill: str = "empty",
    ) -> None:
        super().__init__()
        if hole_fill not in INP_HOLE_FILLS:
            raise ConfigError(f"unknown G_inp hole_fill {hole_fill!r}; use one of {INP_HOLE_FILLS}")
        self.net = ResnetGenerator(4, 3, ngf=ngf, n_blocks=n_blocks, norm=norm)
        self.size_multiple = self.net.size_multiple
        self.harmonic = hole_fill == "harmonic"
        self.hard_hole = hard_hole or self.harmonic
        if self.harmonic:
            self.zero_correction()

    def zero_correction(self) -> None:
        """With ``hole_fill="harmonic"``: zero the last convolution, so that G's correction is
        0 and the fill is the harmonic one (call again after re-initialising the weights)."""
        head = self.net.head.conv
        nn.init.zeros_(head.weight)
        if head.bias is not None:
            nn.init.zeros_(head.bias)

    def forward(
        self, images: torch.Tensor, masks: torch.Tensor, detach_context: bool = False
    ) -> torch.Tensor:
        """The filled images; with ``detach_context`` no gradient reaches ``images`` through
        what the network sees (only through the pixels it keeps)."""
        kept = images * (1 - masks)
        seen = (masks.detach() >= 0.5).to(masks.dtype) if self.hard_hole else masks
        if self.harmonic:
            with torch.no_grad():
                guess = harmonic_interpolation(images, seen)
            fill = (guess + self.net(torch.cat([guess, _signed(seen)], 1))).clamp(-1, 1)
        else:
            context = images.detach() if detach_context else images
            fill = self.net(torch.cat([context * (1 - seen), _signed(seen)], 1))
        return masks * fill + kept
