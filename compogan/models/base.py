"""The base class every compogan model derives from.

A model owns its networks and optimisers, declares the phases of its training step
(:mod:`compogan.models.phases`) and computes their losses. The mechanics of every optimiser
update are here, in :meth:`GANModel.training_step`, the same for every model; no model calls
``backward()`` or steps an optimiser. Everything else the same for every model (the loop, data
order, learning-rate schedules, checkpoints, logging) belongs to :class:`compogan.train.Trainer`.

Distributed training: the trainer wraps each network separately in DistributedDataParallel
through :meth:`GANModel.distribute`. During a phase, ``self.nets.<name>`` is the wrapped module
of each network the phase trains and the plain module of every other (frozen) network, so DDP
never waits for gradients that are not coming; a model uses ``self.nets`` inside its loss
functions and the plain ``self.<name>`` only where a pass must bypass DDP (a gradient penalty's
double backward).
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn.utils import get_total_norm
from torch.profiler import record_function
from torch.utils.data import Dataset

import compogan
from compogan.config import ScheduleConfig, dataclass_from_dict, to_plain
from compogan.data.registry import build_dataset
from compogan.errors import CheckpointError, TrainingDivergedError
from compogan.io.checkpoints import read_metadata, read_weights, write_pretrained
from compogan.models.phases import Phase, StepState


def set_requires_grad(modules: nn.Module | list[nn.Module], requires_grad: bool) -> None:
    """Switch gradient computation of every parameter of ``modules`` on or off."""
    for module in modules if isinstance(modules, list) else [modules]:
        for parameter in module.parameters():
            parameter.requires_grad_(requires_grad)


class GANModel(nn.Module):
    """Base class: networks, optimisers and training phases, saved as config.json + safetensors.

    Subclasses set the class attributes and implement :meth:`build_networks`,
    :meth:`configure_optimizers`, :meth:`training_phases` and :meth:`visuals`; optionally
    :meth:`begin_step`, :meth:`recipe_steps`, :meth:`averaged_networks`,
    :meth:`required_initial_networks`, :meth:`weight_settings` and the extra training state.

    Class attributes:
        name: registry name (e.g. "cyclegan").
        description: one line for ``compogan models``.
        Config: dataclass of the model's hyper-parameters (the ``model`` config section).
        DataConfig: dataclass of the model's data settings (the ``data`` config section).
        data_kind: the batch contract of its datasets ("unpaired", "paired", "inpainting",
            "compositing"): :meth:`build_dataset` finds ``data.dataset`` among the datasets
            registered for it (:mod:`compogan.data.registry`).
        network_names: attribute names of the sub-networks, in a fixed order.
        uncompiled_networks: those ``train.compile`` leaves plain, as torch.compile cannot
            train them: a gradient penalty's critic (a compiled backward cannot be
            differentiated again), a network whose forward updates in place a tensor its
            backward needs (the power-iteration vectors of the hook-based spectral norm).
        retired_config_keys: ``model`` config keys of earlier versions that checkpoints may
            still hold; dropped when such a checkpoint loads.
        renamed_data_keys: ``data`` config keys of earlier versions mapped to their names
            now, applied when such a checkpoint loads.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    Config: ClassVar[type]
    DataConfig: ClassVar[type]
    data_kind: ClassVar[str]
    network_names: ClassVar[tuple[str, ...]]
    uncompiled_networks: ClassVar[tuple[str, ...]] = ()
    retired_config_keys: ClassVar[tuple[str, ...]] = ()
    renamed_data_keys: ClassVar[dict[str, str]] = {}

    # ---- the inference contract (compogan.models.tasks) ---------------------------------------
    tasks: ClassVar[tuple[str, ...]] = ()
    """The pipelines' tasks this model serves ("translate", "inpaint", "compose"); for each, it
    provides the methods of that task's protocol in :mod:`compogan.models.tasks`."""
    size_multiple: ClassVar[int] = 1
    """Height and width of the networks' inputs must be divisible by this; pipelines pad to it."""
    min_size: ClassVar[int] = 1
    """The smallest height and width the networks take; pipelines pad smaller inputs up to it."""

    def __init__(self, config: Any, data_config: Any | None = None) -> None:
        super().__init__()
        self.config = config
        self.data_config = data_config if data_config is not None else self.DataConfig()
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.optimizer_networks: dict[str, tuple[str, ...]] = {}
        self.lr_schedules: dict[str, ScheduleConfig] = {}
        self.autocast_dtype: torch.dtype | None = None
        self.optimizer_impl = "default"
        """``train.optimizer_impl`` ("default", "foreach" or "fused"), set by the trainer
        before :meth:`configure_optimizers`; applied to optimisers that take that flag."""
        self.loaded_networks: tuple[str, ...] = self.network_names
        self.initialised_networks: tuple[str, ...] = ()
        """Networks started from trained weights (``train.init_from``), set by the trainer."""
        self.recorded_trained: tuple[str, ...] | None = None
        """The ``trained`` list of the checkpoint this model was loaded from (None: none)."""
        self.step_count = 0
        self.build_networks()
        self.wrapped: dict[str, nn.Module] = {n: getattr(self, n) for n in self.network_names}
        self.nets = self._namespace(())

    # ---- what a subclass provides -------------------------------------------------------------
    def build_networks(self) -> None:
        """Create the sub-networks as attributes named in ``network_names``."""
        raise NotImplementedError

    def configure_optimizers(self) -> None:
        """Create the optimisers with :meth:`add_optimizer`."""
        raise NotImplementedError

    def training_phases(self) -> Sequence[Phase]:
        """The updates of the next training step, in order (may depend on ``step_count``)."""
        raise NotImplementedError

    def begin_step(self, batch: dict[str, Any]) -> StepState:
        """The state the step's phases share, made once per step before the first phase.

        Default: the batch with its tensors on the model's device. Models add what every phase
        needs (EdgeConnect's Canny edges) or start a stage of a step-dependent recipe here.
        """
        return {
            key: value.to(self.device) if isinstance(value, torch.Tensor) else value
            for key, value in batch.items()
        }

    def visuals(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Images to log for ``batch`` (each (N,3,H,W) in [-1,1]), computed without gradients."""
        raise NotImplementedError

    @classmethod
    def build_dataset(cls, data_config: Any, split: str, seed: int = 0) -> Dataset:
        """The training ("train") or evaluation ("test") dataset named by ``data.dataset``."""
        return build_dataset(cls.data_kind, data_config, split, seed)

    def recipe_steps(self) -> int | None:
        """The number of training steps this config's recipe has, which ``train.steps`` must
        equal (ST-GAN's stages), or None when ``train.steps`` decides (the default)."""
        return None

    def averaged_networks(self) -> tuple[str, ...]:
        """The networks whose weights ``train.ema_decay`` averages: the generators this
        model's configuration trains. Default: none (the trainer refuses an average)."""
        return ()

    def required_initial_networks(self) -> tuple[str, ...]:
        """Networks a fresh run of this configuration must start from trained weights
        (``train.init_from``), e.g. EdgeConnect's frozen G1 in stage 3. Default: none."""
        return ()

    def weight_settings(self, network: str) -> dict[str, object]:
        """The ``model`` config fields that ``network``'s weights depend on beyond their
        shapes, at this model's values (EdgeConnect's G2: norm, hole_fill, residual): weights
        trained with other values do not fit. Default: none."""
        return {}

    # ---- which networks hold trained weights (the pipelines' coverage check) -------------------
    def networks_trained_by_config(self) -> tuple[str, ...]:
        """The networks this configuration's training updates or must start trained (a
        stage's frozen input), at the current ``step_count``. Default: every network.

        Models with stages or modes override it (EdgeConnect's "edge" mode trains G1 and D1
        alone; a staged model returns the networks of the stages reached so far), so that a
        pipeline refuses weights whose trained networks do not cover what it runs.
        """
        return self.network_names

    def trained_networks(self) -> tuple[str, ...]:
        """The held networks whose weights are trained, in ``network_names`` order.

        A model loaded from a checkpoint takes the checkpoint's ``trained`` list; otherwise
        (a fresh model, a checkpoint of an older version, official weights) the networks
        :meth:`networks_trained_by_config` names plus :attr:`initialised_networks`. Either way
        only networks in ``loaded_networks`` count. :meth:`save_pretrained` records the result
        in ``config.json``.
        """
        if self.recorded_trained is not None:
            trained = set(self.recorded_trained)
        else:
            trained = {*self.networks_trained_by_config(), *self.initialised_networks}
        return tuple(n for n in self.network_names if n in trained and n in self.loaded_networks)

    def inference_networks(self, task: str, **options: Any) -> tuple[str, ...]:
        """The networks ``task``'s inference runs, given the call's ``options`` (EdgeConnect:
        ``edges_given``); without options, those that every call needs. Default: none declared
        (no check). A model whose configuration can leave networks untrained overrides it."""
        return ()

    def untrained_hint(self, missing: Sequence[str]) -> str:
        """What to pass instead when ``missing`` networks are untrained (e.g. which stage's
        run); default: a generic sentence."""
        return "pass weights of a run that trained them"

    def check_trained(self, task: str, **options: Any) -> None:
        """Refuse to run ``task`` when a network its inference runs
        (:meth:`inference_networks`) holds no trained weights (:meth:`trained_networks`).

        Raises:
            CheckpointError: one line naming the untrained networks and what to pass instead.
        """
        trained = self.trained_networks()
        missing = [name for name in self.inference_networks(task, **options) if name not in trained]
        if missing:
            raise CheckpointError(
                f"these {self.name} weights hold no trained {', '.join(missing)} (trained: "
                f"{', '.join(trained) or 'none'}), which the {task} task runs; "
                f"{self.untrained_hint(missing)}"
            )

    def extra_training_state(self) -> dict[str, Any]:
        """Training state beyond optimisers and the step count (e.g. image pools)."""
        return {}

    def load_extra_training_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_training_state` returned."""

    # ---- optimisers ---------------------------------------------------------------------------
    def add_optimizer(
        self,
        name: str,
        networks: Iterable[str],
        optimizer: Callable[..., torch.optim.Optimizer],
        schedule: ScheduleConfig | None = None,
        **options: Any,
    ) -> None:
        """Create optimiser ``name`` over the parameters of ``networks``.

        Args:
            name: the optimiser's name, used by phases, checkpoints and logs.
            networks: the networks it updates (a phase stepping it trains them).
            optimizer: the optimiser class, e.g. ``torch.optim.Adam``.
            schedule: its learning-rate schedule (constant when None), built by the trainer.
            options: the optimiser's arguments (lr, betas, ...).
        """
        networks = tuple(networks)
        parameters = [p for network in networks for p in getattr(self, network).parameters()]
        if self.optimizer_impl != "default" and _offers(optimizer, self.optimizer_impl):
            options = {self.optimizer_impl: True, **options}
        self.optimizers[name] = optimizer(parameters, **options)
        self.optimizer_networks[name] = networks
        if schedule is not None:
            self.lr_schedules[name] = schedule

    # ---- the training step: the mechanics of every update -------------------------------------
    def training_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """One training step on ``batch``: every phase of :meth:`training_phases`, in order.

        Returns the detached losses of all phases by name.

        Raises:
            TrainingDivergedError: a loss or a gradient became NaN or infinite (the optimiser
                of that phase is not stepped).
        """
        state = self.begin_step(batch)
        losses: dict[str, torch.Tensor] = {}
        for phase in self.training_phases():
            if self.step_count % phase.every != 0:
                continue
            for _ in range(phase.repeats):
                losses.update(self.run_phase(phase, state))
        self.step_count += 1
        return losses

    def run_phase(self, phase: Phase, state: StepState) -> dict[str, torch.Tensor]:
        """One update: gradients on for the phase's networks alone, ``zero_grad``, the losses
        under autocast with the DDP-wrapped trained networks in ``self.nets``, backward of
        their sum, the finite check, the optimiser steps. Returns the detached losses."""
        trained = self.phase_networks(phase)
        for name in self.network_names:
            set_requires_grad(getattr(self, name), name in trained)
        for name in phase.optimizers:
            self.optimizers[name].zero_grad(set_to_none=True)
        self.nets = self._namespace(trained)
        try:
            with self.autocast(), record_function(f"phase {phase.name}: forward"):
                losses = phase.losses(state)
        finally:
            self.nets = self._namespace(())
        total = sum(loss.float() for loss in losses.values())
        if not torch.isfinite(total):
            bad = next(name for name, loss in losses.items() if not torch.isfinite(loss).all())
            raise TrainingDivergedError(f"loss '{bad}' became {float(losses[bad])}")
        with record_function(f"phase {phase.name}: backward"):
            total.backward()
        with record_function(f"phase {phase.name}: gradient check"):
            self._check_gradients(phase, trained)
        with record_function(f"phase {phase.name}: optimiser step"):
            for name in phase.optimizers:
                self.optimizers[name].step()
        return {name: loss.detach() for name, loss in losses.items()}

    def phase_networks(self, phase: Phase) -> tuple[str, ...]:
        """The networks a phase trains: those its optimisers own."""
        names = {network for opt in phase.optimizers for network in self.optimizer_networks[opt]}
        return tuple(name for name in self.network_names if name in names)

    def _check_gradients(self, phase: Phase, trained: tuple[str, ...]) -> None:
        """TrainingDivergedError naming the network whose gradients are not all finite.

        The fast test is the sum of each gradient: a NaN or an infinity anywhere makes its
        sum non-finite, so finite sums prove every gradient finite, and one vectorised sum per
        tensor costs a tenth of a max-norm on CPU. Only when a sum is not finite (a NaN, an
        infinity, or a sum too large for float32) are the networks searched one by one with
        the max-norm, which cannot overflow and so tells the two apart."""
        grads = {
            name: [p.grad for p in getattr(self, name).parameters() if p.grad is not None]
            for name in trained
        }
        every = [grad for network_grads in grads.values() for grad in network_grads]
        if not every or torch.isfinite(torch.stack([grad.sum() for grad in every])).all():
            return
        name = next(
            (
                name
                for name, network_grads in grads.items()
                if network_grads
                and not torch.isfinite(get_total_norm(network_grads, math.inf, foreach=True))
            ),
            None,
        )
        if name is not None:
            raise TrainingDivergedError(
                f"the gradients of {name} became NaN or infinite in phase '{phase.name}'"
            )

    def _namespace(self, trained: Iterable[str]) -> SimpleNamespace:
        """Wrapped modules for the ``trained`` networks, plain ones for the others."""
        trained = set(trained)
        return SimpleNamespace(
            **{
                name: self.wrapped[name] if name in trained else getattr(self, name)
                for name in self.network_names
            }
        )

    # ---- devices, precision and distribution --------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def autocast(self) -> contextlib.AbstractContextManager[None]:
        """Context of every phase's forward pass: bf16 autocast on CUDA or CPU when the
        trainer enabled it (``autocast_dtype``; see compogan/train/precision.py), otherwise a
        no-op."""
        if self.autocast_dtype is None or self.device.type not in ("cuda", "cpu"):
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def full_precision(self) -> contextlib.AbstractContextManager[None]:
        """Inside a phase, a block computed in float32 even under bf16 autocast (geometry:
        homographies lose their accuracy in bf16)."""
        if self.autocast_dtype is None or self.device.type not in ("cuda", "cpu"):
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, enabled=False)

    def compile_networks(self) -> None:
        """Compile each network with ``torch.compile`` in place (``nn.Module.compile``): calls
        run the compiled graph, while parameters, ``state_dict`` keys and checkpoints stay
        those of the plain network. Compiling happens lazily, at a network's first call per
        input shape and mode. The networks in ``uncompiled_networks`` stay plain."""
        for name in self.network_names:
            if name not in self.uncompiled_networks:
                getattr(self, name).compile()

    def distribute(self, wrap: Callable[[nn.Module], nn.Module]) -> None:
        """Wrap each network on its own (e.g. in DistributedDataParallel) for training passes."""
        self.wrapped = {name: wrap(getattr(self, name)) for name in self.network_names}

    # ---- training state -----------------------------------------------------------------------
    def training_state(self) -> dict[str, Any]:
        """Optimiser states, the step count and the extra state, as tensors and plain values."""
        return {
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "step_count": self.step_count,
            "extra": self.extra_training_state(),
        }

    def load_training_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`training_state` returned (after ``configure_optimizers``)."""
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        self.step_count = int(state["step_count"])
        self.load_extra_training_state(state["extra"])

    # ---- pretrained directories ----------------------------------------------------------------
    def metadata(self, networks: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The ``config.json`` content describing this model (``trained``: the saved networks
        among :meth:`trained_networks`)."""
        saved = tuple(networks or self.loaded_networks)
        return {
            "model": self.name,
            "compogan_version": compogan.__version__,
            "networks": list(saved),
            "trained": [name for name in self.trained_networks() if name in saved],
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
        config = {
            key: value
            for key, value in metadata["config"].items()
            if key not in cls.retired_config_keys
        }
        model = cls(dataclass_from_dict(cls.Config, config), cls._saved_data_config(metadata))
        model.load_networks(read_weights(directory), tuple(metadata.get("networks", ())))
        trained = metadata.get("trained")
        if isinstance(trained, list):
            model.recorded_trained = tuple(str(name) for name in trained)
        model.eval()
        return model

    @classmethod
    def _saved_data_config(cls, metadata: dict[str, Any]) -> Any:
        """The data config a checkpoint was trained with. Inference does not depend on it, so
        keys this version does not know (renamed since) are dropped rather than refused."""
        known = {field.name for field in dataclasses.fields(cls.DataConfig)}
        saved = {cls.renamed_data_keys.get(k, k): v for k, v in metadata.get("data", {}).items()}
        return dataclass_from_dict(cls.DataConfig, {k: v for k, v in saved.items() if k in known})

    def load_networks(self, state: dict[str, torch.Tensor], networks: tuple[str, ...]) -> None:
        """Load the weights of the named networks from a flat ``{net.key: tensor}`` dict.

        Raises:
            CheckpointError: keys or shapes do not match this model's architecture.
        """
        self.loaded_networks = networks or self.network_names
        for name in self.loaded_networks:
            sub_state = network_state(state, name)
            load_network_state(getattr(self, name), sub_state, f"'{name}' of {self.name}")


def _offers(optimizer: Callable[..., torch.optim.Optimizer], flag: str) -> bool:
    """Whether an optimiser class takes the keyword ``flag`` ("foreach" or "fused")."""
    try:
        return flag in inspect.signature(optimizer).parameters
    except (TypeError, ValueError):
        return False


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
