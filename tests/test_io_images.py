"""Tests of compogan.io.images and compogan.io.atomic: formats, modes, errors, atomic writes."""

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from compogan.errors import ConfigError, InputError
from compogan.io import images
from compogan.io.atomic import atomic_dir, atomic_path, atomic_write_bytes, atomic_write_text
from compogan.io.images import (
    DEFAULT_MAX_PIXELS,
    has_alpha,
    list_images,
    load_image,
    pil_to_mask,
    pil_to_tensor,
    resolve_max_pixels,
    save_image,
    tensor_to_pil,
)


def _gradient_rgb(height: int = 6, width: int = 8) -> np.ndarray:
    """A deterministic (H, W, 3) uint8 test pattern."""
    rows, cols = np.mgrid[0:height, 0:width]
    return np.stack([rows * 40, cols * 30, (rows + cols) * 10], axis=-1).astype(np.uint8)


def _leftovers(folder: Path) -> list[str]:
    """Names of hidden temporary files left in ``folder``."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


# --------------------------------------------------------------------------- formats and modes


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif", ".tiff", ".webp"])
def test_lossless_rgb_formats_round_trip_exactly(tmp_path: Path, suffix: str) -> None:
    pixels = _gradient_rgb()
    path = tmp_path / f"img{suffix}"
    if suffix == ".webp":
        Image.fromarray(pixels).save(path, lossless=True)
    else:
        Image.fromarray(pixels).save(path)
    loaded = load_image(path)
    assert loaded.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(loaded), pixels)


@pytest.mark.parametrize("suffix", [".jpg", ".jpeg"])
def test_jpeg_loads_close_to_source(tmp_path: Path, suffix: str) -> None:
    pixels = np.full((16, 16, 3), (200, 40, 90), dtype=np.uint8)
    path = tmp_path / f"img{suffix}"
    Image.fromarray(pixels).save(path, quality=95)
    loaded = np.asarray(load_image(path)).astype(int)
    assert loaded.shape == (16, 16, 3)
    assert np.abs(loaded - pixels).max() <= 4


def test_grey_l_to_rgb_rgba_and_l(tmp_path: Path) -> None:
    grey = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5
    path = tmp_path / "grey.png"
    Image.fromarray(grey, mode="L").save(path)
    rgb = np.asarray(load_image(path, "RGB"))
    assert rgb.shape == (6, 8, 3)
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel], grey)
    rgba = np.asarray(load_image(path, "RGBA"))
    assert (rgba[..., 3] == 255).all()
    np.testing.assert_array_equal(np.asarray(load_image(path, "L")), grey)
    assert not has_alpha(path)


def test_sixteen_bit_grey_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 257, 32896, 65535], [1000, 20000, 40000, 60000]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    with Image.open(path) as raw:
        assert raw.mode.startswith("I")
    loaded = np.asarray(load_image(path, "L"))
    np.testing.assert_array_equal(loaded, np.rint(values / 257.0).astype(np.uint8))
    rgb = np.asarray(load_image(path, "RGB"))
    np.testing.assert_array_equal(rgb[..., 1], loaded)


def test_sixteen_bit_grey_tiff_and_big_endian_and_int32(tmp_path: Path) -> None:
    values = np.array([[0, 65535], [32896, 514]], dtype=np.uint16)
    expected = np.array([[0, 255], [128, 2]], dtype=np.uint8)
    path = tmp_path / "deep.tif"
    Image.fromarray(values).save(path)
    np.testing.assert_array_equal(np.asarray(load_image(path, "L")), expected)
    big_endian = Image.frombytes("I;16B", (2, 2), values.astype(">u2").tobytes())
    assert big_endian.mode == "I;16B"
    np.testing.assert_array_equal(np.asarray(tensor_to_pil(pil_to_tensor(big_endian))), expected)
    as_int32 = Image.fromarray(values.astype(np.int32))
    assert as_int32.mode == "I"
    np.testing.assert_array_equal(np.asarray(tensor_to_pil(pil_to_tensor(as_int32))), expected)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_sixteen_bit_colour_images(tmp_path: Path, suffix: str) -> None:
    rgb16 = np.zeros((2, 3, 3), dtype=np.uint16)
    rgb16[0, 0] = (65535, 0, 32896)
    rgb16[1, 2] = (25700, 51400, 65535)
    path = tmp_path / f"colour16{suffix}"
    assert cv2.imwrite(str(path), rgb16[..., ::-1])  # OpenCV writes BGR
    loaded = np.asarray(load_image(path)).astype(int)
    expected = np.rint(rgb16 / 257.0).astype(int)
    assert np.abs(loaded - expected).max() <= 1
    rgba16 = np.concatenate([rgb16, np.full((2, 3, 1), 32896, np.uint16)], axis=-1)
    alpha_path = tmp_path / f"colour16a{suffix}"
    assert cv2.imwrite(str(alpha_path), rgba16[..., [2, 1, 0, 3]])
    assert has_alpha(alpha_path)
    rgba = np.asarray(load_image(alpha_path, "RGBA")).astype(int)
    assert np.abs(rgba[..., 3] - 128).max() <= 1
    assert np.abs(rgba[..., :3] - expected).max() <= 1


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path, quality=95)
    with Image.open(path) as raw:
        assert raw.mode == "CMYK"
    loaded = load_image(path)
    assert loaded.mode == "RGB"
    red, green, blue = np.asarray(loaded)[8, 8].astype(int)
    assert red > 240 and green < 15 and blue < 15


def _palette_image(transparent: bool) -> Image.Image:
    palette_image = Image.new("P", (4, 2), 1)
    palette_image.putpalette([10, 20, 30, 200, 0, 0] + [0] * (256 * 3 - 6))
    palette_image.putpixel((0, 0), 0)
    if transparent:
        palette_image.info["transparency"] = 0
    return palette_image


def test_palette_with_transparency_keeps_alpha(tmp_path: Path) -> None:
    path = tmp_path / "palette_t.png"
    _palette_image(transparent=True).save(path)
    assert has_alpha(path)
    rgba = np.asarray(load_image(path, "RGBA"))
    assert tuple(rgba[0, 0]) == (10, 20, 30, 0)
    assert tuple(rgba[1, 1]) == (200, 0, 0, 255)
    rgb = np.asarray(load_image(path, "RGB"))
    assert tuple(rgb[1, 1]) == (200, 0, 0)


def test_palette_without_transparency(tmp_path: Path) -> None:
    path = tmp_path / "palette.png"
    _palette_image(transparent=False).save(path)
    assert not has_alpha(path)
    rgba = np.asarray(load_image(path, "RGBA"))
    assert tuple(rgba[0, 0]) == (10, 20, 30, 255)
    assert tuple(np.asarray(load_image(path))[1, 3]) == (200, 0, 0)


def test_la_keeps_alpha_and_l_with_transparent_colour(tmp_path: Path) -> None:
    path = tmp_path / "la.png"
    Image.new("LA", (3, 3), (100, 50)).save(path)
    assert has_alpha(path)
    assert tuple(np.asarray(load_image(path, "RGBA"))[1, 1]) == (100, 100, 100, 50)
    assert tuple(np.asarray(load_image(path, "RGB"))[1, 1]) == (100, 100, 100)
    assert np.asarray(load_image(path, "L"))[1, 1] == 100

    keyed = tmp_path / "l_trns.png"
    grey = Image.new("L", (2, 1), 7)
    grey.putpixel((1, 0), 9)
    grey.save(keyed, transparency=7)
    assert has_alpha(keyed)
    rgba = np.asarray(load_image(keyed, "RGBA"))
    assert rgba[0, 0, 3] == 0 and rgba[0, 1, 3] == 255


def test_rgba_png_keeps_alpha(tmp_path: Path) -> None:
    pixels = np.concatenate([_gradient_rgb(), np.full((6, 8, 1), 77, np.uint8)], axis=-1)
    path = tmp_path / "rgba.png"
    Image.fromarray(pixels, mode="RGBA").save(path)
    assert has_alpha(path)
    np.testing.assert_array_equal(np.asarray(load_image(path, "RGBA")), pixels)
    np.testing.assert_array_equal(np.asarray(load_image(path, "RGB")), pixels[..., :3])


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    stored = np.zeros((16, 32, 3), dtype=np.uint8)  # 32 wide, 16 high
    stored[:8] = (255, 0, 0)  # top half red
    stored[8:] = (0, 0, 255)  # bottom half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    loaded = load_image(path)
    assert loaded.size == (16, 32)  # now 16 wide, 32 high
    pixels = np.asarray(loaded).astype(int)
    assert pixels[16, 12, 0] > 200 and pixels[16, 12, 2] < 50  # old top is now on the right
    assert pixels[16, 3, 2] > 200 and pixels[16, 3, 0] < 50


def test_unknown_output_mode_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    Image.new("RGB", (2, 2)).save(path)
    with pytest.raises(ValueError, match="mode"):
        load_image(path, "CMYK")


# --------------------------------------------------------------------------- errors


def test_decompression_bomb_refused_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.png"
    Image.new("RGB", (40, 30)).save(path)
    decoded: list[bool] = []
    original_load = Image.Image.load

    def spying_load(self: Image.Image) -> object:
        decoded.append(True)
        return original_load(self)

    monkeypatch.setattr(Image.Image, "load", spying_load)
    with pytest.raises(InputError, match=r"1200 pixels.*limit of 1000.*COMPOGAN_MAX_PIXELS"):
        load_image(path, max_pixels=1000)
    assert not decoded
    monkeypatch.setenv("COMPOGAN_MAX_PIXELS", "1199")
    with pytest.raises(InputError, match="decompression bomb"):
        load_image(path)
    monkeypatch.setenv("COMPOGAN_MAX_PIXELS", "1200")
    assert load_image(path).size == (40, 30)


def test_pil_decompression_bomb_error_becomes_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.png"
    Image.new("L", (40, 30)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(InputError, match="too large"):
        load_image(path, max_pixels=150)
    # A limit above PIL's own lets the image through, and PIL's limit is restored afterwards.
    assert load_image(path, max_pixels=5000).size == (40, 30)
    assert Image.MAX_IMAGE_PIXELS == 100


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_forged_huge_header_is_refused(tmp_path: Path) -> None:
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    path = tmp_path / "bomb.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + _png_chunk(b"IEND", b"")
    )
    with pytest.raises(InputError, match="decompression bomb"):
        load_image(path)


def test_max_pixels_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPOGAN_MAX_PIXELS", raising=False)
    assert resolve_max_pixels() == DEFAULT_MAX_PIXELS
    monkeypatch.setenv("COMPOGAN_MAX_PIXELS", "5000")
    assert resolve_max_pixels() == 5000
    assert resolve_max_pixels(77) == 77
    monkeypatch.setenv("COMPOGAN_MAX_PIXELS", "lots")
    with pytest.raises(ConfigError, match="COMPOGAN_MAX_PIXELS"):
        resolve_max_pixels()
    with pytest.raises(ConfigError, match="positive"):
        resolve_max_pixels(0)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_file_names_file_and_reason(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    path = tmp_path / f"cut{suffix}"
    Image.fromarray(noise).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=rf"cannot read image '.*cut\{suffix}': .*truncated"):
        load_image(path)


def test_random_bytes_with_png_suffix(tmp_path: Path) -> None:
    path = tmp_path / "noise.png"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 500, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match=r"cannot read image '.*noise\.png': not a PNG"):
        load_image(path)
    with pytest.raises(InputError, match="cannot read image"):
        has_alpha(path)


def test_unsupported_format_content_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "really_a_gif.png"
    Image.new("P", (4, 4)).save(path, format="GIF")
    with pytest.raises(InputError, match="not a PNG, JPEG"):
        load_image(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^no such file: '.*nothing\.png'$"):
        load_image(tmp_path / "nothing.png")
    with pytest.raises(InputError, match="is a folder"):
        load_image(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        has_alpha(tmp_path / "nothing.png")


def test_float_mode_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "float.tif"
    Image.fromarray(np.ones((2, 2), dtype=np.float32)).save(path)
    with pytest.raises(InputError, match="unsupported pixel mode 'F'"):
        load_image(path)


def test_error_messages_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.png"
    Image.new("RGB", (32, 32), (1, 2, 3)).save(path)
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(InputError) as caught:
        load_image(path)
    assert "\n" not in str(caught.value)


# --------------------------------------------------------------------------- list_images


def test_list_images_expands_folders_and_keeps_files(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for name in ["b.png", "a.JPG", "c.tiff", "notes.txt", ".hidden.png"]:
        (folder / name).write_bytes(b"x")
    (folder / "sub").mkdir()
    (folder / "sub" / "deep.png").write_bytes(b"x")
    single = tmp_path / "single.webp"
    single.write_bytes(b"x")
    found = list_images(single, folder)
    assert found == [single, folder / "a.JPG", folder / "b.png", folder / "c.tiff"]


def test_list_images_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        list_images(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match=r"no images \(.*png.*\) in folder '.*empty'"):
        list_images(empty)
    text = tmp_path / "notes.txt"
    text.write_text("hi")
    with pytest.raises(InputError, match="image suffix"):
        list_images(text)
    with pytest.raises(InputError, match="no input images"):
        list_images()


# --------------------------------------------------------------------------- saving


def test_save_pil_tensor_and_arrays(tmp_path: Path) -> None:
    pixels = _gradient_rgb()
    save_image(Image.fromarray(pixels), tmp_path / "pil.png")
    np.testing.assert_array_equal(np.asarray(load_image(tmp_path / "pil.png")), pixels)

    tensor = torch.from_numpy(pixels).permute(2, 0, 1).float() / 127.5 - 1
    save_image(tensor[None], tmp_path / "nested" / "tensor.png")
    np.testing.assert_array_equal(
        np.asarray(load_image(tmp_path / "nested" / "tensor.png")), pixels
    )

    save_image(pixels.astype(np.float32) / 255.0, tmp_path / "float.bmp")
    np.testing.assert_array_equal(np.asarray(load_image(tmp_path / "float.bmp")), pixels)

    grey = pixels[..., 0]
    save_image(grey, tmp_path / "grey.tif")
    np.testing.assert_array_equal(np.asarray(load_image(tmp_path / "grey.tif", "L")), grey)

    rgba = np.concatenate([pixels, np.full((6, 8, 1), 90, np.uint8)], axis=-1)
    save_image(rgba, tmp_path / "alpha.jpg")  # JPEG drops alpha instead of failing
    assert load_image(tmp_path / "alpha.jpg").size == (8, 6)
    assert _leftovers(tmp_path) == []


def test_save_unknown_suffix_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="image suffix"):
        save_image(_gradient_rgb(), tmp_path / "out.gif")
    assert list(tmp_path.iterdir()) == []


def test_failed_save_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.png"

    def broken_save(self: Image.Image, *args: object, **kwargs: object) -> None:
        Path(args[0]).write_bytes(b"half an image")  # type: ignore[arg-type]
        raise RuntimeError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk full"):
        save_image(_gradient_rgb(), target)
    assert list(tmp_path.iterdir()) == []


def test_failed_save_keeps_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.png"
    save_image(_gradient_rgb(), target)
    before = target.read_bytes()

    def broken_save(self: Image.Image, *args: object, **kwargs: object) -> None:
        raise OSError("no space left on device")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(InputError, match=r"cannot write image '.*out\.png': no space left"):
        save_image(_gradient_rgb(), target)
    assert target.read_bytes() == before
    assert _leftovers(tmp_path) == []


# --------------------------------------------------------------------------- tensors and masks


def test_tensor_pil_round_trip() -> None:
    for mode, channels in [("L", 1), ("RGB", 3), ("RGBA", 4)]:
        pixels = np.random.default_rng(channels).integers(0, 256, (5, 7, channels), np.uint8)
        image = Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode=mode)
        tensor = pil_to_tensor(image)
        assert tensor.shape == (channels, 5, 7) and tensor.dtype == torch.float32
        assert tensor.min() >= -1 and tensor.max() <= 1
        back = tensor_to_pil(tensor)
        assert back.mode == mode
        np.testing.assert_array_equal(np.asarray(back), np.asarray(image))


def test_tensor_to_pil_clamps_and_checks_shape() -> None:
    tensor = torch.tensor([[[-3.0, -1.0, 0.0, 1.0, 5.0]]])
    assert list(np.asarray(tensor_to_pil(tensor[None]))[0]) == [0, 0, 128, 255, 255]
    with pytest.raises(ValueError, match="C in 1, 3, 4"):
        tensor_to_pil(torch.zeros(2, 4, 4))
    with pytest.raises(ValueError, match="C in 1, 3, 4"):
        tensor_to_pil(torch.zeros(2, 3, 4, 4))


def test_pil_to_tensor_other_modes() -> None:
    la = pil_to_tensor(Image.new("LA", (2, 2), (255, 0)))
    assert la.shape == (4, 2, 2)
    assert la[:3].eq(1).all() and la[3].eq(-1).all()
    cmyk = pil_to_tensor(Image.new("CMYK", (2, 2), (0, 0, 0, 0)))
    assert cmyk.shape == (3, 2, 2) and cmyk.eq(1).all()


def test_pil_to_mask() -> None:
    grey = Image.fromarray(np.array([[0, 255], [51, 102]], dtype=np.uint8), mode="L")
    mask = pil_to_mask(grey)
    assert mask.shape == (1, 2, 2) and mask.dtype == torch.float32
    torch.testing.assert_close(mask[0], torch.tensor([[0.0, 1.0], [0.2, 0.4]]))
    cutout = np.zeros((2, 2, 4), dtype=np.uint8)
    cutout[..., 3] = [[0, 255], [255, 0]]
    torch.testing.assert_close(
        pil_to_mask(Image.fromarray(cutout, "RGBA"))[0], torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    )
    opaque = np.full((2, 2, 4), 255, dtype=np.uint8)
    opaque[0, 0, :3] = 0
    torch.testing.assert_close(
        pil_to_mask(Image.fromarray(opaque, "RGBA"))[0], torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    )


# --------------------------------------------------------------------------- atomic writes


def test_atomic_path_replaces_on_success_and_keeps_suffix(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "file.png"
    with atomic_path(target) as temporary:
        assert temporary.parent == target.parent
        assert temporary.suffix == ".png" and temporary.name.startswith(".file.png.tmp-")
        temporary.write_bytes(b"new")
        assert not target.exists()
    assert target.read_bytes() == b"new"
    assert _leftovers(target.parent) == []


def test_atomic_path_cleans_up_on_error(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("old")
    with pytest.raises(KeyError), atomic_path(target) as temporary:
        temporary.write_text("partial")
        raise KeyError("boom")
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_atomic_write_helpers(tmp_path: Path) -> None:
    atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01")
    atomic_write_text(tmp_path / "b.txt", "héllo")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "héllo"
    assert _leftovers(tmp_path) == []


def test_atomic_dir_replaces_existing_folder(tmp_path: Path) -> None:
    target = tmp_path / "ckpt"
    target.mkdir()
    (target / "stale.bin").write_bytes(b"old")
    with atomic_dir(target) as temporary:
        assert temporary.is_dir() and temporary.parent == tmp_path
        (temporary / "model.safetensors").write_bytes(b"new")
    assert sorted(p.name for p in target.iterdir()) == ["model.safetensors"]
    assert _leftovers(tmp_path) == []


def test_atomic_dir_failure_keeps_old_folder(tmp_path: Path) -> None:
    target = tmp_path / "ckpt"
    target.mkdir()
    (target / "keep.bin").write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_dir(target) as temporary:
        (temporary / "half.bin").write_bytes(b"x")
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in target.iterdir()) == ["keep.bin"]
    assert _leftovers(tmp_path) == []
    with atomic_dir(tmp_path / "fresh") as temporary:
        (temporary / "x").write_text("1")
    assert (tmp_path / "fresh" / "x").read_text() == "1"


def test_module_exports_suffixes() -> None:
    assert {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"} == images.IMAGE_SUFFIXES
