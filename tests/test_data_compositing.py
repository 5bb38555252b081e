"""Real-image ST-GAN data: the compositing folder, CelebA with glasses, and their wiring."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from compogan.config import load_config
from compogan.data.compositing import (
    CELEBA_CROP_SIZE,
    CelebAGlasses,
    CompositingFolder,
    celeba_crop_matrix,
    read_celeba_attribute,
)
from compogan.data.transforms import resize
from compogan.errors import ConfigError, InputError
from compogan.geometry import sl3_to_matrix
from compogan.io.images import load_image, pil_to_tensor
from compogan.models.stgan import STGAN, STGANDataConfig
from compogan.train import Trainer

HEIGHT, WIDTH = 218, 178
EYEGLASSES_COLUMN = 15  # Eyeglasses is CelebA's 16th attribute
NUM_ATTRIBUTES = 40
GLASSES_FLAGS = (-1, 1, -1, 1, -1, -1)  # six faces: two wear glasses
CROP_TOP, CROP_LEFT = 52, 17  # 144 px centred at row 124, column 89
CONTRACT_KEYS = {"bg", "fg", "init", "real"}


# ---- fixtures ----------------------------------------------------------------------------------
def rgba_glasses(path: Path, colour: tuple[int, int, int], size: int = 20) -> None:
    """A small RGBA foreground: an opaque bar across the middle, transparent elsewhere."""
    pixels = np.zeros((size, size, 4), dtype=np.uint8)
    pixels[size // 3 : size // 2, 2:-2] = (*colour, 255)
    Image.fromarray(pixels, mode="RGBA").save(path)


def coded_face(index: int) -> np.ndarray:
    """A 218x178 image whose red is the row, green the column and blue 40 x index."""
    rows, columns = np.mgrid[0:HEIGHT, 0:WIDTH]
    blue = np.full_like(rows, 40 * index)
    return np.stack([rows, columns, blue], axis=-1).astype(np.uint8)


def attribute_text(names: list[str], flags: tuple[int, ...]) -> str:
    """A list_attr_celeba.txt: count, 40 names, rows with double spaces as in the real file."""
    header = [f"Attribute_{j}" for j in range(NUM_ATTRIBUTES)]
    header[EYEGLASSES_COLUMN] = "Eyeglasses"
    lines = [str(len(names)), " ".join(header) + " "]
    for name, flag in zip(names, flags, strict=True):
        values = [-1] * NUM_ATTRIBUTES
        values[EYEGLASSES_COLUMN] = flag
        lines.append(name + "  " + "  ".join(f"{v:2d}" for v in values).strip())
    return "\n".join(lines) + "\n"


def make_celeba(
    root: Path,
    suffix: str = ".jpg",
    flags: tuple[int, ...] = GLASSES_FLAGS,
    partition: tuple[int, ...] | None = None,
) -> list[str]:
    """Write a tiny CelebA: coded faces, the attribute file, optional partition, 3 glasses."""
    (root / "img_align_celeba").mkdir(parents=True)
    (root / "glasses").mkdir()
    names = [f"{i + 1:06d}{suffix}" for i in range(len(flags))]
    for i, name in enumerate(names):
        Image.fromarray(coded_face(i)).save(root / "img_align_celeba" / name, quality=98)
    (root / "list_attr_celeba.txt").write_text(attribute_text(names, flags))
    if partition is not None:
        rows = [f"{name} {part}" for name, part in zip(names, partition, strict=True)]
        (root / "list_eval_partition.txt").write_text("\n".join(rows) + "\n")
    for i, colour in enumerate([(200, 20, 20), (20, 200, 20), (20, 20, 200)]):
        rgba_glasses(root / "glasses" / f"g{i}.png", colour)
    return names


def make_folder(root: Path) -> None:
    """Write a folder layout: 3 backgrounds (mixed sizes/formats), 2 reals, 2 RGBA foregrounds."""
    rng = np.random.default_rng(7)
    for name in ("backgrounds", "reals", "foregrounds"):
        (root / name).mkdir(parents=True)
    for i, shape in enumerate([(40, 30), (50, 50), (24, 36)]):
        pixels = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "backgrounds" / f"bg{i}.{'png' if i else 'jpg'}")
    for i in range(2):
        pixels = rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "reals" / f"real{i}.png")
    rgba_glasses(root / "foregrounds" / "a.png", (250, 0, 0))
    rgba_glasses(root / "foregrounds" / "b.png", (0, 0, 250), size=12)


@pytest.fixture
def folder_root(tmp_path: Path) -> Path:
    make_folder(tmp_path / "data")
    return tmp_path / "data"


@pytest.fixture
def celeba_root(tmp_path: Path) -> Path:
    make_celeba(tmp_path / "celeba")
    return tmp_path / "celeba"


def decode_rows_columns(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The source row and column coded in a coded face's red and green."""
    return (image[0] + 1) * 127.5, (image[1] + 1) * 127.5


