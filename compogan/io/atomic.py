"""Atomic writes: a file or folder either appears complete at its path or not at all.

Everything compogan writes (images, checkpoints, configs, metric reports) goes through a
temporary name in the same folder and is moved onto the real path with :func:`os.replace` only
once it is complete, so an interrupted run never leaves a half-written file behind.

Temporary names are ``.{name}.tmp-p{pid}-{hex}{suffix}``: the writing process's id is part of
the name, so :func:`remove_stale_temporaries` can delete the ones a killed process left behind
(a process that no longer runs) without touching those of a live writer. Finished files get the
permissions of the user's umask, like any file the user's programs create.
"""

import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

_STALE_PATTERN = re.compile(r"^\..+\.tmp-(?:p(?P<pid>\d+)-)?[0-9a-f]{8}(?:\.[^.]*)?$")
LEGACY_STALE_SECONDS = 3600
"""A temporary name without a process id (older compogan) counts as stale after an hour."""
_UMASK_LOCK = threading.Lock()


def _temporary_sibling(target: Path, kind: str) -> Path:
    """An unused hidden name next to ``target``: ``.{name}.{kind}-p{pid}-{hex}{suffix}``."""
    while True:
        token = f"p{os.getpid()}-{secrets.token_hex(4)}"
        candidate = target.with_name(f".{target.name}.{kind}-{token}{target.suffix}")
        if not candidate.exists() and not candidate.is_symlink():
            return candidate


def _process_alive(pid: int) -> bool:
    """Whether a process with this id runs (or may run: one of another user)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files and folders of :func:`atomic_path` / :func:`atomic_dir` in
    ``folder`` that a killed process left behind; returns the paths removed.

    Only names of this module's pattern (``.{name}.tmp-p{pid}-{hex}{suffix}``) whose process no
    longer runs are removed (and names without a process id older than
    :data:`LEGACY_STALE_SECONDS`); ``.{name}.old-*`` folders, which may hold the only copy of a
    replaced folder, are kept. A missing folder is no error.
    """
    directory = Path(folder)
    if not directory.is_dir():
        return []
    removed = []
    for entry in directory.iterdir():
        match = _STALE_PATTERN.match(entry.name)
        if match is None:
            continue
        pid = match.group("pid")
        if pid is not None:
            stale = not _process_alive(int(pid))
        else:
            try:
                stale = time.time() - entry.lstat().st_mtime > LEGACY_STALE_SECONDS
            except OSError:
                stale = False
        if stale:
            _remove(entry)
            removed.append(entry)
    return removed


def _current_umask() -> int:
    """The process's umask (read by setting and restoring it, under a lock)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _apply_umask(path: Path) -> None:
    """Give a finished file the mode a new file of the user's gets (0666 minus the umask):
    some writers (safetensors) create their files 0600."""
    with suppress(OSError):
        os.chmod(path, 0o666 & ~_current_umask())


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

    The temporary name is ``.{name}.tmp-p{pid}-{random}{suffix}`` in the same folder (so the move
    is a rename on the same file system, and the real suffix lets writers such as PIL pick the
    format). Parent folders are created; the finished file gets the umask's permissions. If the
    block raises, the temporary file is deleted and the exception propagates; ``path`` is left
    untouched. The block must create the file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_sibling(target, "tmp")
    try:
        yield temporary
        _fsync_file(temporary)
        _apply_umask(temporary)
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
