"""The training loop shared by every model.

The Trainer owns what is the same for every model: devices, seeding, the data order, DDP,
bf16 autocast, learning-rate schedules, starting networks from other runs (``train.init_from``),
weight averages, checkpoints and exact resume, NaN detection, logging and the progress bar. The
model owns its networks, optimisers and training phases (``training_step``).

Run directory layout::

    run_dir/
      config.yaml                  the resolved experiment config
      config.json, model.safetensors   final weights (save_pretrained), written at the end;
                                   with train.ema_decay, the averaged networks' averages
      checkpoints/step_00000500/   config.json, model.safetensors, training_state.pt
      losses.jsonl                 one line of losses per logged step
      tb/                          TensorBoard scalars and image grids
"""

from __future__ import annotations

import contextlib
import json
import math
import pickle
import random
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader
from tqdm import tqdm

from compogan.config import TrainConfig, section_object, validate_config
from compogan.errors import (
    CheckpointError,
    CompoganError,
    ConfigError,
    InputError,
    TrainingDivergedError,
    TrainingInterrupted,
)
from compogan.io.atomic import atomic_dir, atomic_path, remove_stale_temporaries
from compogan.models.base import GANModel
from compogan.train.averaging import WeightAverage
from compogan.train.distributed import (
    ResumableDistributedSampler,
    ddp_wrapper,
    init_distributed,
)
from compogan.train.init import init_networks
from compogan.train.precision import bf16_autocast_supported
from compogan.train.schedules import build_schedulers

TRAINING_STATE_NAME = "training_state.pt"
RUN_ENTRIES = frozenset(
    {"config.yaml", "config.json", "model.safetensors", "checkpoints", "losses.jsonl", "tb"}
)
"""What a run directory holds (see the module docstring); ``--overwrite`` clears only these."""


def _visible_entries(run_dir: Path) -> list[Path]:
    """The entries of ``run_dir`` that are not hidden (hidden ones are temporaries)."""
    return sorted(p for p in run_dir.iterdir() if not p.name.startswith("."))


def check_run_dir(run_dir: str | Path, resume: bool = False, overwrite: bool = False) -> None:
    """Refuse a run directory that a run cannot start in, before anything is built.

    A fresh run (not ``resume``) needs a missing or empty folder, or ``overwrite`` with a
    folder holding a compogan run's entries only (:data:`RUN_ENTRIES`), which the run clears
    first; a fresh run into an earlier run's folder would mix the two runs' checkpoints.

    Raises:
        ConfigError: one line saying what to do: ``--resume``, a new ``--run-dir``, or
            ``--overwrite``.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"--run-dir {run_dir} is a file, not a folder; choose another path")
    if resume and overwrite:
        raise ConfigError("--resume continues a run and --overwrite clears it; give only one")
    if resume or not run_dir.is_dir():
        return
    entries = _visible_entries(run_dir)
    if not entries:
        return
    if not overwrite:
        raise ConfigError(
            f"{run_dir} already holds a run; continue it with --resume, choose a new --run-dir, "
            "or pass --overwrite to delete it and start afresh"
        )
    foreign = [entry.name for entry in entries if entry.name not in RUN_ENTRIES]
    if foreign:
        raise ConfigError(
            f"--overwrite: {run_dir} holds files that are not a compogan run's "
            f"({', '.join(foreign[:3])}); choose another --run-dir"
        )


def clear_run_dir(run_dir: Path) -> None:
    """Delete a run's entries (:data:`RUN_ENTRIES`) from ``run_dir``, nothing else."""
    for name in RUN_ENTRIES:
        path = run_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


