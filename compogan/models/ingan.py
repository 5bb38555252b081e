"""InGAN: capturing and retargeting the "DNA" of a natural image (Shocher et al., ICCV 2019).

One model per image. A generator G(x, size, T) resynthesises its input x at any output size
(and, through a homography T, any shape): a geometric transformation layer changes the size of
its feature map after the first convolution, an encoder-bottleneck-decoder with skips then
paints the output. A multi-scale patch discriminator D tells patches of G's output from patches
of the input at every scale at once, so the output keeps the input's patch distribution at every
scale ("internal" statistics) without keeping its layout.

Training step, batch 1: a random crop x of the image (256 px) is both G's input and D's real
example. An output size is drawn per axis in [0.15, 2.25] times the crop (rounded up to a
multiple of 8), widening from 1 to that range over the first 10k iterations (the curriculum).
G learns from

    L_G = L_LSGAN(D(G(x)), 1) + 0.1 ‖G(G(x), size(x), T⁻¹) − x‖₁,

where T⁻¹ is the reference's "inverse": the homography of the negated corner shifts (not the
true inverse matrix); after 10k iterations a second G update trains the reconstruction alone,
with the forward output detached (ratio 1). D learns ½ (L(D(x), 1) + L(D(G(x)), 0)), LSGAN on
its sigmoid outputs. G's and D's inputs get ±1/255 uniform noise. D's per-scale weights follow
:func:`compogan.nn.ingan.scale_weights`: coarse first, uniform at 25k iterations, finer after.
Adam 5e-5 (β 0.5, 0.999) for both; the learning rate decays linearly to 0 from 20k to the end
at 75k.

Every training step samples the feature map through the shift homography on a
``linspace(-1, 1)`` grid (zero shift: a plain resize); the reference's test-time retargeting
resizes bilinearly instead, and this model's :meth:`InGAN.retarget` does the same. The
reference never switches BatchNorm to eval mode, so its retargets are normalised by each
output's own statistics; ``test_norm_stats: batch`` (the default) does the same.

The model keeps its training image with its weights (the ``source`` network), so a run
retargets without being given the image again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from compogan.config import ScheduleConfig, ranged
from compogan.data.registry import DataConfig
from compogan.errors import CheckpointError, ConfigError, InputError
from compogan.geometry.retarget import curriculum_scale_range, output_size
from compogan.losses import l1_loss
from compogan.models.base import GANModel
from compogan.models.phases import Phase, StepState
from compogan.models.tasks import RETARGET
from compogan.nn.ingan import (
    NORMS,
    BatchStatNorm2d,
    MultiScaleDiscriminator,
    RetargetGenerator,
    SourceImage,
    init_ingan,
    scale_weights,
)

PAPER_STEPS = 75000


@dataclass
class InGANConfig:
    """InGAN hyper-parameters; the defaults are the reference's (its GPU schedule of 75k
    iterations). Iteration counts are absolute training steps.

    Attributes:
        base_channels: G's width after the first convolution (64).
        n_blocks: bottleneck blocks of G (6).
        n_downsampling: encoder levels of G (3): outputs are multiples of 2**n.
        d_base_channels: width of each per-scale D (64).
        d_max_scales: at most this many D nets (99: as many as the crop size allows).
        d_scale_factor: the ratio between D's scales (1.4).
        scale_weight_sigma: the start factor of D's per-scale weights (1.4).
        scale_weight_even_step: the step at which D's scales weigh the same (25k).
        d_min_input: the smallest input side a D scale is counted for (13).
        norm: "batch" (the reference) or "instance". At batch 1 BatchNorm normalises by each
            image's own statistics, which is InstanceNorm: the two train the same network and
            differ only at test time with ``test_norm_stats: running`` (benchmarks/RESULTS.md
            compares both).
        test_norm_stats: BatchNorm at inference: "batch" (each output's own statistics, as the
            reference's test script) or "running" (the running averages).
        lr: Adam learning rate of G and D (5e-5).
        beta1: Adam β₁ (0.5).
        lr_schedule: 1 until 20k of 75k steps, then linearly to 0 at the end.
        lambda_reconstruction: weight of the L1 reconstruction through T⁻¹ (0.1).
        reconstruction_stop_step: no reconstruction term from this step on (the reference's
            200k: never within its schedule).
        inverse_start_step: from this step an extra G update on the reconstruction alone (10k).
        inverse_ratio: the weight of that extra update's L1 (1.0).
        min_scale: smallest output scale per axis (0.15).
        max_scale: largest output scale per axis (2.25).
        curriculum: widen the scale range from 1 over ``curriculum_steps``.
        curriculum_steps: where the whole range is reached (10k).
        max_shift: largest corner shift of the training homographies (0: rectangular only,
            the reference's default).
        input_noise: ±1/255 uniform noise on G's and D's inputs.
        init_gain: Xavier-normal gain of every conv (0.01).
    """

    base_channels: int = ranged(64, ge=1)
    n_blocks: int = ranged(6, ge=0)
    n_downsampling: int = ranged(3, ge=1)
    d_base_channels: int = ranged(64, ge=1)
    d_max_scales: int = ranged(99, ge=1)
    d_scale_factor: float = ranged(1.4, gt=1)
    scale_weight_sigma: float = ranged(1.4, gt=0)
    scale_weight_even_step: int = ranged(25000, ge=1)
    d_min_input: int = ranged(13, ge=7)
    norm: str = "batch"
    test_norm_stats: str = "batch"
    lr: float = ranged(5e-5, gt=0)
    beta1: float = ranged(0.5, ge=0, lt=1)
    lr_schedule: ScheduleConfig = field(
        default_factory=lambda: ScheduleConfig(kind="linear", start=20000 / PAPER_STEPS, end=1.0)
    )
    lambda_reconstruction: float = ranged(0.1, ge=0)
    reconstruction_stop_step: int = ranged(200000, ge=0)
    inverse_start_step: int = ranged(10000, ge=0)
    inverse_ratio: float = ranged(1.0, ge=0)
    min_scale: float = ranged(0.15, gt=0)
    max_scale: float = ranged(2.25, gt=0)
    curriculum: bool = True
    curriculum_steps: int = ranged(10000, ge=1)
    max_shift: float = ranged(0.0, ge=0, lt=1)
    input_noise: bool = True
    init_gain: float = ranged(0.01, gt=0)

    def check(self) -> None:
        """ConfigError for an unknown norm or a scale range that is upside down."""
        if self.norm not in NORMS:
            raise ConfigError(f"norm must be one of {', '.join(NORMS)}, not '{self.norm}'")
        if self.test_norm_stats not in ("batch", "running"):
            raise ConfigError("test_norm_stats must be 'batch' or 'running'")
        if not self.min_scale <= 1.0 <= self.max_scale:
            raise ConfigError("min_scale must be <= 1 <= max_scale")


@dataclass
class InGANDataConfig(DataConfig):
    """The one training image (a "single_image" dataset).

    Attributes:
        dataset: "image".
        image: the training image: a file path, or ``skimage:NAME`` (e.g. skimage:brick).
        size: the side of the random crops (256 in the reference).
        max_side: resize the image so its longer side is at most this first (None: keep it).
        length: crops per epoch.
    """

    dataset: str = "image"
    image: str = ""
    size: int = ranged(256, ge=32)
    max_side: int | None = ranged(None, ge=32)
    length: int = ranged(1000, ge=1)
    test_length: int = ranged(4, ge=1)


class InGAN(GANModel):
    """InGAN: G retargets (1,3,h,w) images in [-1,1] to (1,3,H,W), H, W multiples of
    ``size_multiple`` (8); D is the multi-scale patch discriminator; ``source`` holds the
    training image."""

    name = "ingan"
    description = "InGAN (Shocher et al. 2019): one image retargeted to any size and shape"
    Config = InGANConfig
    DataConfig = InGANDataConfig
    data_kind = "single_image"
    network_names = ("G", "D", "source")
    # D: its spectral norm updates weight_u in place in forward; G: a new output shape every
    # step would recompile it every step (measured 30 s a step against 0.56 s plain)
    uncompiled_networks = ("G", "D")
    tasks = (RETARGET,)
    min_size = 16

    # ---- networks ------------------------------------------------------------------------------
    def build_networks(self) -> None:
        c = self.config
        self.G = RetargetGenerator(c.base_channels, c.n_blocks, c.n_downsampling, c.norm)
        self.D = MultiScaleDiscriminator(
            self.data_config.size, c.d_max_scales, c.d_scale_factor, c.d_base_channels, c.norm
        )
        init_ingan(self.G, c.init_gain)
        init_ingan(self.D, c.init_gain)
        self.source = SourceImage()
        for module in self.G.modules():
            if isinstance(module, BatchStatNorm2d):
                module.batch_stats_in_eval = c.test_norm_stats == "batch"

    @property
    def size_multiple(self) -> int:  # type: ignore[override]
        """Output H and W are multiples of ``2 ** n_downsampling``."""
        return self.G.size_multiple

    def networks_trained_by_config(self) -> tuple[str, ...]:
        """G and D (``source`` is the image, not trained)."""
        return ("G", "D")

    def inference_networks(self, task: str, **options: object) -> tuple[str, ...]:
        """Retargeting runs G."""
        return ("G",)

    # ---- optimisation --------------------------------------------------------------------------
    def configure_optimizers(self) -> None:
        """One Adam for G ("G"), one for D ("D"), the same schedule."""
        c = self.config
        adam = {"lr": c.lr, "betas": (c.beta1, 0.999), "schedule": c.lr_schedule}
        self.add_optimizer("G", ("G",), torch.optim.Adam, **adam)
        self.add_optimizer("D", ("D",), torch.optim.Adam, **adam)

    # ---- the training step ---------------------------------------------------------------------
    def _noised(self, x: torch.Tensor) -> torch.Tensor:
        if not self.config.input_noise:
            return x
        return x + (torch.rand_like(x) - 0.5) * (2.0 / 255.0)

    def draw_transform(self, size: tuple[int, int]) -> tuple[tuple[int, int], torch.Tensor]:
        """This step's output (H, W) for an input of ``size`` and its corner shifts (2,): a
        scale per axis drawn uniformly in the curriculum's range, rounded up to a multiple of
        ``size_multiple``; shifts uniform in ±``max_shift`` times the curriculum's progress."""
        c = self.config
        low, high = curriculum_scale_range(
            self.step_count, c.min_scale, c.max_scale, c.curriculum_steps, c.curriculum
        )
        scales = low + (high - low) * torch.rand(2)
        target = output_size(size, scales.tolist(), self.size_multiple, round_up=True)
        reach = min(self.step_count / c.curriculum_steps, 1.0) if c.curriculum else 1.0
        shifts = (torch.rand(2) * 2.0 - 1.0) * c.max_shift * reach
        return target, shifts.to(self.device)

    def d_weights(self, size: tuple[int, int] | torch.Size) -> list[float]:
        """D's per-scale weights at this step for an input of ``size``."""
        c = self.config
        return scale_weights(
            self.step_count,
            tuple(size),
            c.scale_weight_even_step,
            c.scale_weight_sigma,
            c.d_min_input,
            c.d_max_scales,
            c.d_scale_factor,
        )

    def begin_step(self, batch: dict[str, torch.Tensor]) -> StepState:
        """The crop ``x`` (1,3,S,S), this step's output size and shifts; the first step of a
        fresh run also keeps the training image in ``source``."""
        state = super().begin_step(batch)
        if self.source.empty:
            from compogan.data.single_image import load_training_image

            self.source.set(load_training_image(self.data_config.image, self.data_config.max_side))
        state["x"] = state["image"]
        state["size"], state["shifts"] = self.draw_transform(tuple(state["x"].shape[-2:]))
        return state

    def generator_losses(self, state: StepState) -> dict[str, torch.Tensor]:
        """LSGAN on D's weighted map of G(x) and the L1 reconstruction through T⁻¹, by name.

        Leaves G(x), detached, and D's scale weights in the state for the later phases.
        """
        nets, c, x = self.nets, self.config, state["x"]
        fake = nets.G(self._noised(x), state["size"], shifts=state["shifts"])
        weights = self.d_weights(fake.shape[-2:])
        prediction = nets.D(fake, weights)
        losses = {"G_GAN": F.mse_loss(prediction, torch.ones_like(prediction))}
        if self.step_count < c.reconstruction_stop_step:
            back = nets.G(fake, x.shape[-2:], shifts=-state["shifts"])
            losses["G_reconstruction"] = c.lambda_reconstruction * l1_loss(back, x)
        state["fake"], state["weights"] = fake.detach(), weights
        return losses

    def inverse_losses(self, state: StepState) -> dict[str, torch.Tensor]:
        """The extra update of G on the reconstruction alone, from the detached G(x)."""
        x = state["x"]
        back = self.nets.G(state["fake"], x.shape[-2:], shifts=-state["shifts"])
        return {"G_inverse": self.config.inverse_ratio * l1_loss(back, x)}

    def discriminator_losses(self, state: StepState) -> dict[str, torch.Tensor]:
        """½ LSGAN of D on the noised crop (real) and the noised, detached G(x) (fake)."""
        nets, weights = self.nets, state["weights"]
        real = nets.D(self._noised(state["x"]), weights)
        fake = nets.D(self._noised(state["fake"]), weights)
        return {
            "D_real": 0.5 * F.mse_loss(real, torch.ones_like(real)),
            "D_fake": 0.5 * F.mse_loss(fake, torch.zeros_like(fake)),
        }

    def training_phases(self) -> tuple[Phase, ...]:
        """G; after ``inverse_start_step`` the extra inverse update of G; then D."""
        phases = [Phase("G", ("G",), self.generator_losses)]
        if self.step_count > self.config.inverse_start_step:
            phases.append(Phase("G_inverse", ("G",), self.inverse_losses))
        phases.append(Phase("D", ("D",), self.discriminator_losses))
        return tuple(phases)

    # ---- inference -----------------------------------------------------------------------------
    @property
    def source_image(self) -> torch.Tensor | None:
        """The training image (1,3,H,W) in [-1,1], or None when these weights lack it."""
        return None if self.source.empty else self.source.image

    def _check_output(self, size: tuple[int, int]) -> tuple[int, int]:
        multiple = self.size_multiple
        if min(size) < 2 * multiple:
            raise InputError(
                f"an output of {size[1]}x{size[0]} is too small; InGAN needs at least "
                f"{2 * multiple} pixels a side"
            )
        if size[0] % multiple or size[1] % multiple:
            raise InputError(f"output sizes must be multiples of {multiple}, got {size}")
        return size

    def _check_input(self, image: torch.Tensor) -> None:
        if image.dim() != 4 or image.shape[1] != 3:
            raise InputError(f"expected an (N,3,H,W) RGB image, got {tuple(image.shape)}")
        if min(image.shape[-2:]) < self.min_size:
            raise InputError(
                f"the input is {image.shape[-1]}x{image.shape[-2]}; InGAN needs at least "
                f"{self.min_size} pixels a side"
            )

    @torch.no_grad()
    def retarget(self, image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """(N,3,h,w) in [-1,1] → (N,3,H,W) in [-1,1] at ``size`` (multiples of 8), through
        the bilinear resize path (the reference's test)."""
        self._check_input(image)
        return self.G(image, self._check_output(size))

    @torch.no_grad()
    def warp(
        self, image: torch.Tensor, size: tuple[int, int], matrix: torch.Tensor
    ) -> torch.Tensor:
        """(N,3,h,w) → (N,3,H,W) through the (3,3) sampling homography ``matrix``."""
        self._check_input(image)
        return self.G(image, self._check_output(size), matrix=matrix)

    def check_source(self) -> torch.Tensor:
        """The training image, or CheckpointError when these weights do not hold it."""
        if self.source_image is None:
            raise CheckpointError(
                "these InGAN weights hold no training image (official weights do not); pass "
                "the image they were trained on with --image"
            )
        return self.source_image

    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The training image and preview retargets of it (wide, tall, larger)."""
        source = self.source_image
        image = source if source is not None else batch["image"][:1].to(self.device)
        height, width = image.shape[-2:]
        previews = {"input": image}
        for name, scale in {"wide": (0.7, 1.5), "tall": (1.4, 0.6), "large": (2.0, 2.0)}.items():
            size = output_size((height, width), scale, self.size_multiple)
            if min(size) >= 2 * self.size_multiple:
                previews[f"retarget_{name}"] = self.G(image, size)
        return previews
