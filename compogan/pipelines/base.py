"""The base of every pipeline: loading, device, declared inputs and outputs, results, progress.

A pipeline is the task API of one task (``"translate"``, ``"inpaint"``, ``"compose"``) over any
model that serves it (:mod:`compogan.models.tasks`); a model that does not is refused with one
line naming the model and the task.

>>> from compogan.pipelines import Translator
>>> translator = Translator.from_pretrained("runs/dn", device="cpu")     # doctest: +SKIP
>>> translator("day.png").save("out/day.png")                             # doctest: +SKIP
>>> for result in translator.map(["a.png", "b.png"], progress=True):      # doctest: +SKIP
...     result.image.show()

Declarations, read by the command line and the web page: :attr:`Pipeline.inputs` are the
parameters of ``__call__``, in order; :attr:`Pipeline.options` the keyword options of the
constructor and :meth:`Pipeline.from_pretrained`; :attr:`Pipeline.outputs` the fields of the
result. Each is a :class:`Port`; :meth:`Pipeline.input_ports` gives an instance's inputs narrowed
to its model (a one-direction CycleGAN offers only "AtoB").

Inputs of kind "image" take a path, a PIL image or an (H, W, 3) uint8 array; "rgba" an RGBA file,
an RGBA PIL image or an (H, W, 4) uint8 array; "mask" a path, a PIL image or an (H, W) array in
[0, 1]. Any size works: pipelines pad to what the model's networks need and crop back.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

import torch
from PIL import Image

from compogan.errors import CheckpointError, ConfigError, InputError
from compogan.io.atomic import atomic_write_text
from compogan.io.images import IMAGE_SUFFIXES, save_image
from compogan.train.distributed import select_device

if TYPE_CHECKING:
    from compogan.models.base import GANModel

T = TypeVar("T")

PORT_KINDS = {
    "image": "an RGB image: a path, a PIL image or an (H, W, 3) uint8 array",
    "rgba": "an image with alpha: an RGBA file, an RGBA PIL image or an (H, W, 4) uint8 array",
    "mask": "a one-channel map, white / 1 = set: a path, a PIL image or an (H, W) array in [0, 1]",
    "number": "an int or a float",
    "choice": "one of the port's choices",
    "flag": "True or False",
    "text": "a string",
    "placement": "an initial placement x,y,scale,angle: a tuple of four numbers or its text",
    "pose": "a pose file (joint coordinates)",
    "images": "a list of RGB images (outputs)",
    "matrix": "a numeric array (outputs), e.g. a 3x3 homography",
}
"""Every kind of :class:`Port`, with what a value of it is."""


@dataclass(frozen=True)
class Port:
    """One declared input, option or output of a pipeline.

    Attributes:
        name: the parameter (input, option) or result field (output) name.
        kind: one of :data:`PORT_KINDS`.
        default: the value used when the caller gives none (None: the pipeline's own choice,
            told in ``help``).
        choices: the allowed values of a "choice" port.
        help: one line for a user.
        required: the caller must give a value.
        label: a short title for forms (the web page); default the name, spaced.
        minimum: the smallest allowed value of a "number" port (None: no bound).
        maximum: the largest allowed value of a "number" port (None: no bound).
        step: the increment of a "number" port's control; 1 makes it an integer.
    """

    name: str
    kind: str
    default: Any = None
    choices: tuple[Any, ...] = ()
    help: str = ""
    required: bool = False
    label: str = ""
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in PORT_KINDS:
            raise ValueError(f"unknown port kind '{self.kind}'; use one of {list(PORT_KINDS)}")

    @property
    def title(self) -> str:
        """:attr:`label`, or the name with underscores as spaces, capitalised."""
        return self.label or self.name.replace("_", " ").capitalize()


def beside(base: Path, tag: str) -> Path:
    """``<stem>_<tag><suffix>`` in the folder of ``base``: where an extra output goes."""
    return base.with_name(f"{base.stem}_{tag}{base.suffix}")


@dataclass
class PipelineResult:
    """Base of the pipelines' results: the outputs as fields, written by :meth:`save`.

    Class attributes:
        main: the field written to the target file (an image).
        extras: the other outputs :meth:`save` can write beside it.
    """

    main: ClassVar[str]
    extras: ClassVar[tuple[str, ...]] = ()

    def extra_files(self, base: Path, names: Collection[str]) -> dict[Path, Image.Image | str]:
        """The extra outputs ``names`` as files beside the main file ``base``: path → image,
        or JSON text for ``.json`` paths. Default: none."""
        return {}

    def save(self, target: str | Path, extras: Collection[str] | None = None) -> list[Path]:
        """Write the result, each file atomically; returns the paths written.

        Args:
            target: an image file name (``out/photo.png``; the suffix picks the format): the
                main output goes there and each extra beside it (``out/photo_edges.png``,
                ``out/photo_step1.png``, ``out/photo.warp.json``): what the command line writes
                per input. Or a folder (no suffix, or an existing folder): the main output is
                ``<folder>/<main>.png`` (``out/composite.png``) with the extras beside it.
            extras: names among :attr:`extras` to write too; default none for a file, all
                for a folder.

        Raises:
            ConfigError: an unknown extra name.
            InputError: a target that is neither an image file name nor a folder, or a file
                that cannot be written.
        """
        base, names = self._target(Path(target), extras)
        files = {base: getattr(self, self.main), **self.extra_files(base, names)}
        for path, content in files.items():
            if isinstance(content, str):
                atomic_write_text(path, content)
            else:
                save_image(content, path)
        return list(files)

    def _target(self, target: Path, extras: Collection[str] | None) -> tuple[Path, list[str]]:
        unknown = sorted(set(extras or ()) - set(self.extras))
        if unknown:
            raise ConfigError(
                f"{type(self).__name__} has no output '{unknown[0]}'; its extra outputs are "
                f"{', '.join(self.extras) or 'none'}"
            )
        if target.suffix.lower() in IMAGE_SUFFIXES and not target.is_dir():
            return target, list(extras or ())
        if target.suffix and not target.is_dir():
            raise InputError(
                f"'{target}' is neither an image file name ({', '.join(sorted(IMAGE_SUFFIXES))})"
                " nor a folder"
            )
        names = list(self.extras if extras is None else extras)
        return target / f"{self.main}.png", names


def progress_bar(
    items: Iterable[T], enabled: bool = True, total: int | None = None, unit: str = "img"
) -> Iterable[T]:
    """``items`` with a progress bar on stderr when ``enabled`` and there is more than one.

    ``total`` defaults to ``len(items)`` when ``items`` has a length (a bar without an end
    otherwise).
    """
    from tqdm import tqdm

    if total is None and isinstance(items, Sized):
        total = len(items)
    return tqdm(items, total=total, unit=unit, disable=not enabled or total == 1)


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of ``tile`` px covering ``length`` px, neighbours sharing at
    least ``overlap`` px; the last tile ends at ``length``."""
    if length <= tile:
        return [0]
    stride = max(1, tile - overlap)
    starts = list(range(0, length - tile, stride))
    return [*starts, length - tile]