def check_contract(item: dict[str, torch.Tensor], size: int) -> None:
    assert set(item) == CONTRACT_KEYS
    assert all(value.dtype == torch.float32 for value in item.values())
    assert item["bg"].shape == item["real"].shape == (3, size, size)
    assert item["fg"].shape == (4, size, size) and item["init"].shape == (3, 3)
    for key in ("bg", "real"):
        assert item[key].min() >= -1 and item[key].max() <= 1
    colour, alpha = item["fg"][:3], item["fg"][3]
    assert alpha.min() >= 0 and alpha.max() == 1 and (alpha == 0).any()
    assert colour.abs().max() <= 1 and (colour[:, alpha == 0] == 0).all()
    assert torch.linalg.det(item["init"].double()).item() == pytest.approx(1.0, abs=1e-5)


# ---- CompositingFolder -------------------------------------------------------------------------
def test_folder_items_follow_the_contract(folder_root: Path) -> None:
    dataset = CompositingFolder(folder_root, 16)
    assert len(dataset) == 3
    assert len(CompositingFolder(folder_root, 16, length=5)) == 5
    for index in range(3):
        item = dataset[index]
        check_contract(item, 16)
        expected_bg = pil_to_tensor(resize(load_image(dataset.backgrounds[index]), 16))
        assert torch.equal(item["bg"], expected_bg)
        draw = dataset.draw(index)
        real = pil_to_tensor(resize(load_image(dataset.reals[draw.real]), 16))
        assert torch.equal(item["real"], real)
        expected_init = sl3_to_matrix(torch.from_numpy(draw.init_params)[None])[0].float()
        torch.testing.assert_close(item["init"], expected_init)
    with pytest.raises(IndexError):
        dataset[3]


def test_foregrounds_keep_their_colour_where_they_are_opaque(folder_root: Path) -> None:
    dataset = CompositingFolder(folder_root, 40, fg_perturbation=0.0)
    blues = [dataset[i]["fg"] for i in range(3) if dataset.draw(i).foreground == 1]
    reds = [dataset[i]["fg"] for i in range(3) if dataset.draw(i).foreground == 0]
    for fg, colour in [*((b, (0, 0, 250)) for b in blues), *((r, (250, 0, 0)) for r in reds)]:
        opaque = fg[3] > 0.5
        expected = torch.tensor(colour, dtype=torch.float32) / 127.5 - 1
        torch.testing.assert_close(fg[:3, opaque].mean(dim=1), expected, atol=0.04, rtol=0)
    assert torch.equal(dataset[0]["init"], torch.eye(3))


def test_init_perturbation_has_the_configured_strength(folder_root: Path) -> None:
    dataset = CompositingFolder(folder_root, 16, fg_perturbation=0.1, length=400)
    params = np.stack([dataset.draw(i).init_params for i in range(400)])
    assert params.shape == (400, 8)
    assert abs(params.std() - 0.1) < 0.01 and abs(params.mean()) < 0.01


