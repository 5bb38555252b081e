"""SEIGAN: segment, enhance, inpaint, learnt together without pairs (Ostyakov et al., 2018).

Images x = <O, B_x> hold an object O on a background B_x; images y = <∅, B_y> are backgrounds
alone; the two sets are unpaired and the object's bounding box is the only supervision (no mask
and no clean background is ever seen). Every image is the square crop around the box
(:mod:`compogan.data.objects`; for y, a crop of the same size) and ``box`` is the box as a mask.

The swap (the paper's "swap network", G_seg then G_enh) and the inpainting:

    m   = G_seg(x, box)                    the object's soft mask, zero outside the box
    z   = m⊙x + (1−m)⊙y                    the naive paste of O onto B_y
    ŷ   = G_enh(z, noise)                  <Ô, B_y>: the paste made to look natural
    x̂   = G_inp((1−m)⊙x, m)                <∅, B̂_x>: the hole filled

and the same applied to (ŷ, x̂) to swap back: m' = G_seg(ŷ, box), x̂̂ = G_enh(m'⊙ŷ + (1−m')⊙x̂)
(the object back on its own background) and ŷ̂ = G_inp((1−m')⊙ŷ, m') (B_y again). The generators
minimise

    λ_adv_bg  [L_GAN(D_bg(x̂)) + L_GAN(D_bg(ŷ̂))]         D_bg: real backgrounds y vs x̂, ŷ̂
  + λ_adv_obj [L_GAN(D_obj(z)) + L_GAN(D_obj(ŷ))]        D_obj: real x vs z, ŷ
  + λ_obj_rec ‖x̂̂ − x‖₁                                  object reconstruction
  + λ_bg_rec  ‖ŷ̂ − y‖₁ + λ_bg_content Σ_lower ‖VGG(ŷ̂) − VGG(y)‖₁
              + λ_bg_texture Σ_upper ‖Gram(VGG(ŷ̂)) − Gram(VGG(y))‖₁   background reconstruction
  + λ_identity ‖G_enh(x) − x‖₁                           identity: a real scene needs no fix

and each discriminator ½ [L_GAN(D(real), 1) + mean over its fakes L_GAN(D(pooled fake), 0)],
the fakes drawn from a pool of earlier ones per kind (as CycleGAN's).

What the paper fixes: the three generators and two discriminators and what each sees; the
swap applied twice with object and background reconstruction; VGG-19 features of lower and
upper layers in the background loss; the identity loss; the fake-image pools; boxes as the only
supervision. What it leaves open and we chose (each a config field, see docs/seigan.md): the
architectures (G_seg a U-Net on image + box whose sigmoid mask is multiplied by the box;
G_enh and G_inp CycleGAN ResNet generators, G_enh residual on the composite with one N(0,1)
noise channel, G_inp keeping the pixels outside the mask; 70x70 PatchGANs), the loss weights,
the VGG layers (relu1_1, relu2_1 as features; relu3_1, relu4_1, relu5_1 as Gram texture), the
least-squares GAN loss, Adam with lr 2e-4, β₁ 0.5 and CycleGAN's linear decay, 128 px crops with
the box's longer side 1/1.6 of the crop, pools of 50, and that the swap back predicts its own
mask on ŷ (rather than reusing m).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch

from compogan.config import ScheduleConfig, ranged
from compogan.data.image_pool import ImagePool
from compogan.data.objects import DEFAULT_CONTEXT
from compogan.data.registry import DataConfig
from compogan.errors import InputError
from compogan.geometry import mask_boxes, zoom_to_boxes
from compogan.losses import (
    AdversarialLoss,
    PerceptualLoss,
    StyleLoss,
    border_colour_loss,
    box_projection_loss,
    color_affinity_loss,
    l1_loss,
)
from compogan.models.base import GANModel
from compogan.models.phases import Phase, StepState
from compogan.models.tasks import CUTPASTE
from compogan.nn import PatchDiscriminator, init_weights, load_vgg19
from compogan.nn.seigan import BoxSegmenter, HoleFiller, NoiseEnhancer

FAKE_KINDS = {"D_bg": ("x_hat", "y_rec"), "D_obj": ("z", "y_hat")}
"""The fakes each discriminator judges, each kind with its own pool."""


@dataclass
class SEIGANConfig:
    """SEIGAN's hyper-parameters; defaults are our reading of the paper at 128 px.

    Attributes:
        seg_widths: G_seg's U-Net encoder widths (each after the first halves the size).
        seg_norm: G_seg's normalisation.
        enh_ngf, enh_blocks: G_enh's ResNet width and residual blocks.
        noise_channels: N(0,1) channels concatenated to G_enh's input (0 = none).
        inp_ngf, inp_blocks: G_inp's ResNet width and residual blocks.
        inp_hard_hole: G_inp sees the binarised hole m ≥ ½, nothing of the image inside it (not
            the paper's: cuts the channel through which a soft mask lets the swap back hide
            what the hole removed; see :class:`~compogan.nn.seigan.HoleFiller`).
        inp_hole_fill: what the hole holds in G_inp's input: "empty" (the paper's (1−m)⊙x) or
            "harmonic" (not the paper's: the harmonic interpolation of the pixels around the
            binarised hole, with G_inp a correction of it that starts at zero; implies
            ``inp_hard_hole``): training starts from a classical smooth fill and only has to
            improve on it.
        enh_sees_mask: G_enh also sees the paste's mask (not the paper's, whose G_enh sees the
            composite and noise alone; image harmonisation networks are given the mask). The
            mask is detached there, so G_seg is not trained to signal through it; the identity
            loss gives G_enh x with G_seg's mask on it.
        norm: normalisation of G_enh, G_inp and both discriminators.
        ndf, n_layers_d: the PatchGANs' width and stride-2 layers.
        d_obj_context: what D_obj judges of x, z and ŷ: None, the whole crop (the paper's); a
            number, the square around the box of that side over the box's longer side,
            resampled to the crop's size (not the paper's: at 1.0 D_obj sees the box alone at
            ``data.context`` times the resolution, so every one of its patches falls on the
            object, its edge or the nearby background, where the mask's errors show).
        spectral_norm_d: both discriminators with spectral normalisation on every convolution
            in place of ``norm`` (which a spectral bound would not survive), EdgeConnect's
            layout; not the paper's: bounds how sharp D_obj can become, against the late
            collapse to an empty mask seen with the 3-layer PatchGANs at the CPU size.
        gan_mode: adversarial loss ("lsgan", "vanilla", ...).
        lambda_adv_bg, lambda_adv_obj: weights of the generators' adversarial terms.
        naive_paste_adv: the share of D_obj's term on the naive paste z in the generators'
            loss (1: the paper's, z and ŷ alike; 0: only ŷ, so G_seg is not rewarded for a mask
            that makes z itself look real). D_obj still learns from both.
        lambda_obj_rec: object reconstruction ‖x̂̂ − x‖₁.
        lambda_bg_rec: background reconstruction ‖ŷ̂ − y‖₁.
        lambda_bg_content: VGG-19 feature distance of ŷ̂ to y on ``content_layers``.
        lambda_bg_texture: Gram (texture) distance of ŷ̂ to y on ``texture_layers``.
        content_layers, texture_layers: the lower and upper VGG-19 layers.
        lambda_identity: ‖G_enh(x) − x‖₁.
        detach_fill: the swap back receives x̂ detached (not the paper's): G_inp's fill of x is
            then shaped by D_bg alone, not by the object reconstruction, which otherwise teaches
            it to paint the object back wherever the swap back's mask m' falls short of m.
        detach_swap_back_context: the swap back's G_inp sees ŷ detached (not the paper's): G_enh
            can then not learn to hide y's background in ŷ's pixels for G_inp to read back
            (CycleGAN's hidden channel), so ŷ̂'s reconstruction teaches G_inp to fill from the
            hole's surroundings alone; the pixels G_inp keeps still pass their gradient to
            G_enh. (Measured: not what gave the CPU runs' fills their texture; D_bg's term did.)
        reuse_mask_back: the swap back pastes with the first swap's m instead of G_seg's own m'
            on ŷ (not our paper reading's: when G_seg predicts m' the cycle is exact only when
            m' = m, which rewards a G_seg that ignores its input and draws the same mask on x
            and ŷ, and on every scene).
        lambda_mask_area: the mask's share of its box, mean(m)/mean(box), as a loss (not the
            paper's: a prior toward the smallest mask the reconstructions allow).
        lambda_box_projection: BoxInst's projection loss on m (not the paper's, but from the
            box alone: every row and column of a tight box meets the object).
        lambda_color_affinity: BoxInst's pairwise loss on m (not the paper's, from the image
            alone: similar-coloured neighbours inside the box share a label);
            ``affinity_threshold`` is its least colour similarity of a counted pair.
        lambda_border_colour: the border colour prior on m (not the paper's, from the box and
            the image alone: pixels coloured like the band just outside the box are background).
        pool_size: capacity of each fake-image pool (0 = no pool).
        lr, beta1, lr_schedule: Adam and its schedule over train.steps.
        lr_d_factor: the discriminators' learning rate over the generators' (1: the paper's one
            rate; below 1, a two-time-scale rule that slows D_obj down instead of bounding it,
            against the late collapse to an empty mask with the 3-layer PatchGANs).
        init, init_gain: weight initialisation.
        vgg_weights: torchvision's vgg19-dcbb9e9d.pth ("" = the usual search); read only when
            a VGG weight is above 0.
    """

    seg_widths: tuple[int, ...] = (64, 128, 256, 512, 512)
    seg_norm: str = "instance"
    enh_ngf: int = ranged(64, ge=1)
    enh_blocks: int = ranged(9, ge=0)
    noise_channels: int = ranged(1, ge=0)
    enh_sees_mask: bool = False
    inp_ngf: int = ranged(64, ge=1)
    inp_blocks: int = ranged(9, ge=0)
    inp_hard_hole: bool = False
    inp_hole_fill: str = "empty"
    norm: str = "instance"
    ndf: int = ranged(64, ge=1)
    n_layers_d: int = ranged(3, ge=1)
    d_obj_context: float | None = ranged(None, gt=0)
    spectral_norm_d: bool = False
    gan_mode: str = "lsgan"
    lambda_adv_bg: float = ranged(1.0, ge=0)
    lambda_adv_obj: float = ranged(1.0, ge=0)
    naive_paste_adv: float = ranged(1.0, ge=0)
    lambda_obj_rec: float = ranged(10.0, ge=0)
    lambda_bg_rec: float = ranged(10.0, ge=0)
    lambda_bg_content: float = ranged(1.0, ge=0)
    lambda_bg_texture: float = ranged(100.0, ge=0)
    content_layers: tuple[str, ...] = ("relu1_1", "relu2_1")
    texture_layers: tuple[str, ...] = ("relu3_1", "relu4_1", "relu5_1")
    lambda_identity: float = ranged(5.0, ge=0)
    lambda_mask_area: float = ranged(0.0, ge=0)
    lambda_box_projection: float = ranged(0.0, ge=0)
    lambda_color_affinity: float = ranged(0.0, ge=0)
    affinity_threshold: float = ranged(0.3, gt=0, le=1)
    lambda_border_colour: float = ranged(0.0, ge=0)
    detach_fill: bool = False
    detach_swap_back_context: bool = False
    reuse_mask_back: bool = False
    pool_size: int = ranged(50, ge=0)
    lr: float = ranged(2e-4, gt=0)
    lr_d_factor: float = ranged(1.0, gt=0)
    beta1: float = ranged(0.5, ge=0, lt=1)
    lr_schedule: ScheduleConfig = field(
        default_factory=lambda: ScheduleConfig(kind="linear", start=0.5)
    )
    init: str = "normal"
    init_gain: float = ranged(0.02, gt=0)
    vgg_weights: str = ""


@dataclass
class SEIGANDataConfig(DataConfig):
    """Where SEIGAN's images come from (an "objects" dataset).

    Attributes:
        dataset: "synthetic" (made in code, with ground truth) or "folder" (object images with
            boxes and backgrounds; see :mod:`compogan.data.objects`).
        size: the side of the square crops (128 in our paper setting).
        context: the crop's side over the box's longer side.
    """

    dataset: str = "synthetic"
    size: int = 128
    context: float = DEFAULT_CONTEXT


class SEIGAN(GANModel):
    """SEIGAN: G_seg, G_enh, G_inp with D_bg and D_obj (see the module docstring).

    Inputs are square crops (N,3,S,S) in [-1,1] around the boxes, boxes as (N,1,S,S) masks.
    """

    name = "seigan"
    description = "SEIGAN (Ostyakov et al. 2018): cut, paste-and-enhance and inpaint, unpaired"
    Config = SEIGANConfig
    DataConfig = SEIGANDataConfig
    data_kind = "objects"
    network_names = ("G_seg", "G_enh", "G_inp", "D_bg", "D_obj")
    tasks = (CUTPASTE,)
    generator_names: ClassVar[tuple[str, ...]] = ("G_seg", "G_enh", "G_inp")

    # ---- networks ------------------------------------------------------------------------------
    def build_networks(self) -> None:
        c = self.config
        self.G_seg = BoxSegmenter(c.seg_widths, c.seg_norm)
        self.G_enh = NoiseEnhancer(
            c.enh_ngf, c.enh_blocks, c.noise_channels, c.norm, c.enh_sees_mask
        )
        self.G_inp = HoleFiller(c.inp_ngf, c.inp_blocks, c.norm, c.inp_hard_hole, c.inp_hole_fill)
        self.D_bg, self.D_obj = (
            PatchDiscriminator(
                ndf=c.ndf,
                n_layers=c.n_layers_d,
                norm="none" if c.spectral_norm_d else c.norm,
                spectral_norm=c.spectral_norm_d,
            )
            for _ in range(2)
        )
        for name in self.network_names:
            init_weights(getattr(self, name), kind=c.init, gain=c.init_gain)
        if self.G_inp.harmonic:
            self.G_inp.zero_correction()
        self.gan_loss = AdversarialLoss(c.gan_mode)
        self.pools = {
            kind: ImagePool(c.pool_size) for kinds in FAKE_KINDS.values() for kind in kinds
        }
        self.content: PerceptualLoss | None = None
        self.texture: StyleLoss | None = None

    @property
    def size_multiple(self) -> int:  # type: ignore[override]
        return max(self.G_seg.size_multiple, 4)

    @property
    def min_size(self) -> int:  # type: ignore[override]
        return max(self.size_multiple, 8)

    @property
    def work_size(self) -> int:
        """The crop side S the networks were trained on (``data.size``)."""
        return int(self.data_config.size)

    @property
    def box_context(self) -> float:
        """The crop's side over the box's longer side (``data.context``)."""
        return float(self.data_config.context)

    def averaged_networks(self) -> tuple[str, ...]:
        return self.generator_names

    # ---- optimisation --------------------------------------------------------------------------
    def configure_optimizers(self) -> None:
        """One Adam for the three generators ("G"), one for both discriminators ("D", at
        ``lr_d_factor`` times the generators' rate); the VGG-19 of the background loss is loaded
        here when its weights are used."""
        c = self.config
        adam = {"betas": (c.beta1, 0.999), "schedule": c.lr_schedule}
        self.add_optimizer("G", self.generator_names, torch.optim.Adam, lr=c.lr, **adam)
        self.add_optimizer(
            "D", ("D_bg", "D_obj"), torch.optim.Adam, lr=c.lr * c.lr_d_factor, **adam
        )
        if c.lambda_bg_content > 0 or c.lambda_bg_texture > 0:
            vgg = load_vgg19(c.vgg_weights or None).to(self.device)
            self.content = PerceptualLoss(vgg, c.content_layers)
            self.texture = StyleLoss(vgg, c.texture_layers)

    # ---- the swap and the losses ---------------------------------------------------------------
    def swap(
        self,
        nets,
        x: torch.Tensor,
        y: torch.Tensor,
        box: torch.Tensor,
        mask: torch.Tensor | None = None,
        detach_context: bool = False,
    ) -> dict[str, torch.Tensor]:
        """One application of the swap and the inpainting to (x, y): m, z, ŷ, x̂; m is
        G_seg's on x unless ``mask`` is given; ``detach_context``: G_inp's view of x is
        detached."""
        m = nets.G_seg(x, box) if mask is None else mask
        z = m * x + (1 - m) * y
        x_hat = nets.G_inp(x, m, detach_context=detach_context)
        return {"m": m, "z": z, "y_hat": nets.G_enh(z, masks=m), "x_hat": x_hat}

    def swap_back_mask(self, mask: torch.Tensor) -> torch.Tensor | None:
        """The mask of the swap back: the first swap's (N,1,S,S) ``mask`` with
        ``reuse_mask_back``, else None (G_seg predicts m' on ŷ)."""
        return mask if self.config.reuse_mask_back else None

    def judged(self, kind: str, images: torch.Tensor, box: torch.Tensor) -> torch.Tensor:
        """What the discriminator of the ``kind`` of (N,3,S,S) images sees of them: D_obj's
        view around the (N,1,S,S) box when ``d_obj_context`` is set, else the images."""
        context = self.config.d_obj_context
        if context is None or kind not in ("x", *FAKE_KINDS["D_obj"]):
            return images
        return zoom_to_boxes(images, mask_boxes(box), context)

    def generator_losses(self, state: StepState) -> dict[str, torch.Tensor]:
        """Every generator loss by name (see the module docstring); leaves the fakes, detached,
        in ``state`` for the discriminators."""
        c, nets = self.config, self.nets
        x, y, box = state["x"], state["y"], state["box"]
        first = self.swap(nets, x, y, box)
        fill = first["x_hat"].detach() if c.detach_fill else first["x_hat"]
        back = self.swap(
            nets,
            first["y_hat"],
            fill,
            box,
            self.swap_back_mask(first["m"]),
            detach_context=c.detach_swap_back_context,
        )
        x_rec, y_rec = back["y_hat"], back["x_hat"]
        fakes = {
            kind: self.judged(kind, image, box)
            for kind, image in (
                ("x_hat", first["x_hat"]),
                ("y_rec", y_rec),
                ("z", first["z"]),
                ("y_hat", first["y_hat"]),
            )
        }
        adversarial = {
            disc: sum(
                self.gan_loss(getattr(nets, disc)(fakes[kind]), True, for_discriminator=False)
                * (c.naive_paste_adv if kind == "z" else 1.0)
                for kind in kinds
            )
            for disc, kinds in FAKE_KINDS.items()
        }
        losses = {
            "G_adv_bg": adversarial["D_bg"] * c.lambda_adv_bg,
            "G_adv_obj": adversarial["D_obj"] * c.lambda_adv_obj,
            "obj_rec": l1_loss(x_rec, x) * c.lambda_obj_rec,
            "bg_rec": l1_loss(y_rec, y) * c.lambda_bg_rec,
        }
        if self.content is not None and c.lambda_bg_content > 0:
            losses["bg_content"] = self.content(y_rec, y) * c.lambda_bg_content
        if self.texture is not None and c.lambda_bg_texture > 0:
            losses["bg_texture"] = self.texture(y_rec, y) * c.lambda_bg_texture
        if c.lambda_identity > 0:
            losses["identity"] = l1_loss(nets.G_enh(x, masks=first["m"]), x) * c.lambda_identity
        if c.lambda_mask_area > 0:
            share = first["m"].mean((1, 2, 3)) / box.mean((1, 2, 3)).clamp_min(1e-6)
            losses["mask_area"] = share.mean() * c.lambda_mask_area
        if c.lambda_box_projection > 0:
            projection = box_projection_loss(first["m"], box)
            losses["box_projection"] = projection * c.lambda_box_projection
        if c.lambda_color_affinity > 0:
            affinity = color_affinity_loss(first["m"], x, box, threshold=c.affinity_threshold)
            losses["color_affinity"] = affinity * c.lambda_color_affinity
        if c.lambda_border_colour > 0:
            border = border_colour_loss(first["m"], x, box)
            losses["border_colour"] = border * c.lambda_border_colour
        state["fakes"] = {kind: image.detach() for kind, image in fakes.items()}
        return losses

    def discriminator_losses(self, state: StepState) -> dict[str, torch.Tensor]:
        """D_bg on real y against pooled x̂ and ŷ̂; D_obj on real x against pooled z and ŷ."""
        nets = self.nets
        reals = {"D_bg": state["y"], "D_obj": self.judged("x", state["x"], state["box"])}
        losses = {}
        for disc, kinds in FAKE_KINDS.items():
            network = getattr(nets, disc)
            fake = sum(
                self.gan_loss(network(self.pools[kind].query(state["fakes"][kind])), False)
                for kind in kinds
            ) / len(kinds)
            losses[disc] = 0.5 * (self.gan_loss(network(reals[disc]), True) + fake)
        return losses

    def training_phases(self) -> tuple[Phase, ...]:
        """The three generators together (discriminators frozen), then both discriminators."""
        return (
            Phase("G", ("G",), self.generator_losses),
            Phase("D", ("D",), self.discriminator_losses),
        )

    # ---- state beyond the networks -------------------------------------------------------------
    def extra_training_state(self) -> dict[str, dict[str, torch.Tensor]]:
        return {f"pool_{kind}": pool.state_dict() for kind, pool in self.pools.items()}

    def load_extra_training_state(self, state: dict[str, dict[str, torch.Tensor]]) -> None:
        for kind, pool in self.pools.items():
            pool.load_state_dict(state[f"pool_{kind}"], self.device)

    # ---- inference (the "cutpaste" task) -------------------------------------------------------
    def inference_networks(self, task: str, **options: object) -> tuple[str, ...]:
        return self.generator_names

    def _check(self, images: torch.Tensor, channels: int, what: str) -> None:
        if images.ndim != 4 or images.shape[1] != channels:
            raise InputError(f"{what} must be (N,{channels},H,W), got {tuple(images.shape)}")
        if images.shape[-1] % self.size_multiple or images.shape[-2] % self.size_multiple:
            raise InputError(
                f"{what} of {images.shape[-1]}x{images.shape[-2]} px: SEIGAN takes sides "
                f"divisible by {self.size_multiple}"
            )

    @torch.no_grad()
    def segment(self, images: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """G_seg: soft masks (N,1,S,S) in [0,1] of (N,3,S,S) crops in [-1,1] in (N,1,S,S)
        box masks."""
        self._check(images, 3, "images")
        return self.G_seg(images, boxes)

    @torch.no_grad()
    def fill(self, images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """G_inp: (N,3,S,S) crops with the (N,1,S,S) masked pixels filled, the others kept."""
        self._check(images, 3, "images")
        return self.G_inp(images, masks)

    @torch.no_grad()
    def enhance(
        self, composites: torch.Tensor, masks: torch.Tensor | None = None, seed: int = 0
    ) -> torch.Tensor:
        """G_enh on (N,3,S,S) naive composites made with the (N,1,S,S) ``masks`` in [0,1] (read
        only with ``enh_sees_mask``, and needed then), its noise drawn from a generator seeded
        by ``seed`` (so a call is reproducible)."""
        self._check(composites, 3, "composites")
        if masks is not None:
            self._check(masks, 1, "masks")
        n, _, h, w = composites.shape
        generator = torch.Generator(device="cpu").manual_seed(seed)
        noise = torch.randn(n, self.G_enh.noise_channels, h, w, generator=generator)
        return self.G_enh(composites, noise.to(composites.device, composites.dtype), masks)

    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x, y, box = (batch[k].to(self.device) for k in ("x", "y", "box"))
        first = self.swap(self, x, y, box)
        back = self.swap(self, first["y_hat"], first["x_hat"], box, self.swap_back_mask(first["m"]))
        return {
            "x": x,
            "mask": first["m"].expand(-1, 3, -1, -1) * 2 - 1,
            "x_hat": first["x_hat"],
            "y": y,
            "z": first["z"],
            "y_hat": first["y_hat"],
            "x_rec": back["y_hat"],
            "y_rec": back["x_hat"],
        }
