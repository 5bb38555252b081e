"""Training: the shared loop, distributed set-up and the image pool."""

from compogan.train.trainer import Trainer, TrainResult, make_run_dir

__all__ = ["TrainResult", "Trainer", "make_run_dir"]
