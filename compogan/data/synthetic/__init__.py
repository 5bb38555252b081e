"""Procedural data sets made in code (no files), each with ground truth.

- scenes: day/night outdoor scenes (CycleGAN; paired test renders score translations).
- faces: frontal faces with landmarks, part boxes and identities, and procedural glasses placed
  by a known similarity (ST-GAN; reused by TP-GAN and KeyPatchGAN).
"""

from compogan.data.synthetic.faces import (
    CANONICAL_LEFT_EYE,
    CANONICAL_RIGHT_EYE,
    FaceSpec,
    GlassesCompositing,
    GlassesSpec,
    render_face,
    render_glasses,
    sample_face,
    sample_glasses,
)
from compogan.data.synthetic.scenes import (
    DayNightScenes,
    SceneClass,
    SceneSpec,
    image_to_tensor,
    render_scene,
    render_scene_pair,
    sample_scene,
    sample_scene_from_rng,
    scene_layout,
)

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
    "render_glasses",
    "render_scene",
    "render_scene_pair",
    "sample_face",
    "sample_glasses",
    "sample_scene",
    "sample_scene_from_rng",
    "scene_layout",
]
