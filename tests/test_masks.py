"""Tests for compogan.data.masks: generators, mask files and evaluation buckets."""

import numpy as np
import pytest
import torch
from PIL import Image

from compogan.data.masks import (
    EVALUATION_BUCKETS,
    IRREGULAR_AREA,
    MASK_KINDS,
    MaskMix,
    evaluation_masks,
    free_form_mask,
    half_mask,
    hole_fraction,
    irregular_mask,
    load_mask_file,
    mask_generator,
    random_block_mask,
)
from compogan.errors import ConfigError, InputError


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _assert_binary(mask: np.ndarray, shape: tuple[int, int]) -> None:
    assert mask.shape == shape
    assert mask.dtype == np.float32
    assert set(np.unique(mask).tolist()) <= {0.0, 1.0}


def test_block_mask_is_one_rectangle_of_a_quarter() -> None:
    mask = random_block_mask((40, 60), _rng())
    _assert_binary(mask, (40, 60))
    rows, cols = np.nonzero(mask)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (20, 30)
    assert mask.sum() == 20 * 30
    assert hole_fraction(mask) == pytest.approx(0.25)


def test_block_positions_vary_and_repeat_with_the_seed() -> None:
    masks = [random_block_mask(32, _rng(seed)) for seed in range(8)]
    assert len({mask.tobytes() for mask in masks}) > 1
    np.testing.assert_array_equal(random_block_mask(32, _rng(3)), masks[3])


def test_half_mask_covers_one_half() -> None:
    seen = set()
    for seed in range(20):
        mask = half_mask((10, 16), _rng(seed))
        _assert_binary(mask, (10, 16))
        assert hole_fraction(mask) == pytest.approx(0.5)
        seen.add(mask.tobytes())
    assert len(seen) == 4


def test_free_form_mask_shape_fraction_and_determinism() -> None:
    masks = [free_form_mask((48, 64), _rng(seed), max_strokes=4) for seed in range(10)]
    for mask in masks:
        _assert_binary(mask, (48, 64))
        assert 0.0 < hole_fraction(mask) < 0.8
    assert len({mask.tobytes() for mask in masks}) == 10
    np.testing.assert_array_equal(free_form_mask((48, 64), _rng(4), max_strokes=4), masks[4])


def test_more_strokes_cover_more_on_average() -> None:
    one = np.mean([hole_fraction(free_form_mask(64, _rng(s), max_strokes=1)) for s in range(20)])
    many = np.mean([hole_fraction(free_form_mask(64, _rng(s), max_strokes=8)) for s in range(20)])
    assert many > one


def test_irregular_masks_cover_the_whole_area_range_and_repeat_with_the_seed() -> None:
    masks = [irregular_mask((48, 64), _rng(seed)) for seed in range(60)]
    for mask in masks:
        _assert_binary(mask, (48, 64))
    fractions = np.array([hole_fraction(mask) for mask in masks])
    low, high = IRREGULAR_AREA
    assert fractions.min() >= low and fractions.max() < high
    assert (fractions < 0.2).any() and (fractions >= 0.4).any()  # free_form's rarely reach 0.3
    np.testing.assert_array_equal(irregular_mask((48, 64), _rng(7)), masks[7])


def test_mask_mix_uses_only_weighted_kinds() -> None:
    only_half = MaskMix({"half": 1.0, "block": 0.0})
    for seed in range(10):
        assert hole_fraction(only_half(20, _rng(seed))) == pytest.approx(0.5)
    mixed = MaskMix()
    fractions = {round(hole_fraction(mixed(32, _rng(seed))), 3) for seed in range(30)}
    assert {0.25, 0.5} <= fractions
    assert len(fractions) > 2  # free-form masks too


