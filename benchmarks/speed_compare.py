"""Speed switches of the shared training step, each against "every switch off", in one run.

    python benchmarks/speed_compare.py step [--switch bf16|foreach|fused|compile|all]
        [--models cyclegan,seigan] [--sizes cpu,paper] [--baseline COMMIT]
    python benchmarks/speed_compare.py converge --model cyclegan [--steps 300]
    python benchmarks/speed_compare.py profile [--models cyclegan,seigan] [--sizes cpu]
    python benchmarks/speed_compare.py folder [--images 24] [--size 256] [--rounds 3]

``step`` times every model's full training step (every phase of one ``training_step``) with one
switch off and on (``train.bf16``; ``train.optimizer_impl`` foreach / fused against PyTorch's
default; ``train.compile``: a second model with the same weights, compiled, whose first step,
which compiles with an empty compile cache, is reported on its own; ``all``: a second model
with the same weights with every switch that can be on here: fused Adam, compiled networks, and
bf16 autocast where the CPU has native bf16), alternated in one process
(off, on, on, off, ...) for ``--rounds`` rounds of ``--steps`` steps after a warm-up step each,
at the model's CPU config and at its paper config (architecture and batch of the paper; the
data of the CPU config at the paper's size, since the paper's data sets are not here; random
VGG-19 weights written to a temporary file where a loss needs them: the time of a loss does not
depend on its weights). ST-GAN is timed in its last adversarial stage; InGAN draws a new output
size every step, so its times vary more. Each model runs in a fresh process. Reports the median
and the spread of seconds per step, and the speed-up of the medians, with the CPU's native bf16
instructions (compogan/train/precision.py). With ``--baseline COMMIT`` the "off" side is that
commit's code (``git archive``, imported in place of this checkout's) with every switch off, so
that what changed in the shared loop itself counts too; the two sides then alternate as fresh
processes (off, on, on, off, ...), one per round, each timing ``--steps`` steps after its own
first step, with one compile cache per model shared by the "on" rounds (the first step reported
is the first round's, cold).

``converge`` trains one model's CPU config for ``--steps`` steps three times: float32 with seed
0, float32 with seed 1 and bf16 with seed 0, and compares the mean of each loss over the last
fifth of the steps: the bf16 run is within noise when its distance to the float32 run of the
same seed is not larger than the distance between the two float32 seeds.

``folder`` measures folder inference against the raw forward pass, in one run: the paper-size
CycleGAN generator (64 channels, 9 blocks) translating ``--images`` PNG files of ``--size`` px
with ``compogan translate``'s code path (plan, decode, batches of 4, save each PNG atomically),
alternated (folder first in even rounds, last in odd ones) with the generator alone on the same
images already decoded as tensors (batches of 4), ``--rounds`` times each; reports images/s of
both and their ratio.

``profile`` runs torch.profiler (CPU) over ``--steps`` training steps after a warm-up step and
reports where the time goes: per phase and part (forward, backward, gradient check, optimiser
step: the labels the shared loop records) and per operator type (self time, top 8).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from common import in_fresh_process, machine, save_result
from torch.utils.data import default_collate

from compogan.config import load_config, section_object
from compogan.models.base import GANModel
from compogan.nn import VGG19
from compogan.registry import get_model_class
from compogan.train import Trainer
from compogan.train.precision import native_bf16_cpu

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {
    "cyclegan": ("configs/cyclegan/day2night_cpu.yaml", "configs/cyclegan/day2night.yaml", []),
    "pix2pix": (
        "configs/pix2pix/daynight_cpu.yaml",
        "configs/pix2pix/facades.yaml",
        ["data.dataset=daynight", "data.load_size=256"],
    ),
    "stgan": ("configs/stgan/glasses_cpu.yaml", "configs/stgan/glasses.yaml", []),
    "edgeconnect": (
        "configs/edgeconnect/skimage_cpu.yaml",
        "configs/edgeconnect/places2_edge_inpaint.yaml",
        ["data.dataset=skimage", "model.mode=joint"],
    ),
    "seigan": ("configs/seigan/synthetic_cpu.yaml", "configs/seigan/paper.yaml", []),
    "ingan": ("configs/ingan/skimage_cpu.yaml", "configs/ingan/paper.yaml", []),
    "posewarp": (
        "configs/posewarp/figures_cpu.yaml",
        "configs/posewarp/paper.yaml",
        ["model.stats_images=8"],
    ),
}
"""Each model: (its CPU config, its paper config, overrides putting the paper config on the
CPU config's data)."""


def build(
    model_name: str, size: str, vgg: Path, optimizer_impl: str = "default"
) -> tuple[GANModel, dict[str, torch.Tensor]]:
    """The model of one config with its optimisers (built with ``optimizer_impl``), and one
    training batch of its data."""
    cpu_config, paper_config, paper_overrides = CONFIGS[model_name]
    model_cls = get_model_class(model_name)
    overrides = [] if size == "cpu" else list(paper_overrides)
    if "vgg_weights" in model_cls.Config.__dataclass_fields__:
        overrides.append(f"model.vgg_weights={vgg}")
    path = ROOT / (cpu_config if size == "cpu" else paper_config)
    config = load_config(model_cls, path, overrides)
    model = model_cls(section_object(config, "model"), section_object(config, "data")).train()
    model.optimizer_impl = optimizer_impl
    model.configure_optimizers()
    if hasattr(model, "stage_start"):  # ST-GAN: time its last adversarial stage
        model.step_count = model.stage_start(model.config.warp_n)
    data = model.build_dataset(model.data_config, "train")
    batch = default_collate([data[i] for i in range(section_object(config, "train").batch_size)])
    return model, batch


SWITCHES = ("bf16", "foreach", "fused", "compile", "all")


def switcher(
    model_name: str, size: str, vgg: Path, switch: str
) -> tuple[Callable[[bool], GANModel], dict[str, torch.Tensor]]:
    """A function giving the model with ``switch`` off or on, and a training batch: one model
    whose bf16 autocast is turned off or on, or whose optimisers are built with
    ``optimizer_impl`` (both sets built once, swapped in); for "compile", two models with the
    same weights, the second compiled; for "all", the second also with fused Adam and, on a
    CPU with native bf16, bf16 autocast."""
    model, batch = build(model_name, size, vgg)
    if switch in ("compile", "all"):
        all_on = switch == "all"
        tuned, _ = build(model_name, size, vgg, "fused" if all_on else "default")
        tuned.load_state_dict(model.state_dict())
        if all_on and native_bf16_cpu():
            tuned.autocast_dtype = torch.bfloat16
        tuned.compile_networks()
        return (lambda on: tuned if on else model), batch
    if switch == "bf16":

        def set_bf16(on: bool) -> GANModel:
            model.autocast_dtype = torch.bfloat16 if on else None
            return model

        return set_bf16, batch
    optimizer_sets = {}
    for on, impl in ((False, "default"), (True, switch)):
        model.optimizer_impl, model.optimizers = impl, {}
        model.configure_optimizers()
        optimizer_sets[on] = model.optimizers

    def set_optimizers(on: bool) -> GANModel:
        model.optimizers = optimizer_sets[on]
        return model

    return set_optimizers, batch


def time_rounds(
    model_name: str, size: str, rounds: int, steps: int, threads: int, switch: str = "bf16"
) -> dict:
    """Seconds per step with ``switch`` off and on, alternated, ``rounds`` times each (each
    timing after one untimed step; for "compile" also the seconds of the compiled model's
    first step, which compiles)."""
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(Path(tmp) / "inductor")  # a cold compile
        vgg = Path(tmp) / "vgg19.pth"
        torch.save(VGG19().state_dict(), vgg)
        turn, batch = switcher(model_name, size, vgg, switch)  # optimisers read the VGG file
        start = time.perf_counter()
        turn(True).training_step(batch)
        first_step = time.perf_counter() - start
    times: dict[str, list[float]] = {"off": [], "on": []}
    for round_index in range(rounds):
        order = ("off", "on") if round_index % 2 == 0 else ("on", "off")
        for mode in order:
            model = turn(mode == "on")
            model.training_step(batch)
            start = time.perf_counter()
            for _ in range(steps):
                model.training_step(batch)
            times[mode].append((time.perf_counter() - start) / steps)
    batch_size = next(iter(batch.values())).shape[0]
    return {
        "model": model_name,
        "size": size,
        "batch": batch_size,
        "switch": switch,
        "first_on_step_s": first_step,
        "seconds": times,
    }


def time_side(
    model_name: str, size: str, steps: int, threads: int, switch: str, cache_dir: str
) -> dict:
    """One side of a ``--baseline`` comparison in this process: seconds per step over
    ``steps`` steps with every switch off (``switch`` "none") or with ``switch`` on, after a
    first step timed on its own (it compiles where the switch compiles, into ``cache_dir``)."""
    torch.set_num_threads(threads)
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache_dir
    with tempfile.TemporaryDirectory() as tmp:
        vgg = Path(tmp) / "vgg19.pth"
        torch.save(VGG19().state_dict(), vgg)
        if switch == "none":
            model, batch = build(model_name, size, vgg)
        else:
            turn, batch = switcher(model_name, size, vgg, switch)
            model = turn(True)
        start = time.perf_counter()
        model.training_step(batch)
        first_step = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(steps):
        model.training_step(batch)
    seconds = (time.perf_counter() - start) / steps
    return {"batch": next(iter(batch.values())).shape[0], "first_s": first_step, "s": seconds}


def baseline_checkout(commit: str, into: Path) -> Path:
    """The files of ``commit`` of this repository, written under ``into``."""
    tree = into / f"compogan-{commit}"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "archive", commit], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def time_against_commit(
    model_name: str, size: str, args: argparse.Namespace, tree: Path, cache_dir: Path
) -> dict:
    """``time_rounds``'s result for ``--baseline``: each round two fresh processes, the
    commit's code with every switch off and this code with ``args.switch`` on, alternated."""
    times: dict[str, list[float]] = {"off": [], "on": []}
    first_steps = []
    for round_index in range(args.rounds):
        order = ("off", "on") if round_index % 2 == 0 else ("on", "off")
        for mode in order:
            switch = args.switch if mode == "on" else "none"
            call = (
                f"time_side({model_name!r}, {size!r}, {args.steps}, {args.threads}, "
                f"{switch!r}, {str(cache_dir)!r})"
            )
            side = in_fresh_process("speed_compare", call, tree if mode == "off" else None)
            times[mode].append(side["s"])
            if mode == "on":
                first_steps.append(side["first_s"])
    return {
        "model": model_name,
        "size": size,
        "batch": side["batch"],
        "switch": args.switch,
        "baseline": args.baseline,
        "first_on_step_s": first_steps[0],
        "seconds": times,
    }


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"


