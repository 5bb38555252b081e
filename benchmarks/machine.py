"""One line describing where a benchmark's numbers were measured (shared by the scripts)."""

import platform

import torch


def machine() -> str:
    """The GPU's name, or the CPU and its thread count, with the torch version."""
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} (torch {torch.__version__})"
    return (
        f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads "
        f"(torch {torch.__version__})"
    )
