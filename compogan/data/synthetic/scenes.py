"""Procedural day/night outdoor scenes: the offline two-domain data set for CycleGAN.

A scene is a :class:`SceneSpec`: a sky, 1–3 layers of smooth hills, 1–4 houses (wall, roof,
door, 2–6 windows), 0–5 trees and a sun, all placed in relative units (fractions of the image
side), so one spec renders at any size. :func:`render_scene` draws a spec in the ``"day"`` or the
``"night"`` domain with identical geometry: by day a blue gradient sky, a sun and bright colours;
by night a dark gradient sky with stars, a moon where the sun was, every surface darkened and
shifted to blue, and most windows lit warm yellow. Rendering rasterises one element-id map at twice
the output size (PIL), colours it with a per-domain palette and averages 2x2 blocks
(anti-aliasing); a 64 px scene costs about a millisecond.

:class:`DayNightScenes` serves the renders as a torch data set: unpaired ``A`` (day) / ``B``
(night) images for training, paired ones (same scene) for testing.
"""

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image, ImageDraw

from compogan.data.seeded import SeededDataset
from compogan.data.synthetic.drawing import (
    SUPERSAMPLING,
    Color,
    downsample,
    image_to_tensor,
    jitter_color,
    mix_colors,
    pick_color,
)
from compogan.errors import ConfigError, InputError

Box = tuple[float, float, float, float]
Point = tuple[float, float]
Domain = Literal["day", "night"]
Split = Literal["train", "test"]

HORIZON_DEPTH = 0.72
MAX_SCENE_SEED = 2**62

_LUMA = np.array([0.299, 0.587, 0.114])
_NIGHT_TINT = np.array([0.55, 0.72, 1.35])
_NIGHT_AMBIENT = np.array([0.008, 0.012, 0.035])
_SUN_GLOW = np.array([1.0, 0.96, 0.82])
_MOON_GLOW = np.array([0.55, 0.62, 0.8])

_WALL_COLORS: tuple[Color, ...] = (
    (235, 225, 205),
    (200, 92, 70),
    (240, 218, 140),
    (172, 200, 222),
    (226, 226, 226),
    (182, 160, 128),
)
_ROOF_COLORS: tuple[Color, ...] = (
    (160, 52, 40),
    (112, 62, 40),
    (92, 92, 102),
    (62, 72, 92),
    (142, 82, 50),
)
_DOOR_COLORS: tuple[Color, ...] = ((100, 60, 30), (50, 82, 50), (42, 62, 112), (122, 32, 32))


class SceneClass(IntEnum):
    """Semantic class of a pixel in :func:`scene_layout`."""

    SKY = 0
    SUN = 1
    HILL = 2
    WALL = 3
    ROOF = 4
    DOOR = 5
    WINDOW = 6
    TRUNK = 7
    CROWN = 8


@dataclass(frozen=True)
class HillLayer:
    """A hill silhouette: ridge height ``base + sum(a * sin(2π f x + φ))`` (fraction from top)."""

    base: float
    amplitudes: tuple[float, ...]
    frequencies: tuple[float, ...]
    phases: tuple[float, ...]
    color: Color

    def ridge(self, x: np.ndarray) -> np.ndarray:
        """Ridge height (fraction of image height from the top) at horizontal positions ``x``."""
        height = np.full_like(x, self.base, dtype=np.float64)
        for amplitude, frequency, phase in zip(
            self.amplitudes, self.frequencies, self.phases, strict=True
        ):
            height += amplitude * np.sin(2.0 * math.pi * frequency * x + phase)
        return height


@dataclass(frozen=True)
class Window:
    """A window rectangle (relative box ``x0, y0, x1, y1``); ``lit`` windows glow at night."""

    box: Box
    lit: bool
    night_color: Color


@dataclass(frozen=True)
class House:
    """A house: wall box, roof polygon, door box and windows, all in relative units."""

    wall: Box
    roof: tuple[Point, ...]
    door: Box
    windows: tuple[Window, ...]
    wall_color: Color
    roof_color: Color
    door_color: Color
    glass_color: Color

    @property
    def depth(self) -> float:
        """Bottom edge of the wall; larger means nearer to the viewer (drawn later)."""
        return self.wall[3]


