"""The web page's request handling, in plain Python (no gradio): page values in, pipeline
call, page values out, every failure as one readable line.

A request goes: inputs checked against the declared ports of its pipeline and the server's
:class:`Limits` (pixel counts, file sizes, number ranges, required inputs) → admitted by the
:class:`Gate` or refused as busy → run on a worker, at most ``timeout_s`` seconds → outputs
converted for display. :func:`run_request` never raises: its :class:`RunOutput` carries a
message starting with ``done``, ``busy:``, ``timed out:`` or ``error:``.

Page values: images come as PIL images (or (H, W, C) uint8 arrays, or file paths); a "mask"
comes from an image editor as ``{"background", "layers", "composite"}`` (the painted strokes
are the mask) or as a plain image; an "rgba" input is a pair (image, optional mask), the mask
becoming the image's alpha; numbers as floats, choices as strings, flags as booleans, text as
strings, poses as file paths. A value of None (or an empty string) means "not given": the
pipeline's default is used.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import warnings
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from PIL import Image

from compogan.errors import CompoganError, ConfigError, InputError

if TYPE_CHECKING:
    from compogan.pipelines.base import Port
    from compogan.web.models import ModelStore

T = TypeVar("T")
Progress = Callable[[float | None, str], None]
"""A progress report: (fraction done in [0, 1] or None when unknown, what is happening)."""

LOGGER = logging.getLogger("compogan.web")
POLL_S = 0.25
"""How often a waiting request reports progress and checks its deadline, in seconds."""
MEMORY_MESSAGES = ("out of memory", "can't allocate memory", "not enough memory")

INPUT_WIDGET_KINDS = frozenset(
    {"image", "rgba", "mask", "number", "choice", "flag", "text", "pose", "placement"}
)
"""The input port kinds the page has a widget for; others show an "unsupported input" note."""


class BusyError(CompoganError):
    """The server is running or queueing as many requests as it takes; try again."""


class RequestTimeout(CompoganError):
    """A request ran longer than the server's per-request limit."""


@dataclass(frozen=True)
class Limits:
    """What one server accepts.

    Attributes:
        max_upload_mb: the largest uploaded file, in MB (gradio refuses larger ones).
        max_pixels: the most pixels (width x height) of any image input.
        timeout_s: the longest a request may wait and run, in seconds.
        workers: how many requests run at once.
        waiting: how many more may wait for a worker; beyond that, requests are refused as busy.
    """

    max_upload_mb: float = 20.0
    max_pixels: int = 4096 * 4096
    timeout_s: float = 300.0
    workers: int = 1
    waiting: int = 4

    def __post_init__(self) -> None:
        if self.max_upload_mb <= 0 or self.max_pixels < 1 or self.timeout_s <= 0:
            raise ConfigError("the upload size, pixel and time limits must be positive")
        if self.workers < 1 or self.waiting < 0:
            raise ConfigError("a server needs at least one worker and a non-negative queue")


class _Job(threading.Thread):
    """``work`` on its own thread; ``release`` is called when it ends, however it ends."""

    def __init__(self, work: Callable[[], Any], release: Callable[[], None]) -> None:
        super().__init__(daemon=True, name="compogan-web-worker")
        self.work, self.release = work, release
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.value = self.work()
        except BaseException as error:
            self.error = error
        finally:
            self.release()
            self.done.set()


