"""Atomic file writing: a reader never sees a half-written file, and a failed write leaves none.

The data goes to a hidden temporary file in the destination's directory (so ``os.replace`` is a
rename within one file system, which is atomic), named ``.<name>.<random>.tmp<suffix>``: it keeps
the real suffix, so writers that choose the format from the file name (image encoders, video
writers) still work. On success the temporary file replaces the destination; on any error it is
deleted and the destination is left untouched.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` for the caller to write; then move it onto ``path``.

    Parent directories are created. The temporary file is not created in advance; whatever the
    caller writes there replaces ``path`` when the block exits normally, and is removed when it
    raises.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp{path.suffix}")
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
