"""Procedural data sets made in code (no files): the day/night scenes for CycleGAN."""

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
    "DayNightScenes",
    "SceneClass",
    "SceneSpec",
    "image_to_tensor",
    "render_scene",
    "render_scene_pair",
    "sample_scene",
    "sample_scene_from_rng",
    "scene_layout",
]
