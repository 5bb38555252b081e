"""Real-image data sets for ST-GAN: a folder of backgrounds, foregrounds and reals, and CelebA.

Both serve the ST-GAN batch contract of
:class:`compogan.data.synthetic.glasses_compositing.GlassesCompositing` without "target" and
"landmarks" (unknown for real images; ST-GAN's adversarial training needs only the other four).
Each item is a dict of tensors, with S the data set's ``size``:

- ``"bg"``: (3, S, S) float32 in [-1, 1], a background;
- ``"fg"``: (4, S, S) float32, a foreground: colour in [-1, 1] (0 where alpha is 0), alpha in
  [0, 1]. Foregrounds are expected in their canonical pose: drawn where they belong on an
  aligned background (e.g. glasses over the eyes of an aligned face);
- ``"init"``: (3, 3) float32, the initial placement ``expm(A(p))`` with p ~ N(0,
  fg_perturbation^2) in sl(3) (the contract's ``target @ expm(A(p))`` with the identity as target);
- ``"real"``: (3, S, S) float32 in [-1, 1], an unpaired real image for the critic.

Determinism: every random choice of item ``i`` comes from ``np.random.default_rng([seed, epoch,
i])`` (epoch set with ``set_epoch``) in the "train" split, and from a fixed, epoch-independent
stream in the other splits; no global random state is used. Item ``i`` shows background
``i % len(backgrounds)``, so one epoch of the default length shows every background once; the
foreground, the real image and the perturbations are drawn in the order of
:class:`CompositingDraw`'s fields.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from compogan.data.registry import require_root
from compogan.data.seeded import TRAIN_SPLIT, SeededDataset
from compogan.data.synthetic.drawing import MIN_SIZE
from compogan.data.synthetic.faces import sample_face_pose
from compogan.data.synthetic.glasses import glasses_to_tensor
from compogan.data.transforms import resize
from compogan.errors import ConfigError, InputError
from compogan.geometry import NUM_SL3_PARAMS, sl3_to_matrix, warp_image
from compogan.io.images import (
    check_headers,
    has_alpha,
    list_images,
    load_image,
    pil_to_tensor,
)

FOLDER_SPLITS = ("train", "test")
CELEBA_SPLITS = ("train", "val", "test")
BACKGROUNDS_FOLDER = "backgrounds"
REALS_FOLDER = "reals"
FOREGROUNDS_FOLDER = "foregrounds"
FOLDER_LAYOUT = (
    "expected root/backgrounds/ and root/reals/ (images) and root/foregrounds/ (RGBA images), "
    "optionally inside root/train/ and root/test/"
)

CELEBA_IMAGES_FOLDER = "img_align_celeba"
CELEBA_ATTRIBUTES_FILE = "list_attr_celeba.txt"
CELEBA_PARTITION_FILE = "list_eval_partition.txt"
CELEBA_GLASSES_FOLDER = "glasses"
CELEBA_LAYOUT = (
    "expected root/img_align_celeba/*.jpg, root/list_attr_celeba.txt, root/glasses/*.png (RGBA) "
    "and optionally root/list_eval_partition.txt"
)
GLASSES_ATTRIBUTE = "Eyeglasses"
CELEBA_IMAGE_HEIGHT = 218
CELEBA_IMAGE_WIDTH = 178
CELEBA_CROP_SIZE = 144
CELEBA_CROP_CENTER = (124, 89)  # (row, column) of the aligned image, as in the ST-GAN paper
_PARTITION_SPLITS = {"0": "train", "1": "val", "2": "test"}
_ATTRIBUTE_VALUES = {"1": 1, "-1": -1}


@dataclass(frozen=True, eq=False)
class CompositingDraw:
    """All random choices of one item, in the order they are drawn.

    Attributes:
        background: index into the data set's backgrounds (``i % len``, not random).
        foreground: index into its foregrounds.
        real: index into its real images.
        init_params: (8,) float64 sl(3) perturbation of the initial placement.
        background_pose: (3, 3) float64 similarity applied to the background (identity for
            :class:`CompositingFolder`).
        real_pose: (3, 3) float64 similarity applied to the real image (likewise).
    """

    background: int
    foreground: int
    real: int
    init_params: np.ndarray
    background_pose: np.ndarray
    real_pose: np.ndarray


# ---- shared helpers ----------------------------------------------------------------------------
def _check_settings(size: int, fg_perturbation: float, length: int | None) -> None:
    """ConfigError for settings no compositing data set can serve."""
    if not isinstance(size, int) or size < MIN_SIZE:
        raise ConfigError(f"image size must be an integer of at least {MIN_SIZE}, got {size!r}")
    if fg_perturbation < 0:
        raise ConfigError(f"fg_perturbation must be >= 0, got {fg_perturbation}")
    if length is not None and length < 1:
        raise ConfigError(f"data set length must be at least 1, got {length}")


def _check_split(split: str, splits: tuple[str, ...]) -> None:
    if split not in splits:
        raise ConfigError(f"split must be one of {', '.join(splits)}; got {split!r}")


def check_foregrounds(paths: list[Path]) -> None:
    """InputError naming the first foreground file that has no alpha channel (header only)."""
    for path in paths:
        if not has_alpha(path):
            raise InputError(
                f"foreground '{path}' has no alpha channel; save it as an RGBA PNG whose alpha "
                "marks the object"
            )


def load_foreground(path: Path, size: int) -> Tensor:
    """An RGBA foreground file resized to (4, size, size): colour in [-1, 1], alpha in [0, 1].

    PIL resizes RGBA with premultiplied alpha, so transparent pixels do not bleed colour.
    """
    rgba = resize(load_image(path, mode="RGBA"), size)
    return glasses_to_tensor(np.array(rgba))


def init_matrix(params: np.ndarray) -> Tensor:
    """(3, 3) float32 ``expm(A(params))`` of (8,) sl(3) parameters."""
    matrix = sl3_to_matrix(torch.from_numpy(np.asarray(params, dtype=np.float64))[None])[0]
    return matrix.to(torch.float32)


class _CompositingData(SeededDataset):
    """Item bookkeeping shared by the real-image compositing data sets (see the module doc)."""

    def __init__(
        self,
        size: int,
        split: str,
        seed: int,
        fg_perturbation: float,
        face_perturbation: float,
        length: int | None,
    ) -> None:
        _check_settings(size, fg_perturbation, length)
        if face_perturbation < 0:
            raise ConfigError(f"face_perturbation must be >= 0, got {face_perturbation}")
        super().__init__(seed, split)
        self.size = size
        self.fg_perturbation = fg_perturbation
        self.face_perturbation = face_perturbation
        self.requested_length = length
        self.backgrounds: list[Path] = []
        self.foregrounds: list[Path] = []
        self.reals: list[Path] = []

    def __len__(self) -> int:
        if self.requested_length is not None:
            return self.requested_length
        return len(self.backgrounds)

    def draw(self, index: int) -> CompositingDraw:
        """The random choices of item ``index`` (for the current epoch)."""
        rng = self.item_rng(int(index))
        return CompositingDraw(
            background=int(index) % len(self.backgrounds),
            foreground=int(rng.integers(len(self.foregrounds))),
            real=int(rng.integers(len(self.reals))),
            init_params=rng.normal(0.0, self.fg_perturbation, size=NUM_SL3_PARAMS),
            background_pose=sample_face_pose(rng, self.face_perturbation),
            real_pose=sample_face_pose(rng, self.face_perturbation),
        )

    def load_scene(self, path: Path, pose: np.ndarray) -> Tensor:
        """A background or real image as (3, size, size) in [-1, 1]."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        draw = self.draw(index)
        return {
            "bg": self.load_scene(self.backgrounds[draw.background], draw.background_pose),
            "fg": load_foreground(self.foregrounds[draw.foreground], self.size),
            "init": init_matrix(draw.init_params),
            "real": self.load_scene(self.reals[draw.real], draw.real_pose),
        }


