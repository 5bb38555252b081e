"""PoseWarp benchmark: reposing held-out synthetic figures, against the U-Net baseline.

    python benchmarks/posewarp_bench.py quality --minutes 45 [--vgg-weights vgg19.pth] [--set K=V]
    python benchmarks/posewarp_bench.py speed [--steps 3] [--frames 100]

``quality`` trains, each for ``--minutes`` of CPU wall time at 128 px on the synthetic figures
(configs/posewarp/figures_cpu.yaml and unet_figures_cpu.yaml): PoseWarp stage 1 (VGG loss),
then stage 2 (VGG + 0.1 GAN, from the stage-1 G, for ``--gan-fraction`` of the budget), and the
plain U-Net baseline by the same stage-1 recipe. It scores each, and copying the source frame,
on ``--n-test`` held-out pairs against the ground-truth target frame: SSIM and PSNR (higher is
better) and the VGG feature distance (the loss's normalised L1, lower is better). The paper's
claim to check: ours beats the U-Net on SSIM. Without ``--vgg-weights`` (torchvision's
vgg19-dcbb9e9d.pth) the loss and the distance use a random-weight VGG-19, which the report says.

``speed`` measures, each in a fresh process: a stage-1 and a stage-2 training step (seconds,
peak memory) of the paper's network at 256 px, batch 4; and frames per second of rendering a
``--frames``-pose walk at 256 px with the Reposer (batched 8 poses a call).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

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

import compogan
from compogan.config import load_config, section_object
from compogan.data.synthetic.figures import SyntheticFigures, sequence_poses
from compogan.metrics import psnr, ssim
from compogan.models.posewarp import PoseWarp, PoseWarpUNet
from compogan.nn.vgg import VGG19
from compogan.train import Trainer

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs" / "posewarp"
OURS, BASELINE, PAPER = (
    CONFIGS / "figures_cpu.yaml",
    CONFIGS / "unet_figures_cpu.yaml",
    CONFIGS / "paper.yaml",
)
METHODS = ("copy source", "U-Net baseline", "PoseWarp stage 1", "PoseWarp stage 2")


def _vgg_overrides(vgg_weights: str) -> list[str]:
    return [f"model.vgg_weights={vgg_weights}"] if vgg_weights else ["model.vgg_random_init=true"]


def train(model_cls: type, config: Path, run: Path, minutes: float, overrides: list[str]) -> int:
    """Train ``config`` for ``minutes`` (the schedule as configured); returns the steps run."""
    experiment = load_config(
        model_cls, config, [f"train.max_minutes={minutes}", "train.progress=false", *overrides]
    )
    return Trainer(model_cls, experiment, run, device="cpu", overwrite=True).fit().step


def moving_box(source: torch.Tensor, target: torch.Tensor, pad: int = 4) -> tuple[slice, slice]:
    """Rows and columns of the box around every pixel where two frames (1, 3, H, W) in [-1, 1]
    differ: the figure in both poses, where the methods differ (at least 11 px a side, SSIM's
    window)."""
    changed = ((source - target).abs().amax(dim=1)[0] > 0.02).nonzero()
    height, width = source.shape[-2:]
    if len(changed) == 0:
        return slice(0, height), slice(0, width)
    (top, left), (bottom, right) = changed.amin(dim=0).tolist(), changed.amax(dim=0).tolist()
    rows = _padded(top - pad, bottom + 1 + pad, height)
    cols = _padded(left - pad, right + 1 + pad, width)
    return rows, cols


def _padded(start: int, stop: int, length: int, least: int = 11) -> slice:
    grow = max(0, least - (stop - start))
    start, stop = start - grow // 2, stop + grow - grow // 2
    return slice(max(0, start), min(length, stop))


@torch.no_grad()
def evaluate(models: dict[str, PoseWarp | None], n_test: int, size: int) -> dict[str, dict]:
    """SSIM, PSNR and the normalised VGG distance of each method on held-out pairs (the
    distance through stage 1's VGG, its statistics recomputed)."""
    data = SyntheticFigures(size, n_test, split="test", seed=123)
    judge = models["PoseWarp stage 1"]
    torch.manual_seed(0)  # the same VGG every time, also with random weights
    judge.configure_optimizers()
    judge.compute_feature_stats()  # the statistics of this VGG
    scores: dict[str, dict[str, list[float]]] = {
        m: {"ssim": [], "psnr": [], "vgg": [], "box_ssim": [], "box_psnr": []} for m in models
    }
    for index in range(n_test):
        item = data[index]
        source, target = item["source"][None], item["target"][None]
        rows, cols = moving_box(source, target)
        for method, model in models.items():
            if model is None:
                output = source
            else:
                output = model.repose(source, item["source_pose"][None], item["target_pose"][None])
            scores[method]["ssim"].append(float(ssim(output, target)[0]))
            scores[method]["psnr"].append(float(psnr(output, target)[0]))
            scores[method]["vgg"].append(float(judge.feature_loss(output, target)))
            box_output, box_target = output[..., rows, cols], target[..., rows, cols]
            scores[method]["box_ssim"].append(float(ssim(box_output, box_target)[0]))
            scores[method]["box_psnr"].append(float(psnr(box_output, box_target)[0]))
    return {m: {k: float(np.mean(v)) for k, v in s.items()} for m, s in scores.items()}


def quality(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    vgg = _vgg_overrides(args.vgg_weights)
    stage2_minutes = args.minutes * args.gan_fraction
    with tempfile.TemporaryDirectory() as tmp:
        runs = {name: Path(tmp) / name for name in ("unet", "stage1", "stage2")}
        started = time.monotonic()
        steps = {
            "U-Net baseline": train(
                PoseWarpUNet, BASELINE, runs["unet"], args.minutes, [*vgg, *args.set]
            ),
            "PoseWarp stage 1": train(
                PoseWarp, OURS, runs["stage1"], args.minutes - stage2_minutes, [*vgg, *args.set]
            ),
        }
        steps["PoseWarp stage 2"] = train(
            PoseWarp,
            OURS,
            runs["stage2"],
            stage2_minutes,
            ["model.stage=2", f"train.init_from.G={runs['stage1']}", *vgg, *args.set],
        )
        minutes = (time.monotonic() - started) / 60
        models = {
            "copy source": None,
            "U-Net baseline": compogan.load(runs["unet"]),
            "PoseWarp stage 1": compogan.load(runs["stage1"]),
            "PoseWarp stage 2": compogan.load(runs["stage2"]),
        }
        size = models["PoseWarp stage 1"].image_size
        scores = evaluate(models, args.n_test, size)
    header = (
        f"PoseWarp on synthetic figures at {size} px, {args.minutes:g} CPU min per model (stage 2: "
        f"{stage2_minutes:g} of PoseWarp's) on {machine()}; "
        f"{args.n_test} held-out pairs; VGG: "
        f"{args.vgg_weights or 'random weights (no ImageNet file given)'}"
        + "".join(f"; {override}" for override in args.set)
    )
    lines = [
        header,
        "",
        "| method | steps | SSIM ↑ | PSNR ↑ | VGG distance ↓ | SSIM, figure box ↑ | "
        "PSNR, figure box ↑ |",
        "|---|---|---|---|---|---|---|",
    ]
    for method in METHODS:
        row = scores[method]
        lines.append(
            f"| {method} | {steps.get(method, '-')} | {row['ssim']:.4f} | {row['psnr']:.2f} | "
            f"{row['vgg']:.4f} | {row['box_ssim']:.4f} | {row['box_psnr']:.2f} |"
        )
    goal = scores["PoseWarp stage 1"]["ssim"] > scores["U-Net baseline"]["ssim"]
    lines += [
        "",
        "The figure box is the box around every pixel where source and target differ (both poses "
        "of the figure, 4 px margin): the part of the frame the methods must synthesise.",
        "",
        f"goal (stage 1 beats the U-Net on SSIM): {'reached' if goal else 'not reached'}",
    ]
    text = "\n".join(lines) + "\n"
    write_report(
        args.out, text, {"header": header, "minutes": minutes, "steps": steps, "scores": scores}
    )


def _paper_model(stage: int, vgg_weights: str, size: int) -> PoseWarp:
    config = load_config(
        PoseWarp,
        PAPER,
        [f"model.stage={stage}", f"model.vgg_weights={vgg_weights}", f"data.size={size}"],
    )
    model = PoseWarp(section_object(config, "model"), section_object(config, "data")).train()
    model.configure_optimizers()
    model.stats.count.fill_(1)  # statistics are not what a step's time depends on
    return model


def measure_training_step(stage: int, size: int, steps: int, threads: int, device: str) -> dict:
    """Seconds per training step and peak memory (MiB) of the paper's network, batch 4."""
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        vgg = Path(tmp) / "vgg19.pth"
        torch.save(VGG19().state_dict(), vgg)
        model = _paper_model(stage, str(vgg), size).to(device)
        data = SyntheticFigures(size, 4)
        items = [data[i] for i in range(4)]
        batch = {key: torch.stack([item[key] for item in items]) for key in items[0]}
        model.step_count = model.config.d_warmup_steps  # stage 2: D and G both
        seconds, peak = time_steps(lambda: model.training_step(batch), steps, device)
    return {"stage": stage, "size": size, "batch": 4, "step_seconds": seconds, "peak_mib": peak}


def measure_sequence(size: int, frames: int, threads: int, device: str) -> dict:
    """Frames per second of the Reposer rendering a ``frames``-pose walk at ``size`` px."""
    from compogan.data.synthetic.figures import (
        render_figure,
        sample_figure,
        sample_figure_background,
    )
    from compogan.pipelines import Reposer

    torch.set_num_threads(threads)
    config = load_config(PoseWarp, PAPER, [f"data.size={size}"])
    model = PoseWarp(section_object(config, "model"), section_object(config, "data"))
    reposer = Reposer(model, device)  # untrained weights: the speed is the same
    rng = np.random.default_rng(0)
    poses = sequence_poses("walk", frames, size)
    image = render_figure(sample_figure(rng), poses[0], sample_figure_background(rng, size))
    reposer.sequence(image, poses[0], list(poses[:2]))  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    reposer.sequence(image, poses[0], list(poses))
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"size": size, "frames": frames, "fps": frames / seconds}


def speed(args: argparse.Namespace) -> None:
    print(f"PoseWarp speed on {machine()}, {args.threads} threads, {args.device}\n")
    rows = []
    print("| what | px | batch | s / step | peak memory |\n|---|---|---|---|---|")
    for stage in (1, 2):
        row = in_fresh_process(
            "posewarp_bench",
            f"measure_training_step({stage}, {args.size}, {args.steps}, {args.threads}, "
            f"{args.device!r})",
        )
        rows.append(row)
        print(
            f"| stage {stage} step | {row['size']} | {row['batch']} | {row['step_seconds']:.2f} | "
            f"{row['peak_mib']:.0f} MiB |"
        )
    row = in_fresh_process(
        "posewarp_bench",
        f"measure_sequence({args.size}, {args.frames}, {args.threads}, {args.device!r})",
    )
    rows.append(row)
    print(f"\n{row['frames']}-pose sequence at {row['size']} px: {row['fps']:.2f} frames/s")
    print(f"\nsaved {save_result('posewarp', 'speed', {'machine': machine(), 'rows': rows})}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--minutes", type=float, default=45.0, help="CPU minutes per model")
    q.add_argument("--gan-fraction", type=float, default=0.2, help="of PoseWarp's for stage 2")
    q.add_argument("--vgg-weights", default="", help="torchvision's vgg19-dcbb9e9d.pth")
    add_override_argument(q)
    q.add_argument("--n-test", type=int, default=32)
    q.add_argument("--threads", type=int, default=2)
    q.add_argument("--out", default="benchmarks/results/posewarp_quality.md")
    s = sub.add_parser("speed")
    s.add_argument("--steps", type=int, default=3)
    s.add_argument("--size", type=int, default=256)
    s.add_argument("--frames", type=int, default=100)
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    (quality if args.command == "quality" else speed)(args)


if __name__ == "__main__":
    main()
