"""EdgeConnect: two-stage inpainting guided by predicted edges (Nazeri et al., 2019).

Stage 1, the edge generator G1, sees the grayscale image with its hole whitened, the Canny edges
outside the hole and the mask, and draws the missing edges; a 70x70 spectral-norm PatchGAN D1
judges (grayscale ⊕ edge map) pairs. Stage 2, the inpainting generator G2, sees the image with its
hole whitened and the full edge map (known edges outside the hole, G1's inside) and fills the hole;
D2 judges images. With the released configuration's weights:

    L_G1 = L_adv(D1) + 10 · Σ_l ‖D1_l(real) − D1_l(fake)‖₁                   (feature matching)
    L_G2 = 1 · ‖out − img‖₁ / mean(mask) + 0.1 · L_adv(D2)
           + 0.1 · Σ VGG-19 relu{1..5}_1 L1 + 250 · Σ Gram L1 at relu2_2, 3_4, 4_4, 5_2
    L_D  = ½ (L_adv(real) + L_adv(fake))                                        (non-saturating)

Adam with β = (0, 0.9), lr 1e-4 for the generators and 0.1 × that for the discriminators; conv
weights start from N(0, 0.02); Canny σ = 2 (0 draws σ ∈ [1, 4] per image). The README of the
reference lists other weights than its released config.yml; these are the config's.

Modes (``model.mode``): "edge" (stage 1 alone), "inpaint" (stage 2 on Canny edges of the ground
truth), "edge_inpaint" (stage 3: stage 2 on edges from a frozen G1, the released model; it starts
from the stage-1 and stage-2 runs named by ``init_edge`` / ``init_inpaint``), "joint" (both
trained together; G2's input edges are detached, so each stage learns from its own losses) and
"end_to_end" (the paper's last fine-tuning: D1 removed, G1 and G2 trained as one network on G2's
losses, which reach G1 through its edges; it starts from trained stages like "edge_inpaint").

Choices: images in compogan's [-1, 1] convention outside the networks, which keep the official
[0, 1]; the L1 term is computed on [0, 1] images so its weight means what it means in the paper;
the VGG-19 losses are skipped (and VGG not loaded) when their weights are 0, as in the CPU config,
which needs no pretrained file. Two settings for small-data training without normalisation
(``norm="none"``), defaults unchanged: ``init="kaiming"`` (the reference's N(0, 0.02) starts an
unnormalised generator with an output about 3e-4 of its input's scale) and
``l1_known_weight=0`` (G2's L1 on the hole alone; the paper's also scores the known pixels, which
the fill never keeps). Two more let a briefly trained G2 start from a good fill:
``hole_fill="harmonic"`` (G2's input hole holds the harmonic interpolation of its border instead
of white) and ``residual=True`` (G2's output is a correction added to that input, starting at
zero). Official weights need the defaults.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from compogan.data.edges import canny_edges, rgb_to_gray
from compogan.errors import CheckpointError, ConfigError
from compogan.io.checkpoints import read_metadata, read_weights
from compogan.losses import (
    AdversarialLoss,
    PerceptualLoss,
    StyleLoss,
    feature_matching_loss,
    hole_binary_cross_entropy,
)
from compogan.models.base import (
    GANModel,
    load_network_state,
    network_state,
    resolve_checkpoint_dir,
    set_requires_grad,
)
from compogan.nn import PatchDiscriminator, init_weights, load_vgg19
from compogan.nn.inpainting import (
    PAPER_HOLE_FILL,
    PAPER_NORM,
    EdgeGenerator,
    InpaintGenerator,
    check_hole_fill,
    edge_generator_input,
    inpaint_generator_input,
    to_signed,
    to_unit,
)
from compogan.registry import register_model


def known_edges_outside(predicted: Tensor, edges: Tensor, mask: Tensor) -> Tensor:
    """The full edge map (N,1,H,W) in [0,1]: ``predicted`` in the hole, the known ``edges``
    outside it (``mask`` 1 = hole)."""
    return predicted * mask + edges * (1 - mask)


TRAINED_GENERATORS = {
    "edge": ("G1",),
    "inpaint": ("G2",),
    "edge_inpaint": ("G2",),
    "joint": ("G1", "G2"),
    "end_to_end": ("G1", "G2"),
}
"""The modes, and the generators each trains (and ``train.ema_decay`` averages)."""
MODES = tuple(TRAINED_GENERATORS)
FROM_TRAINED_G1_MODES = ("edge_inpaint", "end_to_end")
INIT_STD = 0.02
"""Conv weights start from N(0, 0.02), biases from 0, as in the reference code."""


@dataclass
class EdgeConnectConfig:
    """EdgeConnect hyper-parameters; defaults are the released configuration (256 px).

    Attributes:
        mode: "edge", "inpaint", "edge_inpaint" (G1 frozen), "joint" or "end_to_end" (G1 and
            G2 on G2's losses alone).
        residual_blocks: dilated ResNet blocks in each generator (8).
        width: channels of the generators' first conv (64; 2x and 4x deeper in).
        ndf: channels of the discriminators' first conv (64).
        norm: normalisation in both generators: "instance" (the paper, needed by official
            weights) or "none" (learns colours from a few photos; see
            :mod:`compogan.nn.inpainting`).
        edge_norm: G1's normalisation when it differs from ``norm`` ("" = ``norm``): G1 reads
            structure, not colour, and without InstanceNorm it collapsed to empty edge maps in
            CPU runs (benchmarks/RESULTS.md), so the CPU config keeps the paper's for G1 alone.
        init: the generators' initial conv weights: "normal" (the reference's N(0, 0.02)) or
            "kaiming" (He et al.'s, which keeps the activations' scale without normalisation).
        hole_fill: what G2's RGB input holds in the hole: "white" (the paper) or "harmonic"
            (the harmonic interpolation of the pixels around it, a smooth first guess of its
            colours; see :func:`compogan.nn.inpainting.inpaint_generator_input`).
        residual: G2's output is a correction added to its input image, clamped to [0, 1],
            instead of the image itself; its last conv starts at zero, so an untrained G2
            returns its input's fill (with ``hole_fill="harmonic"``, the harmonic fill).
            False: the paper (and official weights).
        lr: Adam learning rate of both generators (1e-4).
        d2g_lr: discriminator lr as a fraction of the generator's (0.1).
        beta1: Adam β₁ (0.0).
        beta2: Adam β₂ (0.9).
        gan_loss: adversarial loss of both stages ("nsgan").
        edge_adv_weight: weight of G1's adversarial loss (1).
        fm_weight: weight of G1's feature-matching loss (10).
        edge_bce_weight: weight of a binary cross-entropy between G1's edges and the Canny edges
            in the hole (0: the paper, whose G1 learns from D1 alone). A direct, per-pixel
            signal: in minutes of CPU training, adversarial and feature-matching losses alone
            gave edges of 2-4x chance precision (benchmarks/RESULTS.md).
        l1_weight: weight of G2's L1 loss, divided by the mask mean (1).
        l1_known_weight: weight of the known pixels' error in that L1 relative to the hole's
            (1: the paper's L1 over the whole image; 0: the hole alone).
        inpaint_adv_weight: weight of G2's adversarial loss (0.1).
        content_weight: weight of G2's perceptual loss (0.1; 0 skips VGG-19).
        style_weight: weight of G2's style loss (250; 0 skips it).
        sigma: Canny σ; 0 draws σ uniformly in [1, 4] for every image.
        vgg_weights: path of torchvision's vgg19-dcbb9e9d.pth ("" = the usual search order).
        init_edge: where a fresh run's G1 (and D1, when there) start: an EdgeConnect run or
            pretrained directory, an official ``EdgeModel_gen.pth``, or a folder holding it
            (and ``EdgeModel_dis.pth``). Required by "edge_inpaint" and "end_to_end", whose G1
            must be a trained one: the paper's stage 3 starts from the runs of stages 1 and 2.
        init_inpaint: the same for G2 (and D2): a run, ``InpaintingModel_gen.pth`` or a folder.
    """

    mode: str = "edge_inpaint"
    residual_blocks: int = 8
    width: int = 64
    ndf: int = 64
    norm: str = PAPER_NORM
    edge_norm: str = ""
    init: str = "normal"
    hole_fill: str = PAPER_HOLE_FILL
    residual: bool = False
    lr: float = 1e-4
    d2g_lr: float = 0.1
    beta1: float = 0.0
    beta2: float = 0.9
    gan_loss: str = "nsgan"
    edge_adv_weight: float = 1.0
    fm_weight: float = 10.0
    edge_bce_weight: float = 0.0
    l1_weight: float = 1.0
    l1_known_weight: float = 1.0
    inpaint_adv_weight: float = 0.1
    content_weight: float = 0.1
    style_weight: float = 250.0
    sigma: float = 2.0
    vgg_weights: str = ""
    init_edge: str = ""
    init_inpaint: str = ""


@dataclass
class EdgeConnectDataConfig:
    """Images and masks to train on.

    Attributes:
        dataset: "skimage" (crops of the photos inside scikit-image's wheel, no files) or
            "folder" (images under ``root``).
        root: image folder for "folder".
        mask_root: optional folder of mask files (any format; thresholded at 0.5).
        mask_kind: generated masks when there is no mask_root: block, free_form, irregular, half,
            mix.
        size: side of the square training images (256 in the paper).
        length: items per epoch for "skimage".
        test_length: evaluation items for "skimage".
        test_photos: "skimage" photos held out: the training split never sees them and the
            test split shows only them. Empty: every photo in both splits (other crops).
        augment: training crops also take a random square symmetry (rotation, mirror or
            transpose), channel order and, half the time, their negative: more variety from few
            photos.
    """

    dataset: str = "skimage"
    root: str = ""
    mask_root: str = ""
    mask_kind: str = "mix"
    size: int = 256
    length: int = 2000
    test_length: int = 64
    test_photos: list[str] = field(default_factory=list)
    augment: bool = False


@register_model
class EdgeConnect(GANModel):
    """EdgeConnect's G1 (edges), D1, G2 (inpainting) and D2.

    Batches hold "image" (N,3,S,S) in [-1,1] and "mask" (N,1,S,S) with 1 = hole.
    """

    name = "edgeconnect"
    description = "EdgeConnect (Nazeri et al. 2019): edge-guided two-stage inpainting"
    Config = EdgeConnectConfig
    DataConfig = EdgeConnectDataConfig
    network_names = ("G1", "D1", "G2", "D2")

    # ---- networks ------------------------------------------------------------------------------
    def build_networks(self) -> None:
        c = self.config
        if c.mode not in MODES:
            raise ConfigError(f"unknown edgeconnect mode '{c.mode}'; use one of {MODES}")
        check_hole_fill(c.hole_fill)
        patch = {"ndf": c.ndf, "norm": "none", "spectral_norm": True, "bias": False}
        edge_norm = generator_settings(dataclasses.asdict(c))["edge_norm"]
        self.G1 = EdgeGenerator(c.residual_blocks, width=c.width, norm=edge_norm)
        self.D1 = PatchDiscriminator(in_channels=2, **patch)
        self.G2 = InpaintGenerator(c.residual_blocks, width=c.width, norm=c.norm)
        self.D2 = PatchDiscriminator(in_channels=3, **patch)
        for network in (self.G1, self.G2):
            init_weights(network, kind=c.init, gain=INIT_STD)
        for network in (self.D1, self.D2):
            init_weights(network, kind="normal", gain=INIT_STD)
        if c.residual:
            nn.init.zeros_(self.G2.decoder[-1].conv.weight)
        self.gan_loss = AdversarialLoss(c.gan_loss)

    def _build_vgg_losses(self) -> None:
        """Perceptual and style losses share one VGG-19, loaded only when G2 trains with them."""
        c = self.config
        if c.mode == "edge" or (c.content_weight == 0 and c.style_weight == 0):
            return
        vgg = load_vgg19(c.vgg_weights or None).to(self.device)
        self.perceptual = PerceptualLoss(vgg)
        self.style = StyleLoss(vgg)

    def train(self, mode: bool = True) -> EdgeConnect:
        """Like nn.Module.train, but a frozen G1 ("edge_inpaint") stays in eval mode, so its
        spectral-norm power iterations do not change it either."""
        super().train(mode)
        if self.config.mode == "edge_inpaint":
            self.G1.eval()
        return self

    def averaged_networks(self) -> tuple[str, ...]:
        return TRAINED_GENERATORS[self.config.mode]

    # ---- optimisation --------------------------------------------------------------------------
    def configure_optimizers(self, total_steps: int) -> None:
        c = self.config
        betas = (c.beta1, c.beta2)
        self.optimizers = {
            "G1": torch.optim.Adam(self.G1.parameters(), c.lr, betas=betas),
            "D1": torch.optim.Adam(self.D1.parameters(), c.lr * c.d2g_lr, betas=betas),
            "G2": torch.optim.Adam(self.G2.parameters(), c.lr, betas=betas),
            "D2": torch.optim.Adam(self.D2.parameters(), c.lr * c.d2g_lr, betas=betas),
        }
        self.schedulers = {}
        self._build_vgg_losses()

    def load_initial_weights(self) -> None:
        """Start from the edge and inpaint stages named by ``init_edge`` / ``init_inpaint``."""
        c = self.config
        if c.mode in FROM_TRAINED_G1_MODES and not c.init_edge:
            raise ConfigError(
                f"mode {c.mode} trains G2 on the edges of a trained G1: set "
                "model.init_edge=RUN_OR_EdgeModel_gen.pth (an 'edge' or 'joint' run)"
            )
        settings = generator_settings(dataclasses.asdict(c))
        for stage, source in (("edge", c.init_edge), ("inpaint", c.init_inpaint)):
            if source:
                for name, state in stage_weights(source, stage, settings).items():
                    load_network_state(getattr(self, name), state, f"{name} from {source}")

    # ---- edges ---------------------------------------------------------------------------------
    def canny(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Grayscale (N,1,H,W) in [0,1] and Canny edges (N,1,H,W) in {0,1} of images in [-1,1].

        With σ = 0 the per-image σ comes from a generator seeded from torch's RNG, which the
        trainer saves and restores.
        """
        gray = rgb_to_gray(images)
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ())))
        return gray, canny_edges(gray, self.config.sigma, rng=rng)

    def predict_edges(self, gray: Tensor, edges: Tensor, mask: Tensor, net: nn.Module) -> Tensor:
        """G1's full edge map (N,1,H,W) in [0,1]: known edges outside the hole, predicted in it."""
        return known_edges_outside(net(edge_generator_input(gray, edges, mask)), edges, mask)

    # ---- the two stages' losses ----------------------------------------------------------------
    def discriminator_step(self, name: str, real: Tensor, fake: Tensor) -> Tensor:
        """½ (L_adv(D(real), real) + L_adv(D(fake), fake)), then one step of that D."""
        discriminator = getattr(self.nets, name)
        self.optimizers[name].zero_grad(set_to_none=True)
        loss = 0.5 * (
            self.gan_loss(discriminator(real), True)
            + self.gan_loss(discriminator(fake.detach()), False)
        )
        loss.backward()
        self.optimizers[name].step()
        return loss.detach()

    def edge_step(self, gray: Tensor, edges: Tensor, mask: Tensor) -> tuple[dict, Tensor]:
        """Update G1 (adversarial + feature matching, + cross-entropy in the hole when weighted),
        then D1. Returns losses and G1's edges."""
        c = self.config
        set_requires_grad(self.D1, False)
        self.optimizers["G1"].zero_grad(set_to_none=True)
        predicted = self.nets.G1(edge_generator_input(gray, edges, mask))
        fake_features = self.D1.forward_features(torch.cat([gray, predicted], 1))
        with torch.no_grad():
            real_features = self.D1.forward_features(torch.cat([gray, edges], 1))
        adversarial = self.gan_loss(fake_features[-1], True, for_discriminator=False)
        matching = feature_matching_loss(real_features, fake_features, reduction="sum")
        losses = {"G1_adv": c.edge_adv_weight * adversarial, "G1_fm": c.fm_weight * matching}
        if c.edge_bce_weight > 0:
            losses["G1_bce"] = c.edge_bce_weight * hole_binary_cross_entropy(predicted, edges, mask)
        sum(losses.values()).backward()
        self.optimizers["G1"].step()
        set_requires_grad(self.D1, True)
        d_loss = self.discriminator_step(
            "D1", torch.cat([gray, edges], 1), torch.cat([gray, predicted], 1)
        )
        losses = {name: value.detach() for name, value in losses.items()}
        losses["D1"] = d_loss
        return losses, known_edges_outside(predicted, edges, mask).detach()

    def inpaint_output(
        self, network: nn.Module, images: Tensor, edges: Tensor, masks: Tensor
    ) -> Tensor:
        """G2's whole image (N,3,H,W) in [0,1] for ``images`` (N,3,H,W) in [-1,1], full edge
        maps (N,1,H,W) in [0,1] and holes ``masks`` (N,1,H,W) in {0,1}: the network's output,
        or with ``residual`` its input image plus the network's correction in [-1, 1]."""
        inputs = inpaint_generator_input(images, edges, masks, self.config.hole_fill)
        output = network(inputs)
        if self.config.residual:
            return (inputs[:, :3] + 2 * output - 1).clamp(0, 1)
        return output

    def inpaint_losses(self, output: Tensor, image: Tensor, mask: Tensor) -> dict[str, Tensor]:
        """G2's weighted losses for ``output`` (in [0,1]) against ``image`` (in [-1,1])."""
        c = self.config
        target = to_unit(image)
        losses = {
            "G2_l1": c.l1_weight
            * ((output - target).abs() * (mask + c.l1_known_weight * (1 - mask))).mean()
            / mask.mean().clamp_min(1e-8),
            "G2_adv": c.inpaint_adv_weight
            * self.gan_loss(self.D2(to_signed(output)), True, for_discriminator=False),
        }
        if c.content_weight > 0:
            losses["G2_content"] = c.content_weight * self.perceptual(to_signed(output), image)
        if c.style_weight > 0:
            losses["G2_style"] = c.style_weight * self.style(
                to_signed(output * mask), to_signed(target * mask)
            )
        return losses

    def inpaint_step(
        self, image: Tensor, edges: Tensor, mask: Tensor, trained: tuple[str, ...] = ("G2",)
    ) -> dict[str, Tensor]:
        """Update G2 on the given full edge map (and ``trained``'s other generators, which the
        losses reach through a map not detached from them), then D2."""
        set_requires_grad(self.D2, False)
        for name in trained:
            self.optimizers[name].zero_grad(set_to_none=True)
        output = self.inpaint_output(self.nets.G2, image, edges, mask)
        losses = self.inpaint_losses(output, image, mask)
        sum(losses.values()).backward()
        for name in trained:
            self.optimizers[name].step()
        set_requires_grad(self.D2, True)
        losses = {name: value.detach() for name, value in losses.items()}
        losses["D2"] = self.discriminator_step("D2", image, to_signed(output))
        return losses

    def training_step(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """One step of the configured mode (see the module docstring)."""
        image = batch["image"].to(self.device)
        mask = batch["mask"].to(self.device)
        gray, edges = self.canny(image)
        mode = self.config.mode
        if mode == "edge":
            return self.edge_step(gray, edges, mask)[0]
        if mode == "inpaint":
            return self.inpaint_step(image, edges, mask)
        if mode == "edge_inpaint":
            with torch.no_grad():
                full_edges = self.predict_edges(gray, edges, mask, self.G1)
            return self.inpaint_step(image, full_edges, mask)
        if mode == "end_to_end":
            full_edges = self.predict_edges(gray, edges, mask, self.nets.G1)
            return self.inpaint_step(image, full_edges, mask, trained=("G1", "G2"))
        edge_losses, full_edges = self.edge_step(gray, edges, mask)
        return {**edge_losses, **self.inpaint_step(image, full_edges, mask)}

    # ---- inference -----------------------------------------------------------------------------
    @torch.no_grad()
    def generate(
        self, images: Tensor, masks: Tensor, edges: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """G2's whole output for ``images`` (N,3,H,W) in [-1,1] with holes ``masks`` (N,1,H,W).

        ``edges`` (N,1,H,W) in [0,1] replaces the edge map (a hand-drawn one, the paper's
        editing use); otherwise G1 predicts the edges in the hole ("inpaint" mode: Canny edges of
        the image). H and W must be divisible by 4.

        Returns:
            (G2's output in [-1,1], known pixels included, the edge map used, in [0,1]).
        """
        masks = (masks > 0.5).to(images.dtype)
        if edges is None:
            gray, canny = self.canny(images)
            if self.config.mode == "inpaint":
                edges = canny
            else:
                edges = self.predict_edges(gray, canny, masks, self.G1)
        return to_signed(self.inpaint_output(self.G2, images, edges, masks)), edges

    @torch.no_grad()
    def inpaint(
        self, images: Tensor, masks: Tensor, edges: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Fill the holes of ``images`` with :meth:`generate`'s output; known pixels are
        returned unchanged.

        Returns:
            (inpainted images in [-1,1], the edge map used, in [0,1]).
        """
        output, edges = self.generate(images, masks, edges)
        return torch.where(masks > 0.5, output, images), edges

    @torch.no_grad()
    def visuals(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        image = batch["image"].to(self.device)
        mask = batch["mask"].to(self.device)
        result, edges = self.inpaint(image, mask)
        return {
            "masked": image * (1 - mask) + mask,
            "edges": to_signed(edges).expand_as(image),
            "inpainted": result,
            "real": image,
        }

    # ---- data ----------------------------------------------------------------------------------
    @classmethod
    def build_dataset(
        cls, data_config: EdgeConnectDataConfig, split: str, seed: int = 0
    ) -> Dataset:
        """Images with generated or file masks: scikit-image photos or a folder."""
        mask_root = data_config.mask_root or None
        if data_config.dataset == "skimage":
            from compogan.data.inpainting import SyntheticInpainting, split_photos

            train = split == "train"
            length = data_config.length if train else data_config.test_length
            return SyntheticInpainting(
                split,
                data_config.size,
                length,
                data_config.mask_kind,
                mask_root,
                photos=split_photos(data_config.test_photos, train),
                augment=data_config.augment,
                seed=seed,
            )
        if data_config.dataset == "folder":
            from compogan.data.inpainting import InpaintingFolder

            if not data_config.root:
                raise ConfigError("the edgeconnect folder dataset needs data.root=IMAGE_FOLDER")
            return InpaintingFolder(
                data_config.root,
                split,
                data_config.size,
                data_config.mask_kind,
                mask_root,
                augment=data_config.augment,
                seed=seed,
            )
        raise ConfigError(
            f"unknown edgeconnect dataset '{data_config.dataset}'; use 'skimage' or 'folder'"
        )


STAGE_NETWORKS = {"edge": ("G1", "D1"), "inpaint": ("G2", "D2")}
OFFICIAL_STAGE_FILES = {"edge": "EdgeModel", "inpaint": "InpaintingModel"}


PAPER_GENERATOR_SETTINGS = {
    "edge_norm": PAPER_NORM,
    "norm": PAPER_NORM,
    "hole_fill": PAPER_HOLE_FILL,
    "residual": False,
}
"""The config fields a generator's weights depend on, at the official weights' values."""
STAGE_SETTINGS = {"edge": ("edge_norm",), "inpaint": ("norm", "hole_fill", "residual")}


def generator_settings(config: Mapping[str, object]) -> dict[str, object]:
    """The :data:`PAPER_GENERATOR_SETTINGS` fields of an EdgeConnect config (a dict, as in a
    checkpoint's metadata; missing fields take the defaults), with G1's effective norm."""
    settings = {key: config.get(key, paper) for key, paper in PAPER_GENERATOR_SETTINGS.items()}
    settings["edge_norm"] = config.get("edge_norm") or settings["norm"]  # "" or absent: norm
    return settings


def stage_weights(
    source: str | Path, stage: str, settings: Mapping[str, object] = PAPER_GENERATOR_SETTINGS
) -> dict[str, dict[str, Tensor]]:
    """The state dicts of one stage's networks ("edge": G1, D1; "inpaint": G2, D2) at ``source``.

    ``source`` is an EdgeConnect run or pretrained directory, an official ``*_gen.pth`` file, or
    a folder holding the official ``<EdgeModel|InpaintingModel>_gen.pth`` (and ``_dis.pth``).
    The generator must be there; the discriminator is used when present. ``settings`` holds
    the config fields of :data:`PAPER_GENERATOR_SETTINGS` the weights will be used with; those
    the stage's generator depends on (G1: edge_norm; G2: norm, hole_fill, residual) must be the
    ones it was trained with (the official weights: the paper's), since state dicts cannot tell.

    Raises:
        CheckpointError: nothing loadable at ``source``, another model's checkpoint, a
            checkpoint without the stage's generator, or weights trained with other settings.
    """
    from compogan.interop.edgeconnect import load_official_edgeconnect

    path = Path(source)
    generator, discriminator = STAGE_NETWORKS[stage]
    official = OFFICIAL_STAGE_FILES[stage]
    generator_file = path if path.is_file() else path / f"{official}_gen.pth"
    if generator_file.is_file():
        _check_settings(settings, PAPER_GENERATOR_SETTINGS, stage, source)
        files = {generator: generator_file, discriminator: path / f"{official}_dis.pth"}
        return {
            name: load_official_edgeconnect(file)[0].state_dict()
            for name, file in files.items()
            if file.is_file()
        }
    directory = resolve_checkpoint_dir(path)
    metadata = read_metadata(directory)
    if metadata["model"] != EdgeConnect.name:
        raise CheckpointError(
            f"{directory} holds a '{metadata['model']}' checkpoint, not EdgeConnect"
        )
    _check_settings(settings, generator_settings(metadata["config"]), stage, source)
    networks = metadata.get("networks") or EdgeConnect.network_names
    if generator not in networks:
        raise CheckpointError(f"{directory} holds no {generator} to start the {stage} stage from")
    weights = read_weights(directory)
    return {
        name: network_state(weights, name)
        for name in (generator, discriminator)
        if name in networks
    }


def _check_settings(
    wanted: Mapping[str, object], trained: Mapping[str, object], stage: str, source: str | Path
) -> None:
    """CheckpointError unless a generator trained with ``trained`` settings suits ``wanted``."""
    for key in STAGE_SETTINGS[stage]:
        if wanted[key] != trained[key]:
            value = str(trained[key]).lower()
            raise CheckpointError(
                f"the generators at {source} were trained with {key} '{value}', this config "
                f"uses '{str(wanted[key]).lower()}': set model.{key}={value}"
            )
