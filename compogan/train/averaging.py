"""An exponential moving average of a network's weights (Polyak averaging).

A GAN generator's weights keep moving with its discriminator; their running average is a
smoother, usually better generator than the last iterate (Yazıcı et al. 2019, "The unusual
effectiveness of averaging in GAN training"; Karras et al. 2018 use it for every result). With
``train.ema_decay`` the trainer keeps one average per network of the model's
``averaged_networks()``, updated after each step; saved weights are the averages, and a
checkpoint's training state keeps the working weights and the update count for an exact resume
(the averages themselves are the checkpoint's saved weights).
"""

from __future__ import annotations

import torch
from torch import nn

WARMUP_UPDATES = 10
"""The warm-up of the decay, ``min(decay, (1 + n) / (WARMUP_UPDATES + n))`` after n updates
(TensorFlow's ExponentialMovingAverage with ``num_updates``): early averages forget the
initial weights quickly."""


def warmed_up_decay(decay: float, updates: int) -> float:
    """The decay of update number ``updates`` + 1: ``decay``, lower while few updates were made."""
    return min(decay, (1 + updates) / (WARMUP_UPDATES + updates))


class WeightAverage:
    """The running average of ``network``'s parameters, starting at their current values.

    Buffers (spectral-norm vectors, running statistics) are not averaged: the averaged network
    takes the working network's current ones.

    Args:
        network: the network being trained.
        decay: the weight of the old average in each update, in [0, 1).
        updates: how many updates made the current values (a resumed average: its
            parameters are the averages, and the warm-up continues from there).
    """

    def __init__(self, network: nn.Module, decay: float, updates: int = 0) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"an average's decay must lie in [0, 1), got {decay}")
        self.decay = decay
        self.updates = updates
        self.parameters = {
            name: parameter.detach().clone() for name, parameter in network.named_parameters()
        }

    @torch.no_grad()
    def update(self, network: nn.Module) -> None:
        """average ← d · average + (1 − d) · weights, d = :func:`warmed_up_decay`."""
        weight = 1.0 - warmed_up_decay(self.decay, self.updates)
        for name, parameter in network.named_parameters():
            self.parameters[name].lerp_(parameter.detach(), weight)
        self.updates += 1

    def averaged_state(self, network: nn.Module) -> dict[str, torch.Tensor]:
        """``network.state_dict()`` with the averaged parameters in place of the working ones."""
        state = network.state_dict()
        return {key: self.parameters.get(key, value) for key, value in state.items()}
