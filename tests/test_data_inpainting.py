"""Tests for compogan.data.inpainting: folder and scikit-image inpainting data sets."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from compogan.data.inpainting import InpaintingFolder, SyntheticInpainting
from compogan.errors import ConfigError, InputError


def _write_images(folder: Path, count: int, size: tuple[int, int] = (40, 56)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for index in range(count):
        pixels = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
        suffix = ".png" if index % 2 == 0 else ".jpg"
        Image.fromarray(pixels).save(folder / f"image_{index}{suffix}")


def _write_masks(folder: Path) -> list[np.ndarray]:
    """Three distinct block masks (white = hole) of 20x20, the second as a noisy JPEG."""
    folder.mkdir(parents=True, exist_ok=True)
    masks = []
    for index in range(3):
        mask = np.zeros((20, 20), dtype=np.uint8)
        mask[2 + 4 * index : 10 + 4 * index, 3:15] = 255
        suffix = ".jpg" if index == 1 else ".png"
        Image.fromarray(mask, mode="L").save(folder / f"mask_{index}{suffix}", quality=40)
        masks.append(mask / 255.0)
    return masks


def _assert_item(item: dict[str, torch.Tensor], size: int) -> None:
    assert set(item) == {"image", "mask"}
    assert item["image"].shape == (3, size, size) and item["image"].dtype == torch.float32
    assert item["image"].min() >= -1.0 and item["image"].max() <= 1.0
    assert item["mask"].shape == (1, size, size) and item["mask"].dtype == torch.float32
    assert set(item["mask"].unique().tolist()) <= {0.0, 1.0}


def _equal(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(first[key], second[key]) for key in first)


def test_folder_items_shapes_ranges_and_determinism(tmp_path) -> None:
    _write_images(tmp_path / "images", 3)
    data = InpaintingFolder(tmp_path / "images", size=32, mask_kind="mix", seed=5)
    assert len(data) == 3
    for index in range(3):
        _assert_item(data[index], 32)
    again = InpaintingFolder(tmp_path / "images", size=32, mask_kind="mix", seed=5)
    assert _equal(data[1], again[1])
    data.set_epoch(1)
    assert not _equal(data[1], again[1])
    again.set_epoch(1)
    assert _equal(data[1], again[1])


def test_folder_eval_split_is_fixed_and_centre_cropped(tmp_path) -> None:
    _write_images(tmp_path / "images", 2)
    data = InpaintingFolder(tmp_path / "images", split="test", size=40, mask_kind="block")
    first = data[0]
    data.set_epoch(3)
    assert _equal(first, data[0])
    # The shorter side is already 40: the centre crop keeps the middle 40 columns.
    image = np.asarray(Image.open(tmp_path / "images" / "image_0.png"), dtype=np.float32)
    expected = torch.from_numpy(image[:, 8:48].transpose(2, 0, 1) / 127.5 - 1.0)
    assert torch.allclose(first["image"], expected, atol=1e-5)


def test_folder_masks_from_files(tmp_path) -> None:
    _write_images(tmp_path / "images", 4)
    expected = _write_masks(tmp_path / "masks")
    data = InpaintingFolder(
        tmp_path / "images", split="test", size=20, load_size=24, mask_root=tmp_path / "masks"
    )
    for index in range(4):
        item = data[index]
        _assert_item(item, 20)
        assert np.array_equal(item["mask"][0].numpy(), expected[index % 3])
    train = InpaintingFolder(tmp_path / "images", size=20, mask_root=tmp_path / "masks")
    seen = set()
    for epoch in range(8):
        train.set_epoch(epoch)
        seen.add(train[0]["mask"].numpy().tobytes())
    assert len(seen) > 1
    assert seen <= {mask.astype(np.float32).tobytes() for mask in expected}


def test_folder_errors(tmp_path) -> None:
    with pytest.raises(InputError, match="missing"):
        InpaintingFolder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    with pytest.raises(InputError, match="empty"):
        InpaintingFolder(tmp_path / "empty")
    _write_images(tmp_path / "images", 1)
    with pytest.raises(InputError, match="nomasks"):
        InpaintingFolder(tmp_path / "images", mask_root=tmp_path / "nomasks")
    with pytest.raises(ConfigError, match="mask kind"):
        InpaintingFolder(tmp_path / "images", mask_kind="stars")
    with pytest.raises(ConfigError, match="load_size"):
        InpaintingFolder(tmp_path / "images", size=32, load_size=16)
    with pytest.raises(IndexError):
        InpaintingFolder(tmp_path / "images", size=16)[1]


def test_synthetic_items_and_determinism() -> None:
    data = SyntheticInpainting(size=32, length=6, seed=2)
    items = [data[index] for index in range(6)]
    for item in items:
        _assert_item(item, 32)
    assert len({item["image"].numpy().tobytes() for item in items}) == 6
    assert _equal(items[4], SyntheticInpainting(size=32, length=6, seed=2)[4])
    data.set_epoch(1)
    assert not _equal(items[4], data[4])


def test_synthetic_test_split_serves_fixed_crops() -> None:
    data = SyntheticInpainting(split="test", size=24, length=4, mask_kind="half")
    first = [data[index] for index in range(4)]
    data.set_epoch(5)
    assert all(_equal(item, data[index]) for index, item in enumerate(first))
    for item in first:
        assert item["mask"].mean().item() == pytest.approx(0.5)
    train = SyntheticInpainting(split="train", size=24, length=4, mask_kind="half")
    assert not _equal(first[0], train[0])


def test_augmented_training_crops_are_recoloured_symmetries_and_tests_are_not() -> None:
    def data(split: str = "train", augment: bool = True) -> SyntheticInpainting:
        return SyntheticInpainting(split, 32, 12, photos=("coffee",), augment=augment, seed=4)

    plain, augmented = data(augment=False), data()
    negatives = changed = 0
    for index in range(12):
        _assert_item(augmented[index], 32)
        first, second = plain[index]["image"], augmented[index]["image"]
        changed += not torch.equal(first, second)
        # the same crop: channel order and symmetry keep its values, a negative negates them
        values = torch.sort(first.flatten()).values
        if not torch.equal(torch.sort(second.flatten()).values, values):
            torch.testing.assert_close(torch.sort((-second).flatten()).values, values)
            negatives += 1
    assert changed >= 10 and 0 < negatives < 12
    assert _equal(augmented[3], data()[3])
    assert all(_equal(data("test", False)[i], data("test")[i]) for i in range(3))


def test_folder_augmentation_only_in_training(tmp_path) -> None:
    _write_images(tmp_path / "images", 2)
    train = InpaintingFolder(tmp_path / "images", size=32, augment=True, seed=1)
    _assert_item(train[0], 32)
    plain = InpaintingFolder(tmp_path / "images", split="test", size=32)
    test = InpaintingFolder(tmp_path / "images", split="test", size=32, augment=True)
    assert _equal(plain[1], test[1])


def test_synthetic_errors() -> None:
    with pytest.raises(ConfigError):
        SyntheticInpainting(length=0)
    with pytest.raises(ConfigError, match="unknown scikit-image photos"):
        SyntheticInpainting(photos=("lena",))
    with pytest.raises(ConfigError):
        SyntheticInpainting(size=0)
