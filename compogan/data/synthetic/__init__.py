"""Procedural data sets made in code (no files), each with ground truth.

- drawing: the shared colour, polygon and rasterisation helpers.
- scenes: day/night outdoor scenes (CycleGAN; paired test renders score translations).
- faces: frontal faces with landmarks, part boxes and identities (ST-GAN, TP-GAN, KeyPatchGAN).
- glasses: procedural glasses in a canonical pose, placed on a face's eyes by a known similarity.
- glasses_compositing: the ST-GAN data set of faces and glasses.

The names below are imported from their modules on first use, so importing one module (e.g.
``compogan.data.synthetic.faces``) does not import the others.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compogan.data.synthetic.drawing import image_to_tensor
    from compogan.data.synthetic.faces import (
        CANONICAL_LEFT_EYE,
        CANONICAL_RIGHT_EYE,
        FaceSpec,
        render_face,
        sample_face,
    )
    from compogan.data.synthetic.glasses import (
        GlassesSpec,
        render_face_with_glasses,
        render_glasses,
        sample_glasses,
    )
    from compogan.data.synthetic.glasses_compositing import GlassesCompositing
    from compogan.data.synthetic.scenes import (
        DayNightScenes,
        SceneClass,
        SceneSpec,
        render_scene,
        render_scene_pair,
        sample_scene,
        sample_scene_from_rng,
        scene_layout,
    )

_MODULES = {
    "CANONICAL_LEFT_EYE": "faces",
    "CANONICAL_RIGHT_EYE": "faces",
    "DayNightScenes": "scenes",
    "FaceSpec": "faces",
    "GlassesCompositing": "glasses_compositing",
    "GlassesSpec": "glasses",
    "SceneClass": "scenes",
    "SceneSpec": "scenes",
    "image_to_tensor": "drawing",
    "render_face": "faces",
    "render_face_with_glasses": "glasses",
    "render_glasses": "glasses",
    "render_scene": "scenes",
    "render_scene_pair": "scenes",
    "sample_face": "faces",
    "sample_glasses": "glasses",
    "sample_scene": "scenes",
    "sample_scene_from_rng": "scenes",
    "scene_layout": "scenes",
}

__all__ = [
    "CANONICAL_LEFT_EYE",
    "CANONICAL_RIGHT_EYE",
    "DayNightScenes",
    "FaceSpec",
    "GlassesCompositing",
    "GlassesSpec",
    "SceneClass",
    "SceneSpec",
    "image_to_tensor",
    "render_face",
    "render_face_with_glasses",
    "render_glasses",
    "render_scene",
    "render_scene_pair",
    "sample_face",
    "sample_glasses",
    "sample_scene",
    "sample_scene_from_rng",
    "scene_layout",
]


def __getattr__(name: str) -> Any:
    """Import an exported name from its module on first access (PEP 562)."""
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    globals()[name] = value
    return value
