"""Reading, writing and converting images.

Every image compogan reads goes through :func:`load_image`, which accepts PNG, JPEG, WebP, BMP
and TIFF files in any common pixel mode (grey, grey+alpha, palette with or without
transparency, RGB, RGBA, CMYK, 16-bit grey and 16-bit colour), applies the EXIF orientation,
refuses decompression bombs before decoding, and turns every decoding failure into a one-line
:class:`~compogan.errors.InputError` that names the file.

Tensor conventions: images are float32 ``(C, H, W)`` in ``[-1, 1]``; masks are ``(1, H, W)``
in ``[0, 1]``.

Torch is imported only by the functions that make or read tensors, so that listing and checking
input files (what a command does before it loads a model) does not wait for it.
"""

from __future__ import annotations

import os
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from compogan.errors import ConfigError, InputError
from compogan.io.atomic import atomic_path

if TYPE_CHECKING:
    import torch

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
)
"""File suffixes (lower case, with the dot) that compogan reads and writes as images."""

DEFAULT_MAX_PIXELS = 178_956_970
"""Largest image (width x height) loaded unless ``COMPOGAN_MAX_PIXELS`` or ``max_pixels`` says
otherwise; the size at which PIL itself refuses an image as a decompression bomb."""

MAX_PIXELS_ENV = "COMPOGAN_MAX_PIXELS"

OUTPUT_MODES = ("RGB", "RGBA", "L")

_SUFFIX_FORMATS: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
# PIL's JPEG opener also returns camera JPEGs with preview frames (which it calls MPO).
_READ_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF")
_SUPPORTED_LIST = "PNG, JPEG, WebP, BMP or TIFF"

_DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    struct.error,
    zlib.error,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})
_PIL_LIMIT_LOCK = threading.Lock()

ImageLike = str | Path | Image.Image | np.ndarray
"""An image as pipelines take it: a file path, a PIL image or a uint8 array (H, W, C)."""
_ARRAY_CHANNELS = {"RGB": 3, "RGBA": 4}


def resolve_max_pixels(max_pixels: int | None = None) -> int:
    """The pixel limit in force: ``max_pixels`` if given, else ``$COMPOGAN_MAX_PIXELS``, else
    :data:`DEFAULT_MAX_PIXELS`. Raises ConfigError for a value that is not a positive integer."""
    if max_pixels is None:
        raw = os.environ.get(MAX_PIXELS_ENV, "").strip()
        if not raw:
            return DEFAULT_MAX_PIXELS
        try:
            max_pixels = int(raw)
        except ValueError:
            raise ConfigError(
                f"{MAX_PIXELS_ENV}={raw!r} is not an integer; set it to a pixel count such as "
                f"{DEFAULT_MAX_PIXELS} or unset it"
            ) from None
    if max_pixels <= 0:
        raise ConfigError(f"the image pixel limit must be a positive integer, got {max_pixels}")
    return max_pixels


