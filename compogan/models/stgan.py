"""ST-GAN: spatial transformer GANs for image compositing (Lin et al., CVPR 2018).

A foreground (RGBA, e.g. glasses) is pasted on a background (e.g. a face) at an initial placement
H_0. Warp predictors G_1..G_N, applied in sequence, each look at the background and the currently
warped foreground and predict an update dp_k of the warp parameters (8 sl(3) coordinates of a
homography, or 6 affine ones); the placement becomes

    H_k = expm(A(dp_k)) @ H_{k-1}        ("true" composition: the update acts after H_{k-1})
    p_k = p_{k-1} + dp_k, H_k = expm(A(p_k))     ("additive", the reference code's approximation)

and comp_k = warp(fg, H_k) alpha-composited on the background. A WGAN-GP critic D tells such
composites from real images (faces that wear glasses), and

    L_D   = E[D(comp)] − E[D(real)] + λ_gp E[(‖∇D(x̂)‖ − 1)²]           (λ_gp = 10)
    L_G_k = −E[D(comp_k)] + λ_update E‖dp_k‖²         (λ_update = 1.0 glasses, 0.3 indoor)

Sequential adversarial training, driven by the model's own step counter: optionally the
supervised pre-training of G_1 (indoor recipe: L2 between dp and the update that undoes a known
random perturbation of the correct placement); the critic alone on composites at the initial
placement (the paper's warpN = 0 run); then stage k = 1..N trains only G_k (G_1..G_{k-1} run
frozen before it; G_k starts as a copy of G_{k-1}), the critic carrying over. Adam, lr 1e-5 for
both at 144 px, batch 20, 50k critic and 50k steps per stage, two critic updates per predictor
update, and a replay history of 10,000 earlier composites that provides half of every critic
batch.

Choices where the paper and the reference code differ, or neither says:

- predictor hidden layer 256 wide (the reference code; the paper's text says 32);
- true composition by default (additive kept for parity with the reference code);
- Adam β = (0.9, 0.999), TensorFlow's defaults that the reference code uses;
- convolutions and pooling halve sizes rounding up (TensorFlow "SAME"), so 144 px works: the
  last features are 5x5, and the critic's patch map is 5x5;
- one training step of stage k: one predictor update on the batch, then ``critic_steps`` critic
  updates on the same real images and the same fakes (the predictor's composites from before its
  update, mixed with the history once per step), each with fresh gradient-penalty interpolates —
  the reference code's order;
- the history is cleared at the start of every stage (each stage is a separate run in the
  reference code) and not used while pre-training the critic; the critic's Adam state carries
  over between stages (the reference code restarted Adam at every stage);
- the critic is pre-trained at the data's perturbation (the reference used 0.2 for that run alone;
  set ``data.fg_perturbation`` for a run of its own);
- supervised pre-training perturbs the correct placement in the background frame,
  ``expm(A(q)) @ target``, so the update that undoes it is exactly −q, and averages ‖dp + q‖²
  over the batch (the reference code summed half squares: a scale Adam does not see).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from compogan.config import ScheduleConfig, ranged
from compogan.data.registry import DataConfig
from compogan.data.replay import ReplayBuffer
from compogan.errors import ConfigError, InputError
from compogan.geometry import (
    NUM_AFFINE_PARAMS,
    NUM_SL3_PARAMS,
    compose_matrices,
    composite_warped,
    matrix_to_params,
    params_to_matrix,
    warp_rgba,
)
from compogan.losses import AdversarialLoss, gradient_penalty
from compogan.models.base import GANModel
from compogan.models.phases import Phase, StepState
from compogan.nn import init_weights
from compogan.nn.discriminators import StridedCritic
from compogan.nn.warp import WarpPredictor

WARP_PARAMS = {"homography": NUM_SL3_PARAMS, "affine": NUM_AFFINE_PARAMS}
COMPOSITIONS = ("true", "additive")
_ALPHA_EPSILON = 1e-6


@dataclass
class STGANConfig:
    """ST-GAN hyper-parameters; the defaults are the paper's glasses setting.

    Attributes:
        image_size: square size the predictors and the critic work at (144 for glasses).
        warp_type: "homography" (8 sl(3) parameters) or "affine" (6).
        composition: "true" (``H_k = expm(A(dp_k)) @ H_{k-1}``) or "additive" (``p_k = p_{k-1} +
            dp_k``, the reference code's; needs initial placements that have parameters).
        warp_n: number of warp predictors G_1..G_N (5 for glasses, 4 indoor).
        predictor_widths: channels of the predictor's stride-2 convolutions.
        fc_dim: width of the predictor's hidden fully connected layer (256 in the reference code;
            the paper's text says 32).
        critic_widths: channels of the critic's stride-2 convolutions.
        init_std: weights of predictors and critic are drawn from N(0, init_std); biases are 0.
        gp_weight: gradient-penalty weight λ_gp.
        update_weight: λ_update on ``E‖dp‖²`` (1.0 glasses, 0.3 indoor).
        critic_steps: critic updates per predictor update.
        history_size: earlier composites kept for the critic (0 = no history).
        history_fraction: share of each critic batch drawn from the history once it has enough.
        lr_g: Adam learning rate of every predictor (1e-5 glasses, 1e-6 indoor).
        lr_d: Adam learning rate of the critic (1e-5 glasses, 1e-4 indoor).
        beta1: Adam β₁ (TensorFlow's default 0.9, as the reference code).
        beta2: Adam β₂ (0.999).
        supervised_pretrain_steps: steps of supervised pre-training of G_1 (0 for glasses; the
            indoor recipe used 200k).
        supervised_perturbation: std of the sl(3)/affine perturbation G_1 learns to undo there.
        lr_supervised: Adam learning rate of the supervised pre-training (None = lr_g; ours,
            the papers do not give one).
        supervised_lr_schedule: "constant", or "cosine" (lr_supervised decays to 0 over the
            supervised steps along a half cosine; ours).
        critic_pretrain_steps: steps training the critic alone (50k).
        steps_per_stage: steps of each adversarial stage k = 1..warp_n (50k).
        init_stage_from_previous: stage k > 1 starts with G_k a copy of G_{k-1} (else G_k keeps
            its own random initialisation).
    """

    image_size: int = ranged(144, ge=8)
    warp_type: str = "homography"
    composition: str = "true"
    warp_n: int = ranged(5, ge=1)
    predictor_widths: tuple[int, ...] = ranged((32, 64, 128, 256, 512), ge=1)
    fc_dim: int = ranged(256, ge=1)
    critic_widths: tuple[int, ...] = ranged((32, 64, 128, 256, 512), ge=1)
    init_std: float = ranged(0.01, gt=0)
    gp_weight: float = ranged(10.0, ge=0)
    update_weight: float = ranged(1.0, ge=0)
    critic_steps: int = ranged(2, ge=1)
    history_size: int = ranged(10000, ge=0)
    history_fraction: float = ranged(0.5, ge=0, le=1)
    lr_g: float = ranged(1e-5, gt=0)
    lr_d: float = ranged(1e-5, gt=0)
    beta1: float = ranged(0.9, ge=0, lt=1)
    beta2: float = ranged(0.999, ge=0, lt=1)
    supervised_pretrain_steps: int = ranged(0, ge=0)
    supervised_perturbation: float = ranged(0.1, ge=0)
    lr_supervised: float | None = ranged(None, gt=0)
    supervised_lr_schedule: str = "constant"
    critic_pretrain_steps: int = ranged(50000, ge=0)
    steps_per_stage: int = ranged(50000, ge=1)
    init_stage_from_previous: bool = True


@dataclass
class STGANDataConfig(DataConfig):
    """Where ST-GAN's backgrounds, foregrounds and real images come from.

    Attributes:
        dataset: "glasses" (procedural faces and glasses, no files), "folder"
            (:class:`~compogan.data.compositing.CompositingFolder`: root/backgrounds,
            root/reals, root/foregrounds) or "celeba"
            (:class:`~compogan.data.compositing.CelebAGlasses`: aligned CelebA split by the
            Eyeglasses attribute, glasses in root/glasses). Real data has no correct placement
            ("target"), so it cannot serve supervised pre-training.
        root: dataset folder for "folder" and "celeba".
        size: square size of every image (must equal ``model.image_size`` for training).
        length: training items per epoch of "glasses" ("folder" and "celeba" serve one item
            per background).
        test_length: test items of "glasses".
        fg_perturbation: std of the sl(3) perturbation of the initial glasses placement.
        face_perturbation: strength of the random similarity applied to the faces.
    """

    dataset: str = "glasses"
    size: int = 144
    length: int = 10000
    test_length: int = 200
    fg_perturbation: float = 0.1
    face_perturbation: float = 0.1


def check_config(config: STGANConfig) -> None:
    """Raise ConfigError for settings ST-GAN cannot train or run with."""
    if config.warp_type not in WARP_PARAMS:
        raise ConfigError(
            f"unknown stgan warp_type '{config.warp_type}'; use 'homography' or 'affine'"
        )
    if config.composition not in COMPOSITIONS:
        raise ConfigError(
            f"unknown stgan composition '{config.composition}'; use 'true' or 'additive'"
        )
    if config.warp_n < 1:
        raise ConfigError(f"stgan warp_n must be at least 1, got {config.warp_n}")
    if not config.predictor_widths or not config.critic_widths:
        raise ConfigError("stgan predictor_widths and critic_widths need at least one layer each")
    if config.image_size < 8:
        raise ConfigError(f"stgan image_size must be at least 8, got {config.image_size}")
    if config.critic_steps < 1 or config.steps_per_stage < 1:
        raise ConfigError("stgan critic_steps and steps_per_stage must be at least 1")
    if min(config.supervised_pretrain_steps, config.critic_pretrain_steps) < 0:
        raise ConfigError("stgan pre-training step counts must be >= 0")
    if config.supervised_lr_schedule not in ("constant", "cosine"):
        raise ConfigError(
            f"unknown stgan supervised_lr_schedule '{config.supervised_lr_schedule}'; "
            "use 'constant' or 'cosine'"
        )


def predictor_names(warp_n: int) -> tuple[str, ...]:
    """Network names of the warp predictors: ("G1", ..., "G<warp_n>")."""
    return tuple(f"G{k}" for k in range(1, warp_n + 1))


@dataclass
class Warp:
    """A placement being refined.

    Attributes:
        matrix: (N, 3, 3) canonical homographies, foreground frame -> background frame.
        params: (N, n_params) its parameters, kept only for additive composition.
    """

    matrix: Tensor
    params: Tensor | None = None


def _resize(images: Tensor, size: int) -> Tensor:
    """Resize (N, C, H, W) images to size x size (bilinear, antialiased when shrinking)."""
    if images.shape[-2:] == (size, size):
        return images
    return F.interpolate(
        images, size=(size, size), mode="bilinear", align_corners=False, antialias=True
    )


def _resize_rgba(rgba: Tensor, size: int) -> Tensor:
    """Resize (N, 4, h, w) RGBA to size x size with premultiplied alpha (no colour bleeding)."""
    if rgba.shape[-2:] == (size, size):
        return rgba
    alpha = rgba[:, 3:]
    resized = _resize(torch.cat([rgba[:, :3] * alpha, alpha], dim=1), size)
    new_alpha = resized[:, 3:].clamp(0.0, 1.0)
    colour = resized[:, :3] / new_alpha.clamp_min(_ALPHA_EPSILON)
    colour = torch.where(new_alpha > _ALPHA_EPSILON, colour, torch.zeros_like(colour))
    return torch.cat([colour.clamp(-1.0, 1.0), new_alpha], dim=1)


class STGAN(GANModel):
    """ST-GAN with ``warp_n`` warp predictors ("G1".."GN") and a strided WGAN-GP critic ("D").

    Batches (see :mod:`compogan.data.synthetic.glasses_compositing`) hold "bg" (N,3,S,S) and
    "real" (N,3,S,S) in [-1,1], "fg" (N,4,S,S) RGBA (colour in [-1,1], alpha in [0,1]), "init"
    and "target" (N,3,3) canonical foreground -> background homographies, with S = ``image_size``.

    Training runs ``total_training_steps()`` steps, which ``train.steps`` must equal; the phase
    of each step follows from the model's own step counter (saved with the training state).
    """

    name = "stgan"
    description = "ST-GAN (Lin et al. 2018): warp a foreground onto a background, e.g. glasses"
    Config = STGANConfig
    DataConfig = STGANDataConfig
    data_kind = "compositing"
    network_names = ("G1", "D")  # per instance: G1..G<warp_n>, D
    uncompiled_networks = ("D",)  # the WGAN-GP penalty differentiates D's gradient
    tasks = ("compose",)

    def __init__(self, config: STGANConfig, data_config: STGANDataConfig | None = None) -> None:
        check_config(config)
        self.network_names = (*predictor_names(config.warp_n), "D")
        super().__init__(config, data_config)

    # ---- networks ------------------------------------------------------------------------------
    def build_networks(self) -> None:
        c = self.config
        self.n_params = WARP_PARAMS[c.warp_type]
        for name in predictor_names(c.warp_n):
            predictor = WarpPredictor(
                c.image_size, self.n_params, c.predictor_widths, c.fc_dim, init_std=c.init_std
            )
            setattr(self, name, predictor)
        self.D = init_weights(StridedCritic(3, c.critic_widths), kind="normal", gain=c.init_std)
        self.gan_loss = AdversarialLoss("wgan")
        self.replay = ReplayBuffer(c.history_size)

    @property
    def predictors(self) -> list[WarpPredictor]:
        """The plain warp predictors G_1..G_N, in order."""
        return [getattr(self, name) for name in predictor_names(self.config.warp_n)]

    # ---- the schedule --------------------------------------------------------------------------
    def total_training_steps(self) -> int:
        """Steps of a full run: supervised + critic pre-training + warp_n x steps_per_stage."""
        c = self.config
        return c.supervised_pretrain_steps + c.critic_pretrain_steps + c.warp_n * c.steps_per_stage

    def recipe_steps(self) -> int:
        return self.total_training_steps()

    def stage_start(self, stage: int) -> int:
        """The step (0-based) at which adversarial stage ``stage`` (1..warp_n) begins."""
        c = self.config
        return (
            c.supervised_pretrain_steps + c.critic_pretrain_steps + (stage - 1) * c.steps_per_stage
        )

    def phase_at(self, step: int) -> tuple[str, int]:
        """The phase of 0-based training step ``step`` and the predictor it trains.

        Returns ("supervised", 1), ("critic", 0) or ("stage", k); steps past the end of the
        schedule stay in stage warp_n.
        """
        c = self.config
        if step < c.supervised_pretrain_steps:
            return "supervised", 1
        if step < self.stage_start(1):
            return "critic", 0
        stage = (step - self.stage_start(1)) // c.steps_per_stage + 1
        return "stage", min(stage, c.warp_n)

    # ---- which predictors a run has trained (the compose pipeline's coverage check) -----------
    def networks_trained_by_config(self) -> tuple[str, ...]:
        """The networks trained by the steps run so far: G_1 once supervised pre-training or
        stage 1 has run a step, G_k (k > 1) once stage k has, D once a critic update has run.

        A model that has not trained at all (``step_count`` 0: a fresh model built in Python)
        counts as its whole schedule, as EdgeConnect's modes do; a run stopped early
        (``train.stop_after``, ``train.max_minutes``, Ctrl-C) saves only the stages it reached.
        """
        done = self.step_count
        if done == 0:
            return self.network_names
        c = self.config
        trained = {f"G{k}" for k in range(1, c.warp_n + 1) if done > self.stage_start(k)}
        if c.supervised_pretrain_steps > 0:
            trained.add("G1")
        if done > c.supervised_pretrain_steps:
            trained.add("D")
        return tuple(name for name in self.network_names if name in trained)

    def inference_networks(self, task: str, steps: int | None = None) -> tuple[str, ...]:
        """Placement runs G_1..G_steps (default: all ``warp_n`` predictors)."""
        if task != "compose":
            return ()
        return predictor_names(self.config.warp_n if steps is None else steps)

    def untrained_hint(self, missing: Sequence[str]) -> str:
        return (
            f"the run stopped before the stages of {', '.join(missing)}; resume it "
            "(compogan train --resume RUN_DIR) to train them, or place with fewer steps in Python "
            "(STGAN.place(..., steps=k))"
        )

    # ---- optimisation --------------------------------------------------------------------------
    def configure_optimizers(self) -> None:
        """One Adam per predictor ("G1".."GN"), "S" on G1 for supervised pre-training, "D".

        The lr of "S" follows ``supervised_lr_schedule`` over the supervised steps; the others
        are constant.

        Raises:
            ConfigError: the data size differs from ``image_size``.
        """
        c = self.config
        if self.data_config.size != c.image_size:
            raise ConfigError(
                f"data.size ({self.data_config.size}) must equal model.image_size "
                f"({c.image_size}) for training"
            )
        betas = (c.beta1, c.beta2)
        for name in predictor_names(c.warp_n):
            self.add_optimizer(name, (name,), torch.optim.Adam, lr=c.lr_g, betas=betas)
        if c.supervised_pretrain_steps > 0:
            schedule = ScheduleConfig(
                kind=c.supervised_lr_schedule,
                end=c.supervised_pretrain_steps / self.total_training_steps(),
            )
            lr = c.lr_g if c.lr_supervised is None else c.lr_supervised
            self.add_optimizer("S", ("G1",), torch.optim.Adam, schedule, lr=lr, betas=betas)
        self.add_optimizer("D", ("D",), torch.optim.Adam, lr=c.lr_d, betas=betas)

    # ---- warps ---------------------------------------------------------------------------------
    def initial_warp(self, init: Tensor) -> Warp:
        """The starting placement from (N, 3, 3) matrices (with parameters if additive).

        Raises:
            InputError: additive composition with a placement that has no parameters of this
                warp type (e.g. a projective placement with affine warps).
        """
        init = init.to(self.device, torch.float32)
        if self.config.composition != "additive":
            return Warp(init)
        try:
            with self.full_precision():
                params = matrix_to_params(init, self.n_params)
        except InputError as error:
            raise InputError(
                f"additive composition needs initial placements with {self.config.warp_type} "
                f"parameters, and this one has none ({error}); use composition 'true'"
            ) from None
        return Warp(init, params)

    def update_warp(self, warp: Warp, dp: Tensor) -> Warp:
        """Apply a predicted (N, n_params) update after ``warp`` (true or additive composition),
        in float32."""
        with self.full_precision():
            if warp.params is not None:
                params = warp.params + dp
                return Warp(params_to_matrix(params), params)
            return Warp(compose_matrices(warp.matrix, params_to_matrix(dp)))

    def predict_update(self, predictor: nn.Module, fg: Tensor, bg: Tensor, warp: Warp) -> Tensor:
        """dp (N, n_params) float32 from bg (N,3,S,S) ⊕ fg (N,4,S,S) warped by ``warp``."""
        with self.full_precision():
            warped_fg = warp_rgba(fg, warp.matrix, (bg.shape[2], bg.shape[3]))
        return predictor(torch.cat([bg, warped_fg], dim=1)).float()

    @torch.no_grad()
    def refine(self, fg: Tensor, bg: Tensor, init: Tensor, steps: int) -> list[Warp]:
        """The placements after 0, 1, ..., ``steps`` predictor updates (no gradients).

        Args:
            fg: (N, 4, S, S) RGBA foreground at ``image_size``.
            bg: (N, 3, S, S) background in [-1, 1] at ``image_size``.
            init: (N, 3, 3) initial placements.
            steps: how many of G_1..G_N to apply.
        """
        warps = [self.initial_warp(init)]
        for predictor in self.predictors[:steps]:
            warps.append(
                self.update_warp(warps[-1], self.predict_update(predictor, fg, bg, warps[-1]))
            )
        return warps

    # ---- losses and the training step ----------------------------------------------------------
    def _batch_tensors(self, batch: dict[str, Tensor], *keys: str) -> list[Tensor]:
        """The named batch entries on the model's device, checked against the data contract."""
        size = self.config.image_size
        shapes = {
            "bg": (3, size, size),
            "real": (3, size, size),
            "fg": (4, size, size),
            "init": (3, 3),
            "target": (3, 3),
        }
        tensors = []
        for key in keys:
            if key not in batch:
                raise InputError(f"the ST-GAN batch has no '{key}'; it needs {', '.join(keys)}")
            tensor = batch[key].to(self.device)
            if tuple(tensor.shape[1:]) != shapes[key]:
                raise InputError(
                    f"batch '{key}' must be (N, {', '.join(map(str, shapes[key]))}), got "
                    f"{tuple(tensor.shape)}; data.size must equal model.image_size"
                )
            tensors.append(tensor)
        return tensors

    def critic_losses(self, state: StepState) -> dict[str, Tensor]:
        """One WGAN-GP update of D: real images against the step's fakes (N,3,S,S).

        Real and fake scores come from one pass of the (possibly DDP-wrapped) critic; the
        gradient penalty at fresh interpolates uses the plain critic in the same backward pass.
        Returns "D" = E[D(fake)] − E[D(real)] and "gp" (the weighted penalty).
        """
        real, fakes = state["real"], state["fakes"]
        scores = self.nets.D(torch.cat([real, fakes], dim=0)).float()
        real_scores, fake_scores = scores.split([real.shape[0], fakes.shape[0]])
        return {
            "D": self.gan_loss(fake_scores, False) + self.gan_loss(real_scores, True),
            "gp": gradient_penalty(self.D, real, fakes, weight=self.config.gp_weight).float(),
        }

    def supervised_losses(self, state: StepState) -> dict[str, Tensor]:
        """G_1 learns to undo a random perturbation of the correct placement (indoor recipe).

        The start is ``expm(A(q)) @ target`` with q ~ N(0, supervised_perturbation²); the loss
        is E‖dp − dp*‖² with dp* the update that gives back ``target`` exactly: −q for true
        composition, ``params(target) − params(start)`` for additive.
        """
        bg, fg, target = state["bg"], state["fg"], state["target"].float()
        perturbation = self.config.supervised_perturbation * torch.randn(
            bg.shape[0], self.n_params, device=self.device
        )
        with self.full_precision():
            start = self.initial_warp(compose_matrices(target, params_to_matrix(perturbation)))
            if start.params is None:
                wanted = -perturbation
            else:
                wanted = matrix_to_params(target, self.n_params) - start.params
        dp = self.predict_update(self.nets.G1, fg, bg, start)
        return {"supervised": (dp - wanted).pow(2).sum(dim=1).mean()}

    def stage_losses(self, state: StepState) -> dict[str, Tensor]:
        """Stage k's predictor G_k against the frozen critic, after the frozen G_1..G_{k-1};
        leaves its composites, mixed with the history, in ``state`` as the critic's fakes."""
        bg, fg, init, stage = state["bg"], state["fg"], state["init"], state["stage"]
        start = self.refine(fg, bg, init, stage - 1)[-1]
        dp = self.predict_update(getattr(self.nets, f"G{stage}"), fg, bg, start)
        with self.full_precision():
            composite, _ = composite_warped(fg, bg, self.update_warp(start, dp).matrix)
        state["fakes"] = self.replay.mix(composite.detach(), self.config.history_fraction)
        return {
            "G": self.gan_loss(self.nets.D(composite).float(), True, for_discriminator=False),
            "update": self.config.update_weight * dp.pow(2).sum(dim=1).mean(),
        }

    def start_stage(self, stage: int) -> None:
        """Begin stage ``stage``: G_k copies G_{k-1} (if configured); the history is cleared."""
        if stage > 1 and self.config.init_stage_from_previous:
            getattr(self, f"G{stage}").load_state_dict(getattr(self, f"G{stage - 1}").state_dict())
        self.replay.clear()

    def begin_step(self, batch: dict[str, Tensor]) -> StepState:
        """The batch entries the step's phase needs, checked and on the device; while the
        critic trains alone, its fakes (composites at the initial placement); at the first
        step of a stage, the start of that stage."""
        phase, stage = self.phase_at(self.step_count)
        keys = ("bg", "fg", "target") if phase == "supervised" else ("bg", "fg", "init", "real")
        state: StepState = dict(zip(keys, self._batch_tensors(batch, *keys), strict=True))
        state["stage"] = stage
        if phase == "critic":
            with torch.no_grad(), self.full_precision():
                fakes, _ = composite_warped(state["fg"], state["bg"], state["init"].float())
            state["fakes"] = fakes
        if phase == "stage" and self.step_count == self.stage_start(stage):
            self.start_stage(stage)
        return state

    def training_phases(self) -> tuple[Phase, ...]:
        """The phase the step counter is in (see :meth:`phase_at`): G_1's supervised update;
        ``critic_steps`` critic updates; or G_k's update, then ``critic_steps`` critic updates
        on the same real images and fakes, each with fresh gradient-penalty interpolates."""
        phase, stage = self.phase_at(self.step_count)
        critic = Phase("D", ("D",), self.critic_losses, repeats=self.config.critic_steps)
        if phase == "supervised":
            return (Phase("S", ("S",), self.supervised_losses),)
        if phase == "critic":
            return (critic,)
        return (Phase(f"G{stage}", (f"G{stage}",), self.stage_losses), critic)

    # ---- state beyond the networks -------------------------------------------------------------
    def extra_training_state(self) -> dict[str, Any]:
        return {"replay": self.replay.state_dict()}

    def load_extra_training_state(self, state: dict[str, Any]) -> None:
        self.replay.load_state_dict(state["replay"], self.device)

    # ---- inference -----------------------------------------------------------------------------
    def _check_place_inputs(self, fg_rgba: Tensor, bg: Tensor, init: Tensor, steps: int) -> Tensor:
        """Validate place()'s arguments; return ``init`` as (N, 3, 3)."""
        if fg_rgba.dim() != 4 or fg_rgba.shape[1] != 4:
            raise InputError(
                f"the foreground must be (N, 4, h, w) RGBA, got {tuple(fg_rgba.shape)}"
            )
        if bg.dim() != 4 or bg.shape[1] != 3 or bg.shape[0] != fg_rgba.shape[0]:
            raise InputError(
                f"the background must be (N, 3, H, W) with the foreground's N, got "
                f"{tuple(bg.shape)} for a foreground of {tuple(fg_rgba.shape)}"
            )
        if init.shape not in ((3, 3), (bg.shape[0], 3, 3)):
            raise InputError(
                f"init must be (N, 3, 3) or (3, 3) placements, got {tuple(init.shape)}"
            )
        if not 0 <= steps <= self.config.warp_n:
            raise InputError(f"steps must be between 0 and {self.config.warp_n}, got {steps}")
        return init.expand(bg.shape[0], 3, 3)

    @torch.no_grad()
    def place(
        self,
        fg_rgba: Tensor,
        bg: Tensor,
        init: Tensor,
        steps: int | None = None,
        keep_steps: bool = True,
    ) -> tuple[Tensor, Tensor, list[Tensor]]:
        """Place a foreground on a background, at any resolution of either.

        The predictors see the background and the foreground resized to ``image_size``; the
        warps they find are canonical, so the composites apply them to the full-resolution
        images.

        Args:
            fg_rgba: (N, 4, h, w) foreground, colour in [-1, 1], alpha in [0, 1].
            bg: (N, 3, H, W) background in [-1, 1].
            init: (N, 3, 3) or (3, 3) initial placements (canonical fg -> bg homographies).
            steps: how many predictors to apply (default: all ``warp_n``).
            keep_steps: also composite every intermediate placement at full resolution
                (otherwise the returned list is empty: one full-resolution composite only).

        Returns:
            (composite (N, 3, H, W) in [-1, 1], final warp (N, 3, 3), composites after 0, 1, ...,
            ``steps`` updates, the first at ``init`` and the last equal to ``composite``).

        Raises:
            InputError: bad shapes or ``steps``, or a placement that cannot be warped.
        """
        steps = self.config.warp_n if steps is None else steps
        init = self._check_place_inputs(fg_rgba, bg, init, steps)
        fg_rgba, bg = fg_rgba.to(self.device).float(), bg.to(self.device).float()
        size = self.config.image_size
        warps = self.refine(_resize_rgba(fg_rgba, size), _resize(bg, size), init, steps)
        if not keep_steps:
            return composite_warped(fg_rgba, bg, warps[-1].matrix)[0], warps[-1].matrix, []
        composites = [composite_warped(fg_rgba, bg, warp.matrix)[0] for warp in warps]
        return composites[-1], warps[-1].matrix, composites

    @torch.no_grad()
    def visuals(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Composites at the initial placement ("init") and after each step ("step1"...), real."""
        bg, fg, init = self._batch_tensors(batch, "bg", "fg", "init")
        warps = self.refine(fg, bg, init, self.config.warp_n)
        images = {"init": composite_warped(fg, bg, warps[0].matrix)[0]}
        for step, warp in enumerate(warps[1:], start=1):
            images[f"step{step}"] = composite_warped(fg, bg, warp.matrix)[0]
        if "real" in batch:
            images["real"] = batch["real"].to(self.device)
        return images