def step(args: argparse.Namespace) -> None:
    flag = native_bf16_cpu() or "none"
    off = f"commit {args.baseline}, all off" if args.baseline else "off"
    print(f"training step, {args.switch} off vs on, {machine()}; native bf16: {flag}\n")
    print(
        f"| model | config | batch | {off} s/step | {args.switch} s/step | speed-up | "
        f"first {args.switch} step (s) |"
    )
    print("|---|---|---|---|---|---|---|")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tree = baseline_checkout(args.baseline, Path(tmp)) if args.baseline else None
        for model_name in args.models.split(","):
            for size in args.sizes.split(","):
                if tree is None:
                    call = (
                        f"time_rounds({model_name!r}, {size!r}, {args.rounds}, {args.steps}, "
                        f"{args.threads}, {args.switch!r})"
                    )
                    row = in_fresh_process("speed_compare", call)
                else:
                    cache = Path(tmp) / f"inductor-{model_name}-{size}"
                    row = time_against_commit(model_name, size, args, tree, cache)
                rows.append(row)
                off, on = row["seconds"]["off"], row["seconds"]["on"]
                ratio = statistics.median(off) / statistics.median(on)
                print(
                    f"| {model_name} | {size} | {row['batch']} | {spread(off)} | {spread(on)} | "
                    f"{ratio:.2f}x | {row['first_on_step_s']:.1f} |",
                    flush=True,
                )
    output = {"machine": machine(), "native_bf16": flag, "rounds": args.rounds, "rows": rows}
    print(f"\nsaved {save_result('speed', args.switch, output)}")