# ---- a folder of backgrounds, foregrounds and reals --------------------------------------------
def _folder_images(folder: Path, layout: str) -> list[Path]:
    """The sorted images of ``folder``; InputError naming the folder and the expected layout."""
    if not folder.is_dir():
        raise InputError(f"missing folder '{folder}'; {layout}")
    try:
        return list_images(folder)
    except InputError:
        raise InputError(f"no images in '{folder}'; {layout}") from None


def _layout_root(root: Path, split: str) -> Path:
    """``root/split`` when it holds the layout, else ``root`` (one set for every split)."""
    if not root.is_dir():
        raise InputError(f"dataset folder '{root}' does not exist; {FOLDER_LAYOUT}")
    nested = root / split
    return nested if (nested / BACKGROUNDS_FOLDER).is_dir() else root


class CompositingFolder(_CompositingData):
    """ST-GAN data from image folders: ``root/backgrounds``, ``root/reals``, ``root/foregrounds``.

    When ``root/<split>/backgrounds`` exists the layout is read from ``root/<split>`` instead, so
    train and test images can be kept apart; otherwise every split uses ``root`` itself (the
    test split then differs only in its fixed draws). Backgrounds and reals are resized to
    ``size`` x ``size`` (bicubic, aspect ratio not kept: the canonical frame is the whole image),
    foregrounds likewise with premultiplied alpha. Items follow the module's contract; no face
    similarity is applied. The length is the number of backgrounds unless ``length`` is given.

    Raises:
        InputError: a missing or empty folder (the message names it and the expected layout),
            or a foreground without an alpha channel (the message names the file).
        ConfigError: an unknown split or bad settings.
    """

    def __init__(
        self,
        root: str | Path,
        size: int,
        split: str = TRAIN_SPLIT,
        seed: int = 0,
        fg_perturbation: float = 0.1,
        length: int | None = None,
    ) -> None:
        _check_split(split, FOLDER_SPLITS)
        super().__init__(size, split, seed, fg_perturbation, 0.0, length)
        self.root = _layout_root(Path(root), split)
        self.backgrounds = _folder_images(self.root / BACKGROUNDS_FOLDER, FOLDER_LAYOUT)
        self.reals = _folder_images(self.root / REALS_FOLDER, FOLDER_LAYOUT)
        self.foregrounds = _folder_images(self.root / FOREGROUNDS_FOLDER, FOLDER_LAYOUT)
        check_headers([*self.backgrounds, *self.reals, *self.foregrounds], f"images in '{root}'")
        check_foregrounds(self.foregrounds)

    def load_scene(self, path: Path, pose: np.ndarray) -> Tensor:
        """The image at ``path`` resized to (3, size, size) in [-1, 1] (``pose`` is identity)."""
        return pil_to_tensor(resize(load_image(path, mode="RGB"), self.size))