@dataclass(frozen=True)
class Tree:
    """A tree: trunk box and a round (ellipse) or triangular (conifer) crown in its box."""

    trunk: Box
    crown: Box
    crown_shape: Literal["round", "triangle"]
    trunk_color: Color
    crown_color: Color

    @property
    def depth(self) -> float:
        """Bottom edge of the trunk; larger means nearer to the viewer (drawn later)."""
        return self.trunk[3]


@dataclass(frozen=True)
class Star:
    """A star at relative position ``(x, y)`` with brightness in [0, 1] (night only)."""

    x: float
    y: float
    brightness: float


@dataclass(frozen=True)
class SceneSpec:
    """Everything needed to render one scene in either domain; positions are relative units."""

    sky_top_day: Color
    sky_horizon_day: Color
    sky_top_night: Color
    sky_horizon_night: Color
    sun_center: Point
    sun_radius: float
    sun_color: Color
    moon_color: Color
    hills: tuple[HillLayer, ...]
    houses: tuple[House, ...]
    trees: tuple[Tree, ...]
    stars: tuple[Star, ...]
    night_brightness: float


def _sample_hills(rng: np.random.Generator, sky_horizon: Color) -> tuple[HillLayer, ...]:
    count = int(rng.integers(1, 4))
    near_base = float(rng.uniform(0.66, 0.78))
    layers = []
    for distance in range(count - 1, -1, -1):
        waves = int(rng.integers(2, 4))
        scale = 0.035 + 0.02 * distance
        amplitudes = tuple(float(a) for a in rng.uniform(0.3, 1.0, size=waves) * scale / waves)
        frequencies = tuple(float(f) for f in rng.uniform(0.5, 3.5, size=waves))
        phases = tuple(float(p) for p in rng.uniform(0.0, 2.0 * math.pi, size=waves))
        green = jitter_color(rng, (80, 148, 62), 22)
        layers.append(
            HillLayer(
                base=near_base - distance * float(rng.uniform(0.07, 0.12)),
                amplitudes=amplitudes,
                frequencies=frequencies,
                phases=phases,
                color=mix_colors(green, sky_horizon, 0.3 * distance),
            )
        )
    return tuple(layers)


def _ground_level(ground: HillLayer, x0: float, x1: float) -> float:
    """Lowest ridge point under ``[x0, x1]``, so an object standing there does not float."""
    return float(ground.ridge(np.linspace(x0, x1, 9)).max())


def _window_cells(rng: np.random.Generator, count: int) -> tuple[int, list[tuple[int, int]], int]:
    """Grid layout of a wall: returns columns, chosen (row, column) window cells, door column."""
    columns = 3 if count <= 5 else 4
    door_column = int(rng.integers(columns))
    free = [
        (row, col) for row in range(2) for col in range(columns) if (row, col) != (1, door_column)
    ]
    chosen = rng.choice(len(free), size=count, replace=False)
    return columns, [free[int(i)] for i in sorted(chosen)], door_column


def _sample_house(
    rng: np.random.Generator, center: float, width: float, ground: HillLayer
) -> House:
    """A house of ``width`` centred at ``center``, standing on (or just in front of) ``ground``."""
    height = float(rng.uniform(0.09, 0.17))
    x0, x1 = center - width / 2, center + width / 2
    bottom = min(_ground_level(ground, x0, x1) + float(rng.uniform(0.01, 0.12)), 0.97)
    top = bottom - height
    roof_height = float(rng.uniform(0.05, 0.11))
    overhang = float(rng.uniform(0.005, 0.02))
    if rng.random() < 0.6:
        roof: tuple[Point, ...] = (
            (x0 - overhang, top),
            (center, top - roof_height),
            (x1 + overhang, top),
        )
    else:
        inset = width * float(rng.uniform(0.15, 0.3))
        roof = (
            (x0 - overhang, top),
            (x0 + inset, top - roof_height),
            (x1 - inset, top - roof_height),
            (x1 + overhang, top),
        )
    window_count = int(rng.integers(2, 7))
    columns, cells, door_column = _window_cells(rng, window_count)
    cell_w, cell_h = width / columns, height / 2
    fill = float(rng.uniform(0.5, 0.68))
    lit = rng.random(window_count) < 0.8
    lit[int(rng.integers(window_count))] = True
    windows = []
    for (row, col), is_lit in zip(cells, lit, strict=True):
        cx, cy = x0 + (col + 0.5) * cell_w, top + (row + 0.5) * cell_h
        half_w, half_h = fill * cell_w / 2, fill * cell_h / 2
        warm = (
            jitter_color(rng, (255, 212, 112), 14) if is_lit else jitter_color(rng, (22, 24, 38), 6)
        )
        windows.append(
            Window((cx - half_w, cy - half_h, cx + half_w, cy + half_h), bool(is_lit), warm)
        )
    door_cx = x0 + (door_column + 0.5) * cell_w
    door_half = cell_w * float(rng.uniform(0.25, 0.35))
    door = (
        door_cx - door_half,
        top + cell_h * float(rng.uniform(1.1, 1.3)),
        door_cx + door_half,
        bottom,
    )
    return House(
        wall=(x0, top, x1, bottom),
        roof=roof,
        door=door,
        windows=tuple(windows),
        wall_color=pick_color(rng, _WALL_COLORS, 12),
        roof_color=pick_color(rng, _ROOF_COLORS, 12),
        door_color=pick_color(rng, _DOOR_COLORS, 10),
        glass_color=jitter_color(rng, (150, 190, 215), 15),
    )