def profile_step(model_name: str, size: str, steps: int, threads: int) -> dict:
    """Milliseconds per step by phase part and by operator (self CPU time), averaged."""
    from torch.profiler import ProfilerActivity, profile

    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        vgg = Path(tmp) / "vgg19.pth"
        torch.save(VGG19().state_dict(), vgg)
        model, batch = build(model_name, size, vgg)
    model.training_step(batch)
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(steps):
            model.training_step(batch)
    wall = (time.perf_counter() - start) / steps * 1000
    events = profiler.key_averages()
    parts = {e.key: e.cpu_time_total / 1000 / steps for e in events if e.key.startswith("phase ")}
    ops = sorted(
        (e for e in events if not e.key.startswith("phase ")),
        key=lambda e: e.self_cpu_time_total,
        reverse=True,
    )
    top = {e.key: e.self_cpu_time_total / 1000 / steps for e in ops[:8]}
    return {"model": model_name, "size": size, "wall_ms": wall, "parts": parts, "ops": top}


def profile_models(args: argparse.Namespace) -> None:
    rows = []
    print(f"where a training step's time goes, {machine()} (profiled, so slower than timed)\n")
    for model_name in args.models.split(","):
        for size in args.sizes.split(","):
            call = f"profile_step({model_name!r}, {size!r}, {args.steps}, {args.threads})"
            row = in_fresh_process("speed_compare", call)
            rows.append(row)
            print(f"{model_name} ({size}): {row['wall_ms']:.0f} ms/step")
            parts = ", ".join(
                f"{k.removeprefix('phase ')} {v:.0f}" for k, v in row["parts"].items()
            )
            print(f"  parts (ms): {parts}")
            ops = ", ".join(f"{k} {v:.0f}" for k, v in row["ops"].items())
            print(f"  top operators (self ms): {ops}", flush=True)
    print(f"\nsaved {save_result('speed', 'profile', {'machine': machine(), 'rows': rows})}")


