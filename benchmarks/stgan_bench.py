"""ST-GAN benchmark: placement error of glasses on held-out synthetic faces.

    python benchmarks/stgan_bench.py quality [--config configs/stgan/glasses_cpu.yaml] [overrides]

Trains the config on CPU (stopping once after the supervised pre-training to score the
supervised-only predictor), then reports the mean corner error of the placed glasses (pixels at
128 px, and as a fraction of the image side) for the initial perturbed placement, after each warp
step, for the supervised-only predictor and for the full ST-GAN. Results are printed as Markdown
and written to benchmarks/results/ as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from compogan.config import load_config
from compogan.metrics.placement import mean_corner_errors
from compogan.models.stgan import STGAN
from compogan.train import Trainer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
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
        )
        first.fit()
        test_set = STGAN.build_dataset(first.model.data_config, "test", seed=config.train.seed)
        rows["supervised only (G1)"] = mean_corner_errors(
            first.model.eval(), test_set, 1, REPORT_SIZE
        )
    trainer = Trainer(STGAN, config, run_dir, resume=supervised > 0, device="cpu")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    quality_parser = sub.add_parser("quality")
    quality_parser.add_argument(
        "--config", type=Path, default=ROOT / "configs" / "stgan" / "glasses_cpu.yaml"
    )
    quality_parser.add_argument("--run-dir", type=Path, default=ROOT / "runs" / "bench-stgan")
    quality_parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    output = quality(args.config, args.overrides, args.run_dir)
    name = f"stgan_{args.what}_{time.strftime('%Y%m%d-%H%M%S')}.json"
    (RESULTS / name).write_text(json.dumps(output, indent=2))


if __name__ == "__main__":
    main()
