"""PoseWarp's networks (Balakrishnan et al., CVPR 2018): the pose-conditioned U-Net and the
pose-conditioned global discriminator.

:class:`PoseUNet` is the reference's ``unet``: eleven 3x3 convolutions (a 7x7 first), stride 2
at the 2nd, 4th, 6th, 8th and 10th (256 → 8 px); the pose heat-maps (at half resolution) join
after the first stride-2 convolution; the decoder upsamples x2, concatenates the encoder
features of that resolution and runs one 3x3 convolution, five times; LeakyReLU 0.2, no
normalisation. The output head is the caller's (:class:`ConvHead`).

``reference_ops=True`` reproduces the Keras/TF reference exactly, for its released weights:
its upsampling samples the input at ``j/2`` after a one-pixel reflect pad
(:func:`reference_upsample`, which matches neither ``align_corners`` mode) and TF's "same"
padding of a stride-2 3x3 convolution pads one pixel at the bottom and right only. Otherwise
upsampling is bilinear (``align_corners=False``) and padding symmetric.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from compogan.errors import ConfigError, InputError
from compogan.geometry.pose import (
    JOINT_SIGMA,
    LIMB_SIGMA,
    N_JOINTS,
    N_LIMBS,
    TORSO_SIGMA,
    heatmaps,
    limb_log_prior,
    limb_similarities,
    warp_limb_layers,
)
from compogan.nn.blocks import LEAKY_RELU_SLOPE, check_divisible, make_activation

ENCODER_CONVS = 11
DECODER_CONVS = 5
STRIDE2_AT = (1, 3, 5, 7, 9)
"""Encoder convolutions with stride 2."""
SKIP_FROM = (8, 6, 4, 2, 0)
"""The encoder convolutions whose outputs the five decoder steps concatenate, in order."""
POSE_AFTER = 1
"""The heat-maps join after this encoder convolution (the first stride-2 one)."""
ENCODER_WIDTHS = (64, 64) + (128,) * 9
SEGMENTATION_DECODER_WIDTHS = (128,) * 4 + (32,)
SYNTHESIS_DECODER_WIDTHS = (128,) * 4 + (64,)
BASELINE_ENCODER_WIDTHS = (64,) + (128,) * 3 + (256,) * 7
BASELINE_DECODER_WIDTHS = (256, 256, 256, 128, 64)
"""The reference's widths: PoseWarp's three U-Nets and the plain U-Net baseline."""


def reference_upsample(x: torch.Tensor) -> torch.Tensor:
    """The reference's x2 upsampling: output pixel ``j`` samples the input at ``j/2``.

    Even outputs copy input pixel ``j/2``; odd ones average pixels ``(j-1)/2`` and ``(j+1)/2``,
    the last of them reflecting (it averages the last two pixels). Separable in H and W.

    (N, C, h, w) → (N, C, 2h, 2w).
    """

    def along(t: torch.Tensor, dim: int) -> torch.Tensor:
        size = t.shape[dim]
        following = torch.cat([t.narrow(dim, 1, size - 1), t.narrow(dim, size - 2, 1)], dim=dim)
        odd = 0.5 * (t + following)
        return torch.stack([t, odd], dim=dim + 1).flatten(dim, dim + 1)

    return along(along(x, 2), 3)


class PoseConv(nn.Module):
    """A 'same'-padded convolution + activation: (N, C_in, H, W) → (N, C_out, H/s, W/s).

    ``keras_padding`` pads a stride-2 convolution TF's way (all of the padding at the bottom
    and right); stride-1 convolutions are padded symmetrically either way.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        activation: str = "lrelu",
        keras_padding: bool = False,
    ) -> None:
        super().__init__()
        self.asymmetric = keras_padding and stride == 2
        padding = 0 if self.asymmetric else kernel_size // 2
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding)
        self.pad = kernel_size - stride
        self.activation = (
            nn.LeakyReLU(LEAKY_RELU_SLOPE) if activation == "lrelu" else make_activation(activation)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.asymmetric:
            x = F.pad(x, (self.pad // 2, self.pad - self.pad // 2) * 2)
        return self.activation(self.conv(x))


class PoseUNet(nn.Module):
    """The reference's pose-conditioned U-Net body (no output head).

    Shapes: ``x`` (N, in_channels, H, W), ``pose`` (N, pose_channels, H/2, W/2) →
    (N, decoder_widths[-1], H, W); H and W divisible by 32.

    Args:
        in_channels: image-side input channels.
        pose_channels: heat-map channels joined after the first stride-2 convolution.
        encoder_widths: the 11 encoder widths (reference: [64, 64] + [128] * 9).
        decoder_widths: the 5 decoder widths (reference: [128] * 4 + [32] segmentation,
            [128] * 4 + [64] synthesis).
        reference_ops: the reference's upsampling and TF padding (see the module docstring).

    Raises:
        ConfigError: widths of the wrong length.
    """

    size_multiple = 2 ** len(STRIDE2_AT)

    def __init__(
        self,
        in_channels: int,
        pose_channels: int,
        encoder_widths: Sequence[int],
        decoder_widths: Sequence[int],
        reference_ops: bool = False,
    ) -> None:
        super().__init__()
        encoder_widths, decoder_widths = list(encoder_widths), list(decoder_widths)
        if len(encoder_widths) != ENCODER_CONVS or len(decoder_widths) != DECODER_CONVS:
            raise ConfigError(
                f"a PoseWarp U-Net has {ENCODER_CONVS} encoder and {DECODER_CONVS} decoder widths, "
                f"got {len(encoder_widths)} and {len(decoder_widths)}"
            )
        self.reference_ops = reference_ops
        self.encoder = nn.ModuleList()
        channels = in_channels
        for index, width in enumerate(encoder_widths):
            self.encoder.append(
                PoseConv(
                    channels,
                    width,
                    7 if index == 0 else 3,
                    2 if index in STRIDE2_AT else 1,
                    keras_padding=reference_ops,
                )
            )
            channels = width + (pose_channels if index == POSE_AFTER else 0)
        self.decoder = nn.ModuleList()
        for skip, width in zip(SKIP_FROM, decoder_widths, strict=True):
            self.decoder.append(PoseConv(channels + encoder_widths[skip], width))
            channels = width
        self.out_channels = channels

    def upsample(self, x: torch.Tensor) -> torch.Tensor:
        if self.reference_ops:
            return reference_upsample(x)
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        check_divisible(x, self.size_multiple)
        features = []
        for index, layer in enumerate(self.encoder):
            x = layer(x)
            if index == POSE_AFTER:
                x = torch.cat([x, pose], dim=1)
            features.append(x)
        for layer, skip in zip(self.decoder, SKIP_FROM, strict=True):
            x = layer(torch.cat([self.upsample(x), features[skip]], dim=1))
        return x


class ConvHead(nn.Module):
    """A 3x3 output convolution with an activation ("none": logits, "tanh", "sigmoid"):
    (N, C, H, W) → (N, out_channels, H, W)."""

    def __init__(self, in_channels: int, out_channels: int, activation: str = "none") -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.activation = make_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.conv(x))


class PoseDiscriminator(nn.Module):
    """The pose-conditioned global discriminator.

    conv 5x5/w0 → max-pool → concat both pose heat-maps → conv 5x5/w1 → pool → 3x3/w2,
    pool, 3x3/w2, pool, 3x3/w2, pool, 3x3/w2 (256 → 8 px) → dense → dense → dense 1
    (logit; the reference's sigmoid is in the loss). LeakyReLU 0.2 after every conv, ReLU
    after the hidden dense layers.

    Shapes: ``image`` (N, 3, S, S), ``source_pose``, ``target_pose`` (N, 14, S/2, S/2) → (N, 1).

    Args:
        image_size: S (the dense layer's input is (S/32)² · widths[2]).
        pose_channels: heat-map channels per pose (14).
        widths: (64, 128, 256) in the reference.
        dense: hidden dense width (256).
    """

    def __init__(
        self,
        image_size: int,
        pose_channels: int = 14,
        widths: Sequence[int] = (64, 128, 256),
        dense: int = 256,
    ) -> None:
        super().__init__()
        w0, w1, w2 = widths
        self.first = PoseConv(3, w0, 5)
        self.body = nn.Sequential(
            PoseConv(w0 + 2 * pose_channels, w1, 5),
            nn.MaxPool2d(2),
            PoseConv(w1, w2),
            nn.MaxPool2d(2),
            PoseConv(w2, w2),
            nn.MaxPool2d(2),
            PoseConv(w2, w2),
            nn.MaxPool2d(2),
            PoseConv(w2, w2),
        )
        side = image_size // 32
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(w2 * side * side, dense),
            nn.ReLU(),
            nn.Linear(dense, dense),
            nn.ReLU(),
            nn.Linear(dense, 1),
        )

    def forward(
        self, image: torch.Tensor, source_pose: torch.Tensor, target_pose: torch.Tensor
    ) -> torch.Tensor:
        x = F.max_pool2d(self.first(image), 2)
        x = self.body(torch.cat([x, source_pose, target_pose], dim=1))
        return self.head(x)


def split_pose(pose: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 14, 3) poses ``[x, y, visible]`` → joints (N, 14, 2) and visibility (N, 14)."""
    if pose.dim() != 3 or pose.shape[1:] != (N_JOINTS, 3):
        raise InputError(
            f"poses must be (N, {N_JOINTS}, 3) [x, y, visible], got {tuple(pose.shape)}"
        )
    return pose[..., :2], pose[..., 2]


def pose_heatmaps(
    pose: torch.Tensor, size: tuple[int, int], sigma: float = JOINT_SIGMA
) -> torch.Tensor:
    """(N, 14, 3) pixel poses of (H, W) images → (N, 14, H/2, W/2) heat-maps in [0, 1]
    (hidden joints all zero)."""
    joints, visible = split_pose(pose)
    return heatmaps(joints, size, visible, sigma)


class PoseWarpGenerator(nn.Module):
    """The modular generator: segment the source into layers, warp the limbs, synthesise.

    1. Segmentation U-Net on the source image (source heat-maps joined at 1/2) → 11 logits,
       plus the log of the Gaussian limb prior, softmax over the layers (0: background).
    2. Each limb layer masked out of the source and backward-warped by its similarity
       (target → source joints), no learning.
    3. Foreground U-Net on the 30-channel warped stack (target heat-maps) → tanh foreground and
       sigmoid mask.
    4. Background U-Net on [mask₀ ⊙ source, mask₀] (source heat-maps) → tanh background.
    5. Output: mask ⊙ foreground + (1 − mask) ⊙ background.

    Shapes: ``source`` (N, 3, S, S) in [-1, 1]; ``source_pose``, ``target_pose`` (N, 14, 3)
    pixel joints with visibility → a dict with ``image``, ``foreground``, ``background``
    (N, 3, S, S) in [-1, 1], ``mask`` (N, 1, S, S) and ``layers`` (N, 11, S, S) in [0, 1];
    S divisible by 32.

    Args:
        encoder_widths: the 11 encoder widths of each U-Net.
        segmentation_decoder_widths: the segmentation U-Net's 5 decoder widths.
        synthesis_decoder_widths: the foreground and background U-Nets' decoder widths.
        reference_ops: the reference's exact upsampling and padding (official weights).
        joint_sigma: heat-map σ (heat-map pixels).
        limb_sigma: limb prior σ across a limb (image pixels).
        torso_sigma: the torso's.
    """

    size_multiple = PoseUNet.size_multiple

    def __init__(
        self,
        encoder_widths: Sequence[int] = ENCODER_WIDTHS,
        segmentation_decoder_widths: Sequence[int] = SEGMENTATION_DECODER_WIDTHS,
        synthesis_decoder_widths: Sequence[int] = SYNTHESIS_DECODER_WIDTHS,
        reference_ops: bool = False,
        joint_sigma: float = JOINT_SIGMA,
        limb_sigma: float = LIMB_SIGMA,
        torso_sigma: float = TORSO_SIGMA,
    ) -> None:
        super().__init__()
        self.joint_sigma, self.limb_sigma, self.torso_sigma = joint_sigma, limb_sigma, torso_sigma
        layers = N_LIMBS + 1
        self.segmenter = PoseUNet(
            3, N_JOINTS, encoder_widths, segmentation_decoder_widths, reference_ops
        )
        self.segmentation_head = ConvHead(self.segmenter.out_channels, layers)
        self.background = PoseUNet(
            4, N_JOINTS, encoder_widths, synthesis_decoder_widths, reference_ops
        )
        self.background_head = ConvHead(self.background.out_channels, 3, "tanh")
        self.foreground = PoseUNet(
            3 * N_LIMBS, N_JOINTS, encoder_widths, synthesis_decoder_widths, reference_ops
        )
        self.foreground_head = ConvHead(self.foreground.out_channels, 3, "tanh")
        self.mask_head = ConvHead(self.foreground.out_channels, 1, "sigmoid")

    def forward(
        self, source: torch.Tensor, source_pose: torch.Tensor, target_pose: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        size = (source.shape[-2], source.shape[-1])
        source_joints, _ = split_pose(source_pose)
        target_joints, _ = split_pose(target_pose)
        source_maps = pose_heatmaps(source_pose, size, self.joint_sigma)
        target_maps = pose_heatmaps(target_pose, size, self.joint_sigma)
        logits = self.segmentation_head(self.segmenter(source, source_maps))
        with torch.autocast(source.device.type, enabled=False):  # pixel geometry in float32
            prior = limb_log_prior(source_joints.float(), size, self.limb_sigma, self.torso_sigma)
            layers = torch.softmax(logits.float() + prior, dim=1)
            matrices = limb_similarities(source_joints.float(), target_joints.float())
            stack = warp_limb_layers(source.float(), layers, matrices)
        background_mask = layers[:, :1]
        background_in = torch.cat([background_mask * source, background_mask], dim=1)
        background = self.background_head(self.background(background_in, source_maps))
        features = self.foreground(stack, target_maps)
        foreground = self.foreground_head(features)
        mask = self.mask_head(features)
        image = mask * foreground + (1 - mask) * background
        return {
            "image": image,
            "foreground": foreground,
            "background": background,
            "mask": mask,
            "layers": layers,
        }


class PoseUNetBaseline(nn.Module):
    """The paper's baseline (the reference's ``network_unet``): one U-Net from the source image
    with both poses' heat-maps (28 channels, joined at 1/2) straight to the target image.

    Shapes: as :class:`PoseWarpGenerator`; the dict holds ``image`` alone.
    """

    size_multiple = PoseUNet.size_multiple

    def __init__(
        self,
        encoder_widths: Sequence[int] = BASELINE_ENCODER_WIDTHS,
        decoder_widths: Sequence[int] = BASELINE_DECODER_WIDTHS,
        reference_ops: bool = False,
        joint_sigma: float = JOINT_SIGMA,
    ) -> None:
        super().__init__()
        self.joint_sigma = joint_sigma
        self.unet = PoseUNet(3, 2 * N_JOINTS, encoder_widths, decoder_widths, reference_ops)
        self.head = ConvHead(self.unet.out_channels, 3, "tanh")

    def forward(
        self, source: torch.Tensor, source_pose: torch.Tensor, target_pose: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        size = (source.shape[-2], source.shape[-1])
        maps = [pose_heatmaps(pose, size, self.joint_sigma) for pose in (source_pose, target_pose)]
        return {"image": self.head(self.unet(source, torch.cat(maps, dim=1)))}
