"""Tests of compogan.data.transforms and compogan.data.folder (layout, determinism, errors)."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from compogan.data.folder import UnpairedImageFolder
from compogan.data.transforms import (
    ImageTransform,
    center_crop,
    random_colours,
    random_crop,
    random_dihedral,
    random_flip,
    resize,
    resize_shorter,
)
from compogan.errors import ConfigError, InputError


def _pattern(width: int, height: int, seed: int) -> Image.Image:
    """A random RGB image, different for every seed."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def _solid(value: int, size: int = 12) -> Image.Image:
    """A uniform grey RGB image whose value identifies it after any crop or flip."""
    return Image.new("RGB", (size, size), (value, value, value))


def _make_domains(root: Path, phase: str, count_a: int, count_b: int) -> None:
    """``root/{phase}A`` with solid images 10, 20, ... and ``root/{phase}B`` with 100, 105, ..."""
    for domain, count, start, step in (("A", count_a, 10, 10), ("B", count_b, 100, 5)):
        folder = root / f"{phase}{domain}"
        folder.mkdir(parents=True)
        for index in range(count):
            _solid(start + step * index).save(folder / f"{index:03d}.png")


def _identity(tensor: torch.Tensor) -> int:
    """The grey value (0..255) of a solid-image tensor in [-1, 1]."""
    return round((float(tensor.mean()) + 1) * 127.5)


# --------------------------------------------------------------------------- transforms


def test_resize_and_resize_shorter() -> None:
    image = _pattern(40, 20, 0)
    assert resize(image, 8).size == (8, 8)
    assert resize(image, (6, 10)).size == (10, 6)  # (height, width)
    assert resize_shorter(image, 10).size == (20, 10)
    assert resize_shorter(_pattern(21, 30, 1), 7).size == (7, 10)


def test_crops() -> None:
    image = _pattern(10, 8, 2)
    pixels = np.asarray(image)
    np.testing.assert_array_equal(np.asarray(center_crop(image, 4)), pixels[2:6, 3:7])
    np.testing.assert_array_equal(np.asarray(center_crop(image, (2, 6))), pixels[3:5, 2:8])
    rng = np.random.default_rng(5)
    reference = np.random.default_rng(5)
    top, left = reference.integers(0, 5), reference.integers(0, 7)
    np.testing.assert_array_equal(
        np.asarray(random_crop(image, 4, rng)), pixels[top : top + 4, left : left + 4]
    )
    with pytest.raises(InputError, match="cannot crop"):
        center_crop(image, 9)


def test_random_flip_follows_the_generator() -> None:
    image = _pattern(6, 4, 3)
    mirrored = np.asarray(image)[:, ::-1]
    flips = 0
    for seed in range(20):
        draw = np.random.default_rng(seed).random()
        out = np.asarray(random_flip(image, np.random.default_rng(seed)))
        if draw < 0.5:
            np.testing.assert_array_equal(out, mirrored)
            flips += 1
        else:
            np.testing.assert_array_equal(out, np.asarray(image))
    assert 0 < flips < 20


def test_random_dihedral_gives_all_eight_symmetries() -> None:
    image = _pattern(5, 5, 3)
    pixels = np.asarray(image)
    symmetries = {
        np.rot90(view, k).tobytes() for view in (pixels, pixels[:, ::-1]) for k in range(4)
    }
    seen = set()
    for seed in range(64):
        out = np.asarray(random_dihedral(image, np.random.default_rng(seed)))
        np.testing.assert_array_equal(
            out, np.asarray(random_dihedral(image, np.random.default_rng(seed)))
        )
        seen.add(out.tobytes())
    assert seen == symmetries


