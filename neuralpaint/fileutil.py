"""Atomic file writing: a reader never sees a half-written file, and a failed write leaves none.

The data goes to a hidden temporary file in the destination's directory (so ``os.replace`` is a
rename within one file system, which is atomic), named ``.<name>.<pid>-<random>.tmp<suffix>``: it
keeps the real suffix, so writers that choose the format from the file name (image encoders, video
writers) still work. On success the temporary file replaces the destination; on any error it is
deleted and the destination is left untouched. A process killed outright (SIGKILL, power loss)
cannot delete its temporary file: the next write to that directory deletes the temporary files of
ours whose process is gone (``remove_stale_temporaries``).
"""
from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


_TEMPORARY = re.compile(r"^\..+\.(\d+)-[0-9a-f]{8}\.tmp(\.[^.]*)?$")


def temporary_path(path: Path) -> Path:
    """A new hidden temporary path beside ``path`` (``.<name>.<pid>-<random>.tmp<suffix>``),
    after deleting the stale temporary files of dead processes in that directory."""
    remove_stale_temporaries(path.parent)
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp{path.suffix}")


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Delete our temporary files in ``directory`` whose writing process no longer runs; returns
    them. Files of running processes (this one included) are left alone."""
    removed = []
    try:
        names = [entry.name for entry in os.scandir(directory) if entry.name.startswith(".")]
    except OSError:
        return removed
    for name in names:
        match = _TEMPORARY.match(name)
        if match is None or _running(int(match.group(1))):
            continue
        try:
            (directory / name).unlink()
            removed.append(directory / name)
        except OSError:
            pass
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process, or not a pid at all
        return pid > 0
    return True


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` for the caller to write; then move it onto ``path``.

    Parent directories are created. The temporary file is not created in advance; whatever the
    caller writes there replaces ``path`` when the block exits normally, and is removed when it
    raises.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yield a binary file open for writing whose contents atomically replace ``path``.

    The data is flushed to disk (``fsync``) before the rename, so after a crash ``path`` holds
    either the old or the new contents in full.
    """
    with atomic_path(path) as tmp, open(tmp, "xb") as f:
        yield f
        f.flush()
        os.fsync(f.fileno())


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; ``NeuralPaintError`` when it cannot be written."""
    from .errors import NeuralPaintError

    path = Path(path)
    try:
        with atomic_write(path) as f:
            f.write(text.encode("utf-8"))
    except OSError as err:
        raise NeuralPaintError(f"{path}: cannot write: {err.strerror or err}") from None
    return path
