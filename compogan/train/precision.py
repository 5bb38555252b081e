"""Which devices run bf16 autocast natively (``train.bf16``).

CUDA GPUs do. On CPU, PyTorch's autocast computes convolutions and matrix products in bf16
through oneDNN, which is fast only with the CPU's own bf16 instructions (AVX512-BF16 or
AMX-BF16); on a CPU without them (e.g. AVX2 only) bf16 is emulated and slower than float32, so
``train.bf16`` is ignored there, with a warning.
"""

from __future__ import annotations

from pathlib import Path

import torch

NATIVE_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
"""The /proc/cpuinfo flags of CPUs with native bf16 arithmetic."""


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags (Linux's /proc/cpuinfo), empty where they cannot be read."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def native_bf16_cpu(flags: frozenset[str] | None = None) -> str | None:
    """The native bf16 instruction set of this CPU ("amx_bf16" or "avx512_bf16"), or None."""
    flags = cpu_flags() if flags is None else flags
    for flag in reversed(NATIVE_BF16_CPU_FLAGS):
        if flag in flags:
            return flag
    return None


def bf16_autocast_supported(device: torch.device) -> bool:
    """Whether bf16 autocast pays on ``device``: CUDA, or a CPU with native bf16."""
    if device.type == "cuda":
        return True
    return device.type == "cpu" and native_bf16_cpu() is not None