# ---- CelebA with glasses -----------------------------------------------------------------------
def _read_lines(path: Path, what: str) -> list[str]:
    """The lines of a text file; InputError naming it when missing or unreadable."""
    if not path.is_file():
        raise InputError(f"missing {what} '{path}'; {CELEBA_LAYOUT}")
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {what} '{path}': {error}") from None


def read_celeba_attribute(path: str | Path, attribute: str = GLASSES_ATTRIBUTE) -> dict[str, int]:
    """One attribute of CelebA's ``list_attr_celeba.txt``: file name -> 1 or -1, in file order.

    Format: line 1 the number of images, line 2 the attribute names, then one line per image,
    ``file v_1 ... v_n`` with values 1 or -1, separated by any whitespace; blank lines are
    ignored.

    Raises:
        InputError: a missing file, or a malformed one (the message gives the line number).
    """
    path = Path(path)
    lines = _read_lines(path, "attribute file")
    if len(lines) < 2:
        raise InputError(
            f"'{path}' has {len(lines)} lines; expected the image count, the attribute names "
            "and one line per image"
        )
    declared = lines[0].strip()
    if not declared.isdigit():
        raise InputError(f"'{path}', line 1: expected the number of images, got {declared!r}")
    names = lines[1].split()
    if attribute not in names:
        raise InputError(
            f"'{path}', line 2: no '{attribute}' among the attribute names; "
            "is this list_attr_celeba.txt?"
        )
    column = 1 + names.index(attribute)
    values: dict[str, int] = {}
    for number, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 1 + len(names):
            raise InputError(
                f"'{path}', line {number}: expected a file name and {len(names)} values, "
                f"got {len(fields)} fields"
            )
        value = _ATTRIBUTE_VALUES.get(fields[column])
        if value is None:
            raise InputError(
                f"'{path}', line {number}: '{attribute}' must be 1 or -1, got {fields[column]!r}"
            )
        values[fields[0]] = value
    if len(values) != int(declared):
        raise InputError(
            f"'{path}': line 1 declares {int(declared)} images but {len(values)} are listed"
        )
    return values