class Gate:
    """Admission and concurrency control: at most ``workers`` requests run at once and
    ``waiting`` more wait; others are refused at once with :class:`BusyError`.

    A request that times out keeps its worker until its computation ends (a running torch
    call cannot be stopped), so the memory bound of ``workers`` computations holds.
    """

    def __init__(self, workers: int, waiting: int) -> None:
        self.capacity = workers + waiting
        self._admitted = threading.BoundedSemaphore(self.capacity)
        self._workers = threading.BoundedSemaphore(workers)

    def run(self, work: Callable[[], T], timeout_s: float, progress: Progress) -> T:
        """Run ``work`` on a worker and return its value (or raise its exception).

        Raises:
            BusyError: every worker and waiting place is taken, or no worker freed in time.
            RequestTimeout: ``work`` ran past ``timeout_s`` (counted from admission).
        """
        if not self._admitted.acquire(blocking=False):
            raise BusyError(
                f"busy: the server is running or queueing {self.capacity} requests already; "
                "try again in a moment"
            )
        try:
            start = time.monotonic()
            progress(0.0, "waiting for a free worker")
            if not self._workers.acquire(timeout=timeout_s):
                raise BusyError(f"busy: no worker became free within {timeout_s:g} s; try again")
            job = _Job(work, self._workers.release)
            job.start()
            progress(None, "running (0 s)")
            while not job.done.wait(POLL_S):
                elapsed = time.monotonic() - start
                if elapsed > timeout_s:
                    raise RequestTimeout(
                        f"timed out: the request ran longer than this server's limit of "
                        f"{timeout_s:g} s; try a smaller image"
                    )
                progress(None, f"running ({elapsed:.0f} s)")
            if job.error is not None:
                raise job.error
            return job.value
        finally:
            self._admitted.release()


# ---- page values → pipeline values -------------------------------------------------------------
def check_size(size: tuple[int, int], what: str, limits: Limits) -> None:
    """Refuse an image of ``size`` (width, height) above ``limits.max_pixels`` pixels.

    Raises:
        InputError: the image is too large (the message gives its size and the limit).
    """
    width, height = size
    if width * height > limits.max_pixels:
        raise InputError(
            f"the {what} is {width}x{height} = {width * height} pixels; "
            f"this server takes at most {limits.max_pixels} pixels per image"
        )


def check_pixels(image: Image.Image, what: str, limits: Limits) -> Image.Image:
    """``image``, refused like :func:`check_size` when it has too many pixels."""
    check_size(image.size, what, limits)
    return image


