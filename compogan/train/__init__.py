"""Training: the shared loop, distributed set-up, the image pool and the replay history."""

from compogan.train.image_pool import ImagePool
from compogan.train.replay import ReplayBuffer
from compogan.train.trainer import Trainer, TrainResult, make_run_dir

__all__ = ["ImagePool", "ReplayBuffer", "TrainResult", "Trainer", "make_run_dir"]
