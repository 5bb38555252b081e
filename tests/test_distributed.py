"""DDP under torchrun (gloo, 2 CPU processes) matches itself across ranks and one process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from compogan.config import load_config
from compogan.models.cyclegan import CycleGAN
from compogan.nn import ConvNormAct
from compogan.train import Trainer

ROOT = Path(__file__).resolve().parents[1]
# Pool off: each rank's pool would draw its own swaps, which one process cannot mirror.
TINY = [
    "model.ngf=8",
    "model.n_blocks=1",
    "model.ndf=8",
    "model.pool_size=0",
    "data.size=32",
    "data.length=8",
    "train.steps=3",
    "train.progress=false",
    "train.checkpoint_every=100",
    "train.image_every=0",
]

RANK_SCRIPT = """
import os, sys
from safetensors.torch import save_file
from compogan.config import load_config
from compogan.models.cyclegan import CycleGAN
from compogan.train import Trainer
from compogan.train.distributed import shutdown_distributed

run_dir, *overrides = sys.argv[1:]
trainer = Trainer(CycleGAN, load_config(CycleGAN, None, overrides), run_dir, device="cpu")
trainer.fit()
state = {k: v.contiguous() for k, v in trainer.model.state_dict().items()}
save_file(state, os.path.join(run_dir, f"rank{trainer.dist.rank}.safetensors"))
shutdown_distributed()
"""


def biases_before_instance_norm(model: torch.nn.Module) -> set[str]:
    """Conv biases that an InstanceNorm cancels: their true gradient is 0, so Adam turns float
    round-off into full-size steps that differ between one process and two."""
    return {
        f"{name}.conv.bias"
        for name, module in model.named_modules()
        if isinstance(module, ConvNormAct) and isinstance(module.norm, torch.nn.InstanceNorm2d)
    }


def torchrun(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        *args,
    ]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_ddp_ranks_agree_and_match_one_process_on_the_global_batch(tmp_path: Path) -> None:
    script = tmp_path / "train_rank.py"
    script.write_text(RANK_SCRIPT)
    run_dir = tmp_path / "ddp"
    done = torchrun([str(script), str(run_dir), *TINY, "train.batch_size=1"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]

    rank0 = load_file(run_dir / "rank0.safetensors")
    rank1 = load_file(run_dir / "rank1.safetensors")
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)

    single = Trainer(
        CycleGAN,
        load_config(CycleGAN, None, [*TINY, "train.batch_size=2"]),
        tmp_path / "single",
        device="cpu",
    )
    initial = {k: v.clone() for k, v in single.model.state_dict().items()}
    single.fit()
    final = single.model.state_dict()
    compared = [key for key in rank0 if key not in biases_before_instance_norm(single.model)]
    assert len(compared) > len(rank0) // 2
    for key in compared:
        torch.testing.assert_close(rank0[key], final[key], rtol=1e-4, atol=5e-5, msg=key)
    assert any(not torch.equal(initial[k], final[k]) for k in final)
    # Rank 0 alone wrote the run directory.
    assert (run_dir / "model.safetensors").is_file()
    assert len(list((run_dir / "checkpoints").iterdir())) == 1


def test_torchrun_runs_the_cli(tmp_path: Path) -> None:
    run_dir = tmp_path / "cli-run"
    done = torchrun(
        [
            "-m",
            "compogan",
            "train",
            "cyclegan",
            *TINY,
            "train.batch_size=1",
            "--run-dir",
            str(run_dir),
            "--device",
            "cpu",
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (run_dir / "model.safetensors").is_file()
    assert done.stdout.count("trained cyclegan for 3 steps") == 1
