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


def load(directory: str | Path) -> GANModel:
    """Load any compogan checkpoint (run directory or ``save_pretrained`` directory).

    The model class is found from the ``model`` entry of its ``config.json``.
    """
    from compogan.models.base import load as load_checkpoint

    return load_checkpoint(directory)


__all__ = ["CompoganError", "__version__", "load"]
