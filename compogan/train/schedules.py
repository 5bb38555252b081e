"""Learning-rate schedules chosen by name (:class:`compogan.config.ScheduleConfig`).

A model names each optimiser's schedule when it adds the optimiser
(:meth:`compogan.models.base.GANModel.add_optimizer`); the trainer builds one ``LambdaLR`` per
optimiser from it here and steps it once per training step, so after ``t`` steps an
optimiser's lr is its base lr times ``lr_factor(schedule, total_steps)(t)``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable

import torch

from compogan.config import SCHEDULE_KINDS, ScheduleConfig
from compogan.errors import ConfigError


def check_schedule(schedule: ScheduleConfig, what: str) -> None:
    """Raise ConfigError (naming ``what``, e.g. "model.lr_schedule") for a schedule that makes
    no sense: an unknown kind, positions outside [0, 1] or in the wrong order, a negative
    final factor or gamma."""
    if schedule.kind not in SCHEDULE_KINDS:
        raise ConfigError(
            f"{what}.kind: unknown schedule '{schedule.kind}'; "
            f"use one of {', '.join(SCHEDULE_KINDS)}"
        )
    if not 0.0 <= schedule.start <= schedule.end <= 1.0:
        raise ConfigError(
            f"{what}: start and end are fractions of train.steps with 0 <= start <= end <= 1, "
            f"got start {schedule.start}, end {schedule.end}"
        )
    if schedule.final < 0 or schedule.gamma < 0:
        raise ConfigError(f"{what}: final and gamma must be >= 0")
    if any(not 0.0 <= m <= 1.0 for m in schedule.milestones):
        raise ConfigError(f"{what}.milestones are fractions of train.steps in [0, 1]")


def lr_factor(schedule: ScheduleConfig, total_steps: int) -> Callable[[int], float]:
    """The factor on the base lr after ``step`` of ``total_steps`` training steps.

    Positions are rounded to whole steps: a "linear" schedule with start 0.5 over 4 steps gives
    1, 1, 1, 0.5, 0 after 0..4 steps.
    """
    start = round(schedule.start * total_steps)
    end = round(schedule.end * total_steps)
    final = schedule.final

    def progress(step: int) -> float:
        """0 before ``start``, 1 from ``end`` on, linear in between."""
        if step <= start:
            return 0.0
        if step >= end:
            return 1.0
        return (step - start) / (end - start)

    if schedule.kind == "constant":
        return lambda step: 1.0
    if schedule.kind == "linear":
        return lambda step: 1.0 + (final - 1.0) * progress(step)
    if schedule.kind == "cosine":
        return lambda step: final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * progress(step)))
    milestones = sorted(round(m * total_steps) for m in schedule.milestones)
    return lambda step: schedule.gamma ** bisect.bisect_right(milestones, step)


def build_schedulers(
    optimizers: dict[str, torch.optim.Optimizer],
    schedules: dict[str, ScheduleConfig],
    total_steps: int,
) -> dict[str, torch.optim.lr_scheduler.LambdaLR]:
    """One ``LambdaLR`` per optimiser that has a schedule (the others keep their lr).

    Raises:
        ConfigError: a schedule that makes no sense (see :func:`check_schedule`).
    """
    for name, schedule in schedules.items():
        check_schedule(schedule, f"the lr schedule of optimiser '{name}'")
    return {
        name: torch.optim.lr_scheduler.LambdaLR(optimizers[name], lr_factor(schedule, total_steps))
        for name, schedule in schedules.items()
    }
