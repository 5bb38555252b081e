"""Training: the shared loop, learning-rate schedules, weight averages and distributed set-up."""

from compogan.train.trainer import Trainer, TrainResult, make_run_dir

__all__ = ["TrainResult", "Trainer", "make_run_dir"]
