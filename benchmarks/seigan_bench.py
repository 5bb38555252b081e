"""SEIGAN benchmark: segmentation, inpainting and paste-and-enhance on held-out synthetic scenes.

    python benchmarks/seigan_bench.py quality --minutes 8 [--set model.lambda_identity=0]
    python benchmarks/seigan_bench.py rescore --run-dir RUN [--picture scenes.png]
    python benchmarks/seigan_bench.py speed [--steps 3]

Trains configs/seigan/synthetic_cpu.yaml (64 px; ``--config`` for another, such as
configs/seigan/synthetic_cpu_tuned.yaml) for ``--minutes`` of wall time (``--set`` overrides the
config), then scores the run on the fixed "test" split of the synthetic objects
(scenes never drawn in training; each with its true mask, clean background and the truly
rendered paste):

- segmentation: mask IoU (both binarised at 0.5) against the true mask; baselines: the whole
  box, OpenCV GrabCut initialised with the box (5 iterations), Otsu's threshold inside the box
  (the class farther from the box's border colour is the object), and the border colour prior
  alone (1 − :func:`~compogan.losses.border_likeness`: the pixels whose colour is not found in
  the 3-pixel band around the box; what the tuned config's ``lambda_border_colour`` teaches);
- inpainting, the hole being the true mask grown by one pixel for every method: PSNR inside the
  hole and whole-image SSIM against the clean background; baselines: OpenCV Telea and
  Navier-Stokes (radius 3), and the harmonic interpolation of the hole's surroundings (what the
  tuned config's ``inp_hole_fill="harmonic"`` starts G_inp from);
- paste-and-enhance: fMSE and fPSNR (iHarmony4: 0-255 images, inside the true object mask in
  the target) of the composite against the truly rendered scene; baselines: the naive paste
  (true mask), Reinhard colour transfer of the object to the target's Lab statistics then the
  naive paste, OpenCV seamlessClone (Poisson, NORMAL_CLONE); ours with the true mask (G_enh
  alone) and with G_seg's mask (the whole chain), beside the naive paste with G_seg's mask
  (what G_enh adds to the chain).

Segmentation is also scored against the object joined with its contact shadow (the pixels the
scene darkens by more than a quarter): for the swap the shadow belongs with the object.

Writes the table to ``--out`` (markdown) and the numbers beside it as JSON; ``--picture``
also writes six test scenes with every network's output (:func:`scene_picture`). ``rescore``
scores a run trained before.

``speed`` measures one training step (all three generators and both discriminators) and the
process's peak memory at configs/seigan/paper.yaml (128 px, batch 8, with the VGG-19 texture
loss) and at the CPU config, each in a fresh subprocess. The VGG-19 there has random weights
(written to a temporary file): the time of the loss does not depend on its values.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from common import (
    add_override_argument,
    in_fresh_process,
    machine,
    save_result,
    time_steps,
    write_report,
)
from skimage.filters import threshold_otsu

import compogan
from compogan.baselines.color_transfer import lab_stats, reinhard_transfer
from compogan.blending import harmonic_interpolation
from compogan.config import load_config, section_object
from compogan.io.images import save_image
from compogan.losses import border_likeness
from compogan.metrics.image import fmse, mask_iou, ssim, to_255
from compogan.models.seigan import SEIGAN
from compogan.nn import VGG19
from compogan.report import image_grid
from compogan.train import Trainer

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "seigan" / "synthetic_cpu.yaml"
PAPER = ROOT / "configs" / "seigan" / "paper.yaml"
SHADOW_DARKENING = 0.25
"""A pixel darkened by more than this share belongs to the contact shadow (the renderer's
shadow darkens by up to 0.55 at its centre)."""


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(3,H,W) in [-1,1] → (H,W,3) uint8."""
    return ((image.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()


def from_uint8(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1).float() / 127.5 - 1


def box_of(box_mask: torch.Tensor) -> tuple[int, int, int, int]:
    rows = torch.nonzero(box_mask[0].any(1))[:, 0]
    cols = torch.nonzero(box_mask[0].any(0))[:, 0]
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def grabcut(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    mask = np.zeros(image.shape[:2], np.uint8)
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.grabCut(
        image[..., ::-1].copy(),
        mask,
        (x0, y0, x1 - x0, y1 - y0),
        bgd,
        fgd,
        5,
        cv2.GC_INIT_WITH_RECT,
    )
    return np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)


def otsu_in_box(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    grey = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    inside = grey[y0:y1, x0:x1]
    above = inside > threshold_otsu(inside)
    border = np.concatenate([inside[0], inside[-1], inside[:, 0], inside[:, -1]]).mean()
    high_is_object = abs(inside[above].mean() - border) > abs(inside[~above].mean() - border)
    mask = np.zeros_like(grey)
    mask[y0:y1, x0:x1] = above if high_is_object else ~above
    return mask


def hole_psnr(pred: torch.Tensor, target: torch.Tensor, hole: torch.Tensor) -> float:
    """PSNR on [0,1] images over the hole's pixels of one image."""
    err = (((pred - target) / 2) ** 2 * hole).sum() / (hole.sum() * 3).clamp_min(1)
    return float(10 * torch.log10(1 / err.clamp_min(1e-10)))


def object_and_shadow(image: torch.Tensor, clean: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(1,1,H,W) the object's mask (≥ ½) joined with its contact shadow: the pixels outside the
    object that the scene darkens by more than SHADOW_DARKENING against its clean background.
    Images (3,H,W) in [-1,1], mask (1,H,W) in [0,1]."""
    darkening = 1 - (image + 1).mean(0) / (clean + 1).mean(0).clamp_min(0.04)
    return ((mask >= 0.5) | (darkening > SHADOW_DARKENING)).float()[None]


def true_hole(mask: torch.Tensor) -> torch.Tensor:
    """(1,1,H,W) in {0,1}: the true mask (1,H,W) binarised at ½ and grown by one pixel, the hole
    every inpainter fills."""
    return torch.nn.functional.max_pool2d((mask[None] >= 0.5).float(), 3, 1, 1)


def evaluate(model: SEIGAN, n: int) -> dict[str, dict[str, float]]:
    data = model.build_dataset(model.data_config, "test")
    scores: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        scores.setdefault(name, []).append(float(value))

    for index in range(min(n, len(data))):
        item = data[index]
        x, y, box_mask, mask = item["x"], item["y"], item["box"], item["mask"]
        clean, y_true = item["clean"], item["y_true"]
        box = box_of(box_mask)
        x8, y8 = to_uint8(x), to_uint8(y)
        truth = mask[None]
        pred = model.segment(x[None], box_mask[None])
        masks = {
            "SEIGAN": pred,
            "whole box": box_mask[None],
            "GrabCut": torch.from_numpy(grabcut(x8, box))[None, None],
            "Otsu in box": torch.from_numpy(otsu_in_box(x8, box))[None, None],
            "border colour": (1 - border_likeness(x[None], box_mask[None])) * box_mask[None],
        }
        with_shadow = object_and_shadow(x, clean, mask)
        for name, predicted in masks.items():
            add(f"seg/{name}", mask_iou(predicted, truth))
            add(f"seg_shadow/{name}", mask_iou(predicted, with_shadow))
        # inpainting in the true hole
        hole = true_hole(mask)
        hole8 = (hole[0, 0].numpy() * 255).astype(np.uint8)
        fills = {
            "SEIGAN G_inp": model.fill(x[None], hole)[0],
            "Telea": from_uint8(cv2.inpaint(x8, hole8, 3, cv2.INPAINT_TELEA)),
            "Navier-Stokes": from_uint8(cv2.inpaint(x8, hole8, 3, cv2.INPAINT_NS)),
            "harmonic": harmonic_interpolation(x[None], hole)[0],
        }
        for name, fill in fills.items():
            add(f"inp_psnr/{name}", hole_psnr(fill, clean, hole[0]))
            add(f"inp_ssim/{name}", ssim(fill[None], clean[None]))
        # paste-and-enhance against the truly rendered scene
        a = truth[0]
        stats = lab_stats([y8])
        transferred = from_uint8(reinhard_transfer(x8, stats))
        mask8 = (hole[0, 0].numpy() * 255).astype(np.uint8)
        centre = ((box[0] + box[2]) // 2, (box[1] + box[3]) // 2)
        poisson = cv2.seamlessClone(
            x8[..., ::-1].copy(), y8[..., ::-1].copy(), mask8, centre, cv2.NORMAL_CLONE
        )[..., ::-1].copy()
        composites = {
            "naive paste": a * x + (1 - a) * y,
            "Reinhard + paste": a * transferred + (1 - a) * y,
            "seamlessClone": from_uint8(poisson),
            "SEIGAN G_enh (true mask)": model.enhance((a * x + (1 - a) * y)[None], a[None])[0],
            "naive paste (G_seg mask)": (pred * x + (1 - pred) * y)[0],
            "SEIGAN G_seg+G_enh": model.enhance(pred * x + (1 - pred) * y, pred)[0],
        }
        fg = (truth >= 0.5).float()
        for name, composite in composites.items():
            error = float(fmse(to_255(composite[None]), to_255(y_true[None]), fg))
            add(f"fmse/{name}", error)
            add(f"fpsnr/{name}", 10 * math.log10(255**2 / max(error, 1e-10)))
    return {key: {"mean": float(np.mean(v)), "n": len(v)} for key, v in scores.items()}


def table(scores: dict[str, dict[str, float]]) -> str:
    lines = []
    for metric, title in (
        ("seg", "mask IoU ↑"),
        ("seg_shadow", "IoU with shadow ↑"),
        ("inp_psnr", "hole PSNR dB ↑"),
        ("inp_ssim", "SSIM ↑"),
        ("fmse", "fMSE ↓"),
        ("fpsnr", "fPSNR dB ↑"),
    ):
        rows = [
            (k.split("/", 1)[1], v["mean"]) for k, v in scores.items() if k.startswith(metric + "/")
        ]
        lines.append(
            f"| {title} | " + " | ".join(f"{name}: {value:.3f}" for name, value in rows) + " |"
        )
    return "\n".join(lines)


def scene_picture(model: SEIGAN, n: int) -> torch.Tensor:
    """(3,H',W') in [-1,1]: one row per test scene; columns x, the true mask, G_seg's mask,
    G_inp's fill of the true hole, the clean background, the naive paste (true mask), G_enh of
    it, the truly rendered paste."""
    data = model.build_dataset(model.data_config, "test")
    rows = []
    for index in range(min(n, len(data))):
        item = data[index]
        x, y, mask = item["x"], item["y"], item["mask"]
        hole = true_hole(mask)
        naive = mask * x + (1 - mask) * y
        shown_masks = [mask * 2 - 1, model.segment(x[None], item["box"][None])[0] * 2 - 1]
        rows.append(
            [
                x,
                *(m.expand(3, -1, -1) for m in shown_masks),
                model.fill(x[None], hole)[0],
                item["clean"],
                naive,
                model.enhance(naive[None], mask[None])[0],
                item["y_true"],
            ]
        )
    return image_grid(rows)


def score(run: Path, n_test: int, picture: str) -> dict[str, dict[str, float]]:
    """Score the trained run in ``run``; write its test-scene picture to ``picture`` if given."""
    model = compogan.load(run)
    if not isinstance(model, SEIGAN):
        raise SystemExit(f"{run} is not a SEIGAN run")
    if picture:
        save_image(scene_picture(model, 6), picture)
    return evaluate(model, n_test)


def quality(args: argparse.Namespace) -> None:
    overrides = [
        f"train.max_minutes={args.minutes}",
        f"train.steps={args.steps}",
        "train.progress=false",
        *args.set,
    ]
    config = load_config(SEIGAN, ROOT / args.config, overrides)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(args.run_dir) if args.run_dir else Path(tmp) / "run"
        started = time.monotonic()
        reached = Trainer(SEIGAN, config, run, device="cpu", overwrite=True).fit().step
        minutes = (time.monotonic() - started) / 60
        scores = score(run, args.n_test, args.picture)
    header = (
        f"SEIGAN, {args.config} {' '.join(args.set)}: {reached} steps "
        f"(batch {config.train.batch_size}, {config.data.size} px) in {minutes:.1f} min on "
        f"{machine()}; {args.n_test} held-out synthetic scenes."
    )
    report(args.out, header, scores, {"steps": reached, "minutes": minutes})


def rescore(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    run = Path(args.run_dir)
    header = f"SEIGAN run {run} rescored on {machine()}; {args.n_test} held-out synthetic scenes."
    report(args.out, header, score(run, args.n_test, args.picture), {})


def report(out: str, header: str, scores: dict, numbers: dict) -> None:
    """Write the scores' table under ``header`` to ``out`` and the numbers beside it."""
    text = header + "\n\n| metric | methods |\n|---|---|\n" + table(scores) + "\n"
    write_report(out, text, {"header": header, **numbers, "scores": scores})


def measure_training_step(config_name: str, steps: int, threads: int) -> dict:
    """Seconds per training step and peak memory (MiB) of the config ``config_name`` on CPU."""
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        vgg = Path(tmp) / "vgg19.pth"
        torch.save(VGG19().state_dict(), vgg)
        config = load_config(SEIGAN, ROOT / config_name, [f"model.vgg_weights={vgg}"])
        model = SEIGAN(section_object(config, "model"), section_object(config, "data")).train()
        model.configure_optimizers()
        data = model.build_dataset(model.data_config, "train")
        items = [data[i] for i in range(config.train.batch_size)]
        batch = {key: torch.stack([item[key] for item in items]) for key in items[0]}
        seconds, peak = time_steps(lambda: model.training_step(batch), steps, "cpu")
    return {
        "config": config_name,
        "size": config.data.size,
        "batch": config.train.batch_size,
        "step_seconds": seconds,
        "peak_mib": peak,
    }


def speed(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)  # machine() reports the measuring processes' threads
    print(f"SEIGAN training step on {machine()}\n")
    print("| config | crop | batch | s / step | peak memory |\n|---|---|---|---|---|")
    rows = []
    for config in (PAPER, CONFIG):
        name = str(config.relative_to(ROOT))
        row = in_fresh_process(
            "seigan_bench", f"measure_training_step({name!r}, {args.steps}, {args.threads})"
        )
        rows.append(row)
        print(
            f"| {name} | {row['size']} px | {row['batch']} | {row['step_seconds']:.2f} | "
            f"{row['peak_mib']:.0f} MiB |"
        )
    print(f"\nsaved {save_result('seigan', 'speed', {'machine': machine(), 'rows': rows})}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--config", default=str(CONFIG.relative_to(ROOT)), help="under the repo root")
    q.add_argument("--minutes", type=float, default=8.0)
    q.add_argument("--steps", type=int, default=2000, help="the schedule's length")
    add_override_argument(q)
    q.add_argument("--n-test", type=int, default=64)
    q.add_argument("--threads", type=int, default=2)
    q.add_argument("--run-dir", default="")
    q.add_argument("--out", default="benchmarks/results/seigan_quality.md")
    q.add_argument("--picture", default="", help="also write six test scenes as a PNG here")
    r = sub.add_parser("rescore", help="score an existing run")
    r.add_argument("--run-dir", required=True)
    r.add_argument("--n-test", type=int, default=64)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--out", default="benchmarks/results/seigan_rescored.md")
    r.add_argument("--picture", default="")
    s = sub.add_parser("speed")
    s.add_argument("--steps", type=int, default=3, help="timed steps after one warm-up step")
    s.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    {"quality": quality, "rescore": rescore, "speed": speed}[args.command](args)


if __name__ == "__main__":
    main()
