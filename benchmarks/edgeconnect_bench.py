"""EdgeConnect benchmark: inpainting quality per hole-area bucket against OpenCV's inpainting.

    python benchmarks/edgeconnect_bench.py quality --minutes 30 [--set model.norm=instance]
        [--stage-set inpaint:data.mask_kind=irregular] [--final-share 0.333]
        [--final-stage end_to_end]
    python benchmarks/edgeconnect_bench.py speed --steps 2

Quality: the paper's three stages on configs/edgeconnect/skimage_cpu.yaml (64 px, CPU-size networks,
running averages of the generators' weights saved) within a wall-clock budget. Stage 1 (edge, on the
irregular masks: G1 trained on the config's small free-form holes drew worse edges than none deep in
large ones) and stage 2 (inpaint, on Canny edges of the ground truth) are independent, so they train
side by side, one process and one thread each, for the first part of the budget; stage 3
(edge_inpaint: G2 on the frozen G1's edges, starting from both runs) trains with every thread for
the rest, ``--final-share`` of it (1/6: a longer stage 3 scored lower, benchmarks/RESULTS.md;
``--final-stage end_to_end``: the paper's end-to-end fine-tuning of G1 and G2 on G2's losses
instead). Scored on crops of the scikit-image photos held out of training (data.test_photos) with
the fixed evaluation masks of each bucket: the mean colour of the known pixels, OpenCV Telea, OpenCV
Navier-Stokes, harmonic interpolation (Laplace's equation in the hole: Poisson blending of a flat
fill), our inpaint-only model (stage 2's G2 with no edges in the hole), our edge→inpaint model
(stage 3), and the same with Poisson blending (compogan.blending, the Inpainter's
``blend="poisson"``). PSNR (of the set's mean squared error), mean SSIM and mean L1 (on [0, 1]) over
whole images; known pixels are identical for every method. ``--set KEY=VALUE`` overrides the config
for every stage (the paper's InstanceNorm generators: ``--set model.norm=instance``), ``--stage-set
MODE:KEY=VALUE`` for one stage (``edge``, ``inpaint`` or the final stage's mode), after
:data:`DEFAULT_STAGE_SETS`.

Speed: a training step of each mode at the released setting (256 px, batch 8, 8 blocks, VGG-19
perceptual and style losses on G2; a randomly initialised VGG-19 costs the same as the pretrained
one and needs no download), each mode in its own process for its peak memory; and the latency of
:class:`~compogan.pipelines.Inpainter` (work size 256, the crop strategy) at 512, 1024 and 2048 px
for a large free-form hole (10–20 % of the image, spread over all of it: the crop is the whole
image, scaled down) and for one 128x128 hole (the crop is a 256 px window around it).
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from common import (
    DEFAULT_DEVICE,
    add_override_argument,
    in_fresh_process,
    machine,
    result_of,
    save_result,
    start_in_fresh_process,
    time_steps,
)
from omegaconf import DictConfig, OmegaConf

from compogan.blending import harmonic_interpolation, poisson_blend
from compogan.config import load_config
from compogan.data.masks import EVALUATION_BUCKETS, evaluation_masks
from compogan.metrics.image import l1_error, mse, ssim
from compogan.models.edgeconnect import FROM_TRAINED_G1_MODES, EdgeConnect, EdgeConnectConfig
from compogan.nn import VGG19
from compogan.pipelines import Inpainter
from compogan.train import Trainer

ROOT = Path(__file__).resolve().parents[1]
CPU_CONFIG = ROOT / "configs" / "edgeconnect" / "skimage_cpu.yaml"
MASKS_PER_IMAGE_SEED = 7
FINAL_SHARE = 1 / 6
"""The share of the quality budget that stage 3 trains for."""
DEFAULT_STAGE_SETS = ("edge:data.mask_kind=irregular",)
"""Per-stage overrides of every quality run, before the command line's ``--stage-set``."""