def _ramp(length: int, overlap: int, ramp_start: bool, ramp_end: bool) -> torch.Tensor:
    """(length,) blending weights: rising over the first ``overlap`` px (if ``ramp_start``),
    falling over the last (if ``ramp_end``), 1 elsewhere; never 0."""
    position = torch.arange(length, dtype=torch.float32)
    weight = torch.ones(length)
    if overlap > 0:
        if ramp_start:
            weight = torch.minimum(weight, (position + 1) / (overlap + 1))
        if ramp_end:
            weight = torch.minimum(weight, (length - position) / (overlap + 1))
    return weight


def run_tiled(
    function: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    tile: int,
    overlap: int,
) -> torch.Tensor:
    """Apply a fully convolutional ``function`` to overlapping tiles and blend the seams.

    For any pipeline whose network maps (N,C,H,W) to (N,C',H,W) pixel for pixel (a translator,
    a fill network): images larger than ``tile`` on a side are cut into tiles of at most
    ``tile`` x ``tile`` px whose neighbours share ``overlap`` px; each output pixel is the
    average of the tiles covering it, weighted by linear ramps across the shared bands, so no
    seam shows. Memory then grows with ``tile``, not with the image. Networks with global
    statistics (InstanceNorm) see each tile's own statistics, so tiled output differs slightly
    from the whole image's.

    Args:
        function: the network's forward pass, (N,C,h,w) → (N,C',h,w).
        images: (N,C,H,W); H and W, ``tile`` and the image's size as the network requires
            (e.g. multiples of its ``size_multiple``).
        tile: the largest tile side.
        overlap: px shared by neighbouring tiles (less than ``tile``).

    Returns:
        (N,C',H,W), on ``images``' device.
    """
    height, width = images.shape[-2:]
    if height <= tile and width <= tile:
        return function(images)
    rows, columns = tile_starts(height, tile, overlap), tile_starts(width, tile, overlap)
    output: torch.Tensor | None = None
    total = torch.zeros(1, 1, height, width, device=images.device)
    for top in rows:
        for left in columns:
            tile_h, tile_w = min(tile, height), min(tile, width)
            result = function(images[..., top : top + tile_h, left : left + tile_w])
            weight = (
                _ramp(tile_h, overlap, top > 0, top + tile_h < height)[:, None]
                * _ramp(tile_w, overlap, left > 0, left + tile_w < width)[None, :]
            ).to(images.device)
            if output is None:
                output = torch.zeros(
                    (*result.shape[:2], height, width), dtype=result.dtype, device=images.device
                )
            window = (..., slice(top, top + tile_h), slice(left, left + tile_w))
            output[window] += result * weight
            total[window] += weight
    return output / total