def read_celeba_partition(path: str | Path) -> dict[str, str]:
    """CelebA's ``list_eval_partition.txt``: file name -> "train", "val" or "test" (0, 1, 2).

    Raises:
        InputError: a missing file, or a malformed line (the message gives its number).
    """
    path = Path(path)
    partition: dict[str, str] = {}
    for number, line in enumerate(_read_lines(path, "partition file"), start=1):
        fields = line.split()
        if not fields:
            continue
        split = _PARTITION_SPLITS.get(fields[-1]) if len(fields) == 2 else None
        if split is None:
            raise InputError(
                f"'{path}', line {number}: expected 'file 0|1|2' (train, val, test), "
                f"got {line.strip()!r}"
            )
        partition[fields[0]] = split
    return partition


def celeba_crop_matrix() -> Tensor:
    """(3, 3) float64 map from the aligned image's canonical frame to the crop's.

    The crop is :data:`CELEBA_CROP_SIZE` square with its top-left pixel at ``center - size // 2``
    (rows 52..195, columns 17..160), so source pixel (124, 89) is crop pixel (72, 72).
    """
    top = CELEBA_CROP_CENTER[0] - CELEBA_CROP_SIZE // 2
    left = CELEBA_CROP_CENTER[1] - CELEBA_CROP_SIZE // 2
    # source pixel u = ((x + 1) * width - 1) / 2; crop coordinate x' = (2 (u - left) + 1) / 144 - 1
    matrix = torch.eye(3, dtype=torch.float64)
    matrix[0, 0] = CELEBA_IMAGE_WIDTH / CELEBA_CROP_SIZE
    matrix[0, 2] = (CELEBA_IMAGE_WIDTH - 2 * left) / CELEBA_CROP_SIZE - 1
    matrix[1, 1] = CELEBA_IMAGE_HEIGHT / CELEBA_CROP_SIZE
    matrix[1, 2] = (CELEBA_IMAGE_HEIGHT - 2 * top) / CELEBA_CROP_SIZE - 1
    return matrix


def crop_celeba_face(image: Tensor, face_pose: np.ndarray, size: int) -> Tensor:
    """ST-GAN's crop of an aligned CelebA image, moved by a similarity, at ``size``.

    The 144 px crop centred at (124, 89) is sampled (bilinear) from the whole aligned image after
    ``face_pose`` (a canonical similarity about the crop's centre), so a moved face shows the
    image around the crop; only beyond the image's edge are border pixels repeated. The crop is
    then resized to ``size`` (bilinear, antialiased).

    Args:
        image: (3, 218, 178) float32 in [-1, 1].
        face_pose: (3, 3) canonical similarity (identity: the plain crop).
        size: output side.

    Returns:
        (3, size, size) float32 in [-1, 1].
    """
    pose = torch.from_numpy(np.asarray(face_pose, dtype=np.float64))
    matrix = (pose @ celeba_crop_matrix()).to(torch.float32)
    crop_shape = (CELEBA_CROP_SIZE, CELEBA_CROP_SIZE)
    crop = warp_image(image[None], matrix, crop_shape, padding_mode="border")
    if size != CELEBA_CROP_SIZE:
        crop = F.interpolate(crop, size=(size, size), mode="bilinear", antialias=True)
    return crop[0].clamp(-1.0, 1.0)


def _celeba_split_names(root: Path, names: list[str], split: str) -> list[str]:
    """The listed images in ``split``: all of them for "train" without a partition file."""
    partition_path = root / CELEBA_PARTITION_FILE
    if not partition_path.exists():
        if split != TRAIN_SPLIT:
            raise InputError(
                f"split '{split}' needs '{partition_path}' (CelebA's list_eval_partition.txt); "
                "without it every image is in the train split"
            )
        return names
    partition = read_celeba_partition(partition_path)
    return [name for name in names if partition.get(name) == split]


def _check_celeba_images(folder: Path, names: list[str]) -> None:
    """InputError unless every named image is in ``folder`` with a readable header."""
    if not folder.is_dir():
        raise InputError(f"missing folder '{folder}'; {CELEBA_LAYOUT}")
    present = {entry.name for entry in folder.iterdir()}
    missing = [name for name in names if name not in present]
    if missing:
        raise InputError(
            f"'{folder}' lacks {len(missing)} of the {len(names)} images listed in "
            f"{CELEBA_ATTRIBUTES_FILE} (first missing: '{missing[0]}'); download the complete "
            "img_align_celeba"
        )
    check_headers([folder / name for name in names], f"CelebA images in '{folder}'")


