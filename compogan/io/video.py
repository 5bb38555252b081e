"""Writing frame sequences as MP4 or GIF files, atomically.

MP4 goes through the ffmpeg binary that the ``imageio-ffmpeg`` wheel ships (H.264, yuv420p, so
frame sides are padded to even numbers); GIF through Pillow. Frames of different sizes (a
retargeting sweep) are placed on one canvas of the largest size. The file appears only when
every frame is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from compogan.errors import InputError
from compogan.io.atomic import atomic_path

VIDEO_SUFFIXES = (".mp4", ".gif")


def check_video_path(path: str | Path) -> Path:
    """``path`` if it names an .mp4 or .gif file in a usable place.

    Raises:
        InputError: another suffix, or the path is a folder.
    """
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise InputError(f"video output {path} must end in .mp4 or .gif")
    if path.is_dir():
        raise InputError(f"video output {path} is a folder")
    return path


def on_canvas(
    frames: Sequence[Image.Image], background: tuple[int, int, int] = (255, 255, 255)
) -> list[Image.Image]:
    """RGB frames of one size: each pasted at the top-left of a canvas as large as the largest
    frame in each direction (rounded up to even sides, as H.264 needs)."""
    width = max(frame.width for frame in frames)
    height = max(frame.height for frame in frames)
    width, height = width + width % 2, height + height % 2
    placed = []
    for frame in frames:
        canvas = Image.new("RGB", (width, height), background)
        canvas.paste(frame.convert("RGB"), (0, 0))
        placed.append(canvas)
    return placed


def _write_gif(frames: list[Image.Image], path: Path, fps: float) -> None:
    duration = max(round(1000 / fps), 20)
    frames[0].save(
        path, format="GIF", save_all=True, append_images=frames[1:], duration=duration, loop=0
    )


def _write_mp4(frames: list[Image.Image], path: Path, fps: float) -> None:
    try:
        import imageio_ffmpeg
    except ImportError:
        raise InputError("MP4 output needs imageio-ffmpeg (pip install imageio-ffmpeg)") from None
    width, height = frames[0].size
    writer = imageio_ffmpeg.write_frames(
        str(path), (width, height), fps=fps, codec="libx264", pix_fmt_out="yuv420p",
        macro_block_size=1, ffmpeg_log_level="error",
    )  # fmt: skip
    writer.send(None)
    try:
        for frame in frames:
            writer.send(np.ascontiguousarray(np.asarray(frame, dtype=np.uint8)))
    finally:
        writer.close()


def write_video(frames: Iterable[Image.Image], path: str | Path, fps: float = 10.0) -> Path:
    """Write ``frames`` (PIL images, any sizes) to ``path`` (.mp4 or .gif) atomically.

    Raises:
        InputError: no frames, a bad suffix, or fps out of (0, 120].
    """
    path = check_video_path(path)
    if not 0 < fps <= 120:
        raise InputError(f"fps must be in (0, 120], got {fps}")
    frames = list(frames)
    if not frames:
        raise InputError("no frames to write")
    placed = on_canvas(frames)
    with atomic_path(path) as temporary:
        if path.suffix.lower() == ".gif":
            _write_gif(placed, temporary, fps)
        else:
            _write_mp4(placed, temporary, fps)
    return path