@contextmanager
def _pil_pixel_limit(max_pixels: int) -> Iterator[None]:
    """Let PIL open images up to ``max_pixels`` and silence its own bomb warning.

    PIL refuses images above ``2 * Image.MAX_IMAGE_PIXELS`` on its own; only when our limit is
    higher than that is PIL's global limit raised, under a lock, for the duration of the block.
    The size check that matters is done by the caller.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        pil_limit = Image.MAX_IMAGE_PIXELS
        if pil_limit is None or max_pixels <= 2 * pil_limit:
            yield
            return
        with _PIL_LIMIT_LOCK:
            Image.MAX_IMAGE_PIXELS = max_pixels
            try:
                yield
            finally:
                Image.MAX_IMAGE_PIXELS = pil_limit


def _check_is_file(path: Path) -> None:
    """Raise InputError unless ``path`` is an existing regular file."""
    if not path.exists():
        raise InputError(f"no such file: '{path}'")
    if path.is_dir():
        raise InputError(f"'{path}' is a folder, not an image file")
    if not path.is_file():
        raise InputError(f"'{path}' is not a regular file")


def _reason(error: BaseException) -> str:
    """A short, one-line description of a decoding error."""
    if isinstance(error, UnidentifiedImageError):
        return f"not a {_SUPPORTED_LIST} image"
    if isinstance(error, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return (
            "image is too large (possible decompression bomb); "
            f"raise {MAX_PIXELS_ENV} if the image is trusted"
        )
    text = " ".join(str(error).split())
    if "truncated" in text.lower():
        return "file is truncated"
    return text or type(error).__name__


def _open_error(path: Path, error: BaseException) -> InputError:
    """The InputError for an image that could not be opened or decoded."""
    return InputError(f"cannot read image '{path}': {_reason(error)}")


def _check_pixel_count(path: Path, size: tuple[int, int], max_pixels: int) -> None:
    """Refuse an image whose width x height exceeds ``max_pixels``."""
    width, height = size
    if width * height > max_pixels:
        raise InputError(
            f"image '{path}' has {width}x{height} = {width * height} pixels, more than the "
            f"limit of {max_pixels} (possible decompression bomb); raise {MAX_PIXELS_ENV} "
            "if the image is trusted"
        )


def load_image(path: str | Path, mode: str = "RGB", max_pixels: int | None = None) -> Image.Image:
    """Load an image file fully into memory, upright, in ``mode`` ("RGB", "RGBA" or "L").

    Size is checked against the pixel limit (see :func:`resolve_max_pixels`) before any pixel
    data is decoded. 16-bit grey is scaled to 8 bits (65535 -> 255); palette images with
    transparency and grey+alpha images keep their alpha in "RGBA"; converting to "RGB" or "L"
    drops alpha; CMYK is converted to RGB. Raises InputError for a missing, unreadable,
    truncated, oversized or non-image file.
    """
    if mode not in OUTPUT_MODES:
        raise ValueError(f"mode must be one of {OUTPUT_MODES}, got {mode!r}")
    file_path = Path(path)
    _check_is_file(file_path)
    limit = resolve_max_pixels(max_pixels)
    try:
        with _pil_pixel_limit(limit), Image.open(file_path, formats=_READ_FORMATS) as image:
            _check_pixel_count(file_path, image.size, limit)
            image.load()
            standard = _to_standard_mode(_apply_orientation(image, file_path))
    except InputError:
        raise
    except _DECODE_ERRORS as error:
        raise _open_error(file_path, error) from error
    return standard if standard.mode == mode else standard.convert(mode)


def _apply_orientation(image: Image.Image, path: Path) -> Image.Image:
    """An upright copy of ``image`` per its EXIF orientation; unrotated if the EXIF is broken."""
    try:
        return ImageOps.exif_transpose(image)
    except _DECODE_ERRORS as error:
        warnings.warn(
            f"ignoring unreadable EXIF orientation of '{path}': {_reason(error)}",
            stacklevel=3,
        )
        return image.copy()


def _has_transparency(image: Image.Image) -> bool:
    """Whether an opened image carries alpha or a transparent colour / palette entry."""
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        return True
    return image.mode == "P" and image.palette is not None and image.palette.mode == "RGBA"


def _sixteen_bit_to_grey(image: Image.Image) -> Image.Image:
    """Scale a 16-bit (or 32-bit integer holding 16-bit) grey image to 8-bit "L"."""
    values = np.asarray(image).astype(np.float64)
    scaled = np.rint(np.clip(values, 0, 65535) / 257.0).astype(np.uint8)
    return Image.fromarray(scaled, mode="L")


def _to_standard_mode(image: Image.Image) -> Image.Image:
    """Convert any supported PIL mode to 8-bit "L", "LA", "RGB" or "RGBA", keeping alpha.

    An image already in one of those modes (without a transparent colour) is returned as is.
    Raises InputError for a mode compogan does not read (e.g. 32-bit float).
    """
    source = image.mode
    if source in {"L", "LA", "RGB", "RGBA"} and "transparency" not in image.info:
        return image
    if source in _SIXTEEN_BIT_MODES:
        return _sixteen_bit_to_grey(image)
    if source in {"1", "L", "LA", "La"}:
        return image.convert("LA" if _has_transparency(image) else "L")
    if source in {"P", "PA", "RGB", "RGBA", "RGBa"}:
        return image.convert("RGBA" if _has_transparency(image) else "RGB")
    if source in {"CMYK", "YCbCr", "LAB", "HSV", "RGBX"}:
        return image.convert("RGB")
    raise InputError(f"unsupported pixel mode {source!r}; save the image as 8- or 16-bit RGB(A)")


def has_alpha(path: str | Path) -> bool:
    """Whether the image file carries an alpha channel or a transparent colour/palette entry.

    Reads only the header. Raises InputError for a missing or non-image file.
    """
    file_path = Path(path)
    _check_is_file(file_path)
    try:
        with (
            _pil_pixel_limit(resolve_max_pixels()),
            Image.open(file_path, formats=_READ_FORMATS) as image,
        ):
            return _has_transparency(image)
    except _DECODE_ERRORS as error:
        raise _open_error(file_path, error) from error


def _is_image_file(path: Path) -> bool:
    """A visible regular file with an image suffix (hidden and temporary files are skipped)."""
    return (
        path.is_file() and not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES
    )


def list_images(*paths: str | Path) -> list[Path]:
    """Expand files and folders into a list of image files.

    Files are taken as given (they must exist and have an image suffix); a folder contributes its
    image files, non-recursively, sorted by name, hidden files skipped. Raises InputError for no
    paths, a missing path, a non-image file or a folder without images.
    """
    if not paths:
        raise InputError("no input images given; pass image files or folders of images")
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(_images_in_folder(path))
        elif path.is_file():
            _check_suffix(path)
            found.append(path)
        elif path.exists():
            raise InputError(f"'{path}' is not a regular file or folder")
        else:
            raise InputError(f"no such file or folder: '{path}'")
    return found


HEADER_PROGRESS_FROM = 2000
"""Folders with at least this many images show a progress bar while their headers are read."""


def check_headers(paths: Sequence[Path], what: str = "images") -> None:
    """Open every image file's header (format, size; no pixel data is decoded), so that a
    dataset with a corrupt or oversized file fails before training starts rather than when the
    loader reaches it. Shows a progress bar on stderr for :data:`HEADER_PROGRESS_FROM` files or
    more.

    Raises:
        InputError: one line counting the unreadable files and naming the first.
    """
    from tqdm import tqdm

    limit = resolve_max_pixels()
    bad: list[str] = []
    checking = tqdm(
        paths,
        desc=f"checking {what}",
        unit="file",
        disable=len(paths) < HEADER_PROGRESS_FROM,
        leave=False,
    )
    for path in checking:
        try:
            _check_is_file(path)
            with _pil_pixel_limit(limit), Image.open(path, formats=_READ_FORMATS) as image:
                _check_pixel_count(path, image.size, limit)
        except InputError as error:
            bad.append(str(error))
        except _DECODE_ERRORS as error:
            bad.append(str(_open_error(path, error)))
    if bad:
        raise InputError(f"{len(bad)} of {len(paths)} {what} cannot be used (first: {bad[0]})")


def _images_in_folder(folder: Path) -> list[Path]:
    """The sorted image files directly inside ``folder``; InputError if there are none."""
    images = sorted(child for child in folder.iterdir() if _is_image_file(child))
    if not images:
        suffixes = ", ".join(sorted(suffix.lstrip(".") for suffix in IMAGE_SUFFIXES))
        raise InputError(f"no images ({suffixes}) in folder '{folder}'")
    return images


def _check_suffix(path: Path) -> str:
    """The PIL format for ``path``'s suffix; InputError if it is not an image suffix."""
    image_format = _SUFFIX_FORMATS.get(path.suffix.lower())
    if image_format is None:
        suffixes = ", ".join(sorted(_SUFFIX_FORMATS))
        raise InputError(f"'{path}' does not have an image suffix; use one of {suffixes}")
    return image_format


