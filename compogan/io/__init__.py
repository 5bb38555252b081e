"""Input and output: validated image loading, atomic saving, pretrained-model directories."""

from compogan.io.atomic import atomic_dir, atomic_path, remove_stale_temporaries
from compogan.io.images import (
    ImageLike,
    has_alpha,
    list_images,
    load_image,
    pad_to_multiple,
    pil_to_mask,
    pil_to_tensor,
    save_image,
    tensor_to_pil,
    to_pil,
)

__all__ = [
    "ImageLike",
    "atomic_dir",
    "atomic_path",
    "has_alpha",
    "list_images",
    "load_image",
    "pad_to_multiple",
    "pil_to_mask",
    "pil_to_tensor",
    "remove_stale_temporaries",
    "save_image",
    "tensor_to_pil",
    "to_pil",
]
