"""CycleGAN: unpaired image-to-image translation with cycle consistency (Zhu et al., ICCV 2017).

Two generators translate between domains, G_A: A → B (the paper's G) and G_B: B → A (the paper's
F). Two PatchGAN discriminators judge them: D_A tells real B from G_A's fakes and D_B tells real A
from G_B's fakes (the reference code's naming). The generators learn from

    L_G = L_GAN(G_A, D_A) + L_GAN(G_B, D_B)
          + λ_A ‖G_B(G_A(a)) − a‖₁ + λ_B ‖G_A(G_B(b)) − b‖₁              (cycle consistency)
          + λ_idt (λ_B ‖G_A(b) − b‖₁ + λ_A ‖G_B(a) − a‖₁)                  (identity)

with the least-squares GAN loss, λ_A = λ_B = 10 and λ_idt = 0.5. Each discriminator minimises
½ (L_GAN(real) + L_GAN(fake)), where fakes come from a pool of the 50 latest generated images.
Adam (lr 2e-4, β₁ 0.5); the learning rate is constant for the first half of training and decays
linearly to zero over the second half (the paper's 100 + 100 epochs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn

from compogan.config import ScheduleConfig, ranged
from compogan.data.image_pool import ImagePool
from compogan.data.registry import DataConfig
from compogan.errors import CheckpointError, ConfigError
from compogan.losses import AdversarialLoss
from compogan.models.base import GANModel
from compogan.models.phases import Phase, StepState
from compogan.nn import PatchDiscriminator, ResnetGenerator, init_weights


@dataclass
class CycleGANConfig:
    """CycleGAN hyper-parameters; the defaults are the paper's 256 px setting.

    Attributes:
        ngf: generator base width.
        n_blocks: ResNet blocks in the generator (9 at 256 px, 6 at 128 px).
        ndf: discriminator base width.
        n_layers_d: stride-2 layers of the PatchGAN (3 = the 70x70 PatchGAN).
        norm: "instance" (paper) or "batch".
        dropout: dropout inside the ResNet blocks (0 in the paper).
        gan_mode: adversarial loss, "lsgan" in the paper.
        lambda_a: cycle weight A → B → A.
        lambda_b: cycle weight B → A → B.
        lambda_identity: identity weight, relative to lambda_a / lambda_b.
        pool_size: image pool capacity (0 = no pool).
        lr: Adam learning rate of both generators and both discriminators.
        beta1: Adam β₁.
        lr_schedule: the learning rate's schedule over train.steps: the paper's is constant
            for the first half and decays linearly to zero over the second.
        init: weight init kind ("normal", "xavier", "kaiming", "orthogonal").
        init_gain: scale of the initialisation.
    """

    ngf: int = ranged(64, ge=1)
    n_blocks: int = ranged(9, ge=0)
    ndf: int = ranged(64, ge=1)
    n_layers_d: int = ranged(3, ge=0)
    norm: str = "instance"
    dropout: float = ranged(0.0, ge=0, lt=1)
    gan_mode: str = "lsgan"
    lambda_a: float = ranged(10.0, ge=0)
    lambda_b: float = ranged(10.0, ge=0)
    lambda_identity: float = ranged(0.5, ge=0)
    pool_size: int = ranged(50, ge=0)
    lr: float = ranged(2e-4, gt=0)
    beta1: float = ranged(0.5, ge=0, lt=1)
    lr_schedule: ScheduleConfig = field(
        default_factory=lambda: ScheduleConfig(kind="linear", start=0.5)
    )
    init: str = "normal"
    init_gain: float = ranged(0.02, gt=0)


@dataclass
class CycleGANDataConfig(DataConfig):
    """Where CycleGAN's two domains come from (an "unpaired" dataset).

    Attributes:
        dataset: "daynight" (procedural scenes, no files) or "folder" (trainA/ trainB/ testA/
            testB/ under ``root``).
        root: dataset folder for "folder".
        size: random crop size in training, centre crop in evaluation (the paper's 256);
            for "daynight", the render size.
        load_size: images are resized to this square size before cropping ("folder"; the
            paper's 286).
        flip: random horizontal flips in training.
        length: number of training items per epoch for "daynight".
        test_length: number of paired test scenes for "daynight".
    """

    dataset: str = "daynight"
    size: int = 256
    load_size: int = 286
    flip: bool = True


class CycleGAN(GANModel):
    """CycleGAN with ResNet generators and 70x70 PatchGAN discriminators.

    Inputs and outputs are RGB images (N,3,H,W) in [-1,1], H and W divisible by 4.
    """

    name = "cyclegan"
    description = "CycleGAN (Zhu et al. 2017): unpaired image-to-image translation, e.g. day→night"
    Config = CycleGANConfig
    DataConfig = CycleGANDataConfig
    data_kind = "unpaired"
    network_names = ("G_A", "G_B", "D_A", "D_B")
    retired_config_keys = ("lr_constant_fraction",)  # now lr_schedule.start
    renamed_data_keys: ClassVar[dict[str, str]] = {"crop_size": "size"}
    tasks = ("translate",)
    size_multiple = 4  # two stride-2 convs
    min_size = 8  # the 3x3 reflect pads of the ResNet blocks need a 2x2 bottleneck
    direction_generators: ClassVar[dict[str, str]] = {"AtoB": "G_A", "BtoA": "G_B"}

    # ---- networks ------------------------------------------------------------------------------
    def build_networks(self) -> None:
        c = self.config
        self.G_A = ResnetGenerator(ngf=c.ngf, n_blocks=c.n_blocks, norm=c.norm, dropout=c.dropout)
        self.G_B = ResnetGenerator(ngf=c.ngf, n_blocks=c.n_blocks, norm=c.norm, dropout=c.dropout)
        self.D_A = PatchDiscriminator(ndf=c.ndf, n_layers=c.n_layers_d, norm=c.norm)
        self.D_B = PatchDiscriminator(ndf=c.ndf, n_layers=c.n_layers_d, norm=c.norm)
        for network in (self.G_A, self.G_B, self.D_A, self.D_B):
            init_weights(network, kind=c.init, gain=c.init_gain)
        self.gan_loss = AdversarialLoss(c.gan_mode)
        self.pool_fake_A = ImagePool(c.pool_size)
        self.pool_fake_B = ImagePool(c.pool_size)

    def generator(self, direction: str) -> nn.Module:
        """The generator for "AtoB" (G_A) or "BtoA" (G_B).

        Raises:
            ConfigError: unknown direction.
            CheckpointError: the model was loaded from a checkpoint without that generator
                (e.g. an official one-direction ``latest_net_G.pth``).
        """
        if direction not in self.direction_generators:
            raise ConfigError(f"direction must be AtoB or BtoA, not '{direction}'")
        name = self.direction_generators[direction]
        if name not in self.loaded_networks:
            raise CheckpointError(
                f"this checkpoint holds no {name}, so it cannot translate {direction}; "
                f"it holds {', '.join(self.loaded_networks)}"
            )
        return getattr(self, name)

    # ---- optimisation --------------------------------------------------------------------------
    def configure_optimizers(self) -> None:
        """One Adam for both generators ("G"), one for both discriminators ("D")."""
        c = self.config
        adam = {"lr": c.lr, "betas": (c.beta1, 0.999), "schedule": c.lr_schedule}
        self.add_optimizer("G", ("G_A", "G_B"), torch.optim.Adam, **adam)
        self.add_optimizer("D", ("D_A", "D_B"), torch.optim.Adam, **adam)

    # ---- losses and the training step ----------------------------------------------------------
    def generator_losses(self, state: StepState) -> dict[str, torch.Tensor]:
        """Adversarial, cycle and identity losses of both generators, by name.

        Leaves the fakes (fake_B = G_A(real_A), fake_A = G_B(real_B)), detached, in ``state``
        for the discriminators. The discriminators are frozen in this update.
        """
        c, nets = self.config, self.nets
        real_A, real_B = state["A"], state["B"]
        fake_B = nets.G_A(real_A)
        fake_A = nets.G_B(real_B)
        losses = {
            "G_A": self.gan_loss(nets.D_A(fake_B), True, for_discriminator=False),
            "G_B": self.gan_loss(nets.D_B(fake_A), True, for_discriminator=False),
            "cycle_A": (nets.G_B(fake_B) - real_A).abs().mean() * c.lambda_a,
            "cycle_B": (nets.G_A(fake_A) - real_B).abs().mean() * c.lambda_b,
        }
        identity = c.lambda_identity
        if identity > 0:
            losses["idt_A"] = (nets.G_A(real_B) - real_B).abs().mean() * c.lambda_b * identity
            losses["idt_B"] = (nets.G_B(real_A) - real_A).abs().mean() * c.lambda_a * identity
        state["fake_A"], state["fake_B"] = fake_A.detach(), fake_B.detach()
        return losses

    def discriminator_loss(
        self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor
    ) -> torch.Tensor:
        """½ (L_GAN(D(real), real) + L_GAN(D(fake), fake)) for one discriminator."""
        loss_real = self.gan_loss(discriminator(real), True)
        loss_fake = self.gan_loss(discriminator(fake), False)
        return 0.5 * (loss_real + loss_fake)

    def discriminator_losses(self, state: StepState) -> dict[str, torch.Tensor]:
        """D_A on real B against pooled fake B, D_B on real A against pooled fake A."""
        nets = self.nets
        return {
            "D_A": self.discriminator_loss(
                nets.D_A, state["B"], self.pool_fake_B.query(state["fake_B"])
            ),
            "D_B": self.discriminator_loss(
                nets.D_B, state["A"], self.pool_fake_A.query(state["fake_A"])
            ),
        }

    def training_phases(self) -> tuple[Phase, ...]:
        """Update G_A and G_B together (D frozen), then D_A and D_B on pooled fakes."""
        return (
            Phase("G", ("G",), self.generator_losses),
            Phase("D", ("D",), self.discriminator_losses),
        )

    # ---- state beyond the networks -------------------------------------------------------------
    def extra_training_state(self) -> dict[str, dict[str, torch.Tensor]]:
        return {
            "pool_fake_A": self.pool_fake_A.state_dict(),
            "pool_fake_B": self.pool_fake_B.state_dict(),
        }

    def load_extra_training_state(self, state: dict[str, dict[str, torch.Tensor]]) -> None:
        self.pool_fake_A.load_state_dict(state["pool_fake_A"], self.device)
        self.pool_fake_B.load_state_dict(state["pool_fake_B"], self.device)

    # ---- inference -----------------------------------------------------------------------------
    @property
    def directions(self) -> tuple[str, ...]:
        """The directions ("AtoB", "BtoA") whose generator (G_A, G_B) this model holds."""
        return tuple(
            direction
            for direction, name in self.direction_generators.items()
            if name in self.loaded_networks
        )

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """Translate (N,3,H,W) images in [-1,1] to the other domain; H and W divisible by
        ``size_multiple`` and at least ``min_size``. Returns (N,3,H,W) in [-1,1].

        Raises:
            ConfigError, CheckpointError: as :meth:`generator`.
        """
        return self.generator(direction)(images)

    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        real_A = batch["A"].to(self.device)
        real_B = batch["B"].to(self.device)
        fake_B = self.G_A(real_A)
        fake_A = self.G_B(real_B)
        return {
            "real_A": real_A,
            "fake_B": fake_B,
            "rec_A": self.G_B(fake_B),
            "real_B": real_B,
            "fake_A": fake_A,
            "rec_B": self.G_A(fake_A),
        }
