"""Objects on backgrounds from disk (SEIGAN's unpaired data), and the box-crop geometry.

SEIGAN sees every image through a square crop around the object's bounding box: a square of side
``context`` times the box's longer side, centred on the box (padded by edge replication where it
leaves the image), resized to ``size``. :func:`square_around` and :func:`crop_square` are that
geometry, shared by the datasets and the ``cutpaste`` pipeline.

Folder layout (``data.dataset=folder``, ``data.root=ROOT``)::

    ROOT/train/objects/*.png     images that each hold one object
    ROOT/train/boxes.json        {"cat.png": [x0, y0, x1, y1], ...}   (or boxes.csv)
    ROOT/train/backgrounds/*.png images without an object
    ROOT/test/...                the same for evaluation (optional: ROOT/train is used)

Boxes are in pixels of the image file, x to the right and y down, ``x0 < x1`` and ``y0 < y1``,
the right and bottom edges exclusive. ``boxes.csv`` has the header ``file,x0,y0,x1,y1`` and one
row per image. Every image in ``objects/`` needs a box; a box of a missing image is an error.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from compogan.data.registry import require_root
from compogan.data.seeded import SeededDataset
from compogan.errors import ConfigError, InputError
from compogan.io.images import list_images, load_image

Box = tuple[int, int, int, int]
"""A bounding box (x0, y0, x1, y1) in pixels, right and bottom exclusive."""

DEFAULT_CONTEXT = 1.6
"""Crop side over the box's longer side: the box fills 62.5% of the crop's side."""


@dataclass(frozen=True)
class Square:
    """A square region (left, top, side) in image pixels; it may extend beyond the image."""

    left: int
    top: int
    side: int


def check_box(box: Box, width: int, height: int, what: str = "box") -> Box:
    """``box`` as ints, checked to be non-empty and inside a ``width`` x ``height`` image.

    Raises:
        InputError: an empty or inverted box, or one reaching outside the image.
    """
    x0, y0, x1, y1 = (round(v) for v in box)
    if x1 <= x0 or y1 <= y0:
        raise InputError(f"the {what} {x0},{y0},{x1},{y1} is empty or inverted (need x0<x1, y0<y1)")
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        raise InputError(
            f"the {what} {x0},{y0},{x1},{y1} reaches outside the {width}x{height} image"
        )
    return x0, y0, x1, y1


def parse_box(text: str, what: str = "box") -> Box:
    """``"x0,y0,x1,y1"`` as a box (not yet checked against an image).

    Raises:
        InputError: not four comma-separated numbers.
    """
    parts = [part.strip() for part in str(text).split(",")]
    try:
        values = [float(part) for part in parts]
    except ValueError:
        values = []
    if len(values) != 4:
        raise InputError(f"the {what} must be four numbers x0,y0,x1,y1, got {text!r}")
    return tuple(round(v) for v in values)  # type: ignore[return-value]


def square_around(box: Box, context: float = DEFAULT_CONTEXT) -> Square:
    """The square crop around ``box``: side ``context`` x the box's longer side, same centre."""
    x0, y0, x1, y1 = box
    side = max(2, round(max(x1 - x0, y1 - y0) * context))
    left = round((x0 + x1 - side) / 2)
    top = round((y0 + y1 - side) / 2)
    return Square(left, top, side)


def crop_square(image: np.ndarray, square: Square, size: int) -> np.ndarray:
    """The ``square`` of ``image`` (H, W, C) uint8, edge-padded outside it, resized to ``size``
    (bicubic). Returns (size, size, C) uint8."""
    height, width = image.shape[:2]
    pad = max(
        0,
        -square.left,
        -square.top,
        square.left + square.side - width,
        square.top + square.side - height,
    )
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="edge") if pad else image
    top, left = square.top + pad, square.left + pad
    region = padded[top : top + square.side, left : left + square.side]
    picture = Image.fromarray(np.ascontiguousarray(region))
    return np.asarray(picture.resize((size, size), Image.Resampling.BICUBIC))


def box_in_square(box: Box, square: Square, size: int) -> Box:
    """``box`` in the pixel coordinates of ``square`` resized to ``size``."""
    scale = size / square.side
    x0, y0, x1, y1 = box
    return (
        int(np.floor((x0 - square.left) * scale)),
        int(np.floor((y0 - square.top) * scale)),
        int(np.ceil((x1 - square.left) * scale)),
        int(np.ceil((y1 - square.top) * scale)),
    )