def test_random_colours_permute_channels_and_invert_half_the_time() -> None:
    pixels = np.asarray(_pattern(4, 6, 3)).reshape(-1, 3)
    negatives = 0
    for seed in range(40):
        out = np.asarray(
            random_colours(Image.fromarray(pixels.reshape(4, 6, 3)), np.random.default_rng(seed))
        ).reshape(-1, 3)
        rng = np.random.default_rng(seed)
        order = rng.permutation(3)
        expected = pixels[:, order]
        if rng.random() < 0.5:
            expected = 255 - expected
            negatives += 1
        np.testing.assert_array_equal(out, expected)
    assert 0 < negatives < 40


def test_image_transform_is_deterministic_and_shaped() -> None:
    transform = ImageTransform(load_size=20, crop_size=16, flip=True, train=True)
    image = _pattern(30, 25, 4)
    first = transform(image, np.random.default_rng([1, 2, 3]))
    again = transform(image, np.random.default_rng([1, 2, 3]))
    assert first.shape == (3, 16, 16) and first.dtype == torch.float32
    assert first.min() >= -1 and first.max() <= 1
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    outputs = {transform(image, np.random.default_rng(seed)).sum().item() for seed in range(8)}
    assert len(outputs) > 1


def test_eval_transform_is_centre_crop_without_flip() -> None:
    transform = ImageTransform(load_size=20, crop_size=16, flip=True, train=False)
    image = _pattern(30, 25, 5)
    expected = center_crop(resize(image, 20), 16)
    out = transform(image)
    np.testing.assert_array_equal(
        np.asarray(expected), np.rint((out.permute(1, 2, 0).numpy() + 1) * 127.5).astype(np.uint8)
    )


def test_transform_config_errors() -> None:
    with pytest.raises(ConfigError, match="crop_size"):
        ImageTransform(load_size=16, crop_size=20)
    with pytest.raises(ConfigError, match="positive"):
        ImageTransform(load_size=0, crop_size=0)
    with pytest.raises(ValueError, match="Generator"):
        ImageTransform(load_size=8, crop_size=8, train=True)(_pattern(8, 8, 0))


# --------------------------------------------------------------------------- folder dataset


def test_layout_length_and_item_shapes(tmp_path: Path) -> None:
    _make_domains(tmp_path, "train", count_a=3, count_b=5)
    dataset = UnpairedImageFolder(tmp_path, load_size=12, crop_size=8)
    assert len(dataset) == 5
    assert [p.name for p in dataset.paths_a] == ["000.png", "001.png", "002.png"]
    item = dataset[4]
    assert set(item) == {"A", "B"}
    assert item["A"].shape == (3, 8, 8) and item["B"].shape == (3, 8, 8)
    assert item["A"].dtype == torch.float32
    assert _identity(item["A"]) == 10 + 10 * (4 % 3)
    with pytest.raises(IndexError):
        dataset[5]


def test_training_draws_are_reproducible_per_seed_epoch_and_index(tmp_path: Path) -> None:
    _make_domains(tmp_path, "train", count_a=2, count_b=6)
    image_a = tmp_path / "trainA" / "001.png"
    _pattern(12, 12, 9).save(image_a)  # textured so crops and flips differ
    dataset = UnpairedImageFolder(tmp_path, load_size=12, crop_size=8, seed=7)

    def sample(data: UnpairedImageFolder, epoch: int, index: int) -> tuple[torch.Tensor, int]:
        data.set_epoch(epoch)
        item = data[index]
        return item["A"], _identity(item["B"])

    first_a, first_b = sample(dataset, 3, 1)
    sample(dataset, 0, 0)  # other items in between do not matter
    other = UnpairedImageFolder(tmp_path, load_size=12, crop_size=8, seed=7)
    again_a, again_b = sample(other, 3, 1)
    torch.testing.assert_close(first_a, again_a, rtol=0, atol=0)
    assert first_b == again_b

    rng = np.random.default_rng([7, 3, 1])
    assert first_b == 100 + 5 * int(rng.integers(6))

    b_choices = {sample(dataset, epoch, 1)[1] for epoch in range(12)}
    assert len(b_choices) > 1  # B is drawn, not paired
    crops = {float(sample(dataset, epoch, 1)[0].sum()) for epoch in range(12)}
    assert len(crops) > 1
    reseeded = UnpairedImageFolder(tmp_path, load_size=12, crop_size=8, seed=8)
    seeds_differ = [
        sample(reseeded, epoch, 1)[1] != sample(dataset, epoch, 1)[1] for epoch in range(12)
    ]
    assert any(seeds_differ)


