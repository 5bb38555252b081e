"""Writing frame sequences as video: MP4 (H.264 through imageio-ffmpeg, whose ffmpeg binary
ships in its wheel) or an animated GIF (Pillow), each written atomically."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from compogan.errors import InputError
from compogan.io.atomic import atomic_path

VIDEO_SUFFIXES = (".mp4", ".gif")


def check_video_path(path: str | Path) -> Path:
    """``path`` if its suffix is a video format we write; InputError otherwise."""
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise InputError(
            f"a video must be written as {' or '.join(VIDEO_SUFFIXES)}, not '{path.name}'"
        )
    return path


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad an (H, W, 3) frame by edge pixels to even H and W (H.264 needs them)."""
    pad_h, pad_w = frame.shape[0] % 2, frame.shape[1] % 2
    return np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")


def write_video(frames: Sequence[Image.Image], path: str | Path, fps: float = 10.0) -> Path:
    """Write RGB ``frames`` (all one size) to ``path`` (.mp4 or .gif) atomically.

    Raises:
        InputError: no frames, frames of different sizes, or an unknown suffix.
    """
    path = check_video_path(path)
    if not frames:
        raise InputError("no frames to write")
    if len({frame.size for frame in frames}) != 1:
        raise InputError("every frame of a video must have the same size")
    with atomic_path(path) as temporary:
        if path.suffix.lower() == ".gif":
            first, *rest = [frame.convert("RGB") for frame in frames]
            first.save(
                temporary, save_all=True, append_images=rest, duration=round(1000 / fps), loop=0
            )
        else:
            import imageio.v2 as imageio

            with imageio.get_writer(
                temporary, format="FFMPEG", fps=fps, codec="libx264", macro_block_size=1
            ) as writer:
                for frame in frames:
                    writer.append_data(_even(np.asarray(frame.convert("RGB"))))
    return path
