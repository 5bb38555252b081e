"""InGAN benchmark: retargeting scikit-image photos and textures, scored by patch statistics.

    python benchmarks/ingan_bench.py quality --minutes 3 [--images brick,coffee] [--set KEY=VALUE]
    python benchmarks/ingan_bench.py speed [--steps 5] [--device cpu]

For each image (scikit-image's own, offline), trains configs/ingan/skimage_cpu.yaml on it for
``--minutes`` of wall time (the image resized to at most 192 px, 128 px crops), then retargets
the training image to sizes that change its aspect (HxW factors 1.5x0.7, 0.6x1.4, 2x2) and
scores each output by the multi-scale 7x7 patch sliced Wasserstein distance to the input
(:func:`compogan.metrics.patch_swd`, lower is better). Baselines at the same sizes: bicubic
resizing, seam carving (the ``seam-carving`` package, ``pip install -e ".[bench]"``; reported as
missing without it) and a random patch shuffle (the output tiled with 16 px squares cut from
random places of the input). Writes a markdown table and the numbers as JSON. With the
reference's BatchNorm (``model.norm: batch``) InGAN is also scored with BatchNorm normalising by
its running statistics at test time: at batch 1, BatchNorm with each image's own statistics
(the reference's test, and training) computes exactly what InstanceNorm computes, so
``model.norm=instance`` trains the same network and the running statistics are the only
difference there is to compare.

``speed`` times the paper-size networks (configs/ingan/paper.yaml's G and D): training
iterations per second on 128 and 256 px crops (past the curriculum and with the extra inverse
update, so output sizes are drawn over the whole 0.15-2.25 range; the same seeded sizes for
every run) and the latency of one retarget to 512 and 1024 px outputs, each size in its own
process for its peak memory.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from common import (
    add_override_argument,
    in_fresh_process,
    machine,
    save_result,
    time_steps,
    write_report,
)

import compogan
from compogan.config import load_config, section_object
from compogan.geometry.retarget import output_size
from compogan.metrics import patch_swd
from compogan.models.ingan import InGAN
from compogan.nn.ingan import BatchStatNorm2d
from compogan.train import Trainer

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "ingan" / "skimage_cpu.yaml"
IMAGES = ("brick", "grass", "gravel", "coffee", "chelsea", "rocket")
SCALES = ((1.5, 0.7), (0.6, 1.4), (2.0, 2.0))
SHUFFLE_TILE = 16


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(3,H,W) in [-1,1] → (H,W,3) uint8."""
    return ((image.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()


def from_uint8(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 127.5 - 1


def bicubic(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(image[None], size=size, mode="bicubic", align_corners=False)[0].clamp(
        -1, 1
    )


def patch_shuffle(image: torch.Tensor, size: tuple[int, int], seed: int) -> torch.Tensor:
    """An output of ``size`` tiled with squares cut from random places of ``image``."""
    rng = np.random.default_rng(seed)
    height, width = image.shape[-2:]
    out = torch.empty(3, *size)
    for top in range(0, size[0], SHUFFLE_TILE):
        for left in range(0, size[1], SHUFFLE_TILE):
            y = int(rng.integers(0, height - SHUFFLE_TILE + 1))
            x = int(rng.integers(0, width - SHUFFLE_TILE + 1))
            tile = image[:, y : y + SHUFFLE_TILE, x : x + SHUFFLE_TILE]
            h, w = min(SHUFFLE_TILE, size[0] - top), min(SHUFFLE_TILE, size[1] - left)
            out[:, top : top + h, left : left + w] = tile[:, :h, :w]
    return out


def seam_carve(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor | None:
    """Seam carving to ``size`` (H, W), or None when the package is not installed."""
    try:
        import seam_carving
    except ImportError:
        return None
    carved = seam_carving.resize(to_uint8(image), (size[1], size[0]))
    return from_uint8(carved)


def retarget_with_running_stats(model: InGAN, image: torch.Tensor, size: tuple) -> torch.Tensor:
    """InGAN's retarget with BatchNorm normalising by its running statistics (the usual eval
    mode) instead of each output's own (the reference's, and at batch 1 the same as
    InstanceNorm)."""
    norms = [m for m in model.G.modules() if isinstance(m, BatchStatNorm2d)]
    for norm in norms:
        norm.batch_stats_in_eval = False
    try:
        return model.retarget(image, size)
    finally:
        for norm in norms:
            norm.batch_stats_in_eval = True


def score_image(model: InGAN, seed: int) -> dict[str, dict[str, float | None]]:
    source = model.source_image[0].cpu()
    scores: dict[str, dict[str, float | None]] = {}
    for scale in SCALES:
        size = output_size(source.shape[-2:], scale, model.size_multiple)
        x = source[None].to(model.device)
        ours = model.retarget(x, size)[0].cpu()
        carved = seam_carve(source, size)
        outputs = {
            "InGAN": ours,
            "InGAN, BN running stats": retarget_with_running_stats(model, x, size)[0].cpu()
            if model.config.norm == "batch"
            else None,
            "bicubic": bicubic(source, size),
            "seam carving": carved,
            "patch shuffle": patch_shuffle(source, size, seed),
        }
        name = f"{scale[0]:g}x{scale[1]:g}"
        scores[name] = {
            method: None if out is None else patch_swd(out, source)
            for method, out in outputs.items()
        }
    return scores


def quality(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    results: dict[str, dict] = {}
    for image in args.images.split(","):
        overrides = [
            f"data.image=skimage:{image}",
            f"train.max_minutes={args.minutes}",
            "train.progress=false",
            *args.set,
        ]
        config = load_config(InGAN, CONFIG, overrides)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.monotonic()
            steps = Trainer(InGAN, config, Path(tmp) / "run", device="cpu").fit().step
            minutes = (time.monotonic() - started) / 60
            model = compogan.load(Path(tmp) / "run")
        results[image] = {"steps": steps, "minutes": minutes, "scores": score_image(model, 0)}
        print(f"{image}: {steps} steps in {minutes:.1f} min", flush=True)
    methods = ("InGAN", "InGAN, BN running stats", "bicubic", "seam carving", "patch shuffle")
    lines = [
        f"InGAN, {CONFIG.relative_to(ROOT)} {' '.join(args.set)}: at most {args.minutes:g} min "
        f"per image on {machine()}. Patch SWD to the input (lower is better).",
        "",
        "| image | size (HxW) | steps | " + " | ".join(methods) + " |",
        "|---|---|---|" + "---|" * len(methods),
    ]
    for image, result in results.items():
        for size, row in result["scores"].items():
            cells = " | ".join("n/a" if row[m] is None else f"{row[m]:.4f}" for m in methods)
            lines.append(f"| {image} | {size} | {result['steps']} | {cells} |")
    text = "\n".join(lines) + "\n"
    write_report(args.out, text, {"machine": machine(), **results})


SPEED_STEP = 20000
"""The training step the speed runs pretend to be at: past the curriculum (10k) and the start
of the inverse update (10k), so every phase runs at the full range of output sizes."""


def paper_model(crop: int, device: str) -> InGAN:
    config = load_config(InGAN, ROOT / "configs" / "ingan" / "paper.yaml", [f"data.size={crop}"])
    model = InGAN(section_object(config, "model"), section_object(config, "data")).to(device)
    model.configure_optimizers()
    model.step_count = SPEED_STEP
    return model


def measure_training(crop: int, device: str, steps: int) -> dict:
    """Iterations per second and peak memory (MiB) of paper-size InGAN training on crops."""
    torch.manual_seed(0)
    model = paper_model(crop, device)
    crop_image = torch.rand(1, 3, crop, crop, device=device) * 2 - 1
    model.source.set(crop_image)
    seconds, peak = time_steps(lambda: model.training_step({"image": crop_image}), steps, device)
    return {"crop": crop, "iterations_per_second": 1 / seconds, "peak_mib": peak}


def measure_inference(output: int, device: str, steps: int) -> dict:
    """Seconds for one retarget of a 256 px input to an ``output`` px square."""
    model = paper_model(256, device).eval()
    image = torch.rand(1, 3, 256, 256, device=device) * 2 - 1
    seconds, peak = time_steps(lambda: model.retarget(image, (output, output)), steps, device)
    return {"output": output, "seconds": seconds, "peak_mib": peak}


def speed(args: argparse.Namespace) -> None:
    training = [
        in_fresh_process("ingan_bench", f"measure_training({crop}, {args.device!r}, {args.steps})")
        for crop in (128, 256)
    ]
    inference = [
        in_fresh_process("ingan_bench", f"measure_inference({side}, {args.device!r}, 3)")
        for side in (512, 1024)
    ]
    where = machine()
    lines = [
        f"InGAN paper networks (G 64 ch, 6 blocks; D 64 ch, scale factor 1.4) on {where}.",
        "",
        "| crop | training iterations/s | peak memory (MiB) |",
        "|---|---|---|",
        *(
            f"| {r['crop']} | {r['iterations_per_second']:.3f} | {r['peak_mib']:.0f} |"
            for r in training
        ),
        "",
        "| output (256 px input) | retarget latency (s) | peak memory (MiB) |",
        "|---|---|---|",
        *(f"| {r['output']} | {r['seconds']:.2f} | {r['peak_mib']:.0f} |" for r in inference),
    ]
    print("\n".join(lines))
    path = save_result(
        "ingan", "speed", {"machine": where, "training": training, "inference": inference}
    )
    print(f"saved {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--minutes", type=float, default=3.0, help="training budget per image")
    q.add_argument("--images", default=",".join(IMAGES))
    add_override_argument(q)
    q.add_argument("--threads", type=int, default=2)
    q.add_argument("--out", default="benchmarks/results/ingan_quality.md")
    q.set_defaults(run=quality)
    p = sub.add_parser("speed")
    p.add_argument("--steps", type=int, default=5, help="timed training iterations per crop")
    p.add_argument("--device", default="cpu")
    p.set_defaults(run=speed)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