def folder_seconds(translator: object, folder: Path, out: Path) -> float:
    """Seconds for ``compogan translate``'s path over a folder."""
    from compogan.cli.batch import plan_batch, write_batch

    start = time.perf_counter()
    batch = plan_batch([folder], out)
    write_batch(batch, translator.map(batch.sources, batch_size=4))
    return time.perf_counter() - start


def forward_seconds(translator: object, tensors: torch.Tensor) -> float:
    """Seconds for the generator alone over decoded images, in batches of 4."""
    start = time.perf_counter()
    with torch.no_grad():
        for first in range(0, len(tensors), 4):
            translator.translate_tensor(tensors[first : first + 4], "AtoB")
    return time.perf_counter() - start


def folder(args: argparse.Namespace) -> None:
    import numpy as np
    from PIL import Image

    from compogan.io.images import pil_to_tensor
    from compogan.models.cyclegan import CycleGAN, CycleGANConfig
    from compogan.pipelines import Translator

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        images = Path(tmp) / "in"
        images.mkdir()
        for index in range(args.images):
            pixels = rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(images / f"{index:03d}.png")
        tensors = torch.stack([pil_to_tensor(Image.open(p)) for p in sorted(images.iterdir())])
        translator = Translator(CycleGAN(CycleGANConfig(n_blocks=9)).eval(), device="cpu")
        translator.translate_tensor(tensors[:4], "AtoB")
        times: dict[str, list[float]] = {"folder": [], "forward": []}
        for index in range(args.rounds):
            for path in ("folder", "forward") if index % 2 == 0 else ("forward", "folder"):
                seconds = (
                    folder_seconds(translator, images, Path(tmp) / f"out{index}")
                    if path == "folder"
                    else forward_seconds(translator, tensors)
                )
                times[path].append(args.images / seconds)
    ratio = statistics.median(times["folder"]) / statistics.median(times["forward"])
    print(f"folder inference vs raw forward, {args.images} images of {args.size} px, {machine()}")
    print("| path | images/s (median, range) |\n|---|---|")
    print(f"| raw forward, batches of 4 | {spread(times['forward'])} |")
    print(f"| folder: decode, translate, save | {spread(times['folder'])} |")
    print(f"\nfolder / forward: {ratio:.1%}")
    output = {"machine": machine(), "images": args.images, "size": args.size, **times}
    print(f"saved {save_result('speed', 'folder', output)}")


