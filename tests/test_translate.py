"""Translator: any input size and kind, batching, and loading from every checkpoint kind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_interop_cyclegan import official_generator

from compogan.errors import CheckpointError, ConfigError, InputError
from compogan.io.images import pad_to_multiple, pil_to_tensor
from compogan.models.cyclegan import CycleGAN
from compogan.pipelines import Translator


@pytest.fixture
def translator(tiny_cyclegan: CycleGAN) -> Translator:
    return Translator(tiny_cyclegan, device="cpu")


def random_images(count: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    """(count,3,H,W) images in [-1, 1]."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(count, 3, height, width, generator=generator) * 2 - 1


def test_translate_tensor_equals_the_generator_on_a_divisible_size(
    translator: Translator, tiny_cyclegan: CycleGAN
) -> None:
    images = random_images(2, 32, 24)
    with torch.no_grad():
        expected_b = tiny_cyclegan.G_A(images)
        expected_a = tiny_cyclegan.G_B(images)
    torch.testing.assert_close(translator.translate_tensor(images, "AtoB"), expected_b)
    torch.testing.assert_close(translator.translate_tensor(images, "BtoA"), expected_a)
    assert not torch.allclose(expected_a, expected_b)


@pytest.mark.parametrize(("height", "width"), [(37, 53), (5, 6), (3, 40), (1, 1)])
def test_translate_tensor_keeps_any_input_size(
    translator: Translator, height: int, width: int
) -> None:
    output = translator.translate_tensor(random_images(1, height, width))
    assert output.shape == (1, 3, height, width)
    assert torch.isfinite(output).all() and output.abs().max() <= 1


def test_padding_is_cropped_away_so_the_top_left_matches_a_padded_run(
    translator: Translator, tiny_cyclegan: CycleGAN
) -> None:
    images = random_images(1, 37, 53)
    padded, original_size = pad_to_multiple(images, 4)
    assert padded.shape[-2:] == (40, 56) and original_size == (37, 53)
    torch.testing.assert_close(padded[..., :37, :53], images)
    with torch.no_grad():
        expected = tiny_cyclegan.G_A(padded)[..., :37, :53]
    torch.testing.assert_close(translator.translate_tensor(images), expected)


def test_pad_to_multiple_reaches_the_minimum_size() -> None:
    padded, original_size = pad_to_multiple(random_images(1, 3, 9), 4, min_size=8)
    assert padded.shape[-2:] == (8, 12) and original_size == (3, 9)


def test_pil_array_and_path_inputs_give_the_same_image(
    translator: Translator, tmp_path: Path, make_image
) -> None:
    path = make_image(tmp_path / "photo.png", 37, 53, seed=4)
    pil_image = Image.open(path).convert("RGB")
    array = np.asarray(pil_image)

    outputs = [translator(source).image for source in (path, str(path), pil_image, array)]

    for output in outputs:
        assert isinstance(output, Image.Image)
        assert output.size == (53, 37) and output.mode == "RGB"
        assert np.array_equal(np.asarray(output), np.asarray(outputs[0]))


def test_single_image_output_matches_translate_tensor(translator: Translator) -> None:
    pixels = np.random.default_rng(5).integers(0, 256, (20, 16, 3), dtype=np.uint8)
    expected = translator.translate_tensor(pil_to_tensor(Image.fromarray(pixels))[None])[0]

    output = pil_to_tensor(translator(pixels).image)

    assert (output - expected).abs().max() <= 1 / 127.5 + 1e-6  # uint8 rounding only


def test_grey_and_rgba_images_are_translated_as_rgb(translator: Translator) -> None:
    """Colours are translated as RGB; an alpha channel passes through unchanged."""
    grey = Image.new("L", (12, 9), 128)
    rgba = Image.new("RGBA", (12, 9), (10, 200, 30, 7))
    grey_result, rgba_result = translator.map([grey, rgba])
    assert grey_result.image.mode == "RGB" and grey_result.image.size == (12, 9)
    assert rgba_result.image.mode == "RGBA" and rgba_result.image.size == (12, 9)
    assert rgba_result.image.getchannel("A").getextrema() == (7, 7)
    rgb = translator(rgba.convert("RGB")).image
    assert rgba_result.image.convert("RGB").tobytes() == rgb.tobytes()