def save_image(image: Image.Image | torch.Tensor | np.ndarray, path: str | Path) -> None:
    """Write an image atomically; the format comes from the suffix of ``path``.

    Accepts a PIL image, a tensor ``(C, H, W)`` or ``(1, C, H, W)`` in ``[-1, 1]`` with C in
    {1, 3, 4}, or a numpy array ``(H, W)`` / ``(H, W, C)`` that is uint8 or float in ``[0, 1]``.
    JPEG cannot store alpha, so alpha is dropped for .jpg/.jpeg. Raises InputError for an
    unknown suffix before anything is written, or when the file cannot be written.
    """
    target = Path(path)
    image_format = _check_suffix(target)
    picture = _as_pil(image)
    if image_format == "JPEG":
        picture = _without_alpha(picture)
    options = {"quality": 95} if image_format in {"JPEG", "WEBP"} else {}
    try:
        with atomic_path(target) as temporary:
            picture.save(temporary, format=image_format, **options)
    except OSError as error:
        raise InputError(f"cannot write image '{target}': {_reason(error)}") from error


def _without_alpha(image: Image.Image) -> Image.Image:
    """Drop the alpha channel and map other modes to "L" or "RGB"."""
    if image.mode in {"L", "RGB"}:
        return image
    return image.convert("L" if image.mode in {"1", "LA", "La"} else "RGB")


