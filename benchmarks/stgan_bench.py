"""ST-GAN benchmark: placement error of glasses on held-out synthetic faces.

    python benchmarks/stgan_bench.py quality [--config configs/stgan/glasses_cpu.yaml] [overrides]
    python benchmarks/stgan_bench.py speed

``speed`` measures the paper's glasses setting (144 px, 5 predictors, batch 20): the time of one
training step of the last stage (four frozen predictors, the trained one, two critic updates) with
the process's peak memory, in a fresh subprocess; and the latency of placing a 1024 px foreground
on a 1024 px and on a 4096 px background (predictors at 144 px, composite at full resolution).

Trains the config on CPU (stopping once after the supervised pre-training to score the
supervised-only predictor), then reports the mean corner error of the placed glasses (pixels at
128 px, and as a fraction of the image side) for the initial perturbed placement, after each warp
step, for the supervised-only predictor and for the full ST-GAN. Results are printed as Markdown
and written to benchmarks/results/ as JSON.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from common import DEFAULT_DEVICE, in_fresh_process, machine, save_result, time_steps

from compogan.config import load_config
from compogan.metrics.placement import mean_corner_errors
from compogan.models.stgan import STGAN, STGANConfig, STGANDataConfig
from compogan.train import Trainer

ROOT = Path(__file__).resolve().parents[1]
REPORT_SIZE = 128


def quality(config_path: Path, overrides: list[str], run_dir: Path) -> dict:
    config = load_config(STGAN, config_path, [*overrides, "train.progress=false"])
    supervised = config.model.supervised_pretrain_steps
    started = time.monotonic()
    rows: dict[str, list[float]] = {}
    test_set = None
    if supervised > 0:
        first = Trainer(
            STGAN,
            load_config(
                STGAN,
                config_path,
                [*overrides, "train.progress=false", f"train.stop_after={supervised}"],
            ),
            run_dir,
            device="cpu",
            overwrite=True,
        )
        first.fit()
        test_set = STGAN.build_dataset(first.model.data_config, "test", seed=config.train.seed)
        rows["supervised only (G1)"] = mean_corner_errors(
            first.model.eval(), test_set, 1, REPORT_SIZE
        )
    trainer = Trainer(
        STGAN, config, run_dir, resume=supervised > 0, device="cpu", overwrite=supervised == 0
    )
    result = trainer.fit()
    model = trainer.model.eval()
    test_set = test_set or STGAN.build_dataset(model.data_config, "test", seed=config.train.seed)
    rows["ST-GAN (full)"] = mean_corner_errors(model, test_set, model.config.warp_n, REPORT_SIZE)
    summary = {
        "config": str(config_path),
        "overrides": overrides,
        "steps": result.step,
        "minutes": (time.monotonic() - started) / 60,
        "test_items": len(test_set),
        "corner_error_px_at_128": rows,
    }
    print(
        f"\nST-GAN glasses placement, {len(test_set)} held-out faces, {result.step} steps, "
        f"{summary['minutes']:.1f} min on CPU\n"
    )
    print(
        "| model | " + " | ".join(f"after {k} steps" for k in range(model.config.warp_n + 1)) + " |"
    )
    print("|---|" + "---|" * (model.config.warp_n + 1))
    for name, errors in rows.items():
        cells = " | ".join(f"{e:.2f} px ({e / REPORT_SIZE:.3f})" for e in errors)
        print(f"| {name} | {cells} |")
    return summary


def measure_training_step(steps: int, device: str) -> dict:
    """Seconds per last-stage training step and peak memory (MiB) at the paper's setting."""
    config = STGANConfig()
    model = STGAN(config, STGANDataConfig(size=config.image_size)).to(device)
    model.configure_optimizers()
    model.step_count = model.stage_start(config.warp_n)
    size, batch_size = config.image_size, 20
    fg = torch.rand(batch_size, 4, size, size) * 2 - 1
    fg[:, 3] = (fg[:, 3] > 0).float()
    batch = {
        "bg": torch.rand(batch_size, 3, size, size) * 2 - 1,
        "fg": fg,
        "init": torch.eye(3).expand(batch_size, 3, 3).clone(),
        "real": torch.rand(batch_size, 3, size, size) * 2 - 1,
    }
    seconds, peak = time_steps(lambda: model.training_step(batch), steps, device)
    return {
        "image_size": size,
        "warp_n": config.warp_n,
        "batch": batch_size,
        "step_seconds": seconds,
        "peak_mib": peak,
    }


@torch.no_grad()
def measure_compose_latency(background_side: int, device: str, repeats: int = 3) -> float:
    """Seconds to place a 1024 px foreground on a square background (paper-size model)."""
    model = STGAN(STGANConfig()).to(device).eval()
    fg = torch.rand(1, 4, 1024, 1024, device=device) * 2 - 1
    bg = torch.rand(1, 3, background_side, background_side, device=device) * 2 - 1
    init = torch.eye(3, device=device)
    return time_steps(lambda: model.place(fg, bg, init, keep_steps=False), repeats, device)[0]


def speed(steps: int, device: str) -> dict:
    training = in_fresh_process("stgan_bench", f"measure_training_step({steps}, {device!r})")
    latency = {side: measure_compose_latency(side, device) for side in (1024, 4096)}
    print(f"\nST-GAN speed on {machine()}\n")
    print(
        f"last-stage training step at {training['image_size']} px, warp_n "
        f"{training['warp_n']}, batch {training['batch']}: {training['step_seconds']:.2f} s, "
        f"peak memory {training['peak_mib']:.0f} MiB"
    )
    for side, seconds in latency.items():
        print(f"compose a 1024 px foreground onto a {side} px background: {seconds:.2f} s")
    return {
        "machine": machine(),
        "training": training,
        "compose_seconds": {str(k): v for k, v in latency.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    quality_parser = sub.add_parser("quality")
    quality_parser.add_argument(
        "--config", type=Path, default=ROOT / "configs" / "stgan" / "glasses_cpu.yaml"
    )
    quality_parser.add_argument("--run-dir", type=Path, default=ROOT / "runs" / "bench-stgan")
    quality_parser.add_argument("overrides", nargs="*")
    speed_parser = sub.add_parser("speed")
    speed_parser.add_argument("--steps", type=int, default=3)
    speed_parser.add_argument("--device", default=DEFAULT_DEVICE)
    args = parser.parse_args()
    if args.what == "speed":
        output = speed(args.steps, args.device)
    else:
        output = quality(args.config, args.overrides, args.run_dir)
    save_result("stgan", args.what, output)


if __name__ == "__main__":
    main()
