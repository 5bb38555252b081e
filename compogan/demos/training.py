"""What every demo does first: train a shipped CPU config within a time budget."""

from __future__ import annotations

from pathlib import Path

from compogan.config import load_config
from compogan.errors import ConfigError
from compogan.models.base import GANModel
from compogan.train import Trainer, TrainResult

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def train_demo(
    model_cls: type[GANModel], config_name: str, out: Path, minutes: float, device: str
) -> tuple[Trainer, TrainResult]:
    """Train ``configs/<config_name>`` into ``out/run`` (replacing an earlier demo run there)
    for at most ``minutes``.

    Returns the trainer (its model is switched to eval mode) and the training result.

    Raises:
        ConfigError: the config file is missing (the demos need a source checkout).
    """
    config_path = CONFIGS / config_name
    if not config_path.is_file():
        raise ConfigError(f"demo config {config_path} is missing; run the demo from a checkout")
    config = load_config(model_cls, config_path, [f"train.max_minutes={minutes}"])
    trainer = Trainer(model_cls, config, out / "run", device=device, overwrite=True)
    result = trainer.fit()
    trainer.model.eval()
    return trainer, result