Method = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def opencv_method(flag: int) -> Method:
    """cv2.inpaint (radius 3) on uint8 images; (N,3,H,W) in [-1,1] and masks → same."""

    def run(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        outputs = []
        for image, mask in zip(images, masks, strict=True):
            rgb = ((image.permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
            hole = (mask[0].numpy() > 0.5).astype(np.uint8) * 255
            filled = cv2.inpaint(rgb, hole, 3, flag)
            outputs.append(torch.from_numpy(filled).permute(2, 0, 1).float() / 127.5 - 1)
        return torch.stack(outputs)

    return run


def mean_fill(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """The simplest fill: each hole takes the mean colour of its image's known pixels."""
    known = 1 - masks
    mean = (images * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True)
    return images * known + mean * masks


def model_methods(inpaint_only: EdgeConnect, edge_inpaint: EdgeConnect) -> dict[str, Method]:
    """Our two rows: stage 2's G2 with no edges in the hole, and the stage-3 model."""

    def without_edges(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        _, canny = inpaint_only.canny(images)
        return inpaint_only.inpaint(images, masks, edges=canny * (1 - masks))[0]

    def edge_to_inpaint(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        return edge_inpaint.inpaint(images, masks)[0]

    def blended(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        return poisson_blend(images, edge_inpaint.generate(images, masks)[0], masks)

    return {
        "ours: inpaint only (stage 2, no edges in the hole)": without_edges,
        "ours: edge → inpaint (stage 3)": edge_to_inpaint,
        "ours: edge → inpaint + Poisson blending": blended,
    }


def score(method: Method, images: torch.Tensor, masks: torch.Tensor) -> dict[str, float]:
    with torch.no_grad():
        output = method(images, masks).clamp(-1, 1)
    # PSNR of the set's mean squared error: per-image PSNRs are infinite where a method happens
    # to fill a flat hole exactly, which makes their mean meaningless.
    set_psnr = 10 * torch.log10(4.0 / mse(output, images).mean())
    return {
        "psnr": float(set_psnr),
        "ssim": float(ssim(output, images).mean()),
        "l1": float(l1_error((output + 1) / 2, (images + 1) / 2).mean()),
    }


def stage_config(
    mode: str, minutes: float, run_dir: Path, overrides: tuple[str, ...] = ()
) -> DictConfig:
    """The CPU config with ``overrides`` for one stage, stopping after ``minutes``."""
    overrides = [
        *overrides,
        f"model.mode={mode}",
        f"train.max_minutes={minutes}",
        "train.steps=1000000",
        "train.progress=false",
        "train.checkpoint_every=1000",
    ]
    if mode in FROM_TRAINED_G1_MODES:
        overrides += [
            *(f"train.init_from.{net}={run_dir / 'edge'}" for net in ("G1", "D1")),
            *(f"train.init_from.{net}={run_dir / 'inpaint'}" for net in ("G2", "D2")),
        ]
    return load_config(EdgeConnect, CPU_CONFIG, overrides)


def train_stage(
    mode: str, minutes: float, run_dir: str | Path, threads: int, overrides: tuple[str, ...] = ()
) -> dict:
    """Train one stage into ``run_dir / mode`` with ``threads`` CPU threads."""
    run_dir = Path(run_dir)
    torch.set_num_threads(threads)
    config = stage_config(mode, minutes, run_dir, overrides)
    result = Trainer(EdgeConnect, config, run_dir / mode, device="cpu", overwrite=True).fit()
    return {"mode": mode, "steps": result.step, "seconds": result.seconds, "threads": threads}


def train_side_by_side(
    overrides: dict[str, tuple[str, ...]], minutes: float, run_dir: Path
) -> list[dict]:
    """Train independent stages at once, one process and one thread each: stage ``mode`` with
    ``overrides[mode]``."""
    processes = [
        start_in_fresh_process(
            "edgeconnect_bench",
            f"train_stage({mode!r}, {minutes}, {str(run_dir)!r}, 1, {mode_overrides!r})",
        )
        for mode, mode_overrides in overrides.items()
    ]
    return [result_of(process) for process in processes]


def per_stage_overrides(
    stages: tuple[str, ...], overrides: tuple[str, ...], stage_sets: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    """Each stage's config overrides: ``overrides`` for all, then the ``MODE:KEY=VALUE`` items
    of ``stage_sets`` naming it. Raises SystemExit with a one-line message for a malformed item
    or an unknown stage."""
    chosen = {stage: list(overrides) for stage in stages}
    for item in stage_sets:
        stage, separator, override = item.partition(":")
        if not separator or "=" not in override:
            raise SystemExit(f"--stage-set wants MODE:KEY=VALUE, got {item!r}")
        if stage not in chosen:
            raise SystemExit(f"--stage-set names {stage!r}; the stages are {', '.join(stages)}")
        chosen[stage].append(override)
    return {stage: tuple(values) for stage, values in chosen.items()}


def quality(
    minutes: float,
    run_dir: Path,
    evaluate_only: bool = False,
    overrides: tuple[str, ...] = (),
    final_stage: str = "edge_inpaint",
    stage_sets: tuple[str, ...] = (),
    final_share: float = FINAL_SHARE,
) -> dict:
    """The paper's three stages within ``minutes`` of wall clock on this machine's cores:
    stages 1 (edge) and 2 (inpaint) side by side, then stage 3 (``final_stage``, starting from
    both) with every thread for ``final_share`` of the minutes; then the scores (only the scores
    of the runs already in ``run_dir`` with ``evaluate_only``). ``overrides`` apply to every
    stage, ``stage_sets`` (``MODE:KEY=VALUE``) to one."""
    stage_sets = (*DEFAULT_STAGE_SETS, *stage_sets)
    stage_overrides = per_stage_overrides(("edge", "inpaint", final_stage), overrides, stage_sets)
    stages = []
    if not evaluate_only:
        first_two = {mode: stage_overrides[mode] for mode in ("edge", "inpaint")}
        stages = train_side_by_side(first_two, minutes * (1 - final_share), run_dir)
        threads = torch.get_num_threads()
        stages.append(
            train_stage(
                final_stage, minutes * final_share, run_dir, threads, stage_overrides[final_stage]
            )
        )
    final_config = stage_config(
        final_stage, minutes * final_share, run_dir, stage_overrides[final_stage]
    )
    inpaint_only = EdgeConnect.from_pretrained(run_dir / "inpaint")
    edge_inpaint = EdgeConnect.from_pretrained(run_dir / final_stage)
    data_config = edge_inpaint.data_config
    test_set = EdgeConnect.build_dataset(data_config, "test", seed=0)
    images = torch.stack([test_set[i]["image"] for i in range(len(test_set))])
    size = images.shape[-1]
    methods: dict[str, Method] = {
        "mean colour of the known pixels": mean_fill,
        "OpenCV Telea": opencv_method(cv2.INPAINT_TELEA),
        "OpenCV Navier-Stokes": opencv_method(cv2.INPAINT_NS),
        "harmonic interpolation (Poisson blending of a flat fill)": harmonic_interpolation,
        **model_methods(inpaint_only, edge_inpaint),
    }
    table: dict[str, dict[str, dict[str, float]]] = {}
    for bucket in EVALUATION_BUCKETS:
        masks = torch.from_numpy(
            evaluation_masks(size, bucket, len(images), seed=MASKS_PER_IMAGE_SEED)
        ).unsqueeze(1)
        torch.manual_seed(0)
        table[bucket] = {name: score(method, images, masks) for name, method in methods.items()}
    summary = {
        "machine": machine(),
        "config": str(CPU_CONFIG),
        "overrides": list(overrides),
        "stage_overrides": list(stage_sets),
        "final_stage": final_stage,
        "model": dataclasses.asdict(edge_inpaint.config),
        "train": OmegaConf.to_container(final_config.train),
        "minutes": minutes,
        "final_share": final_share,
        "stages": stages,
        "test_photos": list(data_config.test_photos),
        "test_images": len(images),
        "scores": table,
    }
    print(
        f"\nEdgeConnect, {len(images)} test crops at {size} px of the held-out photos "
        f"{list(data_config.test_photos)}"
    )
    for stage in stages:
        print(
            f"stage {stage['mode']}: {stage['steps']} steps in {stage['seconds'] / 60:.1f} min, "
            f"{stage['threads']} thread(s)"
        )
    print("\n| hole area | method | PSNR (dB) | SSIM | L1 |\n|---|---|---|---|---|")
    for bucket, rows in table.items():
        for name, s in rows.items():
            print(f"| {bucket}% | {name} | {s['psnr']:.2f} | {s['ssim']:.3f} | {s['l1']:.4f} |")
    return summary


def measure_training_step(mode: str, steps: int, device: str) -> dict:
    """Seconds per training step of ``mode`` and peak memory at the released setting."""
    with tempfile.TemporaryDirectory() as folder:
        vgg_file = Path(folder) / "vgg19-random.pth"
        torch.save(VGG19().state_dict(), vgg_file)
        model = EdgeConnect(EdgeConnectConfig(mode=mode, vgg_weights=str(vgg_file))).to(device)
        model.configure_optimizers()
    model.train()
    size, batch_size = 256, 8
    masks = torch.from_numpy(evaluation_masks(size, "20-30", batch_size)).unsqueeze(1)
    batch = {"image": torch.rand(batch_size, 3, size, size) * 2 - 1, "mask": masks}
    seconds, peak = time_steps(lambda: model.training_step(batch), steps, device)
    return {
        "mode": mode,
        "size": size,
        "batch": batch_size,
        "step_seconds": seconds,
        "peak_mib": peak,
    }


def latency_masks(side: int) -> dict[str, np.ndarray]:
    """A spread-out 10–20 % free-form hole and one central 128x128 hole, (side, side) bool."""
    spread = evaluation_masks(256, "10-20", 1, seed=MASKS_PER_IMAGE_SEED)[0]
    spread = cv2.resize(spread, (side, side), interpolation=cv2.INTER_NEAREST) > 0.5
    box = np.zeros((side, side), dtype=bool)
    box[side // 2 - 64 : side // 2 + 64, side // 2 - 64 : side // 2 + 64] = True
    return {"10-20 % free-form hole over the image": spread, "one 128x128 hole": box}


def measure_latency(device: str, repeats: int = 3) -> dict[str, dict[str, float]]:
    """Seconds per :class:`Inpainter` call at 512, 1024 and 2048 px (paper-size networks)."""
    inpainter = Inpainter(EdgeConnect(EdgeConnectConfig(content_weight=0, style_weight=0)), device)
    rng = np.random.default_rng(0)
    table: dict[str, dict[str, float]] = {}
    for side in (512, 1024, 2048):
        image = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        for name, mask in latency_masks(side).items():
            seconds = time_steps(lambda i=image, m=mask: inpainter(i, m), repeats, device)[0]
            table.setdefault(name, {})[str(side)] = seconds
    return table


def speed(steps: int, device: str) -> dict:
    rows = []
    for mode in ("edge", "inpaint", "joint"):
        call = f"measure_training_step({mode!r}, {steps}, {device!r})"
        rows.append(in_fresh_process("edgeconnect_bench", call))
    latency = measure_latency(device)
    print(f"\nEdgeConnect speed on {machine()}, {steps} timed steps\n")
    print("| mode | train step at 256 px, batch 8 (s) | peak memory (MiB) |\n|---|---|---|")
    for r in rows:
        print(f"| {r['mode']} | {r['step_seconds']:.2f} | {r['peak_mib']:.0f} |")
    print("\n| hole | 512 px (s) | 1024 px (s) | 2048 px (s) |\n|---|---|---|---|")
    for name, seconds in latency.items():
        print(f"| {name} | " + " | ".join(f"{seconds[k]:.2f}" for k in seconds) + " |")
    return {"machine": machine(), "training": rows, "inpaint_seconds": latency}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    quality_parser = sub.add_parser("quality")
    quality_parser.add_argument("--minutes", type=float, default=30.0)
    quality_parser.add_argument("--run-dir", type=Path, default=ROOT / "runs" / "bench-edgeconnect")
    quality_parser.add_argument("--evaluate-only", action="store_true")
    add_override_argument(quality_parser)
    quality_parser.add_argument(
        "--stage-set",
        action="append",
        default=[],
        metavar="MODE:KEY=VALUE",
        help="config override for one stage",
    )
    quality_parser.add_argument(
        "--final-share", type=float, default=FINAL_SHARE, help="stage 3's share of the minutes"
    )
    quality_parser.add_argument(
        "--final-stage", choices=FROM_TRAINED_G1_MODES, default="edge_inpaint", help="stage 3"
    )
    speed_parser = sub.add_parser("speed")
    speed_parser.add_argument("--steps", type=int, default=2)
    speed_parser.add_argument("--device", default=DEFAULT_DEVICE)
    args = parser.parse_args()
    if args.what == "speed":
        output = speed(args.steps, args.device)
    else:
        output = quality(
            args.minutes,
            args.run_dir,
            args.evaluate_only,
            tuple(args.set),
            args.final_stage,
            tuple(args.stage_set),
            args.final_share,
        )
    save_result("edgeconnect", args.what, output)


if __name__ == "__main__":
    main()