def check_file(path: str | Path, what: str, limits: Limits) -> Path:
    """``path``, refused when missing or larger than ``limits.max_upload_mb``.

    Raises:
        InputError: a missing or too large file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"the {what} file '{path.name}' is missing")
    size_mb = path.stat().st_size / 1e6
    if size_mb > limits.max_upload_mb:
        raise InputError(
            f"the {what} file is {size_mb:.1f} MB; this server takes at most "
            f"{limits.max_upload_mb:g} MB"
        )
    return path


def _header_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from an image file's header, decoding no pixels; None when PIL cannot
    read it (:func:`compogan.io.images.load_image` then says why)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return image.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


def read_upload(path: str | Path, what: str, limits: Limits) -> Image.Image:
    """An uploaded image file as an "RGBA" (or "RGB") PIL image, its file size and pixel
    count checked before its pixels are decoded.

    Raises:
        InputError: a missing, too large, too many pixels, or unreadable file (named by its
            file name, not its server path).
    """
    from compogan.io.images import load_image

    path = check_file(path, what, limits)
    size = _header_size(path)
    if size is not None:
        check_size(size, what, limits)
    try:
        return load_image(path, mode="RGBA", max_pixels=limits.max_pixels)
    except InputError as error:
        raise InputError(f"the {what}: {str(error).replace(str(path), path.name)}") from None


def to_image(value: Any, what: str, limits: Limits) -> Image.Image | None:
    """A page image (PIL, (H, W, C) uint8 array or file path) as a PIL image within the limits.

    Raises:
        InputError: an unreadable or too large image.
    """
    if value is None:
        return None
    if isinstance(value, str | Path):
        value = read_upload(value, what, limits)
    elif isinstance(value, np.ndarray):
        if value.ndim not in (2, 3) or value.dtype != np.uint8:
            raise InputError(f"the {what} must be an (H, W) or (H, W, C) uint8 image")
        value = Image.fromarray(value)
    if not isinstance(value, Image.Image):
        raise InputError(f"the {what} is not an image")
    return check_pixels(value, what, limits)


def _painted(layers: Collection[Any]) -> np.ndarray | None:
    """The union of the painted (non-transparent) pixels of editor layers, or None if none."""
    union: np.ndarray | None = None
    for layer in layers:
        if not isinstance(layer, Image.Image):
            continue
        alpha = np.asarray(layer.convert("RGBA"))[..., 3] > 0
        if union is not None and union.shape != alpha.shape:
            continue
        union = alpha if union is None else union | alpha
    return union if union is not None and union.any() else None


def editor_mask(value: Any, what: str, limits: Limits, linked: bool) -> Image.Image | None:
    """A mask ("L", white = set) from an image-editor value or a plain image.

    Editor values ``{"background", "layers", "composite"}``: the painted strokes are the
    mask. When nothing is painted, an editor ``linked`` to the tab's image (its background is
    that image) gives no mask; an unlinked one gives its background, read as a mask (alpha
    when not opaque, else grey level).
    """
    if not isinstance(value, Mapping):
        image = to_image(value, what, limits)
        return None if image is None else _as_mask(image)
    background = to_image(value.get("background"), what, limits)
    painted = _painted(value.get("layers") or ())
    if painted is not None:
        return Image.fromarray(painted.astype(np.uint8) * 255, mode="L")
    if linked or background is None:
        return None
    return _as_mask(background)


def _as_mask(image: Image.Image) -> Image.Image:
    """An image read as a mask: its alpha when not fully opaque, else its grey level."""
    from compogan.io.images import array_to_pil, pil_to_mask

    return array_to_pil(pil_to_mask(image.convert("RGBA"))[0].numpy())


def foreground(value: Any, what: str, limits: Limits) -> Image.Image | None:
    """An RGBA foreground from a page pair (image, optional mask); the mask, when given,
    replaces the image's alpha (white = opaque).

    Raises:
        InputError: a too large image, or a mask of another size than the image.
    """
    image, mask = value if isinstance(value, tuple | list) else (value, None)
    picture = to_image(image, what, limits)
    if picture is None:
        return None
    rgba = picture.convert("RGBA")
    alpha = editor_mask(mask, f"{what} mask", limits, linked=False)
    if alpha is not None:
        if alpha.size != rgba.size:
            raise InputError(
                f"the {what} mask is {alpha.width}x{alpha.height} but the {what} is "
                f"{rgba.width}x{rgba.height}"
            )
        rgba.putalpha(alpha)
    return rgba


def to_number(value: Any, port: Port) -> int | float | None:
    """A page number checked against the port's range; integral values become ints.

    Raises:
        InputError: not a finite number, or outside the port's range.
    """
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{port.title} must be a number, not '{value}'") from None
    if not math.isfinite(number):
        raise InputError(f"{port.title} must be a finite number, not {value}")
    if port.minimum is not None and number < port.minimum:
        raise InputError(f"{port.title} must be at least {port.minimum:g}, not {number:g}")
    if port.maximum is not None and number > port.maximum:
        raise InputError(f"{port.title} must be at most {port.maximum:g}, not {number:g}")
    return int(number) if number.is_integer() else number


def prepare(port: Port, value: Any, limits: Limits, linked: bool = False) -> Any:
    """One page value as the pipeline takes it for ``port`` (None: not given).

    Raises:
        InputError: a value the port or the limits refuse, or a required input left empty.
    """
    what = port.title.lower()
    kind = port.kind
    if kind not in INPUT_WIDGET_KINDS:
        prepared = None
    elif kind == "image":
        prepared = to_image(value, what, limits)
        if prepared is not None and prepared.mode != "RGB":
            prepared = prepared.convert("RGB")
    elif kind == "rgba":
        prepared = foreground(value, what, limits)
    elif kind == "mask":
        prepared = editor_mask(value, what, limits, linked)
    elif kind == "number":
        prepared = to_number(value, port)
    elif kind == "pose":
        prepared = None if not value else str(check_file(value, what, limits))
    elif kind == "flag":
        prepared = None if value is None else bool(value)
    else:
        prepared = None if value is None or str(value).strip() == "" else str(value).strip()
        known = [str(choice) for choice in port.choices]
        if kind == "choice" and prepared is not None and known and prepared not in known:
            raise InputError(f"{port.title} must be one of {', '.join(known)}, not '{prepared}'")
    if prepared is None and port.required:
        if kind not in INPUT_WIDGET_KINDS:
            raise InputError(
                f"this page has no widget for the input '{port.name}' (kind '{kind}'); use the "
                "Python API or the command line"
            )
        raise InputError(f"{port.title} is required: {port.help or 'give a value'}")
    return prepared


def call_values(
    ports: Collection[Port],
    values: Mapping[str, Any],
    limits: Limits,
    linked: Collection[str] = (),
) -> dict[str, Any]:
    """The keyword arguments of a pipeline call or constructor from page ``values`` by port
    name; ports not given are left out (the pipeline's default applies)."""
    prepared = {
        port.name: prepare(port, values.get(port.name), limits, port.name in linked)
        for port in ports
    }
    return {name: value for name, value in prepared.items() if value is not None}


# ---- pipeline results → page values ------------------------------------------------------------
def display(port: Port, value: Any) -> Any:
    """A result field as the page shows it: images as PIL images, image lists as lists,
    matrices as text, scalars as they are, anything else as its text."""
    if value is None or isinstance(value, Image.Image | bool | int | float | str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(item, Image.Image) for item in value):
        return list(value)
    if port.kind == "matrix" or isinstance(value, np.ndarray):
        return np.array2string(np.asarray(value), precision=4, suppress_small=True)
    return str(value)


def readable(error: BaseException) -> str:
    """One line for the page: the message of a compogan error, a machine failure in words,
    and for anything else its type only (the traceback goes to the server's log)."""
    if isinstance(error, BusyError | RequestTimeout):
        text = str(error)
    elif isinstance(error, CompoganError):
        text = f"error: {error}"
    elif isinstance(error, MemoryError) or (
        isinstance(error, RuntimeError)
        and any(message in str(error).lower() for message in MEMORY_MESSAGES)
    ):
        text = "error: out of memory; try a smaller image"
    elif isinstance(error, OSError):
        text = f"error: {error.strerror or type(error).__name__}"
    else:
        LOGGER.error("request failed", exc_info=error)
        text = f"error: internal error ({type(error).__name__}); the server's log has the details"
    return " ".join(text.split())


@dataclass
class RunOutput:
    """What a request returns: ``message`` (``done ...``, ``busy: ...``, ``timed out: ...`` or
    ``error: ...``, one line) and, when it succeeded, ``values``: display value by output name."""

    message: str
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.message.startswith("done")


def _no_progress(fraction: float | None, message: str) -> None:
    """A :data:`Progress` that reports nothing."""


def run_request(
    store: ModelStore,
    gate: Gate,
    limits: Limits,
    task: str,
    key: str | None,
    inputs: Mapping[str, Any],
    options: Mapping[str, Any] | None = None,
    progress: Progress = _no_progress,
    linked: Collection[str] = (),
) -> RunOutput:
    """Run the ``task`` pipeline on model ``key`` for one page request; never raises.

    Args:
        store: the server's models.
        gate: the server's admission and concurrency control.
        limits: the server's limits.
        task: a key of :data:`compogan.pipelines.PIPELINES`.
        key: the chosen model's key in ``store``.
        inputs: page values by input port name.
        options: page values by option port name.
        progress: called with progress reports.
        linked: the "mask" inputs drawn over the tab's image (see :func:`editor_mask`).
    """
    from compogan.pipelines import PIPELINES

    start = time.monotonic()
    try:
        if task not in PIPELINES:
            raise ConfigError(f"no pipeline serves the task '{task}'")
        cls = PIPELINES[task]
        store.entry(key)
        option_values = call_values(cls.options, options or {}, limits)
        call = call_values(cls.inputs, inputs, limits, linked)

        def work() -> dict[str, Any]:
            progress(0.1, "loading the model (once)")
            pipeline = store.pipeline(str(key), task, option_values)
            progress(0.3, f"running {task}")
            result = pipeline(**call)
            progress(0.9, "preparing the outputs")
            return {
                port.name: display(port, getattr(result, port.name, None)) for port in cls.outputs
            }

        values = gate.run(work, limits.timeout_s, progress)
    except Exception as error:
        return RunOutput(readable(error))
    return RunOutput(f"done in {time.monotonic() - start:.1f} s", values)


def choices_for(store: ModelStore, task: str, key: str | None) -> dict[str, tuple[Any, Any]]:
    """For each "choice" input of ``task``: (choices, default) as model ``key`` narrows them
    (loading it, once). Empty when no model is chosen; raises like
    :meth:`ModelStore.pipeline`."""
    if not key:
        return {}
    ports = store.pipeline(key, task).input_ports()
    return {port.name: (port.choices, port.default) for port in ports if port.kind == "choice"}
