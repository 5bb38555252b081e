"""The shared training step: every model's phases run under autocast, with the shared checks."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
import torch
from test_edgeconnect import TINY as TINY_EDGECONNECT
from test_edgeconnect import batch as edgeconnect_batch
from test_pix2pix import random_images, tiny_pix2pix
from test_seigan import batch as seigan_batch
from test_seigan import tiny as tiny_seigan
from test_stgan import contract_batch, tiny_model

from compogan.errors import TrainingDivergedError
from compogan.models.base import GANModel
from compogan.models.cyclegan import CycleGAN, CycleGANConfig
from compogan.models.edgeconnect import MODES, EdgeConnect
from compogan.models.ingan import InGAN, InGANConfig, InGANDataConfig
from compogan.models.phases import Phase
from compogan.models.posewarp import PoseWarp, PoseWarpConfig, PoseWarpDataConfig
from compogan.train.precision import native_bf16_cpu


def cyclegan_case() -> tuple[GANModel, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    model = CycleGAN(CycleGANConfig(ngf=8, n_blocks=1, ndf=8)).train()
    model.configure_optimizers()
    return model, {"A": torch.rand(2, 3, 32, 32) * 2 - 1, "B": torch.rand(2, 3, 32, 32) * 2 - 1}


def edgeconnect_case(mode: str) -> Callable[[], tuple[GANModel, dict[str, torch.Tensor]]]:
    def case() -> tuple[GANModel, dict[str, torch.Tensor]]:
        torch.manual_seed(0)
        model = EdgeConnect(replace(TINY_EDGECONNECT, mode=mode)).train()
        model.configure_optimizers()
        return model, edgeconnect_batch()

    return case


def stgan_case() -> tuple[GANModel, dict[str, torch.Tensor]]:
    return tiny_model().train(), contract_batch()


def pix2pix_case() -> tuple[GANModel, dict[str, torch.Tensor]]:
    model = tiny_pix2pix().train()
    model.configure_optimizers()
    return model, {"A": random_images(2, 32, 32, seed=1), "B": random_images(2, 32, 32, seed=2)}


def seigan_case() -> tuple[GANModel, dict[str, torch.Tensor]]:
    model = tiny_seigan().train()
    model.configure_optimizers()
    return model, seigan_batch()


def ingan_case() -> tuple[GANModel, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    config = InGANConfig(base_channels=8, d_base_channels=8, n_blocks=1, inverse_start_step=1)
    model = InGAN(config, InGANDataConfig(image="skimage:brick", size=64, max_side=96)).train()
    model.configure_optimizers()
    return model, {"image": torch.rand(1, 3, 64, 64) * 2 - 1}


def posewarp_case(stage: int) -> Callable[[], tuple[GANModel, dict[str, torch.Tensor]]]:
    def case() -> tuple[GANModel, dict[str, torch.Tensor]]:
        from compogan.data.synthetic.figures import SyntheticFigures

        torch.manual_seed(0)
        config = PoseWarpConfig(
            encoder_widths=[4] * 11,
            segmentation_decoder_widths=[4] * 5,
            synthesis_decoder_widths=[4] * 5,
            d_widths=[4, 4, 4],
            d_dense=8,
            stage=stage,
            d_warmup_steps=1,
            stats_images=2,
            vgg_random_init=True,
        )
        model = PoseWarp(config, PoseWarpDataConfig(size=64, length=2)).train()
        model.configure_optimizers()
        items = [SyntheticFigures(64, 2, split="test")[i] for i in range(2)]
        return model, {key: torch.stack([item[key] for item in items]) for key in items[0]}

    return case


CASES = {
    "ingan": ingan_case,
    **{f"posewarp-stage{stage}": posewarp_case(stage) for stage in (1, 2)},
    "cyclegan": cyclegan_case,
    "pix2pix": pix2pix_case,
    "seigan": seigan_case,
    "stgan": stgan_case,
    **{f"edgeconnect-{mode}": edgeconnect_case(mode) for mode in MODES},
}


class AutocastProbe:
    """Stands in for ``GANModel.autocast``: counts entries and records, per phase run, whether
    the phase's losses were computed inside it."""

    def __init__(self) -> None:
        self.entries = 0
        self.inside = False
        self.phase_runs: list[tuple[str, bool]] = []

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        self.entries += 1
        self.inside = True
        try:
            yield
        finally:
            self.inside = False

    def watch(self, phase: Phase) -> Phase:
        def losses(state: dict) -> dict[str, torch.Tensor]:
            self.phase_runs.append((phase.name, self.inside))
            return phase.losses(state)

        return replace(phase, losses=losses)


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_every_phase_of_every_model_runs_under_autocast(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, batch = CASES[case]()
    probe = AutocastProbe()
    monkeypatch.setattr(GANModel, "autocast", probe.autocast)
    phases = type(model).training_phases
    monkeypatch.setattr(
        type(model), "training_phases", lambda self: [probe.watch(p) for p in phases(self)]
    )
    for _ in range(4):  # ST-GAN's first steps cover its supervised, critic and stage phases
        model.training_step(batch)
    assert probe.phase_runs, "no phase ran"
    assert all(inside for _, inside in probe.phase_runs), probe.phase_runs
    assert probe.entries >= len(probe.phase_runs)


@pytest.mark.skipif(native_bf16_cpu() is None, reason="this CPU has no native bf16")
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_every_model_trains_under_real_cpu_bf16_autocast(case: str) -> None:
    model, batch = CASES[case]()
    model.autocast_dtype = torch.bfloat16
    conv_dtypes: set[torch.dtype] = set()
    hooks = [
        module.register_forward_hook(lambda _m, _i, out: conv_dtypes.add(out.dtype))
        for module in model.modules()
        if isinstance(module, torch.nn.Conv2d)
    ]
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    for _ in range(4):
        losses = model.training_step(batch)
    for hook in hooks:
        hook.remove()
    assert torch.bfloat16 in conv_dtypes  # the convolutions ran in bf16
    assert all(torch.isfinite(torch.as_tensor(value)).all() for value in losses.values())
    params = dict(model.named_parameters())
    assert all(p.dtype == torch.float32 for p in params.values())  # master weights stay fp32
    assert any(not torch.equal(before[name], params[name]) for name in before)


def test_stgan_runs_its_critic_twice_per_predictor_update(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model, batch = stgan_case()
    probe = AutocastProbe()
    phases = type(model).training_phases
    monkeypatch.setattr(
        type(model), "training_phases", lambda self: [probe.watch(p) for p in phases(self)]
    )
    for _ in range(3):
        model.training_step(batch)
    names = [name for name, _ in probe.phase_runs]
    critic_steps = model.config.critic_steps
    assert names == ["S", *["D"] * critic_steps, "G1", *["D"] * critic_steps]


@pytest.mark.parametrize("network", ["G_A", "G_B"])
def test_a_non_finite_gradient_stops_before_the_optimiser_steps(network: str) -> None:
    model, batch = cyclegan_case()
    phases = CycleGAN.training_phases(model)

    def poisoned(state: dict) -> dict[str, torch.Tensor]:
        losses = phases[0].losses(state)
        # finite loss, non-finite gradient: d/dx sqrt(x) at 0
        weight = next(getattr(model.nets, network).parameters())
        losses["poison"] = torch.sqrt((weight * 0).sum().abs())
        return losses

    phase = replace(phases[0], losses=poisoned)
    before = {
        name: {k: v.clone() for k, v in getattr(model, name).state_dict().items()}
        for name in ("G_A", "G_B")
    }
    with pytest.raises(TrainingDivergedError, match=f"gradients of {network} "):
        model.run_phase(phase, model.begin_step(batch))
    for name, weights in before.items():
        after = getattr(model, name).state_dict()
        assert all(torch.equal(weights[k], after[k]) for k in weights)


class _HugeGradient(torch.autograd.Function):
    """A zero loss whose gradient is 3e38 in every element: finite, but its sum overflows."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor) -> torch.Tensor:
        ctx.shape = weight.shape
        return weight.new_zeros(())

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return torch.full(ctx.shape, 3e38)


def test_huge_but_finite_gradients_are_not_divergence() -> None:
    model, batch = cyclegan_case()
    phases = CycleGAN.training_phases(model)

    def huge(state: dict) -> dict[str, torch.Tensor]:
        losses = phases[0].losses(state)
        losses["huge"] = _HugeGradient.apply(next(model.nets.G_A.parameters()))
        return losses

    weight, last = next(model.G_A.parameters()), list(model.G_A.parameters())[-1]
    before = last.detach().clone()
    model.run_phase(replace(phases[0], losses=huge), model.begin_step(batch))
    assert torch.isinf(weight.grad.sum()) and torch.isfinite(weight.grad).all()
    assert not torch.equal(before, last.detach())  # no error, and the optimiser stepped


def test_a_non_finite_loss_names_the_loss() -> None:
    model, batch = cyclegan_case()
    phase = Phase("G", ("G",), lambda state: {"cycle": torch.tensor(float("nan"))})
    with pytest.raises(TrainingDivergedError, match="loss 'cycle' became nan"):
        model.run_phase(phase, model.begin_step(batch))


def test_only_the_phase_networks_get_gradients_and_wrappers() -> None:
    model, batch = cyclegan_case()
    seen: dict[str, object] = {}
    model.distribute(lambda net: torch.nn.Sequential(net))

    def probe(state: dict) -> dict[str, torch.Tensor]:
        seen.update(
            d_grad=any(p.requires_grad for p in model.D_A.parameters()),
            g_grad=all(p.requires_grad for p in model.G_A.parameters()),
            g_wrapped=isinstance(model.nets.G_A, torch.nn.Sequential),
            d_plain=model.nets.D_A is model.D_A,
        )
        return {"l1": model.nets.G_A(state["A"]).abs().mean()}

    model.run_phase(Phase("G", ("G",), probe), model.begin_step(batch))
    assert seen == {"d_grad": False, "g_grad": True, "g_wrapped": True, "d_plain": True}
    assert model.nets.G_A is model.G_A  # wrappers are only handed out inside a phase


def test_phase_declarations_are_checked() -> None:
    with pytest.raises(ValueError, match="names no optimiser"):
        Phase("G", (), lambda state: {})
    with pytest.raises(ValueError, match="at least 1"):
        Phase("D", ("D",), lambda state: {}, repeats=0)
