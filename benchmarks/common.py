"""What the benchmark scripts share: where they ran, measuring in a fresh process, config
overrides on the command line."""

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

BENCHMARKS = Path(__file__).resolve().parent
RESULTS = BENCHMARKS / "results"
DEFAULT_DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def add_override_argument(parser: argparse.ArgumentParser) -> None:
    """``--set KEY=VALUE``, repeatable: config overrides, collected in ``args.set``."""
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="config override"
    )


def machine() -> str:
    """The GPU's name, or the CPU and its thread count, with the torch version."""
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} (torch {torch.__version__})"
    return (
        f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads "
        f"(torch {torch.__version__})"
    )


def start_in_fresh_process(
    module: str, call: str, package_root: Path | None = None
) -> subprocess.Popen:
    """Start a Python process that prints ``json.dumps(<module>.<call>)`` as its last line.

    ``module`` is a script of benchmarks/ (without ``.py``); ``call`` a Python expression such as
    ``"measure_training_step(256, 9, 'cpu', 3)"``. A fresh process has its own peak memory and
    thread settings. ``package_root``: a checkout whose ``compogan`` the process imports (its
    working directory, first on the import path) instead of this one's.
    """
    code = (
        f"import json, sys; sys.path.insert(0, {str(BENCHMARKS)!r}); import {module} as m; "
        f"print(json.dumps(m.{call}))"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=package_root or BENCHMARKS.parent,
        stdout=subprocess.PIPE,
        text=True,
    )


def result_of(process: subprocess.Popen) -> Any:
    """Wait for a process of :func:`start_in_fresh_process` and return what it printed.

    Exits the benchmark (its own error is already on stderr) when the process failed.
    """
    output = process.communicate()[0]
    if process.returncode:
        raise SystemExit(f"a benchmark process failed (exit {process.returncode}); see above")
    return json.loads(output.strip().splitlines()[-1])


def in_fresh_process(module: str, call: str, package_root: Path | None = None) -> Any:
    """:func:`start_in_fresh_process`, then :func:`result_of`."""
    return result_of(start_in_fresh_process(module, call, package_root))


def time_steps(step: Callable[[], object], steps: int, device: str) -> tuple[float, float]:
    """Run ``step`` once to warm up, then ``steps`` times.

    Returns:
        (seconds per step, peak memory in MiB): on CUDA the peak allocated during the timed
        steps; on CPU the process's peak resident set size so far.
    """
    step()
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if cuda:
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / steps
    if cuda:
        return seconds, torch.cuda.max_memory_allocated() / 2**20
    return seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def save_result(model: str, what: str, output: Any) -> Path:
    """Write a run's output as ``results/<model>_<what>_<timestamp>.json`` and return the path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{model}_{what}_{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(output, indent=2))
    return path


def write_report(out: str | Path, text: str, numbers: dict[str, Any]) -> None:
    """Print a benchmark's markdown ``text`` and write it to ``out``, its ``numbers`` beside it
    as ``out`` with a .json suffix."""
    print(text)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.with_suffix(".json").write_text(json.dumps(numbers, indent=1))