def final_losses(model_name: str, steps: int, seed: int, bf16: bool, run_dir: Path) -> dict:
    """Mean of each logged loss over the last fifth of a ``steps``-step CPU-config run."""
    cpu_config = ROOT / CONFIGS[model_name][0]
    model_cls = get_model_class(model_name)
    overrides = [
        f"train.steps={steps}",
        f"train.seed={seed}",
        f"train.bf16={str(bf16).lower()}",
        "train.progress=false",
        "train.log_every=1",
        "train.image_every=0",
        f"train.checkpoint_every={steps}",
    ]
    config = load_config(model_cls, cpu_config, overrides)
    Trainer(model_cls, config, run_dir, device="cpu").fit()
    records = [json.loads(line) for line in (run_dir / "losses.jsonl").read_text().splitlines()]
    tail = [r for r in records if r["step"] > steps - steps // 5]
    names = [k for k in tail[0] if k != "step" and not k.startswith("lr")]
    return {name: statistics.fmean(r[name] for r in tail) for name in names}


def converge(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runs = {
            label: final_losses(args.model, args.steps, seed, bf16, Path(tmp) / label)
            for label, seed, bf16 in (
                ("fp32_s0", 0, False),
                ("fp32_s1", 1, False),
                ("bf16_s0", 0, True),
            )
        }
    print(f"{args.model}, {args.steps} steps of its CPU config, {machine()}\n")
    print("| loss | fp32 seed 0 | fp32 seed 1 | bf16 seed 0 | |bf16−fp32| / |seed noise| |")
    print("|---|---|---|---|---|")
    for name in runs["fp32_s0"]:
        a, b, c = (runs[label][name] for label in ("fp32_s0", "fp32_s1", "bf16_s0"))
        noise = abs(a - b)
        ratio = abs(c - a) / noise if noise > 0 else float("inf")
        print(f"| {name} | {a:.4f} | {b:.4f} | {c:.4f} | {ratio:.2f} |")
    print(f"\nsaved {save_result(args.model, 'bf16_converge', {'machine': machine(), **runs})}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("step")
    s.add_argument("--switch", choices=SWITCHES, default="bf16")
    s.add_argument("--models", default=",".join(CONFIGS))
    s.add_argument("--sizes", default="cpu,paper")
    s.add_argument("--rounds", type=int, default=4)
    s.add_argument("--steps", type=int, default=2)
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--baseline", metavar="COMMIT", help="time every switch off at this commit")
    p = sub.add_parser("profile")
    p.add_argument("--models", default=",".join(CONFIGS))
    p.add_argument("--sizes", default="cpu")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    f = sub.add_parser("folder")
    f.add_argument("--images", type=int, default=24)
    f.add_argument("--size", type=int, default=256)
    f.add_argument("--rounds", type=int, default=3)
    f.add_argument("--threads", type=int, default=2)
    c = sub.add_parser("converge")
    c.add_argument("--model", choices=sorted(CONFIGS), default="cyclegan")
    c.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    commands = {"step": step, "converge": converge, "profile": profile_models, "folder": folder}
    commands[args.command](args)


if __name__ == "__main__":
    main()