class CelebAGlasses(_CompositingData):
    """ST-GAN's glasses data on CelebA: faces without glasses, glasses, faces with glasses.

    ``root`` holds ``img_align_celeba/`` (the aligned 218x178 images), ``list_attr_celeba.txt``,
    optionally ``list_eval_partition.txt`` (without it, every image is in the train split and
    the other splits are refused), and ``glasses/`` with the RGBA glasses foregrounds drawn in the
    canonical pose of the 144 px crop. Backgrounds are the split's images with Eyeglasses = -1,
    reals those with Eyeglasses = 1. Every face is ST-GAN's 144x144 crop centred at row 124,
    column 89, resized to ``size`` (:func:`crop_celeba_face`); backgrounds and reals each get
    their own random similarity of strength ``face_perturbation`` (:func:`sample_face_pose`),
    as the synthetic glasses data does, so the face's pose and the border it shows tell the
    critic nothing. The length is the number of backgrounds unless ``length`` is given.

    Raises:
        InputError: missing files or folders, a malformed attribute or partition file (with the
            line number), listed images that are missing, a split without faces with or without
            glasses, glasses without alpha, or an image that is not 218x178.
        ConfigError: an unknown split or bad settings.
    """

    def __init__(
        self,
        root: str | Path,
        size: int = CELEBA_CROP_SIZE,
        split: str = TRAIN_SPLIT,
        seed: int = 0,
        fg_perturbation: float = 0.1,
        face_perturbation: float = 0.1,
        length: int | None = None,
    ) -> None:
        _check_split(split, CELEBA_SPLITS)
        super().__init__(size, split, seed, fg_perturbation, face_perturbation, length)
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(f"dataset folder '{self.root}' does not exist; {CELEBA_LAYOUT}")
        glasses = read_celeba_attribute(self.root / CELEBA_ATTRIBUTES_FILE)
        names = _celeba_split_names(self.root, list(glasses), split)
        image_folder = self.root / CELEBA_IMAGES_FOLDER
        _check_celeba_images(image_folder, names)
        self.backgrounds = [image_folder / name for name in names if glasses[name] == -1]
        self.reals = [image_folder / name for name in names if glasses[name] == 1]
        for kind, paths in (("without", self.backgrounds), ("with", self.reals)):
            if not paths:
                raise InputError(
                    f"the {split} split of '{self.root}' has no faces {kind} glasses "
                    f"({GLASSES_ATTRIBUTE} = {-1 if kind == 'without' else 1})"
                )
        self.foregrounds = _folder_images(self.root / CELEBA_GLASSES_FOLDER, CELEBA_LAYOUT)
        check_foregrounds(self.foregrounds)

    def load_scene(self, path: Path, pose: np.ndarray) -> Tensor:
        """The aligned face at ``path``, cropped and moved by ``pose``: (3, size, size)."""
        image = load_image(path, mode="RGB")
        if image.size != (CELEBA_IMAGE_WIDTH, CELEBA_IMAGE_HEIGHT):
            raise InputError(
                f"'{path}' is {image.width}x{image.height} (width x height); aligned CelebA "
                f"images are {CELEBA_IMAGE_WIDTH}x{CELEBA_IMAGE_HEIGHT} (use img_align_celeba)"
            )
        return crop_celeba_face(pil_to_tensor(image), pose, self.size)


# ---- the registered datasets (compogan.data.registry) ------------------------------------------
def compositing_folder_dataset(data_config: Any, split: str, seed: int) -> CompositingFolder:
    """The "folder" compositing dataset; reads ``root``, ``size``, ``fg_perturbation``."""
    return CompositingFolder(
        require_root(data_config, "backgrounds, foregrounds and reals"),
        data_config.size,
        split=split,
        seed=seed,
        fg_perturbation=data_config.fg_perturbation,
    )


def celeba_glasses_dataset(data_config: Any, split: str, seed: int) -> CelebAGlasses:
    """The "celeba" compositing dataset; reads ``root``, ``size``, ``fg_perturbation`` and
    ``face_perturbation``."""
    return CelebAGlasses(
        require_root(data_config, "CelebA"),
        data_config.size,
        split=split,
        seed=seed,
        fg_perturbation=data_config.fg_perturbation,
        face_perturbation=data_config.face_perturbation,
    )