def box_mask(box: Box, size: int) -> torch.Tensor:
    """A (1, size, size) float mask, 1 inside ``box`` (clipped to the square), 0 outside."""
    x0, y0, x1, y1 = (int(np.clip(v, 0, size)) for v in box)
    mask = torch.zeros(1, size, size)
    mask[:, y0:y1, x0:x1] = 1.0
    return mask


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 → (3, H, W) float in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float() / 127.5 - 1


def read_boxes(folder: Path) -> dict[str, Box]:
    """The boxes of ``folder/boxes.json`` or ``folder/boxes.csv`` by file name.

    Raises:
        InputError: neither file, unreadable content, or a box that is not four numbers.
    """
    json_path, csv_path = folder / "boxes.json", folder / "boxes.csv"
    try:
        if json_path.is_file():
            raw = json.loads(json_path.read_text())
            if not isinstance(raw, dict):
                raise InputError(f"{json_path} must map file names to [x0, y0, x1, y1]")
            rows = {str(name): value for name, value in raw.items()}
        elif csv_path.is_file():
            with csv_path.open(newline="") as handle:
                reader = csv.DictReader(handle)
                rows = {row["file"]: [row[k] for k in ("x0", "y0", "x1", "y1")] for row in reader}
        else:
            raise InputError(f"{folder} holds neither boxes.json nor boxes.csv (see the layout)")
    except (OSError, KeyError, json.JSONDecodeError) as error:
        raise InputError(f"cannot read the boxes in {folder}: {error}") from None
    boxes = {}
    for name, value in rows.items():
        if not isinstance(value, list | tuple) or len(value) != 4:
            raise InputError(f"the box of {name} must be [x0, y0, x1, y1], got {value!r}")
        boxes[name] = parse_box(",".join(str(v) for v in value), f"box of {name}")
    return boxes


class ObjectFolder(SeededDataset):
    """Object images with boxes and background images from a folder (see the module docstring).

    Item ``i``: ``"x"`` (3,S,S) in [-1,1], the square crop around object image ``i %
    n_objects``'s box; ``"box"`` (1,S,S) in {0,1}, the box in that crop; ``"y"`` (3,S,S), a
    square crop of a background drawn from the item's generator (a random side of at least
    half the shorter side, at a random place).

    Raises:
        ConfigError: a missing folder or no images in it.
        InputError: a box file that does not cover the object images, or a box outside its image.
    """

    def __init__(
        self, root: str | Path, split: str, size: int, length: int, context: float, seed: int = 0
    ) -> None:
        super().__init__(seed, split)
        base = Path(root) / split
        if not base.is_dir():
            base = Path(root) / "train"
        for part in ("objects", "backgrounds"):
            if not (base / part).is_dir():
                raise ConfigError(f"{base / part} is not a folder; see the layout of objects data")
        self.objects = list_images(base / "objects")
        self.backgrounds = list_images(base / "backgrounds")
        boxes = read_boxes(base)
        missing = [path.name for path in self.objects if path.name not in boxes]
        if missing:
            raise InputError(f"no box for {missing[0]} in {base} (every object image needs one)")
        extra = sorted(set(boxes) - {path.name for path in self.objects})
        if extra:
            raise InputError(f"{base} has a box for {extra[0]}, which is not in objects/")
        self.boxes = boxes
        self.size, self.length, self.context = size, length, context

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = self.item_rng(index)
        path = self.objects[index % len(self.objects)]
        image = np.asarray(load_image(path))
        box = check_box(self.boxes[path.name], image.shape[1], image.shape[0], f"box of {path}")
        square = square_around(box, self.context)
        background = np.asarray(load_image(self.backgrounds[rng.integers(len(self.backgrounds))]))
        height, width = background.shape[:2]
        side = int(rng.integers(max(1, min(height, width) // 2), min(height, width) + 1))
        place = Square(
            int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1)), side
        )
        return {
            "x": to_tensor(crop_square(image, square, self.size)),
            "box": box_mask(box_in_square(box, square, self.size), self.size),
            "y": to_tensor(crop_square(background, place, self.size)),
        }


def object_folder_dataset(data_config: Any, split: str, seed: int) -> ObjectFolder:
    """The "folder" objects dataset; reads ``root``, ``size``, ``length``/``test_length`` and
    ``context``."""
    root = require_root(data_config, "objects/, backgrounds/ and boxes.json per split")
    return ObjectFolder(
        root, split, data_config.size, data_config.split_length(split), data_config.context, seed
    )
