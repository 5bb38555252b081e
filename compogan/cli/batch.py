"""The shared shape of every batch command: files and folders in, one output per input.

:func:`plan_batch` finds and checks every input and its output ``out/<stem>.png`` before a model
loads (refusing name clashes); :func:`write_batch` saves each result atomically with a progress
bar and reports the inputs that failed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from compogan.errors import InputError

if TYPE_CHECKING:
    from compogan.pipelines.base import PipelineResult

SAVES_AHEAD = 2
"""How many results :func:`write_batch` may hold while they are being saved."""


@dataclass(frozen=True)
class Batch:
    """Image files in, one output file per input (``out/<stem>.png``); see :func:`plan_batch`.

    Attributes:
        out: the output folder.
        sources: the input image files, in order.
        targets: the output file of each.
        what: what the inputs are called in messages ("inputs", "backgrounds").
        skipped: with ``skip_bad``, "name: reason" of each input left out because it failed
            its check; :func:`write_batch` reports them after writing the others.
    """

    out: Path
    sources: tuple[Path, ...]
    targets: tuple[Path, ...]
    what: str
    skipped: tuple[str, ...] = ()


def plan_batch(
    inputs: Sequence[Path],
    out: Path,
    what: str = "inputs",
    check: Callable[[Path], object] | None = None,
    skip_bad: bool = False,
) -> Batch:
    """Every image file among ``inputs`` (files and folders) with its output ``out/<stem>.png``,
    all checked before a model loads.

    Args:
        inputs: image files and folders of them.
        out: the output folder.
        what: what the inputs are called in messages.
        check: reads and checks one input, raising InputError (default: the image loads).
        skip_bad: leave out the inputs ``check`` refuses (listed in ``Batch.skipped``) instead
            of refusing the whole batch (the default: nothing is written at all).

    Raises:
        InputError: a missing file or folder, a folder without images, an input ``check``
            refuses (without ``skip_bad``; with it, when every input is refused), two inputs
            whose outputs would be the same file, or an output folder that is a file.
    """
    from compogan.io.images import list_images, load_image

    sources = tuple(list_images(*inputs))
    targets = tuple(out / f"{source.stem}.png" for source in sources)
    first_source: dict[Path, Path] = {}
    for source, target in zip(sources, targets, strict=True):
        if target in first_source:
            raise InputError(
                f"several {what} would be written to {target} ({first_source[target]} and "
                f"{source}); rename them or run them separately"
            )
        first_source[target] = source
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder")
    kept: list[int] = []
    skipped: list[str] = []
    for index, source in enumerate(sources):
        try:
            (check or load_image)(source)
        except InputError as error:
            if not skip_bad:
                raise
            skipped.append(f"{source}: {error}")
            continue
        kept.append(index)
    if not kept:
        raise InputError(f"all {len(sources)} {what} were skipped (first: {skipped[0]})")
    return Batch(
        out,
        tuple(sources[i] for i in kept),
        tuple(targets[i] for i in kept),
        what,
        tuple(skipped),
    )


def write_batch(
    batch: Batch,
    results: Iterable[PipelineResult | InputError],
    extras: Collection[str] = (),
) -> int:
    """Save each result at its input's target (atomically, with its ``extras``), showing a
    progress bar for more than one input; returns how many were written.

    Saving runs in a background thread, at most :data:`SAVES_AHEAD` results behind, so the
    next input is decoded and computed while the last one is encoded and written.

    A result may be the InputError of an input that failed when the command carries on with the
    others; the failures are raised together once every other result is written.

    Temporary files a killed earlier run left in the output folder are removed first.

    Raises:
        InputError: some inputs failed or were skipped (the message counts them and names
            every skipped one).
    """
    from compogan.io.atomic import remove_stale_temporaries
    from compogan.pipelines.base import progress_bar

    remove_stale_temporaries(batch.out)
    failures: list[str] = []
    pairs = zip(batch.sources, batch.targets, results, strict=True)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="compogan-save") as saver:
        saving: deque[Future[None]] = deque()
        for source, target, result in progress_bar(pairs, total=len(batch.sources)):
            if isinstance(result, InputError):
                failures.append(f"{source.name}: {result}")
                continue
            saving.append(saver.submit(result.save, target, extras))
            while len(saving) > SAVES_AHEAD:
                saving.popleft().result()
        while saving:
            saving.popleft().result()
    if batch.skipped:
        total = len(batch.sources) + len(batch.skipped)
        raise InputError(
            f"skipped {len(batch.skipped)} of {total} {batch.what}, the others were written to "
            f"{batch.out}"
            + (f" ({len(failures)} more failed)" if failures else "")
            + ": "
            + "; ".join(batch.skipped)
        )
    if failures:
        raise InputError(
            f"{len(failures)} of {len(batch.sources)} {batch.what} failed, the others were "
            f"written to {batch.out} (first: {failures[0]})"
        )
    return len(batch.sources)