def test_no_global_random_state_is_used(tmp_path: Path) -> None:
    _make_domains(tmp_path, "train", count_a=2, count_b=4)
    dataset = UnpairedImageFolder(tmp_path, load_size=12, crop_size=8)
    np.random.seed(0)
    torch.manual_seed(0)
    first = dataset[1]
    np.random.seed(123)
    torch.manual_seed(123)
    np.random.random(10)
    second = dataset[1]
    torch.testing.assert_close(first["A"], second["A"], rtol=0, atol=0)
    torch.testing.assert_close(first["B"], second["B"], rtol=0, atol=0)


def test_test_phase_pairs_by_index(tmp_path: Path) -> None:
    _make_domains(tmp_path, "test", count_a=4, count_b=3)
    dataset = UnpairedImageFolder(tmp_path, phase="test", load_size=12, crop_size=8)
    assert len(dataset) == 4
    for index in range(4):
        item = dataset[index]
        assert _identity(item["A"]) == 10 + 10 * index
        assert _identity(item["B"]) == 100 + 5 * (index % 3)
    dataset.set_epoch(5)
    assert _identity(dataset[2]["B"]) == 110


def test_missing_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"'.*nowhere' does not exist; expected images in"):
        UnpairedImageFolder(tmp_path / "nowhere")
    (tmp_path / "trainA").mkdir()
    _solid(1).save(tmp_path / "trainA" / "a.png")
    with pytest.raises(InputError, match=r"missing folder '.*trainB'.*trainA.*trainB"):
        UnpairedImageFolder(tmp_path)
    (tmp_path / "trainB").mkdir()
    (tmp_path / "trainB" / "readme.txt").write_text("no images here")
    with pytest.raises(InputError, match=r"no images in '.*trainB'"):
        UnpairedImageFolder(tmp_path)
    with pytest.raises(InputError, match="testA"):
        UnpairedImageFolder(tmp_path, phase="test")


def test_corrupt_image_names_file(tmp_path: Path) -> None:
    _make_domains(tmp_path, "test", count_a=1, count_b=1)
    (tmp_path / "testA" / "000.png").write_bytes(b"not an image")
    with pytest.raises(InputError, match=r"1 of 1 .* \(first: cannot read image '.*000\.png'"):
        UnpairedImageFolder(tmp_path, phase="test", load_size=12, crop_size=8)  # up front


def test_argument_errors(tmp_path: Path) -> None:
    _make_domains(tmp_path, "train", count_a=1, count_b=1)
    with pytest.raises(ConfigError, match="seed"):
        UnpairedImageFolder(tmp_path, seed=-1)
    with pytest.raises(ConfigError, match="crop_size"):
        UnpairedImageFolder(tmp_path, load_size=8, crop_size=12)
    dataset = UnpairedImageFolder(tmp_path, load_size=12, crop_size=8)
    with pytest.raises(ConfigError, match="epoch"):
        dataset.set_epoch(-1)


def test_works_with_a_dataloader(tmp_path: Path) -> None:
    _make_domains(tmp_path, "train", count_a=3, count_b=3)
    dataset = UnpairedImageFolder(tmp_path, load_size=12, crop_size=8)
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, shuffle=False)
    batches = list(loader)
    assert [tuple(batch["A"].shape) for batch in batches] == [(2, 3, 8, 8), (1, 3, 8, 8)]
    torch.testing.assert_close(batches[0]["B"][1], dataset[1]["B"], rtol=0, atol=0)
