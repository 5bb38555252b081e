"""The base class every compogan model derives from.

A model owns its networks, its optimisers and learning-rate schedulers, and one
:meth:`GANModel.training_step` that performs the whole multi-network GAN update for a batch
(for CycleGAN: freeze D, step G, step D). Everything that is the same for every model (the loop,
devices, DDP, checkpoints, logging) belongs to :class:`compogan.train.Trainer`.

Distributed training: the trainer wraps each network separately in DistributedDataParallel
through :meth:`GANModel.distribute`. A training step calls ``self.nets.<name>(...)`` for every
forward pass whose gradients update that network, and the plain module ``self.<name>(...)`` when
the network is frozen for that pass (a discriminator inside the generator update), so DDP never
waits for gradients that are not coming.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import torch
from torch import nn
from torch.utils.data import Dataset

import compogan
from compogan.config import dataclass_from_dict, to_plain
from compogan.errors import CheckpointError
from compogan.io.checkpoints import read_metadata, read_weights, write_pretrained


def set_requires_grad(modules: nn.Module | list[nn.Module], requires_grad: bool) -> None:
    """Switch gradient computation of every parameter of ``modules`` on or off."""
    for module in modules if isinstance(modules, list) else [modules]:
        for parameter in module.parameters():
            parameter.requires_grad_(requires_grad)


class GANModel(nn.Module):
    """Base class: networks + optimisers + one training step, saved as config.json + safetensors.

    Subclasses set the class attributes and implement :meth:`build_networks`,
    :meth:`configure_optimizers`, :meth:`training_step`, :meth:`visuals` and
    :meth:`build_dataset`.

    Class attributes:
        name: registry name (e.g. "cyclegan").
        description: one line for ``compogan models``.
        Config: dataclass of the model's hyper-parameters (the ``model`` config section).
        DataConfig: dataclass of the model's data settings (the ``data`` config section).
        network_names: attribute names of the sub-networks, in a fixed order.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    Config: ClassVar[type]
    DataConfig: ClassVar[type]
    network_names: ClassVar[tuple[str, ...]]

    def __init__(self, config: Any, data_config: Any | None = None) -> None:
        super().__init__()
        self.config = config
        self.data_config = data_config if data_config is not None else self.DataConfig()
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler] = {}
        self.autocast_dtype: torch.dtype | None = None
        self.loaded_networks: tuple[str, ...] = self.network_names
        self.build_networks()
        self.nets = SimpleNamespace(**{name: getattr(self, name) for name in self.network_names})

    # ---- what a subclass provides -------------------------------------------------------------
    def build_networks(self) -> None:
        """Create the sub-networks as attributes named in ``network_names``."""
        raise NotImplementedError

    def configure_optimizers(self, total_steps: int) -> None:
        """Fill ``self.optimizers`` and ``self.schedulers`` (stepped once per training step)."""
        raise NotImplementedError

    def training_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One full GAN update on ``batch``; returns the detached scalar losses by name."""
        raise NotImplementedError

    def visuals(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Images to log for ``batch`` (each (N,3,H,W) in [-1,1]), computed without gradients."""
        raise NotImplementedError

    @classmethod
    def build_dataset(cls, data_config: Any, split: str, seed: int = 0) -> Dataset:
        """The training ("train") or evaluation ("test") dataset this model trains on."""
        raise NotImplementedError

    def load_initial_weights(self) -> None:
        """Called by the trainer once, at the start of a fresh (not resumed) run: models whose
        training starts from earlier stages' weights load them here. Default: nothing."""

    def averaged_networks(self) -> tuple[str, ...]:
        """The networks whose weights ``train.ema_decay`` averages: the generators this
        model's configuration trains. Default: none (the trainer refuses an average)."""
        return ()

    def extra_training_state(self) -> dict[str, Any]:
        """Training state beyond optimisers and schedulers (e.g. image pools)."""
        return {}

    def load_extra_training_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_training_state` returned."""

    # ---- devices, precision and distribution --------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def autocast(self) -> contextlib.AbstractContextManager[None]:
        """Context for forward passes: bf16 autocast when enabled on CUDA, otherwise a no-op."""
        if self.autocast_dtype is None or self.device.type != "cuda":
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.autocast_dtype)

    def distribute(self, wrap: Callable[[nn.Module], nn.Module]) -> None:
        """Wrap each network on its own (e.g. in DistributedDataParallel) for training passes."""
        self.nets = SimpleNamespace(
            **{name: wrap(getattr(self, name)) for name in self.network_names}
        )

    # ---- training state -----------------------------------------------------------------------
    def training_state(self) -> dict[str, Any]:
        """Optimiser, scheduler and extra state, as tensors and plain Python values."""
        return {
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "schedulers": {name: sch.state_dict() for name, sch in self.schedulers.items()},
            "extra": self.extra_training_state(),
        }

    def load_training_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`training_state` returned (after ``configure_optimizers``)."""
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        for name, scheduler in self.schedulers.items():
            scheduler.load_state_dict(state["schedulers"][name])
        self.load_extra_training_state(state["extra"])

    # ---- pretrained directories ----------------------------------------------------------------
    def metadata(self, networks: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The ``config.json`` content describing this model."""
        return {
            "model": self.name,
            "compogan_version": compogan.__version__,
            "networks": list(networks or self.loaded_networks),
            "config": to_plain(self.config),
            "data": to_plain(self.data_config),
        }

    def save_pretrained(
        self, directory: str | Path, networks: tuple[str, ...] | None = None
    ) -> Path:
        """Write ``config.json`` + ``model.safetensors``.

        Saves the networks named, or else the ones this model holds weights for (all of them
        unless it was loaded from a partial checkpoint such as a one-direction CycleGAN).
        """
        names = networks or self.loaded_networks
        state = {
            f"{name}.{key}": value
            for name in names
            for key, value in getattr(self, name).state_dict().items()
        }
        return write_pretrained(directory, self.metadata(names), state)

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> GANModel:
        """Load a model written by :meth:`save_pretrained` or a training run directory.

        A run directory resolves to its final weights, or to its newest checkpoint when the
        run was stopped early.

        Raises:
            CheckpointError: missing/corrupt files, or a checkpoint of another model.
        """
        directory = resolve_checkpoint_dir(directory)
        metadata = read_metadata(directory)
        if metadata["model"] != cls.name:
            raise CheckpointError(
                f"{directory} holds a '{metadata['model']}' checkpoint, not '{cls.name}'"
            )
        model = cls(
            dataclass_from_dict(cls.Config, metadata["config"]),
            dataclass_from_dict(cls.DataConfig, metadata.get("data", {})),
        )
        model.load_networks(read_weights(directory), tuple(metadata.get("networks", ())))
        model.eval()
        return model

    def load_networks(self, state: dict[str, torch.Tensor], networks: tuple[str, ...]) -> None:
        """Load the weights of the named networks from a flat ``{net.key: tensor}`` dict.

        Raises:
            CheckpointError: keys or shapes do not match this model's architecture.
        """
        self.loaded_networks = networks or self.network_names
        for name in self.loaded_networks:
            sub_state = network_state(state, name)
            load_network_state(getattr(self, name), sub_state, f"'{name}' of {self.name}")


def network_state(state: dict[str, torch.Tensor], name: str) -> dict[str, torch.Tensor]:
    """The state dict of network ``name`` inside a flat ``{net.key: tensor}`` dict."""
    prefix = f"{name}."
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def load_network_state(network: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """``network.load_state_dict(state, strict=True)``, failing with one line naming ``what``.

    Raises:
        CheckpointError: keys or shapes do not match the network's architecture.
    """
    try:
        network.load_state_dict(state, strict=True)
    except (RuntimeError, AttributeError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"weights of {what} do not fit this architecture: {first}") from None


def resolve_checkpoint_dir(path: str | Path) -> Path:
    """A directory holding ``config.json``: ``path`` itself, or a run's newest checkpoint."""
    path = Path(path)
    if (path / "config.json").is_file():
        return path
    checkpoints = sorted((path / "checkpoints").glob("step_*")) if path.is_dir() else []
    complete = [c for c in checkpoints if (c / "config.json").is_file()]
    if complete:
        return complete[-1]
    return path


def load(directory: str | Path) -> GANModel:
    """Load any compogan checkpoint directory, finding the model class from its config.json."""
    from compogan.registry import available_models, get_model_class

    directory = resolve_checkpoint_dir(directory)
    name = read_metadata(directory)["model"]
    if name not in available_models():
        raise CheckpointError(
            f"{directory} holds a '{name}' checkpoint, a model this compogan does not have "
            f"(available: {', '.join(available_models())})"
        )
    return get_model_class(name).from_pretrained(directory)
