"""Synthesizing Images of Humans in Unseen Poses (Balakrishnan et al., CVPR 2018): "PoseWarp".

Given a source image I_s of a person, its 14 joints p_s and a target pose p_t, the generator
renders the person in the target pose, I_t, in four modules (:class:`PoseWarpGenerator`):

1. source segmentation: a U-Net on I_s (the heat-maps of p_s joining at half resolution)
   predicts 11 layer logits; adding the log of Gaussian limb masks placed from p_s (the prior)
   and a softmax over the layers gives a background layer and 10 limb layers;
2. spatial transformation: each limb layer, masked out of I_s, is moved into the target pose by
   the similarity transform that maps the limb's joints in p_t to those in p_s (a backward
   warp fitted from the joints, no learning; :func:`compogan.geometry.pose.limb_similarities`);
3. foreground synthesis: a U-Net on the 30-channel stack of warped limbs (with p_t's
   heat-maps) paints the foreground y_fg and a soft mask M_t;
4. background synthesis: a U-Net on the background layer of I_s (and its mask; p_s heat-maps)
   fills the holes the person leaves, y_bg;

and the output is y = M_t ⊙ y_fg + (1 − M_t) ⊙ y_bg.

Training pairs are two frames of one video (here also two poses of one synthetic figure on
one background), so the target frame is ground truth. Stage 1 trains G alone on the VGG
feature loss: the mean over 12 VGG-19 layers (relu1_1 … relu4_4, average pooling) of the L1
distance between features divided per channel by the features' standard deviation over the
training set (+0.1); the statistics are computed once from the data at the start of a run and
kept with the weights (the ``stats`` network). Adam 1e-4 (β 0.9, 0.999), batch 4, 200k
iterations. Stage 2 (``stage: 2``, starting from a stage-1 G with ``train.init_from.G``) adds
0.1 × GAN: a global discriminator sees the image with both poses' heat-maps (binary
cross-entropy); D is trained alone for the first 5 steps, then D and G alternate, 10k
iterations, both at 1e-4.

The paper's baseline, a single U-Net from (I_s, p_s, p_t) to I_t trained by the same recipe,
is :class:`PoseWarpUNet` ("posewarp_unet").

Choices where the reference and paper differ: the reference's own x2 upsampling and TF's
asymmetric stride-2 padding are used only with ``reference_ops`` (the imported official
weights); otherwise bilinear upsampling (``align_corners=False``) and symmetric padding.
The reference reads images as BGR; ours are RGB (the importer permutes the official weights'
colour channels). Our VGG-19 takes torchvision's ImageNet normalisation, so the statistics are
recomputed for it rather than read from the reference's .mat file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from compogan.config import ranged
from compogan.data.registry import DataConfig
from compogan.errors import CheckpointError, ConfigError, InputError
from compogan.geometry.pose import N_JOINTS
from compogan.losses import AdversarialLoss, FeatureStatistics, NormalizedFeatureLoss
from compogan.models.base import GANModel, load_network_state
from compogan.models.phases import Phase, StepState
from compogan.models.tasks import REPOSE
from compogan.nn.posewarp import (
    BASELINE_DECODER_WIDTHS,
    BASELINE_ENCODER_WIDTHS,
    ENCODER_WIDTHS,
    SEGMENTATION_DECODER_WIDTHS,
    SYNTHESIS_DECODER_WIDTHS,
    PoseDiscriminator,
    PoseUNetBaseline,
    PoseWarpGenerator,
    pose_heatmaps,
)
from compogan.nn.vgg import load_vgg19

STAGES = (1, 2)


@dataclass
class PoseRecipeConfig:
    """What PoseWarp and its U-Net baseline share: poses, the recipe and the loss; the
    defaults are the reference's.

    Attributes:
        reference_ops: the reference's exact upsampling and TF padding (official weights).
        joint_sigma: heat-map σ in heat-map pixels (7/4; heat-maps at half resolution).
        stage: 1 (VGG loss only) or 2 (VGG + GAN fine-tuning from a stage-1 G).
        lr: Adam learning rate of G (1e-4).
        d_lr: Adam learning rate of D (1e-4).
        beta1: Adam β₁ (0.9).
        lambda_gan: weight of G's GAN loss in stage 2 (0.1).
        d_warmup_steps: stage-2 steps that train D alone first (5).
        d_widths: D's convolution widths (64, 128, 256).
        d_dense: D's hidden dense width (256).
        feature_reg: added to every feature σ in the VGG loss (0.1).
        stats_images: training images the feature statistics are computed from (8000: the
            reference's 2000 batches of 4).
        feature_stats: a statistics file written by ``compogan posewarp-stats`` to start
            from ("": compute them from the training data before the first step).
        vgg_pooling: the loss VGG's pooling, "avg" (the reference) or "max".
        vgg_weights: path of torchvision's vgg19-dcbb9e9d.pth ("" = the usual search order).
        vgg_random_init: a random-weight VGG instead (tests and offline benchmarks only; said
            in their reports).
    """

    reference_ops: bool = False
    joint_sigma: float = ranged(7 / 4, gt=0)
    stage: int = 1
    lr: float = ranged(1e-4, gt=0)
    d_lr: float = ranged(1e-4, gt=0)
    beta1: float = ranged(0.9, ge=0, lt=1)
    lambda_gan: float = ranged(0.1, ge=0)
    d_warmup_steps: int = ranged(5, ge=0)
    d_widths: list[int] = field(default_factory=lambda: [64, 128, 256])
    d_dense: int = ranged(256, ge=1)
    feature_reg: float = ranged(0.1, gt=0)
    stats_images: int = ranged(8000, ge=1)
    feature_stats: str = ""
    vgg_pooling: str = "avg"
    vgg_weights: str = ""
    vgg_random_init: bool = False

    def check(self) -> None:
        """ConfigError for an unknown stage or D widths of the wrong length."""
        if self.stage not in STAGES:
            raise ConfigError(f"stage must be 1 (VGG loss) or 2 (VGG + GAN), not {self.stage}")
        if len(self.d_widths) != 3:
            raise ConfigError(f"d_widths needs 3 widths, got {self.d_widths}")


@dataclass
class PoseWarpConfig(PoseRecipeConfig):
    """PoseWarp's hyper-parameters: :class:`PoseRecipeConfig` and its three U-Nets.

    Attributes:
        encoder_widths: the 11 encoder widths of each U-Net ([64, 64] + [128] * 9).
        segmentation_decoder_widths: decoder widths of the segmentation U-Net ([128]*4 + [32]).
        synthesis_decoder_widths: decoder widths of the foreground and background U-Nets
            ([128]*4 + [64]).
        limb_sigma: the limb prior's σ across a limb, image pixels (11 at 256 px).
        torso_sigma: the torso's (13).
    """

    encoder_widths: list[int] = field(default_factory=lambda: list(ENCODER_WIDTHS))
    segmentation_decoder_widths: list[int] = field(
        default_factory=lambda: list(SEGMENTATION_DECODER_WIDTHS)
    )
    synthesis_decoder_widths: list[int] = field(
        default_factory=lambda: list(SYNTHESIS_DECODER_WIDTHS)
    )
    limb_sigma: float = ranged(11.0, gt=0)
    torso_sigma: float = ranged(13.0, gt=0)


@dataclass
class PoseWarpDataConfig(DataConfig):
    """Pairs of one person (or figure) in two poses (a "pose_pair" dataset).

    Attributes:
        dataset: "figures" (synthetic articulated figures, no files), "videos" (the
            reference's ``info/<video>.mat`` + ``frames/<video>/<k>.png`` folders under
            ``root/train`` and ``root/test``) or "json" (frame folders with JSON poses, see
            docs/posewarp.md).
        size: the square image side S (256).
        augment: the reference's augmentation of real pairs (scale, rotation, shift,
            brightness, flip; the same draw for both frames).
        min_frame_gap: two frames of a pair are more than this fraction of the video apart.
        crop_scale: the crop makes the larger person scale of the pair ``crop_scale`` (1.14,
            at 256 px; scaled with S).
        sequences: the synthetic pose sequences a figure pair is drawn from.
    """

    dataset: str = "figures"
    size: int = ranged(256, ge=32)
    length: int = ranged(2000, ge=1)
    test_length: int = ranged(64, ge=1)
    augment: bool = True
    min_frame_gap: float = ranged(0.02, ge=0, lt=1)
    crop_scale: float = ranged(1.14, gt=0)
    sequences: list[str] = field(default_factory=lambda: ["walk", "wave", "jump"])

    def check(self) -> None:
        """ConfigError unless S is a multiple of 32 (five stride-2 levels)."""
        if self.size % 32:
            raise ConfigError(f"data.size must be a multiple of 32 for PoseWarp, not {self.size}")


class PoseWarp(GANModel):
    """PoseWarp: G (:class:`PoseWarpGenerator`) reposes (N,3,S,S) images in [-1,1] given
    (N,14,3) source and target poses; D is the pose-conditioned discriminator; ``stats`` holds
    the VGG feature statistics of the loss."""

    name = "posewarp"
    description = "PoseWarp (Balakrishnan et al. 2018): a person re-rendered in a new pose"
    Config = PoseWarpConfig
    DataConfig = PoseWarpDataConfig
    data_kind = "pose_pair"
    network_names = ("G", "D", "stats")
    tasks = (REPOSE,)
    size_multiple = PoseWarpGenerator.size_multiple
    min_size = 32

    # ---- networks ------------------------------------------------------------------------------
    def build_generator(self) -> torch.nn.Module:
        c = self.config
        return PoseWarpGenerator(
            c.encoder_widths,
            c.segmentation_decoder_widths,
            c.synthesis_decoder_widths,
            c.reference_ops,
            c.joint_sigma,
            c.limb_sigma,
            c.torso_sigma,
        )

    def build_networks(self) -> None:
        c = self.config
        self.G = self.build_generator()
        self.D = PoseDiscriminator(self.data_config.size, N_JOINTS, c.d_widths, c.d_dense)
        self.stats = FeatureStatistics()
        self.gan_loss = AdversarialLoss("vanilla")

    @property
    def image_size(self) -> int:
        """The side S of the square images the networks were trained on."""
        return self.data_config.size

    def networks_trained_by_config(self) -> tuple[str, ...]:
        """Stage 1 trains G; stage 2 G and D."""
        return ("G",) if self.config.stage == 1 else ("G", "D")

    def inference_networks(self, task: str, **options: object) -> tuple[str, ...]:
        """Reposing runs G."""
        return ("G",)

    def required_initial_networks(self) -> tuple[str, ...]:
        """Stage 2 fine-tunes a stage-1 G."""
        return ("G",) if self.config.stage == 2 else ()

    def weight_settings(self, network: str) -> dict[str, object]:
        """G's weights depend on the upsampling and padding they were trained with."""
        return {"reference_ops": self.config.reference_ops} if network == "G" else {}

    def untrained_hint(self, missing: Sequence[str]) -> str:
        return "pass a trained run (stage 1 or 2) or the official vgg+gan_5000.h5"

    # ---- optimisation --------------------------------------------------------------------------
    def configure_optimizers(self) -> None:
        """Adam for G ("G") and D ("D"), and the VGG feature loss (VGG-19 loaded here)."""
        c = self.config
        betas = (c.beta1, 0.999)
        self.add_optimizer("G", ("G",), torch.optim.Adam, lr=c.lr, betas=betas)
        self.add_optimizer("D", ("D",), torch.optim.Adam, lr=c.d_lr, betas=betas)
        vgg = load_vgg19(
            c.vgg_weights or None, random_init=c.vgg_random_init, pooling=c.vgg_pooling
        ).to(self.device)
        self.feature_loss = NormalizedFeatureLoss(vgg, self.stats, c.feature_reg)

    # ---- the VGG statistics --------------------------------------------------------------------
    def _statistics_batches(self, batch_size: int) -> Iterator[Tensor]:
        """Target images of the first ``stats_images`` training items, in batches."""
        dataset = self.build_dataset(self.data_config, "train")
        count = min(self.config.stats_images, len(dataset))
        for start in range(0, count, batch_size):
            stop = min(start + batch_size, count)
            yield torch.stack([dataset[i]["target"] for i in range(start, stop)])

    def compute_feature_stats(self, batch_size: int = 4) -> None:
        """Per-channel σ of the loss's VGG features over the training data, kept in ``stats``
        (computed before the first step of a run that does not have them)."""
        self.stats.compute(self.feature_loss.vgg, self._statistics_batches(batch_size))

    def load_feature_stats(self, path: str | Path) -> None:
        """Read the statistics from a ``compogan posewarp-stats`` file.

        Raises:
            CheckpointError: unreadable, or statistics of other layers.
        """
        from safetensors.torch import load_file

        try:
            state = load_file(str(path))
        except (OSError, ValueError) as error:
            raise CheckpointError(f"cannot read feature statistics {path}: {error}") from None
        load_network_state(self.stats, state, f"the feature statistics in {path}")

    # ---- the training step ---------------------------------------------------------------------
    def begin_step(self, batch: dict[str, Tensor]) -> StepState:
        """The batch on the device; the first step of a run without statistics computes them."""
        if not self.stats.ready and self.config.feature_stats:
            self.load_feature_stats(self.config.feature_stats)
        if not self.stats.ready:
            self.compute_feature_stats(batch["source"].shape[0])
        return super().begin_step(batch)

    def generate(self, state: StepState, network: torch.nn.Module) -> Tensor:
        """``network``'s (N,3,S,S) output for the state's source image and poses."""
        return network(state["source"], state["source_pose"], state["target_pose"])["image"]

    def generator_losses(self, state: StepState) -> dict[str, Tensor]:
        """The normalised VGG loss of G's output against the target frame, and in stage 2
        λ × GAN (D frozen). Leaves the output, detached, in the state."""
        fake = self.generate(state, self.nets.G)
        losses = {"G_VGG": self.feature_loss(fake, state["target"])}
        if self.config.stage == 2:
            maps = self.pose_maps(state)
            verdict = self.nets.D(fake, *maps)
            losses["G_GAN"] = self.config.lambda_gan * self.gan_loss(
                verdict, True, for_discriminator=False
            )
        state["fake"] = fake.detach()
        return losses

    def pose_maps(self, state: StepState) -> tuple[Tensor, Tensor]:
        """Heat-maps (N,14,S/2,S/2) of the source and target poses, for D."""
        size = tuple(state["source"].shape[-2:])
        sigma = self.config.joint_sigma
        return (
            pose_heatmaps(state["source_pose"], size, sigma),
            pose_heatmaps(state["target_pose"], size, sigma),
        )

    def discriminator_losses(self, state: StepState) -> dict[str, Tensor]:
        """BCE of D on the target frame (real) and G's output (fake), both with the poses."""
        if "fake" not in state:
            with torch.no_grad():
                state["fake"] = self.generate(state, self.G)
        maps = self.pose_maps(state)
        real = self.nets.D(state["target"], *maps)
        fake = self.nets.D(state["fake"], *maps)
        return {
            "D_real": self.gan_loss(real, True, for_discriminator=True),
            "D_fake": self.gan_loss(fake, False, for_discriminator=True),
        }

    def training_phases(self) -> tuple[Phase, ...]:
        """Stage 1: G. Stage 2: D alone for ``d_warmup_steps``, then D and G."""
        if self.config.stage == 1:
            return (Phase("G", ("G",), self.generator_losses),)
        discriminator = Phase("D", ("D",), self.discriminator_losses)
        if self.step_count < self.config.d_warmup_steps:
            return (discriminator,)
        return (discriminator, Phase("G", ("G",), self.generator_losses))

    # ---- inference -----------------------------------------------------------------------------
    def check_repose_inputs(self, images: Tensor, source_pose: Tensor, target_pose: Tensor) -> None:
        """InputError unless the images are (N,3,S,S) at the model's S and the poses (N,14,3)."""
        size = self.image_size
        if images.dim() != 4 or images.shape[1:] != (3, size, size):
            raise InputError(
                f"PoseWarp takes (N, 3, {size}, {size}) images, got {tuple(images.shape)}"
            )
        for name, pose in (("source", source_pose), ("target", target_pose)):
            if pose.shape != (images.shape[0], N_JOINTS, 3):
                raise InputError(
                    f"the {name} pose must be ({images.shape[0]}, {N_JOINTS}, 3), got "
                    f"{tuple(pose.shape)}"
                )

    @torch.no_grad()
    def repose_parts(
        self, images: Tensor, source_pose: Tensor, target_pose: Tensor
    ) -> dict[str, Tensor]:
        """G's output and its parts (see :class:`PoseWarpGenerator`) for (N,3,S,S) images in
        [-1,1] and (N,14,3) pixel poses at S."""
        self.check_repose_inputs(images, source_pose, target_pose)
        return self.G(images, source_pose.to(images.dtype), target_pose.to(images.dtype))

    def repose(self, images: Tensor, source_pose: Tensor, target_pose: Tensor) -> Tensor:
        """(N,3,S,S) in [-1,1] → the same people in ``target_pose``, (N,3,S,S) in [-1,1]."""
        return self.repose_parts(images, source_pose, target_pose)["image"]

    @torch.no_grad()
    def visuals(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Source, target, output and (PoseWarp) the foreground, background and mask."""
        state = super().begin_step(batch)
        parts = self.G(state["source"], state["source_pose"], state["target_pose"])
        shown = {"source": state["source"], "target": state["target"], "output": parts["image"]}
        for name in ("foreground", "background"):
            if name in parts:
                shown[name] = parts[name]
        if "mask" in parts:
            shown["mask"] = parts["mask"].expand(-1, 3, -1, -1) * 2 - 1
        return shown


@dataclass
class PoseWarpUNetConfig(PoseRecipeConfig):
    """The baseline U-Net's hyper-parameters: :class:`PoseRecipeConfig` and one U-Net.

    Attributes:
        encoder_widths: [64] + [128] * 3 + [256] * 7 (the reference's ``network_unet``).
        decoder_widths: [256, 256, 256, 128, 64].
    """

    encoder_widths: list[int] = field(default_factory=lambda: list(BASELINE_ENCODER_WIDTHS))
    decoder_widths: list[int] = field(default_factory=lambda: list(BASELINE_DECODER_WIDTHS))


class PoseWarpUNet(PoseWarp):
    """The paper's baseline: one U-Net from the source image and both poses to the target."""

    name = "posewarp_unet"
    description = "PoseWarp's baseline: one U-Net from image + source and target pose"
    Config = PoseWarpUNetConfig

    def build_generator(self) -> torch.nn.Module:
        c = self.config
        return PoseUNetBaseline(c.encoder_widths, c.decoder_widths, c.reference_ops, c.joint_sigma)
