"""The shared training loop: exact resume, NaN stops, checkpoint rotation, run directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import compogan
from compogan.config import load_config
from compogan.data.image_pool import ImagePool
from compogan.errors import CheckpointError, ConfigError, TrainingDivergedError
from compogan.io.checkpoints import read_weights
from compogan.models.cyclegan import CycleGAN
from compogan.train import Trainer
from compogan.train.trainer import checkpoint_dirs, flushed_denormals

TINY = [
    "model.ngf=8",
    "model.n_blocks=1",
    "model.ndf=8",
    "model.pool_size=3",
    "data.size=32",
    "data.length=6",
    "data.test_length=2",
    "train.batch_size=2",
    "train.progress=false",
    "train.log_every=1",
    "train.image_every=2",
]


def tiny_trainer(run_dir: Path, *overrides: str, resume: bool = False) -> Trainer:
    config = load_config(CycleGAN, None, [*TINY, *overrides])
    return Trainer(CycleGAN, config, run_dir, resume=resume, device="cpu")


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_resume_continues_exactly(tmp_path: Path) -> None:
    """2N steps in one run == N steps, stop, resume, N more steps (weights bit-identical)."""
    # 3 batches per epoch, so step 4 is mid-epoch; the pool (size 3) fills and starts swapping.
    straight = tiny_trainer(tmp_path / "straight", "train.steps=8", "train.checkpoint_every=4")
    straight.fit()

    first = tiny_trainer(
        tmp_path / "split", "train.steps=8", "train.checkpoint_every=4", "train.stop_after=4"
    )
    assert first.fit().step == 4
    resumed = tiny_trainer(
        tmp_path / "split", "train.steps=8", "train.checkpoint_every=4", resume=True
    )
    assert resumed.step == 0
    result = resumed.fit()
    assert result.step == 8

    assert_same_weights(read_weights(tmp_path / "straight"), read_weights(tmp_path / "split"))
    assert len(resumed.model.pool_fake_A.images) == 3


def test_losses_move_and_run_dir_is_complete(tmp_path: Path) -> None:
    trainer = tiny_trainer(tmp_path / "run", "train.steps=6", "train.checkpoint_every=3")
    trainer.fit()
    run = tmp_path / "run"
    for name in ("config.json", "model.safetensors", "config.yaml", "losses.jsonl"):
        assert (run / name).is_file(), name
    assert any((run / "tb").iterdir())
    log = [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]
    assert [record["step"] for record in log] == [1, 2, 3, 4, 5, 6]
    assert log[0]["cycle_A"] != log[-1]["cycle_A"]
    assert {"G_A", "G_B", "cycle_A", "cycle_B", "idt_A", "idt_B", "D_A", "D_B"} <= log[0].keys()
    loaded = compogan.load(run)
    assert isinstance(loaded, CycleGAN)
    assert_same_weights(
        {k: v for k, v in loaded.state_dict().items()},
        {k: v for k, v in trainer.model.state_dict().items()},
    )


def test_keeps_only_the_newest_checkpoints(tmp_path: Path) -> None:
    trainer = tiny_trainer(
        tmp_path / "run", "train.steps=5", "train.checkpoint_every=1", "train.keep_checkpoints=2"
    )
    trainer.fit()
    names = [path.name for path in checkpoint_dirs(tmp_path / "run")]
    assert names == ["step_00000004", "step_00000005"]
    leftovers = [p.name for p in (tmp_path / "run" / "checkpoints").iterdir()]
    assert sorted(leftovers) == names


def test_nan_loss_stops_with_its_name_and_keeps_last_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trainer = tiny_trainer(tmp_path / "run", "train.steps=6", "train.checkpoint_every=2")
    real_step = CycleGAN.training_step
    calls = {"n": 0}

    def step_that_diverges(self: CycleGAN, batch: dict) -> dict:
        losses = real_step(self, batch)
        calls["n"] += 1
        if calls["n"] == 3:
            losses["cycle_B"] = torch.tensor(float("nan"))
        return losses

    monkeypatch.setattr(CycleGAN, "training_step", step_that_diverges)
    with pytest.raises(TrainingDivergedError, match=r"loss 'cycle_B' became nan at step 3"):
        trainer.fit()
    (checkpoint,) = checkpoint_dirs(tmp_path / "run")
    assert checkpoint.name == "step_00000002"
    assert compogan.load(checkpoint).name == "cyclegan"
    assert not (tmp_path / "run" / "model.safetensors").exists()


def test_resume_without_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    trainer = tiny_trainer(tmp_path / "empty", "train.steps=2", resume=True)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        trainer.fit()


def test_time_budget_stops_and_checkpoints(tmp_path: Path) -> None:
    trainer = tiny_trainer(
        tmp_path / "run",
        "train.steps=1000",
        "train.max_minutes=0.0001",
        "train.checkpoint_every=1000",
    )
    result = trainer.fit()
    assert 1 <= result.step < 1000
    assert [p.name for p in checkpoint_dirs(tmp_path / "run")] == [f"step_{result.step:08d}"]


def _denormal_survives() -> bool:
    return bool(torch.tensor([1e-39]) * 1.0 != 0)


def test_cpu_training_flushes_denormals_and_restores_them(tmp_path: Path, monkeypatch) -> None:
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU cannot flush denormals")
    assert _denormal_survives()
    with flushed_denormals(torch.device("cpu")):
        assert not _denormal_survives()
    assert _denormal_survives()
    trainer = tiny_trainer(tmp_path / "run", "train.steps=2")
    seen = []
    step = trainer.model.training_step
    monkeypatch.setattr(
        trainer.model, "training_step", lambda b: seen.append(_denormal_survives()) or step(b)
    )
    trainer.fit()
    assert seen == [False, False] and _denormal_survives()


def test_lr_is_constant_then_decays_linearly_to_zero(tmp_path: Path) -> None:
    trainer = tiny_trainer(tmp_path / "run", "train.steps=4", "model.lr=0.001")
    trainer.fit()
    history = [json.loads(line) for line in (tmp_path / "run" / "losses.jsonl").open()]
    assert len(history) == 4
    scheduler = trainer.schedulers["G"]
    assert scheduler.get_last_lr()[0] == pytest.approx(0.0)
    factors = [scheduler.lr_lambdas[0](step) for step in range(5)]
    assert factors == pytest.approx([1.0, 1.0, 1.0, 0.5, 0.0])


def test_image_pool_returns_inputs_until_full_then_mixes() -> None:
    torch.manual_seed(0)
    pool = ImagePool(2)
    first = torch.full((2, 3, 4, 4), 1.0)
    assert torch.equal(pool.query(first), first)
    fresh = torch.full((8, 3, 4, 4), 2.0)
    out = pool.query(fresh)
    values = {float(image.mean()) for image in out}
    assert values == {1.0, 2.0}
    restored = ImagePool(2)
    restored.load_state_dict(pool.state_dict(), torch.device("cpu"))
    assert all(torch.equal(a, b) for a, b in zip(pool.images, restored.images, strict=True))
    assert torch.equal(ImagePool(0).query(fresh), fresh)


@pytest.mark.parametrize("impl", ["foreach", "fused"])
def test_optimizer_impl_switch_does_the_same_update(tmp_path: Path, impl: str) -> None:
    """Each model optimiser built with the switch takes the same step on the same gradients as
    the default loop; a run trains with it."""
    models = []
    for choice in ("default", impl):
        torch.manual_seed(0)
        model = CycleGAN(load_config(CycleGAN, None, TINY).model)
        model.optimizer_impl = choice
        model.configure_optimizers()
        models.append(model)
    for name, optimizer in models[1].optimizers.items():
        assert optimizer.defaults[impl], name
    for step in range(3):
        for model in models:
            torch.manual_seed(step)
            for parameter in model.parameters():
                parameter.grad = torch.randn_like(parameter)
            for optimizer in model.optimizers.values():
                optimizer.step()
    theirs = models[1].state_dict()
    for key, ours in models[0].state_dict().items():
        torch.testing.assert_close(ours, theirs[key], rtol=1e-5, atol=1e-6, msg=key)

    trainer = tiny_trainer(tmp_path / impl, "train.steps=2", f"train.optimizer_impl={impl}")
    assert trainer.fit().step == 2


def test_compiled_networks_compute_the_same_losses_and_checkpoints(tmp_path: Path) -> None:
    """``train.compile`` runs the networks through torch.compile: the first step's losses are
    those of the plain networks, and the checkpoint has the plain networks' keys."""
    from torch._dynamo.utils import counters

    counters.clear()
    runs = {}
    for name, overrides in (("eager", []), ("compiled", ["train.compile=true"])):
        tiny_trainer(tmp_path / name, "train.steps=2", *overrides).fit()
        log = (tmp_path / name / "losses.jsonl").read_text().splitlines()
        runs[name] = json.loads(log[0])
    assert counters["stats"]["unique_graphs"] > 0
    for loss in ("G_A", "cycle_A", "idt_B", "D_A", "D_B"):
        assert runs["compiled"][loss] == pytest.approx(runs["eager"][loss], rel=1e-4), loss
    eager, compiled = read_weights(tmp_path / "eager"), read_weights(tmp_path / "compiled")
    assert eager.keys() == compiled.keys()
    assert isinstance(compogan.load(tmp_path / "compiled"), CycleGAN)


def test_unknown_optimizer_impl_is_refused() -> None:
    with pytest.raises(ConfigError, match="optimizer_impl must be one of default, foreach, fused"):
        load_config(CycleGAN, None, ["train.optimizer_impl=fast"])