def test_draws_depend_only_on_seed_epoch_and_index(folder_root: Path) -> None:
    first, second = CompositingFolder(folder_root, 16), CompositingFolder(folder_root, 16)
    for key in CONTRACT_KEYS:
        assert torch.equal(first[2][key], second[2][key])
    epoch0 = [first.draw(i).init_params for i in range(3)]
    first.set_epoch(1)
    assert not np.array_equal(first.draw(0).init_params, epoch0[0])
    first.set_epoch(0)
    assert all(np.array_equal(first.draw(i).init_params, epoch0[i]) for i in range(3))
    other_seed = CompositingFolder(folder_root, 16, seed=1)
    assert not np.array_equal(other_seed.draw(0).init_params, epoch0[0])

    test = CompositingFolder(folder_root, 16, split="test")
    before = test.draw(1).init_params
    test.set_epoch(5)
    assert np.array_equal(test.draw(1).init_params, before)
    assert not np.array_equal(before, epoch0[1])


def test_split_subfolders_are_used_when_present(tmp_path: Path) -> None:
    make_folder(tmp_path / "data" / "train")
    make_folder(tmp_path / "data" / "test")
    (tmp_path / "data" / "test" / "backgrounds" / "bg2.png").unlink()
    assert len(CompositingFolder(tmp_path / "data", 16, split="train")) == 3
    test = CompositingFolder(tmp_path / "data", 16, split="test")
    assert len(test) == 2 and test.root == tmp_path / "data" / "test"


