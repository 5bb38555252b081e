"""Self-contained demos: train on built-in synthetic data and write an HTML report offline."""

from __future__ import annotations

from pathlib import Path

from compogan.errors import ConfigError

DEMOS = ("cyclegan", "stgan")


def run_demo(model: str, out: str | Path, minutes: float = 3.0, device: str = "auto") -> Path:
    """Run the named model's demo; returns the path of the report's ``index.html``."""
    if model == "cyclegan":
        from compogan.demos.cyclegan import run_cyclegan_demo

        return run_cyclegan_demo(Path(out), minutes=minutes, device=device)
    if model == "stgan":
        from compogan.demos.stgan import run_stgan_demo

        return run_stgan_demo(Path(out), minutes=minutes, device=device)
    raise ConfigError(f"no demo for '{model}'; available demos: {', '.join(DEMOS)}")
