"""ST-GAN: warp predictors, the sequential training phases, composition, inference, checkpoints."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

import compogan
from compogan.config import load_config, section_object
from compogan.errors import ConfigError, InputError
from compogan.geometry import affine_to_matrix, sl3_to_matrix
from compogan.io.checkpoints import read_weights
from compogan.models.stgan import STGAN, STGANConfig, STGANDataConfig
from compogan.nn import WarpPredictor, init_weights
from compogan.registry import get_model_class
from compogan.train import Trainer
from compogan.train.schedules import build_schedulers

ROOT = Path(__file__).resolve().parents[1]
SIZE = 32
TINY = STGANConfig(
    image_size=SIZE,
    warp_n=2,
    predictor_widths=(4, 8, 8, 8, 8),
    fc_dim=16,
    critic_widths=(4, 8, 8, 8, 8),
    lr_g=1e-3,
    lr_d=1e-3,
    history_size=8,
    supervised_pretrain_steps=1,
    critic_pretrain_steps=1,
    steps_per_stage=2,
)


def tiny_model(**changes: object) -> STGAN:
    torch.manual_seed(0)
    config = replace(TINY, **changes)
    model = STGAN(config, STGANDataConfig(size=config.image_size))
    model.configure_optimizers()
    return model


def similarity(scale: float, angle: float, tx: float, ty: float) -> torch.Tensor:
    cos, sin = scale * np.cos(angle), scale * np.sin(angle)
    return torch.tensor([[cos, -sin, tx], [sin, cos, ty], [0.0, 0.0, 1.0]], dtype=torch.float32)


def contract_item(rng: np.random.Generator, size: int) -> dict[str, torch.Tensor]:
    """One item shaped like GlassesCompositing's: random images, a bar as glasses, true warps."""
    fg = torch.from_numpy(rng.uniform(-1, 1, (4, size, size)).astype(np.float32))
    fg[3] = 0.0
    fg[3, size // 3 : size // 2, size // 5 : -size // 5] = 1.0
    target = similarity(*(1 + 0.1 * rng.normal(), *(0.1 * rng.normal(size=3))))
    perturbation = torch.from_numpy(0.1 * rng.normal(size=(1, 8))).float()
    return {
        "bg": torch.from_numpy(rng.uniform(-1, 1, (3, size, size)).astype(np.float32)),
        "fg": fg,
        "target": target,
        "init": target @ sl3_to_matrix(perturbation)[0],
        "real": torch.from_numpy(rng.uniform(-1, 1, (3, size, size)).astype(np.float32)),
        "landmarks": torch.zeros(5, 2),
    }


def contract_batch(n: int = 4, size: int = SIZE, seed: int = 0) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(seed)
    items = [contract_item(rng, size) for _ in range(n)]
    return {key: torch.stack([item[key] for item in items]) for key in items[0]}


class ContractGlasses(Dataset):
    """A tiny deterministic stand-in for GlassesCompositing (same item contract, same seeding)."""

    def __init__(self, size: int, length: int, seed: int = 0) -> None:
        self.size, self.length, self.seed, self.epoch = size, length, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return contract_item(np.random.default_rng([self.seed, self.epoch, index]), self.size)


@torch.no_grad()
def make_updates_sizeable(predictor: WarpPredictor, seed: int) -> None:
    """Re-initialise a predictor so that its updates are ~0.1 and depend on the input."""
    torch.manual_seed(seed)
    init_weights(predictor, kind="normal", gain=0.1)
    predictor.fc[-1].bias.normal_(0.0, 0.1)


def snapshot(model: STGAN) -> dict[str, list[torch.Tensor]]:
    return {
        name: [p.detach().clone() for p in getattr(model, name).parameters()]
        for name in model.network_names
    }


def changed(model: STGAN, before: dict[str, list[torch.Tensor]]) -> set[str]:
    return {
        name
        for name, params in before.items()
        if any(
            not torch.equal(a, b)
            for a, b in zip(params, getattr(model, name).parameters(), strict=True)
        )
    }


# ---- networks ----------------------------------------------------------------------------------
def test_predictor_outputs_small_updates_of_the_right_shape() -> None:
    torch.manual_seed(0)
    predictor = WarpPredictor(SIZE, 8, widths=(4, 8, 8, 8, 8), fc_dim=16)
    dp = predictor(torch.randn(3, 7, SIZE, SIZE))
    assert dp.shape == (3, 8)
    assert 0 < dp.abs().max() < 1e-3
    assert WarpPredictor(36, 6, widths=(4, 4, 4), fc_dim=8)(torch.randn(1, 7, 36, 36)).shape == (
        1,
        6,
    )
    with pytest.raises(InputError, match="32x32"):
        predictor(torch.randn(1, 7, 64, 64))


def test_predictor_has_the_paper_layout_at_144_px() -> None:
    predictor = WarpPredictor(144, 8)
    convs = [m for m in predictor.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128, 256, 512]
    assert [c.in_channels for c in convs] == [7, 39, 71, 135, 263]  # the image re-enters each time
    assert not any(isinstance(m, nn.InstanceNorm2d | nn.BatchNorm2d) for m in predictor.modules())
    linears = [m for m in predictor.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(519 * 5 * 5, 256), (256, 8)]
    assert all(float(m.bias.detach().abs().max()) == 0 for m in linears)
    assert float(linears[0].weight.detach().std()) == pytest.approx(0.01, rel=0.05)


def test_model_networks_follow_the_config() -> None:
    model = tiny_model(warp_n=3, warp_type="affine")
    assert model.network_names == ("G1", "G2", "G3", "D")
    assert model.G3.fc[-1].out_features == 6
    assert model.D(torch.zeros(2, 3, SIZE, SIZE)).shape == (2, 1, 1, 1)
    assert set(model.optimizers) == {"G1", "G2", "G3", "S", "D"}
    assert model.lr_schedules["S"].kind == "constant"
    assert model.optimizer_networks["S"] == ("G1",)
    assert get_model_class("stgan") is STGAN


# ---- training phases ---------------------------------------------------------------------------
def test_each_phase_trains_only_its_networks() -> None:
    model = tiny_model()
    assert model.total_training_steps() == 1 + 1 + 2 * 2
    expected = [
        (("supervised", 1), {"supervised"}, {"G1"}),
        (("critic", 0), {"D", "gp"}, {"D"}),
        (("stage", 1), {"G", "update", "D", "gp"}, {"G1", "D"}),
        (("stage", 1), {"G", "update", "D", "gp"}, {"G1", "D"}),
        (("stage", 2), {"G", "update", "D", "gp"}, {"G2", "D"}),
    ]
    for step, (phase, loss_names, trained) in enumerate(expected):
        assert model.phase_at(step) == phase
        before = snapshot(model)
        losses = model.training_step(contract_batch(seed=step))
        assert set(losses) == loss_names, phase
        assert all(torch.isfinite(value) and value.dim() == 0 for value in losses.values())
        assert changed(model, before) == trained, phase
    assert model.step_count == 5


def test_stage_start_copies_the_previous_predictor() -> None:
    model = tiny_model(supervised_pretrain_steps=0, steps_per_stage=1)
    for step in range(2):  # critic pre-training, stage 1
        model.training_step(contract_batch(seed=step))
    assert not torch.equal(model.G1.fc[-1].weight, model.G2.fc[-1].weight)
    g1 = {key: value.clone() for key, value in model.G1.state_dict().items()}
    model.start_stage(2)
    assert all(torch.equal(g1[key], value) for key, value in model.G2.state_dict().items())

    independent = tiny_model(supervised_pretrain_steps=0, init_stage_from_previous=False)
    g2 = independent.G2.fc[-1].weight.clone()
    independent.start_stage(2)
    assert torch.equal(independent.G2.fc[-1].weight, g2)


def test_history_fills_during_a_stage_and_is_cleared_at_the_next() -> None:
    model = tiny_model(supervised_pretrain_steps=0, critic_pretrain_steps=0, steps_per_stage=3)
    model.training_step(contract_batch(seed=0))
    assert len(model.replay) == 4  # the first batch is stored whole
    model.training_step(contract_batch(seed=1))
    assert len(model.replay) == 6  # then half of each batch goes in, half comes out
    model.training_step(contract_batch(seed=2))
    model.training_step(contract_batch(seed=3))  # stage 2 starts: a fresh history
    assert len(model.replay) == 4


def test_affine_warps_and_additive_composition_train() -> None:
    model = tiny_model(
        warp_type="affine",
        composition="additive",
        supervised_pretrain_steps=1,
        critic_pretrain_steps=0,
    )
    batch = contract_batch()
    batch["init"] = batch["target"] @ affine_to_matrix(0.1 * torch.randn(4, 6))
    for _ in range(2):
        losses = model.training_step(batch)
    assert all(torch.isfinite(value) for value in losses.values())


# ---- warps -------------------------------------------------------------------------------------
def test_true_and_additive_composition_agree_for_one_step_from_identity() -> None:
    true_model = tiny_model()
    additive = tiny_model(composition="additive")
    for model in (true_model, additive):
        make_updates_sizeable(model.G1, seed=1)
    batch = contract_batch()
    identity = torch.eye(3).expand(4, 3, 3)
    warps = [
        m.refine(batch["fg"], batch["bg"], identity, 1)[-1].matrix for m in (true_model, additive)
    ]
    assert (warps[0] - torch.eye(3)).abs().max() > 1e-2
    torch.testing.assert_close(warps[0], warps[1], atol=1e-5, rtol=1e-5)

    two_steps = [
        m.refine(batch["fg"], batch["bg"], batch["init"], 2) for m in (true_model, additive)
    ]
    torch.testing.assert_close(two_steps[1][0].matrix, batch["init"])
    assert (two_steps[0][2].matrix - two_steps[1][2].matrix).abs().max() > 1e-6


def test_true_composition_applies_the_update_after_the_current_warp() -> None:
    model = tiny_model()
    init = sl3_to_matrix(0.2 * torch.randn(2, 8))
    dp = 0.1 * torch.randn(2, 8)
    warp = model.update_warp(model.initial_warp(init), dp)
    torch.testing.assert_close(warp.matrix, sl3_to_matrix(dp) @ init)


def test_additive_composition_needs_placements_with_parameters() -> None:
    model = tiny_model(warp_type="affine", composition="additive")
    with pytest.raises(InputError, match="use composition 'true'"):
        model.initial_warp(sl3_to_matrix(torch.tensor([[0.0, 0, 0, 0.3, 0, 0, 0, 0]])))


# ---- inference ---------------------------------------------------------------------------------
def test_place_at_four_times_the_resolution_finds_the_same_warp() -> None:
    model = tiny_model()
    make_updates_sizeable(model.G1, seed=1)
    make_updates_sizeable(model.G2, seed=2)
    big = contract_batch(n=2, size=4 * SIZE, seed=3)
    big_fg, big_bg = big["fg"], torch.nn.functional.avg_pool2d(big["bg"], 5, 1, 2)
    small_fg = torch.nn.functional.interpolate(big_fg, size=SIZE, mode="area")
    small_bg = torch.nn.functional.interpolate(big_bg, size=SIZE, mode="area")
    init = big["init"]

    composite, warp, steps = model.place(big_fg, big_bg, init)
    small_composite, small_warp, _ = model.place(small_fg, small_bg, init)
    assert composite.shape == (2, 3, 4 * SIZE, 4 * SIZE)
    assert small_composite.shape == (2, 3, SIZE, SIZE)
    assert len(steps) == 3 and torch.equal(steps[-1], composite)
    assert (warp - init).abs().max() > 1e-3
    torch.testing.assert_close(warp, small_warp, atol=2e-3, rtol=0)

    _, no_step_warp, only_init = model.place(big_fg, big_bg, init[0], steps=0)
    torch.testing.assert_close(no_step_warp, init[0].expand(2, 3, 3))
    assert len(only_init) == 1


def test_place_rejects_bad_inputs() -> None:
    model = tiny_model()
    fg, bg, init = torch.zeros(2, 4, 8, 8), torch.zeros(2, 3, 8, 8), torch.eye(3)
    with pytest.raises(InputError, match="RGBA"):
        model.place(fg[:, :3], bg, init)
    with pytest.raises(InputError, match="background"):
        model.place(fg, bg[:1], init)
    with pytest.raises(InputError, match="init"):
        model.place(fg, bg, torch.eye(2))
    with pytest.raises(InputError, match="steps"):
        model.place(fg, bg, init, steps=3)


def test_visuals_show_every_step() -> None:
    visuals = tiny_model().visuals(contract_batch())
    assert list(visuals) == ["init", "step1", "step2", "real"]
    assert all(images.shape == (4, 3, SIZE, SIZE) for images in visuals.values())


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    model = tiny_model(warp_n=3)
    make_updates_sizeable(model.G3, seed=3)
    batch = contract_batch(n=2)
    expected = model.place(batch["fg"], batch["bg"], batch["init"])
    loaded = compogan.load(model.save_pretrained(tmp_path / "stgan"))
    assert isinstance(loaded, STGAN)
    assert loaded.config == model.config
    assert loaded.network_names == ("G1", "G2", "G3", "D")
    result = loaded.place(batch["fg"], batch["bg"], batch["init"])
    assert torch.equal(result[0], expected[0]) and torch.equal(result[1], expected[1])


def test_cosine_supervised_schedule_decays_to_zero_then_stays() -> None:
    model = tiny_model(supervised_pretrain_steps=4, supervised_lr_schedule="cosine")
    schedulers = build_schedulers(model.optimizers, model.lr_schedules, model.recipe_steps())
    lr = model.optimizers["S"].param_groups[0]["lr"]
    seen = []
    for _ in range(6):
        seen.append(model.optimizers["S"].param_groups[0]["lr"] / lr)
        model.optimizers["S"].step()
        schedulers["S"].step()
    assert seen == pytest.approx([1.0, 0.853553, 0.5, 0.146447, 0.0, 0.0], abs=1e-6)
    assert set(schedulers) == {"S"}


# ---- configuration -----------------------------------------------------------------------------
def test_bad_settings_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="warp_type"):
        STGAN(replace(TINY, warp_type="thin_plate"))
    with pytest.raises(ConfigError, match="composition"):
        STGAN(replace(TINY, composition="multiplicative"))
    with pytest.raises(ConfigError, match="warp_n"):
        STGAN(replace(TINY, warp_n=0))
    with pytest.raises(ConfigError, match="supervised_lr_schedule"):
        STGAN(replace(TINY, supervised_lr_schedule="step"))
    with pytest.raises(ConfigError, match=r"set train\.steps=7"):
        tiny_trainer(tmp_path / "run", "train.steps=6").fit()
    assert not (tmp_path / "run").exists()
    with pytest.raises(ConfigError, match=r"data\.size"):
        STGAN(TINY, STGANDataConfig(size=64)).configure_optimizers()
    with pytest.raises(ConfigError, match=r"set data\.root"):
        STGAN.build_dataset(STGANDataConfig(dataset="folder"), "train")
    with pytest.raises(InputError, match="no 'real'"):
        tiny_model(supervised_pretrain_steps=0).training_step(
            {k: v for k, v in contract_batch().items() if k != "real"}
        )