def test_folder_errors_name_the_folder_and_the_layout(folder_root: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist; expected root/backgrounds/"):
        CompositingFolder(tmp_path / "nowhere", 16)
    for child in (folder_root / "reals").iterdir():
        child.unlink()
    with pytest.raises(InputError, match=r"no images in '.*reals'; expected root/backgrounds/"):
        CompositingFolder(folder_root, 16)
    (folder_root / "reals").rmdir()
    with pytest.raises(InputError, match=r"missing folder '.*reals'; expected"):
        CompositingFolder(folder_root, 16)
    with pytest.raises(ConfigError, match="split"):
        CompositingFolder(folder_root, 16, split="val")


def test_foreground_without_alpha_is_named(folder_root: Path) -> None:
    Image.new("RGB", (10, 10), (9, 9, 9)).save(folder_root / "foregrounds" / "flat.png")
    with pytest.raises(InputError, match=r"foreground '.*flat\.png' has no alpha channel"):
        CompositingFolder(folder_root, 16)


# ---- CelebAGlasses -----------------------------------------------------------------------------
def test_celeba_splits_faces_by_the_eyeglasses_attribute(celeba_root: Path) -> None:
    dataset = CelebAGlasses(celeba_root, size=32)
    assert [p.name for p in dataset.backgrounds] == [
        "000001.jpg",
        "000003.jpg",
        "000005.jpg",
        "000006.jpg",
    ]
    assert [p.name for p in dataset.reals] == ["000002.jpg", "000004.jpg"]
    assert len(dataset) == 4 and len(dataset.foregrounds) == 3
    for index in range(len(dataset)):
        item = dataset[index]
        check_contract(item, 32)
        draw = dataset.draw(index)
        for key, path in (("bg", dataset.backgrounds[index]), ("real", dataset.reals[draw.real])):
            face_index = int(path.stem) - 1
            blue = (item[key][2].mean().item() + 1) * 127.5
            assert abs(blue - 40 * face_index) < 8, (key, path)


def test_celeba_crop_is_centred_at_row_124_column_89(tmp_path: Path) -> None:
    make_celeba(tmp_path / "celeba", suffix=".png")
    dataset = CelebAGlasses(tmp_path / "celeba", size=CELEBA_CROP_SIZE, face_perturbation=0.0)
    rows, columns = decode_rows_columns(dataset[0]["bg"])
    expected_rows = torch.arange(CELEBA_CROP_SIZE, dtype=torch.float32)[:, None] + CROP_TOP
    expected_columns = torch.arange(CELEBA_CROP_SIZE, dtype=torch.float32)[None] + CROP_LEFT
    torch.testing.assert_close(rows, expected_rows.expand_as(rows), atol=1e-3, rtol=0)
    torch.testing.assert_close(columns, expected_columns.expand_as(columns), atol=1e-3, rtol=0)
    assert round(rows[72, 72].item()) == 124 and round(columns[72, 72].item()) == 89

    small = CelebAGlasses(tmp_path / "celeba", size=48, face_perturbation=0.0)
    small_rows, small_columns = decode_rows_columns(small[0]["bg"])
    assert small_rows.mean().item() == pytest.approx(CROP_TOP + 71.5, abs=0.2)
    assert small_columns.mean().item() == pytest.approx(CROP_LEFT + 71.5, abs=0.2)


def test_celeba_faces_move_by_their_drawn_similarity(tmp_path: Path) -> None:
    make_celeba(tmp_path / "celeba", suffix=".png")
    dataset = CelebAGlasses(tmp_path / "celeba", size=CELEBA_CROP_SIZE, face_perturbation=0.1)
    draw = dataset.draw(1)
    assert not np.allclose(draw.background_pose, np.eye(3))
    assert not np.allclose(draw.background_pose, draw.real_pose)
    rows, columns = decode_rows_columns(dataset[1]["bg"])

    centres = (2 * torch.arange(CELEBA_CROP_SIZE, dtype=torch.float64) + 1) / CELEBA_CROP_SIZE - 1
    grid_y, grid_x = torch.meshgrid(centres, centres, indexing="ij")
    points = torch.stack([grid_x, grid_y, torch.ones_like(grid_x)]).reshape(3, -1)
    to_source = torch.linalg.inv(torch.from_numpy(draw.background_pose) @ celeba_crop_matrix())
    source = to_source @ points
    source_columns = (((source[0] + 1) * WIDTH - 1) / 2).reshape(rows.shape)
    source_rows = (((source[1] + 1) * HEIGHT - 1) / 2).reshape(rows.shape)
    inside = (source_columns > 0) & (source_columns < WIDTH - 1)
    inside &= (source_rows > 0) & (source_rows < HEIGHT - 1)
    assert inside.float().mean() > 0.9
    torch.testing.assert_close(rows[inside].double(), source_rows[inside], atol=0.01, rtol=0)
    torch.testing.assert_close(columns[inside].double(), source_columns[inside], atol=0.01, rtol=0)


def test_celeba_draws_are_deterministic(celeba_root: Path) -> None:
    first = CelebAGlasses(celeba_root, size=32)
    second = CelebAGlasses(celeba_root, size=32)
    for key in CONTRACT_KEYS:
        assert torch.equal(first[3][key], second[3][key])
    pose = first.draw(3).background_pose
    first.set_epoch(2)
    assert not np.array_equal(first.draw(3).background_pose, pose)


def test_celeba_partition_file_selects_the_split(tmp_path: Path) -> None:
    make_celeba(tmp_path / "celeba", partition=(0, 0, 0, 1, 2, 2))
    train = CelebAGlasses(tmp_path / "celeba", size=32)
    assert [p.name for p in train.backgrounds] == ["000001.jpg", "000003.jpg"]
    assert [p.name for p in train.reals] == ["000002.jpg"]
    with pytest.raises(InputError, match=r"test split .* has no faces with glasses"):
        CelebAGlasses(tmp_path / "celeba", size=32, split="test")
    with pytest.raises(InputError, match=r"val split .* has no faces without glasses"):
        CelebAGlasses(tmp_path / "celeba", size=32, split="val")


def test_celeba_without_partition_serves_only_train(celeba_root: Path) -> None:
    with pytest.raises(InputError, match=r"split 'test' needs .*list_eval_partition\.txt"):
        CelebAGlasses(celeba_root, split="test")
    with pytest.raises(ConfigError, match="split"):
        CelebAGlasses(celeba_root, split="validation")


@pytest.mark.parametrize(
    ("line", "replacement", "message"),
    [
        (0, "six", "line 1: expected the number of images"),
        (0, "7", "line 1 declares 7 images but 6 are listed"),
        (1, "Smiling Bald", "line 2: no 'Eyeglasses'"),
        (4, "000003.jpg 1 -1", r"line 5: expected a file name and 40 values, got 3 fields"),
        (3, "000002.jpg" + " -1" * 15 + " 0" + " -1" * 24, r"line 4: 'Eyeglasses' must be 1 or -1"),
    ],
)
def test_malformed_attribute_file_names_the_line(
    celeba_root: Path, line: int, replacement: str, message: str
) -> None:
    path = celeba_root / "list_attr_celeba.txt"
    lines = path.read_text().splitlines()
    lines[line] = replacement
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=message):
        read_celeba_attribute(path)
    with pytest.raises(InputError, match=message):
        CelebAGlasses(celeba_root)


