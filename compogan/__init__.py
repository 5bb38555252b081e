"""compogan: compositional image synthesis with GANs on one set of shared parts.

>>> import compogan
>>> model = compogan.load("runs/cyclegan-day2night")      # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from compogan.errors import CompoganError

if TYPE_CHECKING:
    from compogan.models.base import GANModel

__version__ = "0.1.0"


def load(path: str | Path, task: str | None = None) -> GANModel:
    """Load a compogan checkpoint (run or ``save_pretrained`` directory) or official weights.

    See :func:`compogan.registry.load`: official files go through the importer registered for
    their model; ``task`` refuses a model that does not serve it before any weights are read.
    """
    from compogan.registry import load as load_checkpoint

    return load_checkpoint(path, task)


__all__ = ["CompoganError", "__version__", "load"]
