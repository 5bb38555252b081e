"""pix2pix: image-to-image translation with conditional adversarial networks (Isola et al., CVPR
2017).

A generator G maps an input image x of one domain to its counterpart y in another (label map →
photo, day → night), trained on aligned pairs (x, y). A conditional PatchGAN discriminator D sees
the input together with an output, the 6-channel concatenation (x, y) or (x, G(x)), and tells
real pairs from generated ones on every 70x70 patch. G learns from

    L_G = L_cGAN(G, D) + λ ‖y − G(x)‖₁,    λ = 100,

with the vanilla GAN loss (binary cross-entropy on D's logits; G maximises log D(x, G(x))), and
D minimises ½ (L_GAN(D(x, y), real) + L_GAN(D(x, G(x)), fake)). G is the "unet_256" U-Net: eight
4x4 stride-2 convolutions down to 1x1, eight 4x4 transposed convolutions back up, each decoder
level fed the encoder features of its resolution (skip connections), BatchNorm, dropout 0.5 in
the three 512-channel decoder blocks after the innermost, a final tanh. Weights are drawn from
N(0, 0.02); Adam (lr 2e-4, β 0.5, 0.999) for both networks, batch size 1; the learning rate is
constant for the first half of training and decays linearly to zero over the second (the paper's
100 + 100 epochs). Training data are resized to 286x286 and randomly cropped to 256x256 and
mirrored, the same crop and mirror for both images of a pair.

Each file of an "aligned" dataset holds A on the left half and B on the right; ``data.direction``
says which way G translates (facades trains "BtoA": label map → photo).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from compogan.config import ScheduleConfig, ranged
from compogan.data.registry import DataConfig
from compogan.errors import CheckpointError, ConfigError
from compogan.losses import AdversarialLoss, l1_loss
from compogan.models.base import GANModel
from compogan.models.phases import Phase, StepState
from compogan.nn import PatchDiscriminator, init_weights
from compogan.nn.skip_unet import UnetSkipGenerator

DIRECTIONS = ("AtoB", "BtoA")


@dataclass
class Pix2PixConfig:
    """pix2pix hyper-parameters; the defaults are the paper's (unet_256, 70x70 PatchGAN).

    Attributes:
        ngf: generator base width (64).
        depth: stride-2 levels of the U-Net (8 = "unet_256", a 1x1 bottleneck at 256 px); the
            input's height and width must be divisible by ``2 ** depth``.
        ndf: discriminator base width (64).
        n_layers_d: stride-2 layers of the PatchGAN (3 = the 70x70 PatchGAN).
        norm: normalisation of both networks, "batch" in the paper.
        dropout: dropout of the U-Net's 8·ngf decoder blocks after the innermost (0.5).
        test_dropout: keep that dropout on in eval mode, as the paper's inference does ("we
            apply dropout at test time"); off by default, so a translation is deterministic
            (the official test script's ``--eval``). BatchNorm uses its running statistics in
            eval mode either way.
        gan_mode: adversarial loss, "vanilla" (binary cross-entropy) in the paper.
        lambda_l1: weight λ of the L1 distance to the target (100).
        lr: Adam learning rate of G and D.
        beta1: Adam β₁.
        lr_schedule: the learning rate's schedule over train.steps: the paper's is constant for
            the first half and decays linearly to zero over the second.
        init: weight init kind ("normal", "xavier", "kaiming", "orthogonal").
        init_gain: scale of the initialisation (0.02).
    """

    ngf: int = ranged(64, ge=1)
    depth: int = ranged(8, ge=1)
    ndf: int = ranged(64, ge=1)
    n_layers_d: int = ranged(3, ge=1)
    norm: str = "batch"
    dropout: float = ranged(0.5, ge=0, lt=1)
    test_dropout: bool = False
    gan_mode: str = "vanilla"
    lambda_l1: float = ranged(100.0, ge=0)
    lr: float = ranged(2e-4, gt=0)
    beta1: float = ranged(0.5, ge=0, lt=1)
    lr_schedule: ScheduleConfig = field(
        default_factory=lambda: ScheduleConfig(kind="linear", start=0.5)
    )
    init: str = "normal"
    init_gain: float = ranged(0.02, gt=0)


@dataclass
class Pix2PixDataConfig(DataConfig):
    """Where pix2pix's aligned pairs come from (a "paired" dataset).

    Attributes:
        dataset: "daynight" (procedural day/night scene pairs, no files) or "folder"
            (``root/train/`` and ``root/test/`` of side-by-side A|B images).
        root: dataset folder for "folder".
        size: random crop size in training, centre crop in evaluation (the paper's 256); for
            "daynight", the render size.
        length: number of training pairs per epoch for "daynight".
        test_length: number of test pairs for "daynight".
        load_size: both halves of a pair are resized to this square size before cropping
            ("folder"; the paper's 286).
        flip: random horizontal flips in training, the same for both images of a pair.
        direction: "AtoB" (G maps A, the left half, to B) or "BtoA" (facades: label map →
            photo).
    """

    dataset: str = "daynight"
    size: int = 256
    load_size: int = ranged(286, ge=1)
    flip: bool = True
    direction: str = "AtoB"

    def check(self) -> None:
        """ConfigError for a direction other than AtoB or BtoA."""
        if self.direction not in DIRECTIONS:
            raise ConfigError(f"direction must be AtoB or BtoA, not '{self.direction}'")


class Pix2Pix(GANModel):
    """pix2pix with a U-Net generator and a conditional 70x70 PatchGAN discriminator.

    Inputs and outputs are RGB images (N,3,H,W) in [-1,1], H and W divisible by
    ``size_multiple`` = ``2 ** config.depth`` (256 for unet_256).
    """

    name = "pix2pix"
    description = (
        "pix2pix (Isola et al. 2017): paired image-to-image translation, e.g. labels→photo"
    )
    Config = Pix2PixConfig
    DataConfig = Pix2PixDataConfig
    data_kind = "paired"
    network_names = ("G", "D")
    tasks = ("translate",)

    # ---- networks ------------------------------------------------------------------------------
    def build_networks(self) -> None:
        c = self.config
        self.G = UnetSkipGenerator(ngf=c.ngf, depth=c.depth, norm=c.norm, dropout=c.dropout)
        self.D = PatchDiscriminator(in_channels=6, ndf=c.ndf, n_layers=c.n_layers_d, norm=c.norm)
        for network in (self.G, self.D):
            init_weights(network, kind=c.init, gain=c.init_gain)
        self.gan_loss = AdversarialLoss(c.gan_mode)

    @property
    def size_multiple(self) -> int:  # type: ignore[override]
        """H and W of ``translate``'s input must be divisible by ``2 ** config.depth``."""
        return self.G.size_multiple

    def train(self, mode: bool = True) -> Pix2Pix:
        """nn.Module's train/eval switch; with ``config.test_dropout`` G's dropout stays on in
        eval mode (the paper's inference)."""
        super().train(mode)
        if self.config.test_dropout:
            for module in self.G.modules():
                if isinstance(module, nn.Dropout):
                    module.train()
        return self

    # ---- optimisation --------------------------------------------------------------------------
    def configure_optimizers(self) -> None:
        """One Adam for G ("G"), one for D ("D")."""
        c = self.config
        adam = {"lr": c.lr, "betas": (c.beta1, 0.999), "schedule": c.lr_schedule}
        self.add_optimizer("G", ("G",), torch.optim.Adam, **adam)
        self.add_optimizer("D", ("D",), torch.optim.Adam, **adam)

    # ---- losses and the training step ----------------------------------------------------------
    def begin_step(self, batch: dict[str, torch.Tensor]) -> StepState:
        """The batch on the model's device, with the input ``x`` and target ``y`` of
        ``data.direction`` (AtoB: x = A, y = B; BtoA: x = B, y = A), each (N,3,H,W) in [-1,1]."""
        state = super().begin_step(batch)
        source, target = ("A", "B") if self.data_config.direction == "AtoB" else ("B", "A")
        state["x"], state["y"] = state[source], state[target]
        return state

    def generator_losses(self, state: StepState) -> dict[str, torch.Tensor]:
        """L_cGAN of G(x) judged with x, and λ ‖y − G(x)‖₁, by name; D is frozen.

        Leaves G(x), detached, in ``state["fake"]`` for D.
        """
        nets = self.nets
        x, y = state["x"], state["y"]
        fake = nets.G(x)
        losses = {
            "G_GAN": self.gan_loss(nets.D(torch.cat([x, fake], 1)), True, for_discriminator=False),
            "G_L1": l1_loss(fake, y) * self.config.lambda_l1,
        }
        state["fake"] = fake.detach()
        return losses

    def discriminator_losses(self, state: StepState) -> dict[str, torch.Tensor]:
        """½ L_GAN(D(x, G(x)), fake) and ½ L_GAN(D(x, y), real): halved, so D learns at half
        G's rate."""
        nets = self.nets
        x = state["x"]
        return {
            "D_fake": 0.5 * self.gan_loss(nets.D(torch.cat([x, state["fake"]], 1)), False),
            "D_real": 0.5 * self.gan_loss(nets.D(torch.cat([x, state["y"]], 1)), True),
        }

    def training_phases(self) -> tuple[Phase, ...]:
        """Update G (D frozen), then D on that step's G(x).

        The reference updates D first, on the fakes of the G before the step; alternating G, D
        from the first step gives the same sequence of updates but for that first one.
        """
        return (
            Phase("G", ("G",), self.generator_losses),
            Phase("D", ("D",), self.discriminator_losses),
        )

    # ---- inference -----------------------------------------------------------------------------
    @property
    def directions(self) -> tuple[str, ...]:
        """The one direction G was trained to translate (``data.direction``); empty when the
        checkpoint holds no G."""
        return (self.data_config.direction,) if "G" in self.loaded_networks else ()

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str | None = None) -> torch.Tensor:
        """Translate (N,3,H,W) images in [-1,1], H and W divisible by ``size_multiple``, in
        ``direction`` (default and only choice: :attr:`directions`). Returns (N,3,H,W) in [-1,1].

        Raises:
            ConfigError: a direction G was not trained for.
            CheckpointError: the checkpoint holds no G.
        """
        if not self.directions:
            raise CheckpointError(
                f"this checkpoint holds no G, so it cannot translate; it holds "
                f"{', '.join(self.loaded_networks)}"
            )
        trained = self.directions[0]
        if direction is not None and direction != trained:
            raise ConfigError(
                f"this pix2pix G translates {trained} (data.direction), not '{direction}'"
            )
        return self.G(images)

    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        state = self.begin_step(batch)
        return {"input": state["x"], "output": self.G(state["x"]), "target": state["y"]}
