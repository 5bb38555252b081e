"""pix2pix: the paper's networks, training through the CLI, checkpoints, translation, and the
aligned A|B folder dataset."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import compogan
from compogan.cli import app
from compogan.config import load_config
from compogan.data.paired import PairedImageFolder
from compogan.data.registry import build_dataset
from compogan.errors import CheckpointError, ConfigError, InputError
from compogan.io.images import pil_to_tensor
from compogan.models.pix2pix import Pix2Pix, Pix2PixConfig, Pix2PixDataConfig
from compogan.pipelines import Translator
from compogan.train import Trainer

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY_CONFIG = {"ngf": 8, "depth": 5, "ndf": 8, "n_layers_d": 2}
TINY_TRAINING = [
    "model.ngf=8",
    "model.depth=5",
    "model.ndf=8",
    "model.n_layers_d=2",
    "data.size=32",
    "data.length=4",
    "data.test_length=2",
    "train.steps=4",
    "train.batch_size=1",
    "train.log_every=1",
    "train.image_every=2",
    "train.progress=false",
]


def parameter_count(network: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in network.parameters())


def random_images(count: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    """(count,3,H,W) images in [-1, 1]."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(count, 3, height, width, generator=generator) * 2 - 1


def tiny_pix2pix(**data: object) -> Pix2Pix:
    torch.manual_seed(0)
    return Pix2Pix(Pix2PixConfig(**TINY_CONFIG), Pix2PixDataConfig(size=32, **data)).eval()


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny pix2pix trained for 4 steps on the paired day/night scenes with `compogan train`."""
    run_dir = tmp_path_factory.mktemp("pix2pix") / "run"
    args = ["train", "pix2pix", *TINY_TRAINING, "--run-dir", str(run_dir), "--device", "cpu"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "trained pix2pix for 4 steps" in result.output
    return run_dir


# ---- the paper's networks ---------------------------------------------------------------------
def test_full_size_networks_are_unet_256_and_the_70x70_patchgan() -> None:
    """The parameter counts of the official unet_256 (BatchNorm) and of its 70x70 PatchGAN on
    6 channels, which pytorch-CycleGAN-and-pix2pix prints as 54.414 M and 2.769 M: with
    BatchNorm no convolution has a bias but the last one of each network (and D's first)."""
    model = Pix2Pix(Pix2PixConfig()).eval()
    assert parameter_count(model.G) == 54_413_955
    assert parameter_count(model.D) == 2_768_705
    assert model.size_multiple == 256
    dropouts = [m for m in model.G.modules() if isinstance(m, torch.nn.Dropout)]
    assert [m.p for m in dropouts] == [0.5, 0.5, 0.5]
    with torch.no_grad():
        output = model.G(random_images(1, 256, 256))
        logits = model.D(torch.cat([random_images(1, 256, 256), output], 1))
    assert output.shape == (1, 3, 256, 256) and output.abs().max() <= 1
    assert logits.shape == (1, 1, 30, 30)


def test_size_multiple_follows_the_depth_and_odd_sizes_are_refused() -> None:
    model = Pix2Pix(Pix2PixConfig(ngf=4, depth=3, ndf=4))
    assert model.size_multiple == 8
    assert model.G(random_images(1, 16, 24)).shape == (1, 3, 16, 24)
    with pytest.raises(InputError, match="not divisible by 8"):
        model.G(random_images(1, 12, 16))


def test_dropout_is_off_in_eval_unless_test_dropout() -> None:
    images = random_images(1, 64, 64)
    for test_dropout in (False, True):
        torch.manual_seed(0)
        model = Pix2Pix(Pix2PixConfig(**{**TINY_CONFIG, "depth": 6}, test_dropout=test_dropout))
        model.eval()
        dropouts = [m for m in model.G.modules() if isinstance(m, torch.nn.Dropout)]
        assert [m.training for m in dropouts] == [test_dropout]
        assert not model.G.down[1].norm.training  # BatchNorm uses running statistics
        same = torch.equal(model.translate(images), model.translate(images))
        assert same is not test_dropout


# ---- training ---------------------------------------------------------------------------------
def test_begin_step_takes_the_input_and_target_of_the_direction() -> None:
    batch = {"A": random_images(1, 32, 32, seed=1), "B": random_images(1, 32, 32, seed=2)}
    state = tiny_pix2pix(direction="BtoA").begin_step(batch)
    assert torch.equal(state["x"], batch["B"]) and torch.equal(state["y"], batch["A"])
    state = tiny_pix2pix().begin_step(batch)
    assert torch.equal(state["x"], batch["A"]) and torch.equal(state["y"], batch["B"])


def test_cli_training_losses_are_finite_and_move(cli_run: Path) -> None:
    log = [json.loads(line) for line in (cli_run / "losses.jsonl").read_text().splitlines()]
    assert [record["step"] for record in log] == [1, 2, 3, 4]
    for record in log:
        assert {"G_GAN", "G_L1", "D_fake", "D_real"} <= record.keys()
        assert all(np.isfinite(record[name]) for name in ("G_GAN", "G_L1", "D_fake", "D_real"))
    for name in ("G_GAN", "G_L1", "D_fake", "D_real"):
        assert len({record[name] for record in log}) > 1, name
    metadata = json.loads((cli_run / "config.json").read_text())
    assert metadata["model"] == "pix2pix" and metadata["networks"] == ["G", "D"]
    assert metadata["data"]["direction"] == "AtoB" and metadata["config"]["depth"] == 5


def test_trained_run_loads_with_identical_outputs(tmp_path: Path) -> None:
    config = load_config(Pix2Pix, None, [*TINY_TRAINING, "train.steps=2"])
    trainer = Trainer(Pix2Pix, config, tmp_path / "run", device="cpu")
    trainer.fit()
    trained = trainer.model.eval()
    initial = tiny_pix2pix()
    images = random_images(2, 32, 32, seed=3)

    loaded = compogan.load(tmp_path / "run", task="translate")
    resaved = compogan.load(loaded.save_pretrained(tmp_path / "resaved"))

    assert isinstance(loaded, Pix2Pix) and not loaded.training
    assert loaded.directions == ("AtoB",)
    expected = trained.translate(images)
    assert torch.equal(loaded.translate(images, "AtoB"), expected)
    assert torch.equal(resaved.translate(images), expected)
    assert not torch.equal(initial.translate(images), expected)  # training moved G
    buffers = dict(loaded.G.named_buffers())
    assert int(buffers["down.1.norm.num_batches_tracked"]) == 2


# ---- translation ------------------------------------------------------------------------------
def test_translate_cli_keeps_an_odd_input_size(
    cli_run: Path, tmp_path: Path, make_image, run_cli
) -> None:
    image = make_image(tmp_path / "in" / "scene.png", 37, 53, seed=5)
    out = tmp_path / "out"

    result = run_cli("translate", image, "--weights", cli_run, "--out", out, "--device", "cpu")

    assert result.code == 0, result.stderr
    with Image.open(out / "scene.png") as translated:
        assert translated.size == (53, 37) and translated.mode == "RGB"


def test_translator_offers_the_trained_direction_alone(tmp_path: Path) -> None:
    model = tiny_pix2pix(direction="BtoA")
    translator = Translator.from_pretrained(model.save_pretrained(tmp_path / "btoa"), "cpu")
    assert translator.input_ports()[1].choices == ("BtoA",)
    images = random_images(1, 37, 53)
    output = translator.translate_tensor(images)
    assert output.shape == (1, 3, 37, 53)
    with pytest.raises(ConfigError, match="cannot translate 'AtoB'; they translate BtoA"):
        translator.translate_tensor(images, "AtoB")
    with pytest.raises(ConfigError, match="translates BtoA"):
        model.translate(random_images(1, 32, 32), "AtoB")


def test_a_checkpoint_without_g_cannot_translate(tmp_path: Path) -> None:
    model = tiny_pix2pix()
    saved = compogan.load(model.save_pretrained(tmp_path / "d_only", networks=("D",)))
    assert saved.directions == ()
    with pytest.raises(CheckpointError, match="holds no G"):
        saved.translate(random_images(1, 32, 32))
    with pytest.raises(CheckpointError, match="holds no generator"):
        Translator(saved, "cpu")


def test_configs_hold_the_papers_and_the_cpu_setting() -> None:
    facades = load_config(Pix2Pix, REPO_ROOT / "configs/pix2pix/facades.yaml")
    assert facades.data.direction == "BtoA" and facades.data.dataset == "folder"
    assert (facades.data.load_size, facades.data.size) == (286, 256)
    assert facades.train.steps == 400 * 200 and facades.train.batch_size == 1
    assert facades.model.lr_schedule.kind == "linear" and facades.model.lr_schedule.start == 0.5
    assert facades.model.depth == 8 and facades.model.lambda_l1 == 100
    cpu = load_config(Pix2Pix, REPO_ROOT / "configs/pix2pix/daynight_cpu.yaml")
    assert cpu.data.dataset == "daynight" and 2**cpu.model.depth == cpu.data.size
    with pytest.raises(ConfigError, match="direction must be AtoB or BtoA"):
        load_config(Pix2Pix, None, ["data.direction=sideways"])


# ---- the aligned A|B folder -------------------------------------------------------------------
HALF = 20


def write_pairs(root: Path, split: str, count: int) -> list[np.ndarray]:
    """``count`` side-by-side images in ``root/split``: A random, B its negative (255 - A).
    Returns the A halves (HALF x HALF x 3 uint8)."""
    folder = root / split
    folder.mkdir(parents=True)
    halves = []
    for index in range(count):
        a = np.random.default_rng(index).integers(0, 256, (HALF, HALF, 3), dtype=np.uint8)
        Image.fromarray(np.concatenate([a, 255 - a], axis=1)).save(folder / f"{index:02d}.png")
        halves.append(a)
    return halves


def crop_of(half: torch.Tensor, crop: torch.Tensor) -> tuple[int, int, bool]:
    """The (top, left, mirrored) at which ``crop`` (3,s,s) was cut from ``half`` (3,H,W)."""
    size = crop.shape[-1]
    for top in range(half.shape[-2] - size + 1):
        for left in range(half.shape[-1] - size + 1):
            window = half[:, top : top + size, left : left + size]
            for mirrored in (False, True):
                if torch.equal(window.flip(-1) if mirrored else window, crop):
                    return top, left, mirrored
    raise AssertionError("the crop is no window of the image")


def test_both_halves_get_one_crop_and_flip(tmp_path: Path) -> None:
    halves = write_pairs(tmp_path, "train", 4)
    dataset = PairedImageFolder(tmp_path, "train", load_size=HALF, crop_size=12, seed=3)
    drawn = set()
    for epoch in range(3):
        dataset.set_epoch(epoch)
        for index, half in enumerate(halves):
            item = dataset[index]
            assert item["A"].shape == item["B"].shape == (3, 12, 12)
            assert item["A"].dtype == torch.float32
            torch.testing.assert_close(item["B"], -item["A"], atol=1e-6, rtol=0)
            drawn.add(crop_of(pil_to_tensor(Image.fromarray(half)), item["A"]))
    assert len(drawn) > 3 and {mirrored for _, _, mirrored in drawn} == {False, True}


def test_resized_halves_stay_aligned(tmp_path: Path) -> None:
    write_pairs(tmp_path, "train", 2)
    dataset = PairedImageFolder(tmp_path, "train", load_size=30, crop_size=24, seed=0)
    for index in range(2):
        item = dataset[index]
        assert (item["B"] + item["A"]).abs().max() <= 1 / 127.5 + 1e-6  # bicubic rounding only


def test_test_split_is_the_centre_crop_of_left_a_and_right_b(tmp_path: Path) -> None:
    halves = write_pairs(tmp_path, "test", 2)
    dataset = PairedImageFolder(tmp_path, "test", load_size=HALF, crop_size=HALF)
    for index, half in enumerate(halves):
        item = dataset[index]
        torch.testing.assert_close(item["A"], pil_to_tensor(Image.fromarray(half)))
        torch.testing.assert_close(item["B"], pil_to_tensor(Image.fromarray(255 - half)))


def test_items_are_determined_by_seed_epoch_and_index(tmp_path: Path) -> None:
    write_pairs(tmp_path, "train", 4)
    write_pairs(tmp_path, "test", 2)

    def items(seed: int, epoch: int, split: str = "train") -> list[torch.Tensor]:
        dataset = PairedImageFolder(tmp_path, split, load_size=HALF, crop_size=10, seed=seed)
        dataset.set_epoch(epoch)
        return [dataset[i]["A"] for i in reversed(range(len(dataset)))]

    def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
        return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))

    assert same(items(0, 1), items(0, 1))
    assert not same(items(0, 1), items(0, 2))
    assert not same(items(0, 1), items(1, 1))
    assert same(items(0, 1, "test"), items(0, 7, "test"))  # the test split ignores the epoch


