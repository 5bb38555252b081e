"""CycleGAN benchmark: speed, memory and day→night quality against two baselines.

    python benchmarks/cyclegan_bench.py speed                 # step time, peak memory, images/s
    python benchmarks/cyclegan_bench.py quality --minutes 30  # train on CPU, score checkpoints
    python benchmarks/cyclegan_bench.py quality --minutes 20 --steps 800 --set train.bf16=true

``speed`` measures the paper's networks (9 blocks at 256 px, 6 at 128 px, batch 1): the time of
one full training step (both generators and both discriminators) and the process's peak memory,
each size in a fresh subprocess so the peak belongs to that size alone; then inference images/s.

``quality`` trains configs/cyclegan/day2night_cpu.yaml for a wall-clock budget, scores every
checkpoint on the held-out paired scenes (PSNR / SSIM against the true night render) and compares
with the identity and Reinhard baselines. ``--steps`` fixes the schedule's length (the run stops at
whichever of the steps and the minutes comes first), so that two settings can be compared on the
same computation; ``--set KEY=VALUE`` overrides the config. Results are printed as Markdown and
written to benchmarks/results/ as JSON; benchmarks/RESULTS.md records them by hand with the machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from common import (
    DEFAULT_DEVICE,
    add_override_argument,
    in_fresh_process,
    machine,
    save_result,
    time_steps,
)

from compogan.config import load_config
from compogan.metrics.translation import fit_reinhard_to_domain_b, translation_table
from compogan.models.cyclegan import CycleGAN, CycleGANConfig
from compogan.registry import load
from compogan.train import Trainer
from compogan.train.trainer import checkpoint_dirs

ROOT = Path(__file__).resolve().parents[1]


def measure_training_step(size: int, n_blocks: int, device: str, steps: int) -> dict:
    """Seconds per training step and peak memory (MiB) of the paper-size CycleGAN."""
    model = CycleGAN(CycleGANConfig(n_blocks=n_blocks)).to(device)
    model.configure_optimizers()
    batch = {"A": torch.rand(1, 3, size, size) * 2 - 1, "B": torch.rand(1, 3, size, size) * 2 - 1}
    seconds, peak = time_steps(lambda: model.training_step(batch), steps, device)
    with torch.no_grad():
        images = torch.rand(4, 3, size, size, device=device) * 2 - 1
        model.G_A.eval()
        model.G_A(images)
        start = time.perf_counter()
        for _ in range(steps):
            model.G_A(images)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        images_per_second = 4 * steps / (time.perf_counter() - start)
    return {
        "size": size,
        "n_blocks": n_blocks,
        "step_seconds": seconds,
        "peak_mib": peak,
        "inference_images_per_second": images_per_second,
    }


def speed(device: str, steps: int) -> list[dict]:
    """Run each size in its own process so peak memory is per size."""
    rows = []
    for size, n_blocks in ((128, 6), (256, 9)):
        call = f"measure_training_step({size}, {n_blocks}, {device!r}, {steps})"
        rows.append(in_fresh_process("cyclegan_bench", call))
    print(f"\nCycleGAN speed on {machine()}, batch 1, {steps} timed steps\n")
    print("| size | blocks | train step (s) | peak memory (MiB) | inference (images/s, batch 4) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['size']} | {r['n_blocks']} | {r['step_seconds']:.2f} | {r['peak_mib']:.0f} | "
            f"{r['inference_images_per_second']:.1f} |"
        )
    return rows


def quality(
    minutes: float,
    run_dir: Path,
    evaluate_only: bool,
    steps: int | None = None,
    overrides: tuple[str, ...] = (),
) -> dict:
    """Train for ``minutes`` or ``steps`` (unless evaluate_only), then score every checkpoint.
    Without ``steps`` the schedule is sized to the minutes (~0.4 s per step on 2 CPU cores)."""
    config_path = ROOT / "configs" / "cyclegan" / "day2night_cpu.yaml"
    steps = steps or int(minutes * 60 / 0.4)
    overrides = [
        *overrides,
        f"train.max_minutes={minutes}",
        f"train.steps={steps}",
        f"train.checkpoint_every={max(steps // 6, 1)}",
        "train.keep_checkpoints=20",
        "train.progress=false",
    ]
    config = load_config(CycleGAN, config_path, overrides)
    trainer = Trainer(
        CycleGAN, config, run_dir, resume=evaluate_only, device="cpu", overwrite=not evaluate_only
    )
    result = trainer.fit() if not evaluate_only else None
    # the same held-out scenes whatever train.seed, so runs of two seeds are comparable
    test_set = CycleGAN.build_dataset(trainer.model.data_config, "test", seed=0)
    methods = {}
    for checkpoint in checkpoint_dirs(run_dir):
        model = load(checkpoint)
        methods[f"cyclegan@{checkpoint.name}"] = lambda x, m=model: m.translate(x)
    table = translation_table(methods, test_set, fit_reinhard_to_domain_b(trainer.dataset))
    summary = {
        "machine": machine(),
        "minutes": minutes,
        "config": str(config_path),
        "overrides": list(overrides),
        "steps": result.step if result else None,
        "train_seconds": result.seconds if result else None,
        "scores": table,
    }
    print(f"\nday→night on {len(test_set)} held-out 64 px scenes, {machine()}")
    print(f"budget {minutes} min, {summary['steps']} steps\n")
    print("| method | PSNR (dB) | SSIM |\n|---|---|---|")
    for name, s in table.items():
        print(f"| {name} | {s['psnr']:.2f} | {s['ssim']:.3f} |")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    speed_parser = sub.add_parser("speed")
    speed_parser.add_argument("--device", default=DEFAULT_DEVICE)
    speed_parser.add_argument("--steps", type=int, default=3)
    quality_parser = sub.add_parser("quality")
    quality_parser.add_argument("--minutes", type=float, default=30.0)
    quality_parser.add_argument("--run-dir", type=Path, default=ROOT / "runs" / "bench-cyclegan")
    quality_parser.add_argument("--evaluate-only", action="store_true")
    quality_parser.add_argument("--steps", type=int, default=None, help="the schedule's length")
    add_override_argument(quality_parser)
    args = parser.parse_args()
    if args.what == "speed":
        output = speed(args.device, args.steps)
    else:
        output = quality(
            args.minutes, args.run_dir, args.evaluate_only, args.steps, tuple(args.set)
        )
    save_result("cyclegan", args.what, output)


if __name__ == "__main__":
    main()
