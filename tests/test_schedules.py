"""Learning-rate schedules by name: each kind's factors, the checks, and the built schedulers."""

from __future__ import annotations

import math

import pytest
import torch

from compogan.config import ScheduleConfig
from compogan.errors import ConfigError
from compogan.train.schedules import build_schedulers, check_schedule, lr_factor


def factors(schedule: ScheduleConfig, total: int) -> list[float]:
    factor = lr_factor(schedule, total)
    return [factor(step) for step in range(total + 1)]


def test_constant_keeps_the_base_lr() -> None:
    assert factors(ScheduleConfig(), 5) == [1.0] * 6


def test_linear_decay_over_the_second_half_as_cyclegan() -> None:
    assert factors(ScheduleConfig("linear", start=0.5), 4) == pytest.approx([1, 1, 1, 0.5, 0])


def test_linear_window_decays_between_two_steps_then_stays_as_ingan() -> None:
    schedule = ScheduleConfig("linear", start=0.25, end=0.75, final=0.0)
    assert factors(schedule, 8) == pytest.approx([1, 1, 1, 0.75, 0.5, 0.25, 0, 0, 0])


def test_cosine_follows_a_half_cosine_to_its_final_factor() -> None:
    schedule = ScheduleConfig("cosine", final=0.1)
    values = factors(schedule, 4)
    expected = [0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t / 4)) for t in range(5)]
    assert values == pytest.approx(expected)
    assert values[2] == pytest.approx(0.55)


def test_step_multiplies_by_gamma_at_each_milestone() -> None:
    schedule = ScheduleConfig("step", milestones=[0.5, 0.75], gamma=0.5)
    assert factors(schedule, 4) == pytest.approx([1, 1, 0.5, 0.25, 0.25])


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (ScheduleConfig("exponential"), "unknown schedule 'exponential'"),
        (ScheduleConfig("linear", start=0.8, end=0.2), "0 <= start <= end <= 1"),
        (ScheduleConfig("linear", end=1.5), "0 <= start <= end <= 1"),
        (ScheduleConfig("linear", final=-1.0), "final and gamma must be >= 0"),
        (ScheduleConfig("step", milestones=[2.0]), "milestones are fractions"),
    ],
)
def test_schedules_that_make_no_sense_are_config_errors(
    schedule: ScheduleConfig, message: str
) -> None:
    with pytest.raises(ConfigError, match=r"model\.lr_schedule") as error:
        check_schedule(schedule, "model.lr_schedule")
    assert message in str(error.value)


def test_built_schedulers_step_the_lr_of_their_optimisers_only() -> None:
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizers = {
        "G": torch.optim.SGD([parameter], lr=0.2),
        "D": torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1),
    }
    schedulers = build_schedulers(optimizers, {"G": ScheduleConfig("linear", start=0.5)}, 4)
    assert set(schedulers) == {"G"}
    lrs = []
    for _ in range(4):
        lrs.append(optimizers["G"].param_groups[0]["lr"])
        schedulers["G"].step()
    assert lrs == pytest.approx([0.2, 0.2, 0.2, 0.1])
    assert optimizers["G"].param_groups[0]["lr"] == pytest.approx(0.0)
    assert optimizers["D"].param_groups[0]["lr"] == 0.1


def test_a_bad_schedule_is_refused_when_built() -> None:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ConfigError, match="optimiser 'G'"):
        build_schedulers({"G": optimizer}, {"G": ScheduleConfig("warmup")}, 4)