def test_mask_generator_kinds_and_errors() -> None:
    for kind in MASK_KINDS:
        _assert_binary(mask_generator(kind)(24, _rng()), (24, 24))
    with pytest.raises(ConfigError, match="unknown mask kind"):
        mask_generator("circle")
    with pytest.raises(ConfigError, match="unknown mask kinds"):
        MaskMix({"circle": 1.0})
    with pytest.raises(ConfigError, match="positive sum"):
        MaskMix({"block": 0.0})
    with pytest.raises(ConfigError):
        free_form_mask(16, _rng(), max_strokes=0)
    with pytest.raises(ConfigError):
        random_block_mask(0, _rng())


def test_hole_fraction_accepts_tensors() -> None:
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1.0
    assert hole_fraction(mask) == pytest.approx(0.5)


@pytest.mark.parametrize("bucket", list(EVALUATION_BUCKETS))
def test_evaluation_masks_land_in_their_bucket(bucket: str) -> None:
    low, high = EVALUATION_BUCKETS[bucket]
    masks = evaluation_masks(48, bucket, count=6, seed=1)
    assert masks.shape == (6, 48, 48)
    assert set(np.unique(masks).tolist()) <= {0.0, 1.0}
    for mask in masks:
        assert low <= hole_fraction(mask) < high


def test_evaluation_masks_are_fixed_by_the_seed() -> None:
    first = evaluation_masks((32, 40), "20-30", count=5, seed=7)
    np.testing.assert_array_equal(first, evaluation_masks((32, 40), "20-30", count=5, seed=7))
    np.testing.assert_array_equal(first[:3], evaluation_masks((32, 40), "20-30", count=3, seed=7))
    assert not np.array_equal(first, evaluation_masks((32, 40), "20-30", count=5, seed=8))
    assert len({mask.tobytes() for mask in first}) == 5


def test_evaluation_masks_errors() -> None:
    with pytest.raises(ConfigError, match="unknown mask bucket"):
        evaluation_masks(32, "50-60", count=1)
    with pytest.raises(ConfigError):
        evaluation_masks(8, "10-20", count=1)
    with pytest.raises(ConfigError):
        evaluation_masks(32, "10-20", count=-1)


def _reference_mask() -> np.ndarray:
    mask = np.zeros((24, 32), dtype=np.uint8)
    mask[4:16, 6:20] = 255
    return mask


def test_jpeg_mask_with_compression_noise_thresholds_clean(tmp_path) -> None:
    reference = _reference_mask()
    path = tmp_path / "mask.jpg"
    Image.fromarray(reference, mode="L").save(path, quality=30)
    raw = np.asarray(Image.open(path))
    assert len(np.unique(raw)) > 2  # the JPEG really is noisy
    mask = load_mask_file(path)
    _assert_binary(mask, (24, 32))
    np.testing.assert_array_equal(mask, reference / 255.0)


def _save_in_mode(reference: np.ndarray, mode: str, path) -> None:
    grey = Image.fromarray(reference, mode="L")
    if mode == "LA":
        image = Image.merge("LA", (Image.new("L", grey.size, 90), grey))
    elif mode == "RGBA":
        image = Image.merge("RGBA", (*Image.new("RGB", grey.size, (200, 10, 10)).split(), grey))
    elif mode == "1":
        image = grey.convert("1")
    else:
        image = grey.convert(mode)
    image.save(path)


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "1", "RGB"])
def test_mask_file_modes(tmp_path, mode: str) -> None:
    reference = _reference_mask()
    path = tmp_path / f"mask_{mode}.png"
    _save_in_mode(reference, mode, path)
    assert Image.open(path).mode == mode
    np.testing.assert_array_equal(load_mask_file(path), reference / 255.0)


def test_mask_file_resize_is_nearest_and_binary(tmp_path) -> None:
    path = tmp_path / "mask.png"
    Image.fromarray(_reference_mask(), mode="L").save(path)
    mask = load_mask_file(path, size=(12, 16))
    _assert_binary(mask, (12, 16))
    assert mask[2:8, 3:10].all()
    assert mask.sum() == 6 * 7
    _assert_binary(load_mask_file(path, size=50), (50, 50))


def test_mask_file_errors(tmp_path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_mask_file(tmp_path / "missing.png")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    with pytest.raises(InputError, match=r"broken\.png"):
        load_mask_file(broken)
