"""Tests of compogan.data.synthetic: scene sampling, day/night rendering and the data set."""

import numpy as np
import pytest
import torch
from scipy import ndimage
from torch.utils.data import DataLoader

from compogan.data.synthetic import (
    DayNightScenes,
    SceneClass,
    image_to_tensor,
    render_scene,
    render_scene_pair,
    sample_scene,
    scene_layout,
)
from compogan.errors import ConfigError, InputError

SEEDS = range(10)


def _interior(mask: np.ndarray) -> np.ndarray:
    """Pixels whose 3x3 neighbourhood lies inside ``mask`` (no anti-aliased edges)."""
    return ndimage.binary_erosion(mask, structure=np.ones((3, 3), dtype=bool))


def _day_to_night_is_a_function(day: np.ndarray, night: np.ndarray, where: np.ndarray) -> bool:
    """True when every day colour at ``where`` meets exactly one night colour there."""
    seen: dict[tuple[int, ...], tuple[int, ...]] = {}
    for day_rgb, night_rgb in zip(day[where], night[where], strict=True):
        key, value = tuple(day_rgb.tolist()), tuple(night_rgb.tolist())
        if seen.setdefault(key, value) != value:
            return False
    return True


def test_sample_scene_is_deterministic_and_seed_dependent() -> None:
    assert sample_scene(7) == sample_scene(7)
    assert sample_scene(7) != sample_scene(8)
    for domain in ("day", "night"):
        np.testing.assert_array_equal(
            render_scene(sample_scene(7), 48, domain), render_scene(sample_scene(7), 48, domain)
        )
    assert not np.array_equal(
        render_scene(sample_scene(7), 48, "day"), render_scene(sample_scene(8), 48, "day")
    )


def test_scene_contents_stay_in_their_ranges_and_vary() -> None:
    specs = [sample_scene(seed) for seed in range(60)]
    for spec in specs:
        assert 1 <= len(spec.hills) <= 3
        assert 1 <= len(spec.houses) <= 4
        assert 0 <= len(spec.trees) <= 5
        for house in spec.houses:
            assert 2 <= len(house.windows) <= 6
            assert any(window.lit for window in house.windows)
    assert {len(s.houses) for s in specs} == {1, 2, 3, 4}
    assert {len(s.hills) for s in specs} == {1, 2, 3}
    assert {len(s.trees) for s in specs} == set(range(6))
    assert {t.crown_shape for s in specs for t in s.trees} == {"round", "triangle"}


@pytest.mark.parametrize("size", [17, 64, 100])
def test_render_gives_uint8_rgb_of_any_size(size: int) -> None:
    day, night = render_scene_pair(sample_scene(3), size)
    for image in (day, night):
        assert image.shape == (size, size, 3)
        assert image.dtype == np.uint8
    np.testing.assert_array_equal(day, render_scene(sample_scene(3), size, "day"))
    np.testing.assert_array_equal(night, render_scene(sample_scene(3), size, "night"))


def test_geometry_is_identical_across_domains() -> None:
    for seed in SEEDS:
        spec = sample_scene(seed)
        day, night = render_scene_pair(spec, 64)
        layout = scene_layout(spec, 64)
        for kind in (SceneClass.HILL, SceneClass.WALL, SceneClass.ROOF, SceneClass.CROWN):
            inside = _interior(layout == kind)
            assert _day_to_night_is_a_function(day, night, inside), (seed, kind.name)


def test_geometry_check_detects_a_moved_scene() -> None:
    spec = sample_scene(2)
    day = render_scene(spec, 64, "day")
    shifted_night = np.roll(render_scene(spec, 64, "night"), 3, axis=1)
    houses = np.isin(scene_layout(spec, 64), [SceneClass.WALL, SceneClass.ROOF])
    assert not _day_to_night_is_a_function(day, shifted_night, _interior(houses))


def test_house_mask_matches_across_sizes() -> None:
    spec = sample_scene(4)
    small = scene_layout(spec, 32)
    large = scene_layout(spec, 64)[::2, ::2]
    assert (small == large).mean() > 0.97
    assert (small == SceneClass.WALL).any()


def test_night_is_darker_and_bluer_than_day() -> None:
    for seed in SEEDS:
        day, night = (
            image.astype(np.float64) for image in render_scene_pair(sample_scene(seed), 64)
        )
        assert night.mean() < 0.5 * day.mean()
        ground = scene_layout(sample_scene(seed), 64) == SceneClass.HILL
        night_ground = night[ground].mean(axis=0)
        assert night_ground[2] > night_ground[0]


def test_windows_are_lit_warm_at_night_only() -> None:
    for seed in SEEDS:
        spec = sample_scene(seed)
        day, night = (image.astype(int) for image in render_scene_pair(spec, 128))
        windows = _interior(scene_layout(spec, 128) == SceneClass.WINDOW)

        def warm(image: np.ndarray) -> np.ndarray:
            r, g, b = image[..., 0], image[..., 1], image[..., 2]
            return (r > 200) & (g > 150) & (r - b > 60)

        assert (warm(night) & windows).any(), seed
        assert not (warm(day) & windows).any(), seed


def test_stars_and_moon_appear_in_the_night_sky() -> None:
    spec = sample_scene(5)
    day, night = render_scene_pair(spec, 64)
    layout = scene_layout(spec, 64)
    sky = _interior(layout == SceneClass.SKY)
    moon = layout == SceneClass.SUN
    bright_night_sky = sky & (night.min(axis=2) > 90)
    assert bright_night_sky.sum() >= 3
    assert night[moon].mean() > 180
    assert day[moon].mean() > 200
    assert night[sky].mean() < 90 < day[sky].mean()


