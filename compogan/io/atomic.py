"""Atomic writes: a file or folder either appears complete at its path or not at all.

Everything compogan writes (images, checkpoints, configs, metric reports) goes through a
temporary name in the same folder and is moved onto the real path with :func:`os.replace` only
once it is complete, so an interrupted run never leaves a half-written file behind.
"""

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _temporary_sibling(target: Path, kind: str) -> Path:
    """An unused hidden name next to ``target``: ``.{name}.{kind}-{hex}{suffix}``."""
    while True:
        candidate = target.with_name(f".{target.name}.{kind}-{secrets.token_hex(4)}{target.suffix}")
        if not candidate.exists() and not candidate.is_symlink():
            return candidate


def _fsync_file(path: Path) -> None:
    """Flush a written file's data to disk."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    """Flush a folder's entries to disk where the platform allows it (best effort)."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _remove(path: Path) -> None:
    """Delete a file, link or folder if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary file path next to ``path``; move it onto ``path`` when the block succeeds.

    The temporary name is ``.{name}.tmp-{random}{suffix}`` in the same folder (so the move is a
    rename on the same file system, and the real suffix lets writers such as PIL pick the format).
    Parent folders are created. If the block raises, the temporary file is deleted and the
    exception propagates; ``path`` is left untouched. The block must create the file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_sibling(target, "tmp")
    try:
        yield temporary
        _fsync_file(temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding=encoding)


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder next to ``path``; put it in place of ``path`` on success.

    On success an existing ``path`` (folder or file) is moved aside, the new folder is renamed
    onto ``path`` and the old one is deleted; a crash between the two renames leaves the old
    content under a hidden ``.{name}.old-*`` name rather than losing it. On failure the
    temporary folder is deleted and the exception propagates; ``path`` is left untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_sibling(target, "tmp")
    temporary.mkdir()
    try:
        yield temporary
        _replace_dir(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _replace_dir(new: Path, target: Path) -> None:
    """Rename folder ``new`` onto ``target``, deleting whatever ``target`` was before."""
    if not (target.exists() or target.is_symlink()):
        os.replace(new, target)
        _fsync_dir(target.parent)
        return
    previous = _temporary_sibling(target, "old")
    os.replace(target, previous)
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(previous, target)
        raise
    _fsync_dir(target.parent)
    _remove(previous)
