"""SEIGAN's data: synthetic objects with their ground truth, and object folders with boxes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from compogan.data.objects import box_in_square, check_box, crop_square, square_around
from compogan.data.registry import build_dataset
from compogan.data.synthetic.objects import (
    OBJECT_KINDS,
    SyntheticObjects,
    lighting_of,
    render_object,
    sample_background,
    sample_object,
    sample_scene,
)
from compogan.errors import ConfigError, InputError
from compogan.models.seigan import SEIGANDataConfig

SIZE = 48


def test_items_are_deterministic_by_seed_and_index() -> None:
    a, b = SyntheticObjects(SIZE, 4, "train", seed=3), SyntheticObjects(SIZE, 4, "train", seed=3)
    for key in ("x", "y", "box"):
        assert torch.equal(a[1][key], b[1][key])
    assert not torch.equal(a[0]["x"], a[1]["x"])
    assert not torch.equal(a[1]["x"], SyntheticObjects(SIZE, 4, "train", seed=4)[1]["x"])
    a.set_epoch(1)
    assert not torch.equal(a[1]["x"], b[1]["x"])  # training draws anew each epoch


def test_training_items_carry_no_ground_truth_and_test_items_do() -> None:
    train = SyntheticObjects(SIZE, 2, "train")[0]
    test = SyntheticObjects(SIZE, 2, "test")[0]
    assert set(train) == {"x", "y", "box"}
    assert set(test) == {"x", "y", "box", "mask", "clean", "y_true"}
    for key in ("x", "y", "clean", "y_true"):
        assert test[key].shape == (3, SIZE, SIZE) and -1 <= test[key].min() <= test[key].max() <= 1
    assert test["mask"].shape == test["box"].shape == (1, SIZE, SIZE)


def test_the_mask_lies_in_the_box_and_fills_much_of_it() -> None:
    data = SyntheticObjects(SIZE, 12, "test", seed=1)
    for index in range(len(data)):
        item = data[index]
        mask, box = item["mask"], item["box"]
        assert float((mask * (1 - box)).abs().max()) == 0.0
        assert mask.max() > 0.99
        assert 0.25 < float(mask.sum() / box.sum()) <= 1.0


def test_the_scene_is_its_clean_background_with_the_object_rendered_in() -> None:
    rng = np.random.default_rng(5)
    scene = sample_scene(rng, SIZE)
    again, alpha = render_object(scene.background, scene.spec, scene.box)
    assert np.array_equal(again, scene.image) and np.array_equal(alpha, scene.mask)
    _, y0, _, _ = scene.box
    above = slice(0, max(0, y0 - 2))  # nothing but the background above the object
    assert np.array_equal(scene.image[above], scene.background[above])
    inside = scene.mask > 0.5
    assert np.abs(scene.image[inside] - scene.background[inside]).mean() > 0.02


def test_the_true_paste_is_lit_by_the_new_background_unlike_the_naive_one() -> None:
    data = SyntheticObjects(SIZE, 16, "test", seed=2)
    gaps = []
    for index in range(len(data)):
        item = data[index]
        inside = item["mask"][0] > 0.9
        naive = item["mask"] * item["x"] + (1 - item["mask"]) * item["y"]
        gaps.append(float((naive - item["y_true"])[:, inside].abs().mean()))
        top = int(torch.nonzero(item["box"][0].any(1))[0, 0])
        rows = slice(0, max(0, top - 2))
        assert torch.equal(item["y_true"][:, rows], item["y"][:, rows])
    assert np.mean(gaps) > 0.08  # a naive paste carries the wrong light


def test_lighting_follows_the_background() -> None:
    rng = np.random.default_rng(0)
    spec = sample_object(rng)
    dark = np.full((SIZE, SIZE, 3), 0.15, np.float32)
    bright = np.full((SIZE, SIZE, 3), 0.85, np.float32)
    box = (10, 10, 38, 38)
    on_dark, alpha = render_object(dark, spec, box)
    on_bright, _ = render_object(bright, spec, box)
    inside = alpha > 0.9
    assert on_bright[inside].mean() > on_dark[inside].mean() + 0.1
    left_lit = np.tile(np.linspace(1, 0.2, SIZE, dtype=np.float32)[None, :, None], (SIZE, 1, 3))
    assert lighting_of(left_lit).direction[0] < -0.9
    bluish = np.tile(np.array([0.2, 0.3, 0.8], np.float32), (SIZE, SIZE, 1))
    assert lighting_of(bluish).cast[2] > 1.2


def test_every_object_kind_and_background_kind_renders() -> None:
    rng = np.random.default_rng(7)
    kinds = set()
    for _ in range(40):
        kinds.add(sample_object(rng).kind)
    assert kinds == set(OBJECT_KINDS)
    for kind in ("gradient", "texture", "photo"):
        background = sample_background(rng, SIZE, kind)
        assert (
            background.shape == (SIZE, SIZE, 3) and 0 <= background.min() <= background.max() <= 1
        )
    with pytest.raises(ValueError, match="unknown background kind"):
        sample_background(rng, SIZE, "sky")


def test_crop_geometry() -> None:
    square = square_around((10, 20, 30, 60), context=1.5)
    assert (square.side, square.left, square.top) == (60, -10, 10)
    image = np.arange(50 * 40 * 3, dtype=np.uint8).reshape(50, 40, 3)
    assert crop_square(image, square, 24).shape == (24, 24, 3)
    assert box_in_square((10, 20, 30, 60), square, 60) == (20, 10, 40, 50)
    for bad in ((5, 5, 5, 9), (9, 5, 4, 9), (-1, 0, 4, 4), (0, 0, 41, 4)):
        with pytest.raises(InputError):
            check_box(bad, 40, 50)


def _write_folder(root: Path, boxes_format: str = "json") -> None:
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        objects = root / split / "objects"
        backgrounds = root / split / "backgrounds"
        objects.mkdir(parents=True)
        backgrounds.mkdir(parents=True)
        boxes = {}
        for name, (h, w) in {"a.png": (40, 30), "b.png": (25, 61)}.items():
            scene = sample_scene(rng, 64)
            Image.fromarray((scene.image * 255).astype(np.uint8)).resize((w, h)).save(
                objects / name
            )
            boxes[name] = [2, 3, w - 4, h - 2]
        for index, (h, w) in enumerate(((50, 70), (33, 33))):
            background = (sample_background(rng, 64) * 255).astype(np.uint8)
            Image.fromarray(background).resize((w, h)).save(backgrounds / f"bg{index}.jpg")
        if boxes_format == "json":
            (root / split / "boxes.json").write_text(json.dumps(boxes))
        else:
            rows = ["file,x0,y0,x1,y1"] + [f"{n},{','.join(map(str, b))}" for n, b in boxes.items()]
            (root / split / "boxes.csv").write_text("\n".join(rows) + "\n")


@pytest.mark.parametrize("boxes_format", ["json", "csv"])
def test_object_folder_items(tmp_path: Path, boxes_format: str) -> None:
    _write_folder(tmp_path, boxes_format)
    config = SEIGANDataConfig(dataset="folder", root=str(tmp_path), size=32, length=5)
    data = build_dataset("objects", config, "train", seed=0)
    assert len(data) == 5
    item = data[1]
    assert item["x"].shape == item["y"].shape == (3, 32, 32)
    box = item["box"]
    assert box.shape == (1, 32, 32) and set(box.unique().tolist()) == {0.0, 1.0}
    longer = max(int(box[0].any(0).sum()), int(box[0].any(1).sum()))
    assert abs(longer - 32 / config.context) <= 2  # the crop convention
    assert torch.equal(data[1]["y"], build_dataset("objects", config, "train", seed=0)[1]["y"])


def test_object_folder_refuses_bad_layouts(tmp_path: Path) -> None:
    config = SEIGANDataConfig(dataset="folder", root=str(tmp_path), size=32)
    with pytest.raises(ConfigError, match="not a folder"):
        build_dataset("objects", config, "train")
    _write_folder(tmp_path)
    boxes = tmp_path / "train" / "boxes.json"
    boxes.write_text(json.dumps({"a.png": [0, 0, 5, 5]}))
    with pytest.raises(InputError, match=r"no box for b\.png"):
        build_dataset("objects", config, "train")
    boxes.write_text(json.dumps({"a.png": [0, 0, 5], "b.png": [0, 0, 5, 5]}))
    with pytest.raises(InputError, match=r"\[x0, y0, x1, y1\]"):
        build_dataset("objects", config, "train")
    boxes.unlink()
    with pytest.raises(InputError, match=r"neither boxes\.json nor boxes\.csv"):
        build_dataset("objects", config, "train")
    with pytest.raises(ConfigError, match=r"data\.root"):
        build_dataset("objects", SEIGANDataConfig(dataset="folder"), "train")