def check_serves(model: GANModel, task: str) -> None:
    """Refuse a model that does not serve ``task`` (its class attribute ``tasks``).

    Raises:
        CheckpointError: one line naming the model and the task.
    """
    if task not in model.tasks:
        served = ", ".join(model.tasks) or "no pipeline task"
        raise CheckpointError(
            f"a '{model.name}' model does not serve the {task} task (it serves {served})"
        )


class Pipeline:
    """Base of the task pipelines (see the module docstring).

    Subclasses set :attr:`task`, :attr:`inputs`, :attr:`outputs` (and :attr:`options`) and
    implement ``__call__`` with the inputs as parameters, returning a :class:`PipelineResult`.

    Args:
        model: a model that serves :attr:`task`.
        device: "auto" (cuda > mps > cpu), "cpu", "cuda", "cuda:1", "mps".

    Every pipeline refuses weights whose trained networks do not cover what it runs
    (:meth:`compogan.models.base.GANModel.check_trained`: a stage-1 EdgeConnect run has no
    trained G2): a model with stages or modes declares ``networks_trained_by_config`` and
    ``inference_networks``; a pipeline whose calls need more networks with some options
    checks again per call (the Inpainter, when it predicts edges).

    Nothing a pipeline outputs may depend on the pixels it is asked to replace (an inpainting
    hole, a foreground's transparent pixels); tests/test_reliability_pipelines.py checks it
    for every inpainting and compositing pipeline.

    Raises:
        CheckpointError: the model does not serve the task, or holds untrained networks the
            task runs.
    """

    task: ClassVar[str]
    inputs: ClassVar[tuple[Port, ...]]
    outputs: ClassVar[tuple[Port, ...]]
    options: ClassVar[tuple[Port, ...]] = ()

    def __init__(self, model: GANModel, device: str | torch.device = "auto") -> None:
        check_serves(model, self.task)
        model.check_trained(self.task)
        self.model = model.eval()
        self.to(device)

    @classmethod
    def from_pretrained(
        cls, weights: str | Path, device: str | torch.device = "auto", **options: Any
    ) -> Self:
        """Load ``weights`` through :func:`compogan.load` and build the pipeline on them.

        ``weights`` is a run directory, a ``save_pretrained`` directory or official files an
        importer recognises (:mod:`compogan.interop`); ``options`` are :attr:`options`.

        Raises:
            CheckpointError: nothing loadable there, or a model that does not serve the task
                (refused before its weights are read).
        """
        import compogan

        return cls(compogan.load(weights, task=cls.task), device, **options)

    def to(self, device: str | torch.device) -> Self:
        """Move the pipeline's model to ``device`` ("auto" chooses one); returns the pipeline.

        Raises:
            ConfigError: the device is unknown or not available here.
        """
        self.device = select_device(device) if isinstance(device, str) else torch.device(device)
        self.model.to(self.device)
        return self

    def input_ports(self) -> tuple[Port, ...]:
        """:attr:`inputs` as this instance's model takes them (choices narrowed to it)."""
        return self.inputs

    def __call__(self, *args: Any, **kwargs: Any) -> PipelineResult:
        """Run the pipeline on one set of :attr:`inputs`."""
        raise NotImplementedError

    def map(
        self, items: Iterable[Any], progress: bool = False, **shared: Any
    ) -> Iterator[PipelineResult]:
        """Run the pipeline on many inputs, lazily, in order.

        Args:
            items: per call, a mapping of input names to values, or the value of the first
                input alone.
            progress: show a progress bar on stderr.
            shared: inputs given to every call (an item's own values take precedence).
        """
        first = self.inputs[0].name
        for item in progress_bar(items, enabled=progress):
            values = dict(item) if isinstance(item, Mapping) else {first: item}
            yield self(**{**shared, **values})
