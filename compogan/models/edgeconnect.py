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
from the stage-1 and stage-2 runs named by ``train.init_from``), "joint" (both
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

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from compogan.config import ranged
from compogan.data.edges import DEFAULT_SIGMA, canny_edges, rgb_to_gray
from compogan.data.registry import DataConfig
from compogan.errors import CheckpointError, ConfigError
from compogan.losses import (
    AdversarialLoss,
    PerceptualLoss,
    StyleLoss,
    feature_matching_loss,
    hole_binary_cross_entropy,
)
from compogan.models.base import GANModel
from compogan.models.phases import Phase, StepState
from compogan.nn import PatchDiscriminator, init_weights, load_vgg19
from compogan.nn.inpainting import (
    PAPER_HOLE_FILL,
    PAPER_NORM,
    SIZE_MULTIPLE,
    EdgeGenerator,
    InpaintGenerator,
    check_hole_fill,
    edge_generator_input,
    inpaint_generator_input,
    to_signed,
    to_unit,
)


def known_edges_outside(predicted: Tensor, edges: Tensor, mask: Tensor) -> Tensor:
    """The full edge map (N,1,H,W) in [0,1]: ``predicted`` in the hole, the known ``edges``
    outside it (``mask`` 1 = hole)."""
    return predicted * mask + edges * (1 - mask)


def known_canny(images: Tensor, masks: Tensor, sigma: float = DEFAULT_SIGMA) -> Tensor:
    """Canny edges (N,1,H,W) in {0,1} of (N,3,H,W) images in [-1,1] outside their holes
    (``masks`` (N,1,H,W), 1 = hole): scikit-image's ``canny`` with ``sigma`` and its default
    thresholds on the BT.709 grayscale (``rgb2gray``), the hole excluded, as EdgeConnect's
    official test computes its edges. Computed on the CPU in float64."""
    from skimage.feature import canny

    gray = rgb_to_gray(images.detach().to("cpu", torch.float64)).numpy()
    known = (masks.detach().cpu() <= 0.5).numpy()
    edges = np.stack(
        [canny(gray[i, 0], sigma=sigma, mask=known[i, 0]) for i in range(gray.shape[0])]
    )
    return torch.from_numpy(edges[:, None].astype(np.float32)).to(images.device, images.dtype)


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
"""The modes that train on a trained G1 (the paper's stage 3 starts from stages 1 and 2):
a fresh run of them needs ``train.init_from.G1``."""
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
            CPU runs (benchmarks/notes/edgeconnect.md), so the CPU config keeps the paper's for
            G1 alone.
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
            gave edges of 2-4x chance precision (benchmarks/notes/edgeconnect.md).
        l1_weight: weight of G2's L1 loss, divided by the mask mean (1).
        l1_known_weight: weight of the known pixels' error in that L1 relative to the hole's
            (1: the paper's L1 over the whole image; 0: the hole alone).
        inpaint_adv_weight: weight of G2's adversarial loss (0.1).
        content_weight: weight of G2's perceptual loss (0.1; 0 skips VGG-19).
        style_weight: weight of G2's style loss (250; 0 skips it).
        sigma: Canny σ; 0 draws σ uniformly in [1, 4] for every image.
        vgg_weights: path of torchvision's vgg19-dcbb9e9d.pth ("" = the usual search order).
    """

    mode: str = "edge_inpaint"
    residual_blocks: int = ranged(8, ge=1)
    width: int = ranged(64, ge=1)
    ndf: int = ranged(64, ge=1)
    norm: str = PAPER_NORM
    edge_norm: str = ""
    init: str = "normal"
    hole_fill: str = PAPER_HOLE_FILL
    residual: bool = False
    lr: float = ranged(1e-4, gt=0)
    d2g_lr: float = ranged(0.1, gt=0)
    beta1: float = ranged(0.0, ge=0, lt=1)
    beta2: float = ranged(0.9, ge=0, lt=1)
    gan_loss: str = "nsgan"
    edge_adv_weight: float = ranged(1.0, ge=0)
    fm_weight: float = ranged(10.0, ge=0)
    edge_bce_weight: float = ranged(0.0, ge=0)
    l1_weight: float = ranged(1.0, ge=0)
    l1_known_weight: float = ranged(1.0, ge=0)
    inpaint_adv_weight: float = ranged(0.1, ge=0)
    content_weight: float = ranged(0.1, ge=0)
    style_weight: float = ranged(250.0, ge=0)
    sigma: float = ranged(2.0, ge=0)
    vgg_weights: str = ""


@dataclass
class EdgeConnectDataConfig(DataConfig):
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
    mask_root: str = ""
    mask_kind: str = "mix"
    test_photos: list[str] = field(default_factory=list)
    augment: bool = False


class EdgeConnect(GANModel):
    """EdgeConnect's G1 (edges), D1, G2 (inpainting) and D2.

    Batches hold "image" (N,3,S,S) in [-1,1] and "mask" (N,1,S,S) with 1 = hole.
    """

    name = "edgeconnect"
    description = "EdgeConnect (Nazeri et al. 2019): edge-guided two-stage inpainting"
    Config = EdgeConnectConfig
    DataConfig = EdgeConnectDataConfig
    data_kind = "inpainting"
    network_names = ("G1", "D1", "G2", "D2")
    retired_config_keys = ("init_edge", "init_inpaint")  # now train.init_from
    tasks = ("inpaint",)
    size_multiple = SIZE_MULTIPLE  # two stride-2 convs
    min_size = 16  # the bottleneck (1/4) must take the dilated blocks' reflect padding

    # ---- networks ------------------------------------------------------------------------------
    def build_networks(self) -> None:
        c = self.config
        if c.mode not in MODES:
            raise ConfigError(f"unknown edgeconnect mode '{c.mode}'; use one of {MODES}")
        check_hole_fill(c.hole_fill)
        patch = {"ndf": c.ndf, "norm": "none", "spectral_norm": True, "bias": False}
        self.G1 = EdgeGenerator(c.residual_blocks, width=c.width, norm=self.edge_norm)
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

    @property
    def edge_norm(self) -> str:
        """G1's normalisation: ``edge_norm``, or ``norm`` when that is empty."""
        return self.config.edge_norm or self.config.norm

    def averaged_networks(self) -> tuple[str, ...]:
        return TRAINED_GENERATORS[self.config.mode]

    def networks_trained_by_config(self) -> tuple[str, ...]:
        """The mode's generators with their discriminators (D1 goes with G1 except in
        "end_to_end", which removes it), plus the trained G1 a stage-3 mode starts from."""
        mode = self.config.mode
        trained = set(TRAINED_GENERATORS[mode]) | set(self.required_initial_networks())
        if "G1" in TRAINED_GENERATORS[mode] and mode != "end_to_end":
            trained.add("D1")
        if "G2" in TRAINED_GENERATORS[mode]:
            trained.add("D2")
        return tuple(name for name in self.network_names if name in trained)

    def inference_networks(self, task: str, edges_given: bool = True) -> tuple[str, ...]:
        """Inpainting runs G2, and G1 when the edges in the hole are predicted (not
        ``edges_given``, and a mode other than "inpaint", which uses the image's edges)."""
        if task != "inpaint":
            return ()
        predicts = not edges_given and self.config.mode != "inpaint"
        return ("G1", "G2") if predicts else ("G2",)

    def untrained_hint(self, missing: Sequence[str]) -> str:
        if "G2" in missing:
            return (
                f"this is a mode '{self.config.mode}' run; pass a stage-2 ('inpaint'), "
                "stage-3 ('edge_inpaint'), 'joint' or 'end_to_end' run"
            )
        return "give a hand-drawn edge map, or pass a stage-3 run (train.init_from.G1 set)"

    def required_initial_networks(self) -> tuple[str, ...]:
        return ("G1",) if self.config.mode in FROM_TRAINED_G1_MODES else ()

    def weight_settings(self, network: str) -> dict[str, object]:
        """G1's weights depend on its norm; G2's on its norm, hole fill and residual output."""
        c = self.config
        if network == "G1":
            return {"edge_norm": self.edge_norm}
        if network == "G2":
            return {"norm": c.norm, "hole_fill": c.hole_fill, "residual": c.residual}
        return {}

    # ---- optimisation --------------------------------------------------------------------------
    def configure_optimizers(self) -> None:
        """Adam for each network; the discriminators' lr is ``d2g_lr`` times the generators'."""
        c = self.config
        betas = (c.beta1, c.beta2)
        for generator, discriminator in (("G1", "D1"), ("G2", "D2")):
            self.add_optimizer(generator, (generator,), torch.optim.Adam, lr=c.lr, betas=betas)
            self.add_optimizer(
                discriminator, (discriminator,), torch.optim.Adam, lr=c.lr * c.d2g_lr, betas=betas
            )
        self._build_vgg_losses()

    # ---- edges ---------------------------------------------------------------------------------
    def canny(self, images: Tensor, masks: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Grayscale (N,1,H,W) in [0,1] and Canny edges (N,1,H,W) in {0,1} of images in [-1,1].

        Without ``masks`` (training batches): the whole image, with compogan's batched Canny
        (:func:`compogan.data.edges.canny_edges`); with σ = 0 the per-image σ comes from a
        generator seeded from torch's RNG, which the trainer saves and restores.

        With ``masks`` (N,1,H,W), 1 = hole (inference): the edges are computed as the official
        test computes them, scikit-image's ``canny`` on the grayscale with the hole excluded
        (its ``mask``), σ = ``sigma`` (2 when it is 0): no edge, and no pixel's edge, depends
        on what the hole holds, and the networks see the maps they were trained on.
        """
        gray = rgb_to_gray(images)
        if masks is not None:
            return gray, known_canny(images, masks, self.config.sigma or DEFAULT_SIGMA)
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ())))
        return gray, canny_edges(gray, self.config.sigma, rng=rng)

    def predict_edges(self, gray: Tensor, edges: Tensor, mask: Tensor, net: nn.Module) -> Tensor:
        """G1's full edge map (N,1,H,W) in [0,1]: known edges outside the hole, predicted in it."""
        return known_edges_outside(net(edge_generator_input(gray, edges, mask)), edges, mask)

    # ---- the two stages' losses ----------------------------------------------------------------
    def discriminator_loss(self, name: str, real: Tensor, fake: Tensor) -> Tensor:
        """½ (L_adv(D(real), real) + L_adv(D(fake), fake)) of discriminator ``name``."""
        discriminator = getattr(self.nets, name)
        return 0.5 * (
            self.gan_loss(discriminator(real), True)
            + self.gan_loss(discriminator(fake.detach()), False)
        )

    def edge_losses(self, state: StepState) -> dict[str, Tensor]:
        """G1's adversarial and feature-matching losses (+ cross-entropy in the hole when
        weighted); leaves G1's edges and its full edge map, detached, in ``state``."""
        c = self.config
        gray, edges, mask = state["gray"], state["edges"], state["mask"]
        predicted = self.nets.G1(edge_generator_input(gray, edges, mask))
        fake_features = self.nets.D1.forward_features(torch.cat([gray, predicted], 1))
        with torch.no_grad():
            real_features = self.nets.D1.forward_features(torch.cat([gray, edges], 1))
        adversarial = self.gan_loss(fake_features[-1], True, for_discriminator=False)
        matching = feature_matching_loss(real_features, fake_features, reduction="sum")
        losses = {"G1_adv": c.edge_adv_weight * adversarial, "G1_fm": c.fm_weight * matching}
        if c.edge_bce_weight > 0:
            losses["G1_bce"] = c.edge_bce_weight * hole_binary_cross_entropy(predicted, edges, mask)
        state["predicted_edges"] = predicted.detach()
        state["full_edges"] = known_edges_outside(predicted, edges, mask).detach()
        return losses

    def edge_discriminator_losses(self, state: StepState) -> dict[str, Tensor]:
        """D1 on (grayscale ⊕ Canny edges) against (grayscale ⊕ G1's edges)."""
        gray = state["gray"]
        real = torch.cat([gray, state["edges"]], 1)
        fake = torch.cat([gray, state["predicted_edges"]], 1)
        return {"D1": self.discriminator_loss("D1", real, fake)}

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

    def reconstruction_loss(self, output: Tensor, image: Tensor, mask: Tensor) -> Tensor:
        """G2's weighted L1 of ``output`` (in [0,1]) against ``image`` (in [-1,1]), divided by
        the hole's share of the image; known pixels count ``l1_known_weight`` times."""
        c = self.config
        weights = mask + c.l1_known_weight * (1 - mask)
        error = ((output - to_unit(image)).abs() * weights).mean()
        return c.l1_weight * error / mask.mean().clamp_min(1e-8)

    def inpaint_losses(self, state: StepState) -> dict[str, Tensor]:
        """G2's weighted losses on the step's full edge map: Canny's ("inpaint"), a frozen or
        jointly trained G1's, or in "end_to_end" G1's own, through which they train G1 too.
        Leaves G2's output, detached, in ``state``."""
        c = self.config
        image, mask = state["image"], state["mask"]
        if c.mode == "end_to_end":
            edges = self.predict_edges(state["gray"], state["edges"], mask, self.nets.G1)
        else:
            edges = state.get("full_edges", state["edges"])
        output = self.inpaint_output(self.nets.G2, image, edges, mask)
        target = to_unit(image)
        losses = {
            "G2_l1": self.reconstruction_loss(output, image, mask),
            "G2_adv": c.inpaint_adv_weight
            * self.gan_loss(self.nets.D2(to_signed(output)), True, for_discriminator=False),
        }
        if c.content_weight > 0:
            losses["G2_content"] = c.content_weight * self.perceptual(to_signed(output), image)
        if c.style_weight > 0:
            losses["G2_style"] = c.style_weight * self.style(
                to_signed(output * mask), to_signed(target * mask)
            )
        state["output"] = to_signed(output).detach()
        return losses

    def inpaint_discriminator_losses(self, state: StepState) -> dict[str, Tensor]:
        """D2 on the real images against G2's outputs."""
        return {"D2": self.discriminator_loss("D2", state["image"], state["output"])}

    def begin_step(self, batch: dict[str, Tensor]) -> StepState:
        """The batch on the device with its grayscale and Canny edges; in "edge_inpaint" also
        the frozen G1's full edge map."""
        state = super().begin_step(batch)
        state["gray"], state["edges"] = self.canny(state["image"])
        if self.config.mode == "edge_inpaint":
            with torch.no_grad(), self.autocast():
                state["full_edges"] = self.predict_edges(
                    state["gray"], state["edges"], state["mask"], self.G1
                ).float()
        return state

    def training_phases(self) -> tuple[Phase, ...]:
        """The updates of the configured mode (see the module docstring)."""
        edge = (
            Phase("G1", ("G1",), self.edge_losses),
            Phase("D1", ("D1",), self.edge_discriminator_losses),
        )
        trained_by_g2 = ("G1", "G2") if self.config.mode == "end_to_end" else ("G2",)
        inpaint = (
            Phase("G2", trained_by_g2, self.inpaint_losses),
            Phase("D2", ("D2",), self.inpaint_discriminator_losses),
        )
        if self.config.mode == "edge":
            return edge
        if self.config.mode == "joint":
            return edge + inpaint
        return inpaint

    # ---- inference -----------------------------------------------------------------------------
    def check_inpainting(self, edges_given: bool = False) -> None:
        """Raise CheckpointError unless the loaded networks can fill holes: G2, and G1 to draw
        the edges in the hole unless ``edges_given`` (or in "inpaint" mode, which uses the
        image's Canny edges)."""
        held = ", ".join(self.loaded_networks)
        if "G2" not in self.loaded_networks:
            raise CheckpointError(
                f"this EdgeConnect checkpoint holds no G2 to fill holes with; it holds {held}"
            )
        if not edges_given and self.config.mode != "inpaint" and "G1" not in self.loaded_networks:
            raise CheckpointError(
                f"this EdgeConnect checkpoint holds no G1 to draw the edges in the hole (it holds "
                f"{held}); give an edge map, or weights with G1 (EdgeModel_gen.pth)"
            )
        self.check_trained("inpaint", edges_given=edges_given)

    @torch.no_grad()
    def generate(
        self, images: Tensor, masks: Tensor, edges: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """G2's whole output for ``images`` (N,3,H,W) in [-1,1] with holes ``masks`` (N,1,H,W).

        ``edges`` (N,1,H,W) in [0,1] replaces the edge map (a hand-drawn one, the paper's
        editing use); otherwise G1 predicts the edges in the hole from the Canny edges around it
        ("inpaint" mode: those Canny edges alone), computed with the hole excluded (see
        :meth:`canny`), so nothing depends on the hole's pixels. H and W must be divisible by
        ``size_multiple`` and at least ``min_size``.

        Returns:
            (G2's output in [-1,1], known pixels included, the edge map used, in [0,1]).

        Raises:
            CheckpointError: the loaded networks cannot do it (see :meth:`check_inpainting`).
        """
        self.check_inpainting(edges_given=edges is not None)
        return self._generate(images, masks, edges)

    def _generate(
        self, images: Tensor, masks: Tensor, edges: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """:meth:`generate` without the check that the networks are trained (the training
        visuals of a stage show its untrained networks too)."""
        masks = (masks > 0.5).to(images.dtype)
        if edges is None:
            gray, canny = self.canny(images, masks)
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
        output, edges = self._generate(image, mask)
        result = torch.where(mask > 0.5, output, image)
        return {
            "masked": image * (1 - mask) + mask,
            "edges": to_signed(edges).expand_as(image),
            "inpainted": result,
            "real": image,
        }