class _InterruptFlag:
    """Turns the first Ctrl-C (SIGINT) during training into a request to stop at the end of the
    current step; a second Ctrl-C interrupts at once (KeyboardInterrupt)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> _InterruptFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print(
            "\nstopping after this step and saving a checkpoint (Ctrl-C again quits at once)",
            file=sys.stderr,
        )

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


@dataclass
class TrainResult:
    """What a finished (or stopped) run reports."""

    run_dir: Path
    step: int
    losses: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def capture_rng_state() -> dict[str, Any]:
    """RNG states of torch (CPU and CUDA), numpy and python, as tensors and plain values."""
    numpy_state = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(numpy_state[1].astype(np.int64)),
            "pos": int(numpy_state[2]),
            "has_gauss": int(numpy_state[3]),
            "gauss": float(numpy_state[4]),
        },
        "python": [*random.getstate()[1], random.getstate()[0]],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`capture_rng_state` returned."""
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["gauss"],
        )
    )
    *python_words, version = state["python"]
    random.setstate((version, tuple(python_words), None))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_dirs(run_dir: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    found = sorted((run_dir / "checkpoints").glob("step_*"))
    return [path for path in found if (path / TRAINING_STATE_NAME).is_file()]


@contextlib.contextmanager
def flushed_denormals(device: torch.device) -> Iterator[None]:
    """On a CPU, compute with denormal floats flushed to zero inside the block.

    Saturated sigmoids and tiny gradients produce denormals, which x86 CPUs handle many times
    slower than normal floats: a trained EdgeConnect G1 took 1.27 s per training step with them
    and 0.33 s without. Values below 1.2e-38 become 0; other devices are left alone. Afterwards
    flushing is off, torch's default (torch cannot report an earlier setting to restore).
    """
    if device.type != "cpu" or not torch.set_flush_denormal(True):
        yield
        return
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


class Trainer:
    """Trains one model on its dataset according to an experiment config.

    Args:
        model_cls: the registered model class.
        config: the resolved experiment config (``model``, ``data``, ``train`` sections).
        run_dir: where config, checkpoints and logs go.
        resume: continue from the newest checkpoint in ``run_dir``.
        device: overrides ``train.device`` ("auto", "cpu", "cuda", "mps").
        overwrite: a fresh run may start in a folder holding an earlier run, which it deletes
            first (see :func:`check_run_dir`; without it such a folder is refused).

    Raises:
        ConfigError: a config value out of its range, or a run directory the run cannot
            start in (see :func:`check_run_dir`), before anything is written.
    """

    def __init__(
        self,
        model_cls: type[GANModel],
        config: DictConfig,
        run_dir: str | Path,
        resume: bool = False,
        device: str | None = None,
        overwrite: bool = False,
    ) -> None:
        validate_config(config)
        self.config = config
        self.train_config: TrainConfig = section_object(config, "train")
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.overwrite = overwrite
        check_run_dir(self.run_dir, resume, overwrite)
        self.dist, self.device = init_distributed(device or self.train_config.device)
        seed_everything(self.train_config.seed)
        self.model = model_cls(section_object(config, "model"), section_object(config, "data"))
        self.model.initialised_networks = tuple(self.train_config.init_from)
        self.model.to(self.device)
        if self.train_config.bf16:
            self._enable_bf16()
        self.dataset = model_cls.build_dataset(
            self.model.data_config, "train", seed=self.train_config.seed
        )
        self.sampler = ResumableDistributedSampler(self.dataset, self.dist, self.train_config.seed)
        if len(self.sampler) < self.train_config.batch_size:
            raise InputError(
                f"the training set has {len(self.dataset)} items, fewer than one batch of "
                f"{self.train_config.batch_size} per process"
            )
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self._saved_checkpoint = False
        self.writer = None
        self.averages: dict[str, WeightAverage] = {}
        self.schedulers: dict[str, torch.optim.lr_scheduler.LambdaLR] = {}

    def _enable_bf16(self) -> None:
        """bf16 autocast for every phase where the device runs it natively; a warning where
        ``train.bf16`` is ignored."""
        if bf16_autocast_supported(self.device):
            self.model.autocast_dtype = torch.bfloat16
        elif self.dist.is_main:
            print(
                f"warning: train.bf16 ignored: {self.device.type} has no native bf16 "
                "(CUDA, or a CPU with AVX512-BF16 / AMX); training in float32",
                file=sys.stderr,
            )

    # ---- the loop ------------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        """Train until ``train.steps``, ``train.stop_after`` or ``train.max_minutes``.

        Raises:
            TrainingDivergedError: a loss became NaN/Inf (the last checkpoint stays intact).
        """
        cfg = self.train_config
        self._check_recipe_steps()
        if not self.resume:
            self._init_networks()
        self.model.optimizer_impl = cfg.optimizer_impl
        self.model.configure_optimizers()
        model = self.model
        self.schedulers = build_schedulers(model.optimizers, model.lr_schedules, cfg.steps)
        if self.resume:
            self._load_latest_checkpoint()
        else:
            self.averages = self._start_averages()
        if cfg.compile:
            self.model.compile_networks()
        if self.dist.enabled:
            self.model.distribute(ddp_wrapper(self.device))
        created = self._prepare_run_dir() if self.dist.is_main else []
        end_step = cfg.steps if cfg.stop_after is None else min(cfg.steps, cfg.stop_after)
        progress = tqdm(
            total=end_step,
            initial=self.step,
            disable=not (cfg.progress and self.dist.is_main),
            dynamic_ncols=True,
            desc=self.model.name,
        )
        started = time.monotonic()
        self.model.train()
        try:
            with flushed_denormals(self.device), _InterruptFlag() as interrupt:
                losses = self._train_until(end_step, started, progress, interrupt)
        except BaseException:
            progress.close()
            self._close_writer()
            if not self._saved_checkpoint:
                self._remove_created(created)
            raise
        progress.close()
        if self.dist.is_main:
            with self._averaged_weights():
                self.model.save_pretrained(self.run_dir)
            self._close_writer()
        return TrainResult(self.run_dir, self.step, losses, time.monotonic() - started)

    def _close_writer(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def _remove_created(self, created: list[Path]) -> None:
        """After a failed start (no checkpoint written), delete what this start created and
        nothing an earlier run left: ``created`` is what did not exist before."""
        for path in reversed(created):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def _train_until(
        self, end_step: int, started: float, progress: tqdm, interrupt: _InterruptFlag
    ) -> dict[str, float]:
        """Step, log and checkpoint until ``end_step``, the time budget or a Ctrl-C (after
        which the step's checkpoint is saved and TrainingInterrupted raised); the last losses.
        """
        cfg = self.train_config
        losses: dict[str, float] = {}
        batches = self._batches()
        while self.step < end_step:
            if interrupt.requested:
                self._stop_interrupted(progress)
            batch = next(batches)
            try:
                step_losses = self.model.training_step(batch)
            except TrainingDivergedError as error:
                self._diverged(str(error))
            losses = {name: float(value) for name, value in step_losses.items()}
            self._check_finite(losses)
            for name, average in self.averages.items():
                average.update(getattr(self.model, name))
            for scheduler in self.schedulers.values():
                scheduler.step()
            self.step += 1
            self._advance_data_position()
            progress.update(1)
            progress.set_postfix({k: f"{v:.3g}" for k, v in losses.items()}, refresh=False)
            self._log(losses, batch)
            out_of_time = (
                cfg.max_minutes is not None and time.monotonic() - started > 60 * cfg.max_minutes
            )
            if self.step % cfg.checkpoint_every == 0 or self.step == end_step or out_of_time:
                self.save_checkpoint()
            if out_of_time:
                break
        return losses

    def _stop_interrupted(self, progress: tqdm) -> NoReturn:
        """Save the current step's checkpoint (unless it was just saved) and stop."""
        progress.close()
        found = checkpoint_dirs(self.run_dir)
        latest = self.run_dir / "checkpoints" / f"step_{self.step:08d}"
        if self.step > 0 and (not found or found[-1] != latest):
            self.save_checkpoint()
        saved = f"checkpoint {latest}" if self.step > 0 else "nothing to save at step 0"
        raise TrainingInterrupted(
            f"training stopped by Ctrl-C at step {self.step}; {saved}; continue with "
            f"`compogan train ... --run-dir {self.run_dir} --resume`"
        )

    # ---- what the run starts from ----------------------------------------------------------------
    def _check_recipe_steps(self) -> None:
        """ConfigError unless train.steps equals the model's recipe, when it has one."""
        recipe = self.model.recipe_steps()
        if recipe is not None and recipe != self.train_config.steps:
            raise ConfigError(
                f"train.steps is {self.train_config.steps} but this {self.model.name} recipe has "
                f"{recipe} steps; set train.steps={recipe}"
            )

    def _init_networks(self) -> None:
        """Load ``train.init_from``'s networks, after checking the model's required ones."""
        sources = dict(self.train_config.init_from)
        missing = [n for n in self.model.required_initial_networks() if n not in sources]
        if missing:
            raise ConfigError(
                f"this {self.model.name} config trains on top of a trained "
                f"{' and '.join(missing)}: set "
                + " ".join(f"train.init_from.{name}=RUN_OR_OFFICIAL_FILE" for name in missing)
            )
        init_networks(self.model, sources)

    # ---- weight averages -----------------------------------------------------------------------
    def _start_averages(self, updates: dict[str, int] | None = None) -> dict[str, WeightAverage]:
        """One average per network of the model's ``averaged_networks()`` when
        ``train.ema_decay`` is on, starting at the current weights after ``updates[name]``
        updates (0 when not given)."""
        decay = self.train_config.ema_decay
        if decay == 0:
            return {}
        names = self.model.averaged_networks()
        if not names:
            raise ConfigError(f"train.ema_decay: {self.model.name} has no networks to average")
        updates = updates or {}
        try:
            return {
                name: WeightAverage(getattr(self.model, name), decay, updates.get(name, 0))
                for name in names
            }
        except ValueError as error:
            raise ConfigError(f"train.ema_decay: {error}") from None

    @contextlib.contextmanager
    def _averaged_weights(self) -> Iterator[dict[str, dict[str, torch.Tensor]]]:
        """Inside the block the averaged networks hold their averages (to save them); after
        it, their working weights again. Yields those working weights (copies) by network."""
        working = {
            name: {
                key: value.clone() for key, value in getattr(self.model, name).state_dict().items()
            }
            for name in self.averages
        }
        try:
            for name, average in self.averages.items():
                network = getattr(self.model, name)
                network.load_state_dict(average.averaged_state(network))
            yield working
        finally:
            for name, state in working.items():
                getattr(self.model, name).load_state_dict(state)

    def _batches(self):
        """Endless batches, epoch after epoch, starting at the current data position."""
        while True:
            self.sampler.set_epoch(self.epoch)
            self.sampler.start_index = self.batch_in_epoch * self.train_config.batch_size
            if hasattr(self.dataset, "set_epoch"):
                self.dataset.set_epoch(self.epoch)
            # A private generator: creating a loader would otherwise draw from the global RNG.
            loader_rng = torch.Generator().manual_seed(self.train_config.seed + self.epoch)
            loader = DataLoader(
                self.dataset,
                generator=loader_rng,
                batch_size=self.train_config.batch_size,
                sampler=self.sampler,
                num_workers=self.train_config.num_workers,
                drop_last=True,
                pin_memory=self.device.type == "cuda",
            )
            yield from loader

    def _advance_data_position(self) -> None:
        self.batch_in_epoch += 1
        per_epoch = self.sampler.num_samples // self.train_config.batch_size
        if self.batch_in_epoch >= per_epoch:
            self.epoch += 1
            self.batch_in_epoch = 0

    def _check_finite(self, losses: dict[str, float]) -> None:
        for name, value in losses.items():
            if not math.isfinite(value):
                self._diverged(f"loss '{name}' became {value}")

    def _diverged(self, what: str) -> NoReturn:
        """Stop with ``what`` went wrong, at which step, and the last good checkpoint."""
        previous = checkpoint_dirs(self.run_dir)
        kept = f"; the last good checkpoint is {previous[-1]}" if previous else ""
        raise TrainingDivergedError(
            f"{what} at step {self.step + 1}{kept}; lower the learning rate or check the data"
        )

    # ---- logging -------------------------------------------------------------------------------
    def _prepare_run_dir(self) -> list[Path]:
        """Create the run directory (cleared first with ``overwrite``), remove temporaries a
        killed run left, write config.yaml and open the TensorBoard writer. Returns the paths
        this created that did not exist before (deleted again if the start fails).

        Raises:
            CheckpointError: the folder cannot be created or written.
        """
        if self.overwrite and not self.resume and self.run_dir.is_dir():
            clear_run_dir(self.run_dir)
        created = [p for p in (self.run_dir, *self.run_dir.parents) if not p.exists()][::-1]
        created = created[:1]
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(self.run_dir)
            remove_stale_temporaries(self.run_dir / "checkpoints")
            created += [
                self.run_dir / name
                for name in ("config.yaml", "tb", "losses.jsonl", "checkpoints")
                if not (self.run_dir / name).exists()
            ]
            with atomic_path(self.run_dir / "config.yaml") as tmp:
                tmp.write_text(OmegaConf.to_yaml(self.config))
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.run_dir / "tb"), purge_step=self.step)
        except OSError as error:
            self._remove_created(created)
            raise CheckpointError(
                f"cannot write the run directory {self.run_dir}: {error.strerror or error}"
            ) from None
        return created

    def _log(self, losses: dict[str, float], batch: dict[str, torch.Tensor]) -> None:
        cfg = self.train_config
        if not self.dist.is_main:
            return
        if self.step % cfg.log_every == 0 or self.step == 1:
            for name, value in losses.items():
                self.writer.add_scalar(f"loss/{name}", value, self.step)
            for name, scheduler in self.schedulers.items():
                self.writer.add_scalar(f"lr/{name}", scheduler.get_last_lr()[0], self.step)
            with open(self.run_dir / "losses.jsonl", "a") as log_file:
                log_file.write(json.dumps({"step": self.step, **losses}) + "\n")
        if cfg.image_every and self.step % cfg.image_every == 0:
            self._log_images(batch)

    def _log_images(self, batch: dict[str, torch.Tensor]) -> None:
        self.model.eval()
        visuals = self.model.visuals(batch)
        self.model.train()
        for name, images in visuals.items():
            grid = (images[:4].float().clamp(-1, 1) + 1) / 2
            self.writer.add_images(f"images/{name}", grid, self.step)

    # ---- checkpoints ---------------------------------------------------------------------------
    def save_checkpoint(self) -> Path | None:
        """Write a resumable checkpoint atomically (rank 0) and keep the newest K."""
        if not self.dist.is_main:
            return None
        target = self.run_dir / "checkpoints" / f"step_{self.step:08d}"
        state = {
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "world_size": self.dist.world_size,
            "rng": capture_rng_state(),
            "model": self.model.training_state(),
            "schedulers": {name: sch.state_dict() for name, sch in self.schedulers.items()},
        }
        try:
            with atomic_dir(target) as tmp, self._averaged_weights() as working:
                self.model.save_pretrained(tmp)
                state["averages"] = {
                    name: {"updates": average.updates, "working": working[name]}
                    for name, average in self.averages.items()
                }
                torch.save(state, tmp / TRAINING_STATE_NAME)
        except CompoganError as error:
            raise CheckpointError(f"cannot write checkpoint {target}: {error}") from None
        except (OSError, RuntimeError) as error:
            reason = getattr(error, "strerror", None) or "the write failed (is the disk full?)"
            previous = checkpoint_dirs(self.run_dir)
            kept = f"; the last checkpoint is {previous[-1]}" if previous else ""
            raise CheckpointError(f"cannot write checkpoint {target}: {reason}{kept}") from None
        self._saved_checkpoint = True
        for old in checkpoint_dirs(self.run_dir)[: -self.train_config.keep_checkpoints]:
            shutil.rmtree(old, ignore_errors=True)
        return target

    def _load_latest_checkpoint(self) -> None:
        from compogan.io.checkpoints import read_weights

        found = checkpoint_dirs(self.run_dir)
        if not found:
            raise CheckpointError(f"--resume: no checkpoint in {self.run_dir / 'checkpoints'}")
        latest = found[-1]
        state_file = latest / TRAINING_STATE_NAME
        try:
            state = torch.load(state_file, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            raise CheckpointError(
                f"{state_file} is not a compogan training state (it holds objects other than "
                "tensors and plain values, or is corrupt); it was not loaded"
            ) from None
        except Exception as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
            raise CheckpointError(f"cannot read {state_file}: {reason}") from None
        if not isinstance(state, dict) or "world_size" not in state:
            raise CheckpointError(f"{state_file} is not a compogan training state")
        if state["world_size"] != self.dist.world_size:
            raise CheckpointError(
                f"{latest} was written by {state['world_size']} processes; resume with as many"
            )
        self.model.load_networks(read_weights(latest), self.model.network_names)
        self.model.load_training_state(state["model"])
        for name, scheduler in self.schedulers.items():
            scheduler.load_state_dict(state["schedulers"][name])
        self._load_averages(state.get("averages", {}), latest)
        self.step = state["step"]
        self.epoch = state["epoch"]
        self.batch_in_epoch = state["batch_in_epoch"]
        restore_rng_state(state["rng"])

    def _load_averages(self, saved: dict[str, dict[str, Any]], checkpoint: Path) -> None:
        """Resume the averages from the checkpoint's weights just loaded (the averages) and
        its update counts, then give the averaged networks their working weights back."""
        self.averages = self._start_averages({name: s["updates"] for name, s in saved.items()})
        if set(saved) != set(self.averages):
            raise CheckpointError(
                f"{checkpoint} averages {sorted(saved) or 'no networks'}, this run "
                f"{sorted(self.averages) or 'none'}: resume with the same train.ema_decay"
            )
        for name, state in saved.items():
            getattr(self.model, name).load_state_dict(state["working"])


def make_run_dir(model_name: str, base: str | Path = "runs") -> Path:
    """A fresh ``runs/<model>-<YYYYmmdd-HHMMSS>`` path."""
    return Path(base) / f"{model_name}-{time.strftime('%Y%m%d-%H%M%S')}"
