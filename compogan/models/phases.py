"""Training phases: what a model declares about each optimiser update of a training step.

A GAN's training step is a sequence of updates (CycleGAN: the generators, then the
discriminators; ST-GAN: one warp predictor, then two critic updates). A model lists them as
:class:`Phase` objects and computes losses; :meth:`compogan.models.base.GANModel.training_step`
owns the mechanics of every update, the same for all models: gradients on for the phase's
networks alone, ``zero_grad``, the forward pass under the model's autocast, the sum of the
named losses, backward, the finite-gradient check, the optimiser steps, and the DDP-wrapped
modules for the phase's trained networks (plain ones for the others).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import Tensor

StepState = dict[str, Any]
"""What the phases of one step share: the batch on the model's device (from
:meth:`~compogan.models.base.GANModel.begin_step`) and whatever a phase leaves for the next
(e.g. the generator's fakes, detached, for the discriminator)."""

LossFunction = Callable[[StepState], dict[str, Tensor]]


@dataclass(frozen=True)
class Phase:
    """One optimiser update of a training step.

    Attributes:
        name: what the update trains, for messages (e.g. "G", "D", "G2").
        optimizers: names in ``model.optimizers`` stepped after the backward pass; the networks
            they own (``add_optimizer``) are the phase's trained networks, every other network
            is frozen during the phase.
        losses: computes the phase's weighted losses by name from the step's state; their sum
            is backpropagated and each is logged. Called under the model's autocast, with
            ``model.nets`` holding the DDP-wrapped modules of the trained networks.
        repeats: how many updates per step (ST-GAN's 2 critic updates per predictor update);
            each calls ``losses`` anew, and the last update's losses are logged.
        every: the phase runs on steps whose 0-based index is divisible by this.
    """

    name: str
    optimizers: tuple[str, ...]
    losses: LossFunction
    repeats: int = 1
    every: int = 1

    def __post_init__(self) -> None:
        if not self.optimizers:
            raise ValueError(f"phase '{self.name}' names no optimiser")
        if self.repeats < 1 or self.every < 1:
            raise ValueError(f"phase '{self.name}': repeats and every must be at least 1")