def test_the_folder_dataset_is_registered_for_paired_models(tmp_path: Path) -> None:
    write_pairs(tmp_path, "train", 3)
    data = Pix2PixDataConfig(dataset="folder", root=str(tmp_path), size=16, load_size=HALF)
    dataset = Pix2Pix.build_dataset(data, "train", seed=0)
    assert isinstance(dataset, PairedImageFolder) and len(dataset) == 3
    assert dataset[0]["A"].shape == (3, 16, 16)
    with pytest.raises(ConfigError, match=r"set data\.root"):
        build_dataset("paired", Pix2PixDataConfig(dataset="folder"), "train")
    with pytest.raises(ConfigError, match="must not exceed load_size"):
        Pix2Pix.build_dataset(replace(data, size=HALF + 1), "train")


@pytest.mark.parametrize("layout", ["no-root", "no-split", "empty", "odd-width"])
def test_layout_errors_are_one_line(tmp_path: Path, layout: str) -> None:
    root = tmp_path / "facades"
    if layout != "no-root":
        root.mkdir()
    if layout in ("empty", "odd-width"):
        (root / "train").mkdir()
    if layout == "odd-width":
        Image.new("RGB", (41, HALF)).save(root / "train" / "bad.png")
    expected = {
        "no-root": "does not exist; expected side-by-side A|B images",
        "no-split": "missing folder",
        "empty": "no images in",
        "odd-width": "41x20 (width x height); an A|B pair image needs an even width",
    }[layout]

    with pytest.raises(InputError, match=re.escape(expected)) as error:
        PairedImageFolder(root, "train", load_size=HALF, crop_size=16)[0]

    assert "\n" not in str(error.value)
    if layout != "odd-width":
        assert str(root / "train") in str(error.value)