def test_celeba_file_errors(celeba_root: Path) -> None:
    (celeba_root / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg three\n")
    with pytest.raises(InputError, match=r"line 2: expected 'file 0\|1\|2'"):
        CelebAGlasses(celeba_root)
    (celeba_root / "list_eval_partition.txt").unlink()

    (celeba_root / "img_align_celeba" / "000004.jpg").unlink()
    with pytest.raises(
        InputError, match=r"lacks 1 of the 6 images .*\(first missing: '000004\.jpg'\)"
    ):
        CelebAGlasses(celeba_root)
    Image.new("RGB", (100, 120)).save(celeba_root / "img_align_celeba" / "000004.jpg")
    dataset = CelebAGlasses(celeba_root, size=32)
    real_index = next(i for i in range(len(dataset)) if dataset.draw(i).real == 1)
    with pytest.raises(InputError, match=r"is 100x120 .* aligned CelebA images are 178x218"):
        dataset[real_index]

    Image.new("RGB", (8, 8)).save(celeba_root / "glasses" / "opaque.jpg")
    with pytest.raises(InputError, match=r"foreground '.*opaque\.jpg' has no alpha"):
        CelebAGlasses(celeba_root)
    (celeba_root / "list_attr_celeba.txt").unlink()
    with pytest.raises(InputError, match=r"missing attribute file .* expected root/img_align"):
        CelebAGlasses(celeba_root)


# ---- wiring into ST-GAN ------------------------------------------------------------------------
def test_stgan_builds_the_real_datasets(folder_root: Path, celeba_root: Path) -> None:
    folder_config = STGANDataConfig(dataset="folder", root=str(folder_root), size=16)
    folder = STGAN.build_dataset(folder_config, "test")
    assert isinstance(folder, CompositingFolder) and len(folder) == 3 and folder.split == "test"
    celeba = STGAN.build_dataset(
        STGANDataConfig(dataset="celeba", root=str(celeba_root), size=32, face_perturbation=0.0),
        "train",
        seed=3,
    )
    assert isinstance(celeba, CelebAGlasses) and celeba.seed == 3
    assert celeba.face_perturbation == 0.0 and celeba[0]["bg"].shape == (3, 32, 32)
    with pytest.raises(ConfigError, match=r"set data\.root"):
        STGAN.build_dataset(STGANDataConfig(dataset="celeba"), "train")
    with pytest.raises(ConfigError, match="use one of: 'celeba', 'folder', 'glasses'"):
        STGAN.build_dataset(STGANDataConfig(dataset="photos"), "train")


def test_stgan_trains_on_a_folder(folder_root: Path, tmp_path: Path) -> None:
    settings = [
        "model.image_size=16",
        "model.warp_n=1",
        "model.predictor_widths=[4,8]",
        "model.fc_dim=8",
        "model.critic_widths=[4,8]",
        "model.history_size=4",
        "model.supervised_pretrain_steps=0",
        "model.critic_pretrain_steps=1",
        "model.steps_per_stage=1",
        "data.dataset=folder",
        f"data.root={folder_root}",
        "data.size=16",
        "train.steps=2",
        "train.batch_size=2",
        "train.progress=false",
        "train.log_every=1",
        "train.image_every=2",
    ]
    trainer = Trainer(STGAN, load_config(STGAN, None, settings), tmp_path / "run", device="cpu")
    assert isinstance(trainer.dataset, CompositingFolder)
    assert trainer.fit().step == 2
    assert trainer.model.step_count == 2