def test_rendering_checks_its_arguments() -> None:
    with pytest.raises(InputError):
        render_scene(sample_scene(0), 64, "dusk")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        render_scene(sample_scene(0), 4, "day")
    with pytest.raises(InputError):
        sample_scene(-1)


def test_image_to_tensor_maps_to_minus_one_one() -> None:
    image = np.array([[[0, 255, 128]]], dtype=np.uint8)
    tensor = image_to_tensor(image)
    assert tensor.shape == (3, 1, 1)
    assert tensor.dtype == torch.float32
    torch.testing.assert_close(tensor.flatten(), torch.tensor([-1.0, 1.0, 128 / 127.5 - 1.0]))


def test_dataset_items_are_tensors_in_range() -> None:
    for split in ("train", "test"):
        item = DayNightScenes(size=32, length=4, split=split)[1]
        assert set(item) == {"A", "B"}
        for image in item.values():
            assert image.shape == (3, 32, 32)
            assert image.dtype == torch.float32
            assert image.min() >= -1.0 and image.max() <= 1.0


def test_dataset_is_deterministic_and_ignores_global_rng() -> None:
    first = DayNightScenes(size=24, length=8, seed=3)
    second = DayNightScenes(size=24, length=8, seed=3)
    torch.manual_seed(0)
    np.random.seed(0)
    forward = [first[i] for i in range(8)]
    torch.manual_seed(1)
    np.random.seed(1)
    backward = [second[i] for i in reversed(range(8))][::-1]
    for a, b in zip(forward, backward, strict=True):
        torch.testing.assert_close(a["A"], b["A"], rtol=0, atol=0)
        torch.testing.assert_close(a["B"], b["B"], rtol=0, atol=0)
    other = DayNightScenes(size=24, length=8, seed=4)[0]
    assert not torch.equal(other["A"], forward[0]["A"])


def test_train_split_is_unpaired_and_drawn_per_epoch() -> None:
    data = DayNightScenes(size=24, length=6, split="train", flip=False)
    for index in range(6):
        day_seed, night_seed = data.scene_seeds(index)
        assert day_seed != night_seed
        item = data[index]
        expected_day = render_scene(sample_scene(day_seed), 24, "day")
        expected_night = render_scene(sample_scene(night_seed), 24, "night")
        torch.testing.assert_close(item["A"], image_to_tensor(expected_day), rtol=0, atol=0)
        torch.testing.assert_close(item["B"], image_to_tensor(expected_night), rtol=0, atol=0)
    epoch0 = [data.scene_seeds(i) for i in range(6)]
    data.set_epoch(1)
    epoch1 = [data.scene_seeds(i) for i in range(6)]
    assert all(a != b for a, b in zip(epoch0, epoch1, strict=True))
    data.set_epoch(0)
    assert [data.scene_seeds(i) for i in range(6)] == epoch0


def test_train_draws_follow_the_documented_rng() -> None:
    data = DayNightScenes(size=16, length=4, seed=9)
    data.set_epoch(2)
    rng = np.random.default_rng([9, 2, 3])
    expected_day = int(rng.integers(2**62)) & ~1
    assert data.scene_seeds(3)[0] == expected_day


def test_flip_mirrors_train_images() -> None:
    plain = DayNightScenes(size=24, length=12, flip=False)
    flipped = DayNightScenes(size=24, length=12, flip=True)
    mirrored = 0
    for index in range(12):
        a, b = plain[index]["A"], flipped[index]["A"]
        if not torch.equal(a, b):
            torch.testing.assert_close(b, a.flip(-1), rtol=0, atol=0)
            mirrored += 1
    assert 0 < mirrored < 12


def test_test_split_is_paired_fixed_and_never_flipped() -> None:
    data = DayNightScenes(size=24, length=5, split="test", flip=True)
    before = [data.scene_seeds(i) for i in range(5)]
    for index, (day_seed, night_seed) in enumerate(before):
        assert day_seed == night_seed
        day, night = render_scene_pair(sample_scene(day_seed), 24)
        item = data[index]
        torch.testing.assert_close(item["A"], image_to_tensor(day), rtol=0, atol=0)
        torch.testing.assert_close(item["B"], image_to_tensor(night), rtol=0, atol=0)
    data.set_epoch(7)
    assert [data.scene_seeds(i) for i in range(5)] == before


def test_train_and_test_scenes_are_disjoint() -> None:
    train = DayNightScenes(length=200, split="train")
    test = DayNightScenes(length=200, split="test")
    train_seeds = set()
    for epoch in range(3):
        train.set_epoch(epoch)
        train_seeds.update(seed for i in range(200) for seed in train.scene_seeds(i))
    test_seeds = {test.scene_seeds(i)[0] for i in range(200)}
    assert len(test_seeds) == 200
    assert train_seeds.isdisjoint(test_seeds)


def test_dataset_batches_through_a_dataloader() -> None:
    batch = next(iter(DataLoader(DayNightScenes(size=16, length=8), batch_size=4)))
    assert batch["A"].shape == (4, 3, 16, 16)
    assert batch["B"].shape == (4, 3, 16, 16)


def test_dataset_rejects_bad_arguments() -> None:
    with pytest.raises(ConfigError):
        DayNightScenes(split="val")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        DayNightScenes(seed=-1)
    with pytest.raises(ConfigError):
        DayNightScenes(length=0)
    with pytest.raises(ConfigError):
        DayNightScenes(size=4)
    with pytest.raises(ConfigError):
        DayNightScenes().set_epoch(-1)
    with pytest.raises(IndexError):
        DayNightScenes(length=3)[3]
