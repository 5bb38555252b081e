"""Self-contained demos: train on built-in synthetic data and write an HTML report offline."""

from __future__ import annotations

from pathlib import Path

from compogan.errors import ConfigError

DEFAULT_DEMO = "stgan"
DEMO_MINUTES = {"cyclegan": 3.0, "stgan": 6.0}
"""Each demo's wall-clock training budget on CPU (its config's schedule fits in it)."""


def run_demo(
    model: str, out: str | Path, minutes: float | None = None, device: str = "auto"
) -> Path:
    """Run the named model's demo; returns the path of the report's ``index.html``.

    Args:
        model: "stgan" (glasses placed on faces) or "cyclegan" (day → night).
        out: report folder.
        minutes: training budget; None uses the demo's own (:data:`DEMO_MINUTES`).
        device: "auto", "cpu", "cuda", ...
    """
    if model not in DEMO_MINUTES:
        raise ConfigError(f"no demo for '{model}'; available demos: {', '.join(DEMO_MINUTES)}")
    budget = DEMO_MINUTES[model] if minutes is None else minutes
    if model == "cyclegan":
        from compogan.demos.cyclegan import run_cyclegan_demo

        return run_cyclegan_demo(Path(out), minutes=budget, device=device)
    from compogan.demos.stgan import run_stgan_demo

    return run_stgan_demo(Path(out), minutes=budget, device=device)