def _sample_houses(rng: np.random.Generator, ground: HillLayer) -> tuple[House, ...]:
    wanted = int(rng.integers(1, 5))
    spans: list[tuple[float, float]] = []
    houses = []
    for _ in range(wanted):
        width = float(rng.uniform(0.14, 0.26))
        for _attempt in range(20):
            center = float(rng.uniform(0.05 + width / 2, 0.95 - width / 2))
            if all(abs(center - c) > 0.8 * (width + w) / 2 for c, w in spans):
                spans.append((center, width))
                houses.append(_sample_house(rng, center, width, ground))
                break
    return tuple(houses)


def _sample_tree(rng: np.random.Generator, ground: HillLayer) -> Tree:
    center = float(rng.uniform(0.03, 0.97))
    height = float(rng.uniform(0.1, 0.22))
    crown_width = height * float(rng.uniform(0.45, 0.75))
    trunk_half = crown_width * float(rng.uniform(0.08, 0.14))
    ground_level = _ground_level(ground, center - trunk_half, center + trunk_half)
    bottom = min(ground_level + float(rng.uniform(0.01, 0.14)), 0.98)
    crown_bottom = bottom - height * float(rng.uniform(0.2, 0.35))
    shape: Literal["round", "triangle"] = "round" if rng.random() < 0.55 else "triangle"
    crown_base = (62, 142, 60) if shape == "round" else (32, 102, 52)
    return Tree(
        trunk=(center - trunk_half, crown_bottom - 0.01, center + trunk_half, bottom),
        crown=(center - crown_width / 2, bottom - height, center + crown_width / 2, crown_bottom),
        crown_shape=shape,
        trunk_color=jitter_color(rng, (100, 70, 40), 12),
        crown_color=jitter_color(rng, crown_base, 18),
    )


def _sample_stars(rng: np.random.Generator) -> tuple[Star, ...]:
    count = int(rng.integers(30, 90))
    xs = rng.uniform(0.0, 1.0, count)
    ys = rng.uniform(0.0, HORIZON_DEPTH, count)
    brightness = rng.uniform(0.45, 1.0, count)
    return tuple(
        Star(float(x), float(y), float(b)) for x, y, b in zip(xs, ys, brightness, strict=True)
    )


def sample_scene_from_rng(rng: np.random.Generator) -> SceneSpec:
    """Draw a random :class:`SceneSpec`, consuming only ``rng``."""
    sky_horizon_day = jitter_color(rng, (178, 210, 240), 15)
    hills = _sample_hills(rng, sky_horizon_day)
    sun_radius = float(rng.uniform(0.04, 0.08))
    sun_center = (float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.07, 0.3)))
    houses = _sample_houses(rng, hills[-1])
    trees = tuple(_sample_tree(rng, hills[-1]) for _ in range(int(rng.integers(0, 6))))
    return SceneSpec(
        sky_top_day=jitter_color(rng, (72, 132, 215), 20),
        sky_horizon_day=sky_horizon_day,
        sky_top_night=jitter_color(rng, (5, 7, 24), 4),
        sky_horizon_night=jitter_color(rng, (24, 34, 70), 8),
        sun_center=sun_center,
        sun_radius=sun_radius,
        sun_color=jitter_color(rng, (255, 242, 185), 10),
        moon_color=jitter_color(rng, (236, 236, 216), 8),
        hills=hills,
        houses=houses,
        trees=trees,
        stars=_sample_stars(rng),
        night_brightness=float(rng.uniform(0.28, 0.4)),
    )