@pytest.mark.parametrize("name", ["glasses.yaml", "glasses_cpu.yaml"])
def test_shipped_configs_describe_a_full_schedule(name: str) -> None:
    config = load_config(STGAN, ROOT / "configs" / "stgan" / name)
    model = STGAN(section_object(config, "model"), section_object(config, "data"))
    assert config.train.steps == model.total_training_steps()
    assert config.data.size == config.model.image_size


def test_glasses_config_is_the_paper_setting() -> None:
    config = load_config(STGAN, ROOT / "configs" / "stgan" / "glasses.yaml")
    assert (config.model.image_size, config.model.warp_n, config.train.batch_size) == (144, 5, 20)
    assert config.model.lr_g == config.model.lr_d == 1e-5
    assert config.train.steps == 50000 + 5 * 50000


def test_builds_the_glasses_dataset() -> None:
    dataset = STGAN.build_dataset(STGANDataConfig(size=32, length=3, test_length=2), "test")
    item = dataset[0]
    assert len(dataset) == 2
    assert item["fg"].shape == (4, 32, 32) and item["init"].shape == (3, 3)


# ---- training through the Trainer --------------------------------------------------------------
def tiny_trainer(run_dir: Path, *overrides: str, resume: bool = False) -> Trainer:
    settings = [
        f"model.image_size={SIZE}",
        "model.warp_n=2",
        "model.predictor_widths=[4,8,8,8,8]",
        "model.fc_dim=16",
        "model.critic_widths=[4,8,8,8,8]",
        "model.lr_g=0.001",
        "model.lr_d=0.001",
        "model.history_size=4",
        "model.supervised_pretrain_steps=1",
        "model.critic_pretrain_steps=2",
        "model.steps_per_stage=2",
        f"data.size={SIZE}",
        "train.steps=7",
        "train.batch_size=2",
        "train.checkpoint_every=4",
        "train.progress=false",
        "train.log_every=1",
        "train.image_every=3",
    ]
    config = load_config(STGAN, None, [*settings, *overrides])
    return Trainer(STGAN, config, run_dir, resume=resume, device="cpu")


def test_resume_continues_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """7 steps (all phases) in one run == 4 steps, stop mid stage 1, resume (bit-identical)."""
    monkeypatch.setattr(
        STGAN,
        "build_dataset",
        classmethod(lambda cls, data, split, seed=0: ContractGlasses(data.size, 6, seed)),
    )
    straight = tiny_trainer(tmp_path / "straight")
    straight.fit()
    assert straight.model.step_count == 7

    first = tiny_trainer(tmp_path / "split", "train.stop_after=4")
    assert first.fit().step == 4
    assert len(first.model.replay) == 2  # mid stage 1: the history holds composites
    resumed = tiny_trainer(tmp_path / "split", resume=True)
    assert resumed.fit().step == 7
    assert resumed.model.step_count == 7

    straight_weights = read_weights(tmp_path / "straight")
    split_weights = read_weights(tmp_path / "split")
    assert straight_weights.keys() == split_weights.keys()
    for key, value in straight_weights.items():
        assert torch.equal(value, split_weights[key]), key
