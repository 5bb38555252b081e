"""Import of official checkpoints into compogan models (explicit key tables, no pickle).

One module per format (``cyclegan.py``, ``edgeconnect.py``), each exposing an
:class:`~compogan.interop.registry.Importer` found by model name through
:mod:`compogan.interop.registry`.
"""

from compogan.interop.registry import (
    Importer,
    find_importer,
    get_importer,
    import_official,
    importer_names,
    register_importer,
)

__all__ = [
    "Importer",
    "find_importer",
    "get_importer",
    "import_official",
    "importer_names",
    "register_importer",
]