def sample_scene(seed: int) -> SceneSpec:
    """The scene of ``seed`` (>= 0): ``sample_scene_from_rng(np.random.default_rng(seed))``."""
    if seed < 0:
        raise InputError(f"scene seed must be a non-negative integer, got {seed}")
    return sample_scene_from_rng(np.random.default_rng(seed))


def _night_color(day: Color, brightness: float) -> np.ndarray:
    """A surface colour by night: desaturated, darkened and shifted to blue; RGB in [0, 1]."""
    rgb = np.asarray(day, dtype=np.float64) / 255.0
    desaturated = 0.35 * rgb + 0.65 * float(rgb @ _LUMA)
    return np.clip(brightness * desaturated * _NIGHT_TINT + _NIGHT_AMBIENT, 0.0, 1.0)


class _Layout:
    """Element-id raster of a spec at supersampled resolution with per-domain palettes."""

    def __init__(self, spec: SceneSpec, canvas: int) -> None:
        self.canvas = canvas
        self._image = Image.new("L", (canvas, canvas), 0)
        self._draw = ImageDraw.Draw(self._image)
        # Element 0 is the sky: black in the palettes, coloured by _sky through its coverage.
        self.day: list[np.ndarray] = [np.zeros(3)]
        self.night: list[np.ndarray] = [np.zeros(3)]
        self.classes: list[int] = [SceneClass.SKY]
        self._spec = spec
        self._draw_all()
        self.ids = np.asarray(self._image)

    def _new_element(self, day: Color, night: np.ndarray, kind: SceneClass) -> int:
        self.day.append(np.asarray(day, dtype=np.float64) / 255.0)
        self.night.append(night)
        self.classes.append(kind)
        return len(self.classes) - 1

    def _surface(self, day: Color, kind: SceneClass) -> int:
        return self._new_element(day, _night_color(day, self._spec.night_brightness), kind)

    def _px(self, box: Box) -> list[float]:
        return [v * self.canvas for v in box]

    def _polygon(self, points: tuple[Point, ...] | list[Point], element: int) -> None:
        self._draw.polygon([(x * self.canvas, y * self.canvas) for x, y in points], fill=element)

    def _draw_all(self) -> None:
        spec = self._spec
        moon = np.asarray(spec.moon_color, dtype=np.float64) / 255.0
        sun = self._new_element(spec.sun_color, moon, SceneClass.SUN)
        (cx, cy), r = spec.sun_center, spec.sun_radius
        self._draw.ellipse(self._px((cx - r, cy - r, cx + r, cy + r)), fill=sun)
        xs = np.linspace(0.0, 1.0, self.canvas // 2 + 1)
        for hill in spec.hills:
            ridge = [(float(x), float(y)) for x, y in zip(xs, hill.ridge(xs), strict=True)]
            self._polygon(
                [(0.0, 1.0), *ridge, (1.0, 1.0)], self._surface(hill.color, SceneClass.HILL)
            )
        objects: list[House | Tree] = [*spec.houses, *spec.trees]
        for thing in sorted(objects, key=lambda o: o.depth):
            if isinstance(thing, House):
                self._draw_house(thing)
            else:
                self._draw_tree(thing)

    def _draw_house(self, house: House) -> None:
        self._draw.rectangle(
            self._px(house.wall), fill=self._surface(house.wall_color, SceneClass.WALL)
        )
        self._polygon(house.roof, self._surface(house.roof_color, SceneClass.ROOF))
        self._draw.rectangle(
            self._px(house.door), fill=self._surface(house.door_color, SceneClass.DOOR)
        )
        for window in house.windows:
            night = np.asarray(window.night_color, dtype=np.float64) / 255.0
            element = self._new_element(house.glass_color, night, SceneClass.WINDOW)
            self._draw.rectangle(self._px(window.box), fill=element)

    def _draw_tree(self, tree: Tree) -> None:
        self._draw.rectangle(
            self._px(tree.trunk), fill=self._surface(tree.trunk_color, SceneClass.TRUNK)
        )
        crown = self._surface(tree.crown_color, SceneClass.CROWN)
        x0, y0, x1, y1 = tree.crown
        if tree.crown_shape == "round":
            self._draw.ellipse(self._px(tree.crown), fill=crown)
        else:
            self._polygon(((x0, y1), ((x0 + x1) / 2, y0), (x1, y1)), crown)


def _sky(spec: SceneSpec, size: int, domain: Domain) -> np.ndarray:
    """Sky colours (size, size, 3) float32 in [0, 1]: vertical gradient plus a sun/moon glow."""
    day = domain == "day"
    top = np.asarray(spec.sky_top_day if day else spec.sky_top_night, dtype=np.float32) / 255
    horizon = np.asarray(spec.sky_horizon_day if day else spec.sky_horizon_night) / 255
    centers = ((np.arange(size) + 0.5) / size).astype(np.float32)
    t = np.clip(centers / HORIZON_DEPTH, 0.0, 1.0)[:, None, None]
    gradient = (top * (1.0 - t) + horizon * t).astype(np.float32)
    (cx, cy), radius = spec.sun_center, spec.sun_radius
    glow_radius = (2.5 if day else 1.8) * radius
    glow_x = np.exp(-((centers - cx) ** 2) / (2.0 * glow_radius**2))
    glow_y = np.exp(-((centers - cy) ** 2) / (2.0 * glow_radius**2))
    strength = (0.55 if day else 0.3) * np.outer(glow_y, glow_x)[..., None]
    glow_color = (_SUN_GLOW if day else _MOON_GLOW).astype(np.float32)
    return gradient + strength * (glow_color - gradient)


def _add_stars(image: np.ndarray, spec: SceneSpec, sky_coverage: np.ndarray) -> None:
    """Light single pixels of ``image`` (size, size, 3, in [0, 1]) fully covered by sky."""
    size = image.shape[0]
    xs = np.array([s.x for s in spec.stars])
    ys = np.array([s.y for s in spec.stars])
    brightness = np.array([s.brightness for s in spec.stars], dtype=np.float32)
    cols = np.minimum((xs * size).astype(int), size - 1)
    rows = np.minimum((ys * size).astype(int), size - 1)
    visible = sky_coverage[rows, cols] >= 1.0
    star_rgb = brightness[visible, None] * np.array([0.95, 0.95, 1.0], dtype=np.float32)
    rows, cols = rows[visible], cols[visible]
    image[rows, cols] = np.maximum(image[rows, cols], star_rgb)


def _colorize(layout: _Layout, spec: SceneSpec, size: int, domain: Domain) -> np.ndarray:
    """Colour the layout: surfaces at 2x then averaged, plus the (smooth) sky by its coverage."""
    palette = np.stack(layout.day if domain == "day" else layout.night).astype(np.float32)
    surfaces = downsample(np.take(palette, layout.ids, axis=0))
    sky_coverage = downsample((layout.ids == 0).astype(np.float32))
    image = surfaces + sky_coverage[..., None] * _sky(spec, size, domain)
    if domain == "night":
        _add_stars(image, spec, sky_coverage)
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)