def test_bad_array_is_an_input_error(translator: Translator) -> None:
    with pytest.raises(InputError, match="HxWx3 uint8"):
        translator(np.zeros((8, 8), dtype=np.float32))


def test_batches_of_mixed_sizes_keep_order_and_sizes(translator: Translator) -> None:
    sizes = [(16, 20), (16, 20), (37, 53), (16, 20), (16, 20), (16, 20), (8, 12)]
    arrays = [
        np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
        for seed, (h, w) in enumerate(sizes)
    ]

    batched = [result.image for result in translator.map(arrays, batch_size=2)]
    one_by_one = [translator(array).image for array in arrays]

    assert [image.size for image in batched] == [(w, h) for h, w in sizes]
    for together, alone in zip(batched, one_by_one, strict=True):
        difference = np.abs(np.asarray(together, np.int16) - np.asarray(alone, np.int16))
        assert difference.max() <= 1  # batching changes nothing but float rounding


def test_map_is_lazy_but_checks_the_direction_at_once(
    translator: Translator, tmp_path: Path, make_image
) -> None:
    paths = [make_image(tmp_path / f"{i}.png", 8, 8, seed=i) for i in range(3)]
    iterator = translator.map(iter(paths))
    assert next(iterator).image.size == (8, 8)
    assert len(list(iterator)) == 2
    with pytest.raises(ConfigError, match="cannot translate 'sideways'; they translate AtoB or"):
        translator.map(paths, direction="sideways")


def test_from_pretrained_loads_a_saved_model(
    tiny_cyclegan: CycleGAN, tiny_cyclegan_dir: Path
) -> None:
    translator = Translator.from_pretrained(tiny_cyclegan_dir, device="cpu")
    assert isinstance(translator.model, CycleGAN)
    images = random_images(1, 16, 16)
    with torch.no_grad():
        expected = tiny_cyclegan.G_A(images)
    torch.testing.assert_close(translator.translate_tensor(images), expected)


def test_from_pretrained_finds_the_newest_checkpoint_of_a_stopped_run(
    tiny_cyclegan: CycleGAN, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    tiny_cyclegan.save_pretrained(run_dir / "checkpoints" / "step_00000001")
    with torch.no_grad():
        for parameter in tiny_cyclegan.G_A.parameters():
            parameter.add_(0.01)
    tiny_cyclegan.save_pretrained(run_dir / "checkpoints" / "step_00000002")

    translator = Translator.from_pretrained(run_dir, device="cpu")

    images = random_images(1, 16, 16)
    with torch.no_grad():
        expected = tiny_cyclegan.G_A(images)
    torch.testing.assert_close(translator.translate_tensor(images), expected)


def test_from_pretrained_loads_an_official_file(tmp_path: Path) -> None:
    official = official_generator(seed=1)
    path = tmp_path / "latest_net_G.pth"
    torch.save(official.state_dict(), path)

    translator = Translator.from_pretrained(path, device="cpu")

    images = random_images(1, 16, 16)
    torch.testing.assert_close(translator.translate_tensor(images), official(images).detach())
    with pytest.raises(ConfigError, match="cannot translate 'BtoA'; they translate AtoB"):
        translator.map([np.zeros((8, 8, 3), np.uint8)], direction="BtoA")
    assert translator.input_ports()[1].choices == ("AtoB",)


def test_from_pretrained_refuses_a_checkpoint_of_another_model(tmp_path: Path) -> None:
    folder = tmp_path / "stgan_run"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model": "stgan", "config": {}}))
    with pytest.raises(CheckpointError, match="'stgan' checkpoint, not 'cyclegan'"):
        Translator.from_pretrained(folder, device="cpu")


def test_from_pretrained_on_a_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such checkpoint directory"):
        Translator.from_pretrained(tmp_path / "nowhere", device="cpu")
