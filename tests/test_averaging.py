"""Weight averages (train.ema_decay): the update rule, saving the averages, exact resume."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from compogan.config import load_config
from compogan.errors import CheckpointError, ConfigError
from compogan.io.checkpoints import read_weights
from compogan.models.base import network_state
from compogan.models.cyclegan import CycleGAN
from compogan.models.edgeconnect import EdgeConnect
from compogan.train import Trainer
from compogan.train.averaging import WeightAverage, warmed_up_decay

TINY_EDGECONNECT = [
    "model.mode=inpaint",
    "model.residual_blocks=1",
    "model.width=16",
    "model.ndf=16",
    "model.content_weight=0",
    "model.style_weight=0",
    "data.size=32",
    "data.length=6",
    "data.test_length=2",
    "train.batch_size=2",
    "train.progress=false",
    "train.checkpoint_every=2",
    "train.image_every=0",
]


def edgeconnect_trainer(run_dir: Path, *overrides: str, resume: bool = False) -> Trainer:
    config = load_config(EdgeConnect, None, [*TINY_EDGECONNECT, *overrides])
    return Trainer(EdgeConnect, config, run_dir, resume=resume, device="cpu")


def test_the_decay_warms_up_to_its_value() -> None:
    assert warmed_up_decay(0.999, 0) == pytest.approx(0.1)
    assert warmed_up_decay(0.999, 90) == pytest.approx(0.91)
    assert warmed_up_decay(0.9, 10_000) == 0.9


def test_an_update_moves_the_average_towards_the_weights() -> None:
    network = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    start = network[0].weight.detach().clone()
    average = WeightAverage(network, decay=0.5)
    with torch.no_grad():
        network[0].weight.add_(1.0)
        network[1].running_mean.fill_(3.0)
    average.update(network)  # the first update's decay is the warm-up's 0.1
    assert torch.allclose(average.parameters["0.weight"], start + 0.9)
    state = average.averaged_state(network)
    assert torch.equal(state["0.weight"], average.parameters["0.weight"])
    assert torch.equal(state["1.running_mean"], torch.full((2,), 3.0))  # buffers: the working ones

    network.load_state_dict(state)  # a resume: the saved weights are the averages
    copy = WeightAverage(network, decay=0.5, updates=average.updates)
    assert copy.updates == 1
    assert torch.equal(copy.parameters["0.weight"], average.parameters["0.weight"])


def test_a_decay_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(nn.Linear(2, 2), decay=1.0)


def test_training_saves_the_average_of_the_trained_generator(tmp_path: Path) -> None:
    trainer = edgeconnect_trainer(tmp_path / "run", "train.steps=3", "train.ema_decay=0.9")
    trainer.fit()
    assert set(trainer.averages) == {"G2"}
    saved = read_weights(tmp_path / "run")
    averaged = trainer.averages["G2"].averaged_state(trainer.model.G2)
    for key, value in network_state(saved, "G2").items():
        assert torch.equal(value, averaged[key]), key
    working = trainer.model.G2.state_dict()
    assert any(not torch.equal(averaged[key], working[key]) for key in working)
    for key, value in network_state(saved, "D2").items():  # discriminators: the last weights
        assert torch.equal(value, trainer.model.D2.state_dict()[key]), key


def test_resume_continues_the_average_exactly(tmp_path: Path) -> None:
    edgeconnect_trainer(tmp_path / "straight", "train.steps=4", "train.ema_decay=0.9").fit()
    first = edgeconnect_trainer(
        tmp_path / "split", "train.steps=4", "train.stop_after=2", "train.ema_decay=0.9"
    )
    assert first.fit().step == 2
    resumed = edgeconnect_trainer(
        tmp_path / "split", "train.steps=4", "train.ema_decay=0.9", resume=True
    )
    assert resumed.fit().step == 4
    straight, split = read_weights(tmp_path / "straight"), read_weights(tmp_path / "split")
    assert straight.keys() == split.keys()
    for key in straight:
        assert torch.equal(straight[key], split[key]), key


def test_resume_with_another_averaging_is_a_clear_error(tmp_path: Path) -> None:
    edgeconnect_trainer(
        tmp_path / "run", "train.steps=4", "train.stop_after=2", "train.ema_decay=0.9"
    ).fit()
    with pytest.raises(CheckpointError, match=r"train\.ema_decay"):
        edgeconnect_trainer(tmp_path / "run", "train.steps=4", resume=True).fit()


@pytest.mark.parametrize(
    ("model_cls", "overrides", "message"),
    [
        (EdgeConnect, [*TINY_EDGECONNECT, "train.ema_decay=1.5"], "ema_decay must be >= 0 and < 1"),
        (CycleGAN, ["train.ema_decay=0.9"], "no networks to average"),
    ],
)
def test_bad_averaging_settings_are_config_errors(
    tmp_path: Path, model_cls, overrides, message
) -> None:
    with pytest.raises(ConfigError, match=message):
        config = load_config(model_cls, None, [*overrides, "train.steps=1", "train.progress=false"])
        Trainer(model_cls, config, tmp_path / "run", device="cpu").fit()