def _as_pil(image: Image.Image | torch.Tensor | np.ndarray) -> Image.Image:
    """Convert a PIL image, image tensor or numpy array to a PIL image."""
    if isinstance(image, Image.Image):
        return image
    if type(image).__module__.startswith("torch"):
        return tensor_to_pil(image)
    if isinstance(image, np.ndarray):
        return array_to_pil(image)
    raise TypeError(f"expected a PIL image, tensor or numpy array, got {type(image).__name__}")


def array_to_pil(array: np.ndarray) -> Image.Image:
    """A numpy ``(H, W)`` or ``(H, W, C)`` image (C in 1, 3, 4), uint8 or float in ``[0, 1]``."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(
            f"expected an (H, W) or (H, W, C) array with C in 1, 3, 4; got {array.shape}"
        )
    if array.dtype == np.uint8:
        pixels = array
    elif np.issubdtype(array.dtype, np.floating):
        pixels = np.rint(np.clip(np.nan_to_num(array), 0.0, 1.0) * 255.0).astype(np.uint8)
    else:
        raise ValueError(f"expected a uint8 or float array, got dtype {array.dtype}")
    mode = {2: "L", 3: "RGB", 4: "RGBA"}[pixels.shape[2] if pixels.ndim == 3 else 2]
    return Image.fromarray(np.ascontiguousarray(pixels), mode=mode)


def to_pil(image: ImageLike, mode: str = "RGB") -> Image.Image:
    """A path, PIL image or uint8 array as a PIL image of ``mode`` ("RGB" or "RGBA").

    Paths go through :func:`load_image`; PIL images are converted (RGB → RGBA adds an opaque
    alpha); arrays must be (H, W, 3) uint8 for "RGB" and (H, W, 4) uint8 for "RGBA".

    Raises:
        InputError: an unreadable file or an array of another shape or dtype.
    """
    if isinstance(image, Image.Image):
        return image.convert(mode)
    if isinstance(image, np.ndarray):
        channels = _ARRAY_CHANNELS[mode]
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != channels:
            raise InputError(f"arrays must be HxWx{channels} uint8 {mode} images")
        return Image.fromarray(image)
    return load_image(image, mode=mode)


def split_alpha(image: ImageLike) -> tuple[Image.Image, Image.Image | None]:
    """An input image as RGB and, when it has one, its alpha channel ("L"), so that a pipeline
    can pass the alpha through to its output unchanged (:func:`with_alpha`).

    Files with alpha or a transparent colour / palette entry, PIL images with alpha (RGBA, LA,
    PA, or a transparent colour) and (H, W, 4) uint8 arrays have one; other inputs give None.

    Raises:
        InputError: an unreadable file or an array of another shape or dtype.
    """
    if isinstance(image, np.ndarray):
        if image.ndim == 3 and image.shape[-1] == 4:
            rgba = to_pil(image, mode="RGBA")
            return rgba.convert("RGB"), rgba.getchannel("A")
        return to_pil(image), None
    if isinstance(image, Image.Image):
        if not _has_transparency(image):
            return image.convert("RGB"), None
        rgba = image.convert("RGBA")
        return rgba.convert("RGB"), rgba.getchannel("A")
    if not has_alpha(image):
        return load_image(image), None
    rgba = load_image(image, mode="RGBA")
    return rgba.convert("RGB"), rgba.getchannel("A")


def with_alpha(image: Image.Image, alpha: Image.Image | None) -> Image.Image:
    """``image`` (RGB) with ``alpha`` ("L", the same size) as its alpha channel; ``image``
    unchanged when ``alpha`` is None."""
    if alpha is None:
        return image
    rgba = image.convert("RGBA")
    rgba.putalpha(alpha)
    return rgba


def pad_to_multiple(
    images: torch.Tensor, multiple: int, min_size: int = 0
) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad (N,C,H,W) on the right and bottom to sizes divisible by ``multiple``.

    Each side is also padded up to at least ``min_size`` (a multiple of ``multiple``).
    Reflection padding where the image is large enough, replication otherwise. Returns the
    padded batch and the original (H, W) to crop back to.
    """
    height, width = images.shape[-2:]
    pad_h = max((-height) % multiple, min_size - height)
    pad_w = max((-width) % multiple, min_size - width)
    if pad_h == 0 and pad_w == 0:
        return images, (height, width)
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    import torch.nn.functional as F

    return F.pad(images, (0, pad_w, 0, pad_h), mode=mode), (height, width)


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """A PIL image as float32 ``(C, H, W)`` in ``[-1, 1]``.

    C is 1 for grey, 3 for RGB and 4 for images with alpha (alpha is mapped to ``[-1, 1]`` like
    the colour channels). Other modes are converted the way :func:`load_image` converts them.
    """
    standard = _to_standard_mode(image)
    if standard.mode == "LA":
        standard = standard.convert("RGBA")
    pixels = np.asarray(standard, dtype=np.float32)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    import torch

    tensor = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))
    return tensor / 127.5 - 1.0


