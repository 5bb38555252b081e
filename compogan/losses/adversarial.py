"""Adversarial losses (vanilla / non-saturating, least squares, hinge, Wasserstein) and WGAN-GP.

Discriminators return logits; :class:`AdversarialLoss` turns them into a scalar loss for either
network. Multi-scale discriminators may pass a list of logit maps: the per-scale losses are
averaged.
"""

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from compogan.errors import ConfigError

GAN_MODES = ("vanilla", "nsgan", "lsgan", "hinge", "wgan")


class AdversarialLoss(nn.Module):
    """GAN loss on discriminator logits.

    Modes (``x`` = logits, real/fake = ``target_is_real``):

    - ``"vanilla"`` / ``"nsgan"``: BCE-with-logits against 1 (real) or 0 (fake), for both
      networks; the generator passes ``target_is_real=True`` (the non-saturating loss; pix2pix's
      "vanilla" is the same).
    - ``"lsgan"``: mean squared error against 1 or 0.
    - ``"hinge"``: discriminator ``mean(relu(1 - x))`` on real, ``mean(relu(1 + x))`` on fake;
      generator ``-mean(x)``.
    - ``"wgan"``: ``-mean(x)`` on real, ``mean(x)`` on fake, for both networks.

    For hinge and wgan the generator loss is ``-mean(x)`` with ``target_is_real=True`` (and
    ``mean(x)`` with ``False``).

    Args:
        mode: one of the names above.

    Raises:
        ConfigError: unknown ``mode``.
    """

    def __init__(self, mode: str = "lsgan") -> None:
        super().__init__()
        if mode not in GAN_MODES:
            raise ConfigError(f"unknown GAN loss {mode!r}; use one of {', '.join(GAN_MODES)}")
        self.mode = mode

    def forward(
        self,
        logits: torch.Tensor | Sequence[torch.Tensor],
        target_is_real: bool,
        for_discriminator: bool = True,
    ) -> torch.Tensor:
        """Scalar loss of logits of any shape, or the mean over a list of them (multi-scale)."""
        if isinstance(logits, torch.Tensor):
            return self._single(logits, target_is_real, for_discriminator)
        losses = [self._single(x, target_is_real, for_discriminator) for x in logits]
        return torch.stack(losses).mean()

    def _single(self, x: torch.Tensor, real: bool, for_discriminator: bool) -> torch.Tensor:
        if self.mode in ("vanilla", "nsgan"):
            target = torch.ones_like(x) if real else torch.zeros_like(x)
            return F.binary_cross_entropy_with_logits(x, target)
        if self.mode == "lsgan":
            target = torch.ones_like(x) if real else torch.zeros_like(x)
            return F.mse_loss(x, target)
        if self.mode == "hinge" and for_discriminator:
            return F.relu(1 - x).mean() if real else F.relu(1 + x).mean()
        return -x.mean() if real else x.mean()

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    weight: float = 10.0,
    target_norm: float = 1.0,
) -> torch.Tensor:
    """WGAN-GP penalty ``weight * E[(||grad critic(x_hat)|| - target_norm)^2]``.

    ``x_hat`` are random interpolates between ``real`` and ``fake`` (one uniform mixing factor
    per sample, drawn from torch's global RNG). The graph is kept (``create_graph=True``) so the
    penalty can be back-propagated into the critic.

    Args:
        critic: maps (N, ...) inputs to scores of any shape (summed per batch for the gradient).
        real: real samples (N, ...).
        fake: generated samples, same shape as ``real``; both are detached.
        weight: penalty weight (10 in WGAN-GP).
        target_norm: the gradient norm the critic is pushed towards.

    Returns:
        Scalar penalty.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} shapes differ")
    alpha_shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    alpha = torch.rand(alpha_shape, device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(mixed)
    (gradients,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    norms = (gradients.flatten(1).pow(2).sum(dim=1) + 1e-12).sqrt()
    return weight * (norms - target_norm).pow(2).mean()