def _check_render_args(size: int, domains: tuple[str, ...]) -> None:
    if not isinstance(size, int) or size < 8:
        raise InputError(f"scene size must be an integer of at least 8 pixels, got {size!r}")
    for domain in domains:
        if domain not in ("day", "night"):
            raise InputError(f"scene domain must be 'day' or 'night', got {domain!r}")


def render_scene(spec: SceneSpec, size: int, domain: Domain) -> np.ndarray:
    """Render ``spec`` as a (size, size, 3) uint8 RGB image of the ``"day"`` or ``"night"`` domain.

    Both domains share the geometry exactly; only colours, the sky, stars, the moon and the
    window lights differ.
    """
    _check_render_args(size, (domain,))
    return _colorize(_Layout(spec, size * SUPERSAMPLING), spec, size, domain)


def render_scene_pair(spec: SceneSpec, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Day and night renders of ``spec`` (each (size, size, 3) uint8) from one rasterisation."""
    _check_render_args(size, ())
    layout = _Layout(spec, size * SUPERSAMPLING)
    return _colorize(layout, spec, size, "day"), _colorize(layout, spec, size, "night")


def scene_layout(spec: SceneSpec, size: int) -> np.ndarray:
    """Semantic map (size, size) uint8 of :class:`SceneClass` values, sampled at pixel corners."""
    _check_render_args(size, ())
    layout = _Layout(spec, size * SUPERSAMPLING)
    classes = np.asarray(layout.classes, dtype=np.uint8)
    return classes[layout.ids[::SUPERSAMPLING, ::SUPERSAMPLING]]


class DayNightScenes(SeededDataset):
    """Two-domain scene data set: ``{"A": day, "B": night}``, tensors (3, size, size) in [-1, 1].

    ``split="train"`` is unpaired: item ``i`` shows a day render of one scene and a night render
    of a different scene, both drawn (with optional horizontal flips) from
    ``np.random.default_rng([seed, epoch, i])``; :meth:`set_epoch` changes the draws. With
    ``paired`` the training items are aligned pairs instead: day and night of the same scene,
    with one flip for both (the paired translation models' data). ``split="test"`` is paired and
    fixed: day and night of the same scene, never flipped, independent of the epoch. Train
    scene seeds are even and test scene seeds odd, so the splits never share a scene. No global
    random state is used, so items are reproducible across processes.
    """

    def __init__(
        self,
        size: int = 64,
        length: int = 2000,
        split: Split = "train",
        seed: int = 0,
        flip: bool = True,
        paired: bool = False,
    ) -> None:
        if split not in ("train", "test"):
            raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
        if not isinstance(size, int) or size < 8:
            raise ConfigError(f"image size must be an integer of at least 8, got {size!r}")
        if length < 1:
            raise ConfigError(f"data set length must be at least 1, got {length}")
        super().__init__(seed, split)
        self.size = size
        self.length = length
        self.flip = flip
        self.paired = paired or split == "test"

    def __len__(self) -> int:
        return self.length

    def _draw_seeds(self, rng: np.random.Generator) -> tuple[int, int]:
        if self.paired:
            scene = int(rng.integers(MAX_SCENE_SEED))
            scene = scene | 1 if self.split == "test" else scene & ~1
            return scene, scene
        day_scene = int(rng.integers(MAX_SCENE_SEED)) & ~1
        night_scene = day_scene
        while night_scene == day_scene:
            night_scene = int(rng.integers(MAX_SCENE_SEED)) & ~1
        return day_scene, night_scene

    def scene_seeds(self, index: int) -> tuple[int, int]:
        """Seeds (for :func:`sample_scene`) of the scenes shown as ``A`` and ``B`` by ``index``."""
        return self._draw_seeds(self.item_rng(index))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = self.item_rng(index)
        day_seed, night_seed = self._draw_seeds(rng)
        if self.paired:
            day, night = render_scene_pair(sample_scene(day_seed), self.size)
            if self.split == "train" and self.flip and rng.random() < 0.5:
                day, night = day[:, ::-1], night[:, ::-1]
        else:
            day = render_scene(sample_scene(day_seed), self.size, "day")
            night = render_scene(sample_scene(night_seed), self.size, "night")
            if self.flip:
                flips = rng.random(2) < 0.5
                day = day[:, ::-1] if flips[0] else day
                night = night[:, ::-1] if flips[1] else night
        return {"A": image_to_tensor(day), "B": image_to_tensor(night)}


def daynight_dataset(data_config: Any, split: str, seed: int) -> DayNightScenes:
    """The unpaired "daynight" dataset; reads ``size``, ``length``/``test_length``, ``flip``."""
    return DayNightScenes(
        data_config.size, data_config.split_length(split), split, seed, data_config.flip
    )


def paired_daynight_dataset(data_config: Any, split: str, seed: int) -> DayNightScenes:
    """The paired "daynight" dataset (aligned day → night); reads the same fields."""
    return DayNightScenes(
        data_config.size, data_config.split_length(split), split, seed, data_config.flip, True
    )