def tensor_to_pil(tensor: torch.Tensor) -> Image.Image:
    """A ``(C, H, W)`` or ``(1, C, H, W)`` tensor in ``[-1, 1]`` (clamped) as a PIL image.

    C = 1 gives "L", 3 gives "RGB", 4 gives "RGBA" (alpha also in ``[-1, 1]``).
    """
    if tensor.dim() == 4 and tensor.shape[0] == 1:
        tensor = tensor[0]
    if tensor.dim() != 3 or tensor.shape[0] not in (1, 3, 4):
        raise ValueError(
            "expected a (C, H, W) or (1, C, H, W) tensor with C in 1, 3, 4; "
            f"got {tuple(tensor.shape)}"
        )
    import torch

    values = tensor.detach().to(device="cpu", dtype=torch.float32)
    values = torch.nan_to_num(values).clamp(-1.0, 1.0)
    pixels = ((values + 1.0) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return array_to_pil(pixels)


def pil_to_mask(image: Image.Image) -> torch.Tensor:
    """A mask image as float32 ``(1, H, W)`` in ``[0, 1]``.

    When the image has an alpha channel that is not fully opaque, the mask is the alpha;
    otherwise it is the grey level (white = 1).
    """
    standard = _to_standard_mode(image)
    if standard.mode in {"LA", "RGBA"}:
        alpha = standard.getchannel("A")
        lowest, _ = alpha.getextrema()
        grey = alpha if lowest < 255 else standard.convert("L")
    else:
        grey = standard.convert("L")
    pixels = np.asarray(grey, dtype=np.float32) / 255.0
    import torch

    return torch.from_numpy(np.ascontiguousarray(pixels))[None]
