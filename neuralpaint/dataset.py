"""Stroke data sets on disk: sharded ``.npz`` files of (action, rendered stroke) pairs.

Used to train renderers whose engine is too slow or not available on the training device (MyPaint),
and readable by anyone: the layout follows the public MyPaintBrushstrokes data set.

A data set is a directory::

    DIR/dataset.json          {"stroke_type", "stroke_options", "size", "n", "shard_size", "seed",
                               "format_version": 1}
    DIR/shard_00000.npz       actions (n, d) float32 in [0, 1]
                              strokes (n, S, S, 3) uint8  -- the stroke in RGB on a white canvas
                              alphas  (n, S, S)    uint8  -- its opacity (0..255)
    DIR/shard_00001.npz       ...

Shard ``k`` holds strokes ``k * shard_size ..`` of the whole set; every shard but the last is full.
Shards are written atomically, so a directory only ever holds complete shards and an interrupted
``make-dataset`` resumes by writing the missing ones.
"""
from __future__ import annotations

import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import NeuralPaintError
from .fileutil import atomic_path, atomic_write

DATASET_VERSION = 1
INDEX_FILE = "dataset.json"
SHARD_PATTERN = re.compile(r"^shard_(\d{5,})\.npz$")


def shard_name(index: int) -> str:
    """File name of shard ``index`` (``shard_00000.npz``)."""
    return f"shard_{index:05d}.npz"


@dataclass
class StrokeArrays:
    """A block of a data set: ``actions (N, d)`` float32, ``strokes (N, S, S, 3)`` uint8 RGB on
    white, ``alphas (N, S, S)`` uint8."""

    actions: np.ndarray
    strokes: np.ndarray
    alphas: np.ndarray

    def __len__(self) -> int:
        return len(self.actions)

    def check(self, where: str = "stroke arrays") -> None:
        """Raise ``NeuralPaintError`` unless the three arrays agree in length, size and dtype."""
        a, s, al = self.actions, self.strokes, self.alphas
        if a.ndim != 2 or a.dtype != np.float32:
            raise NeuralPaintError(f"{where}: actions must be float32 (N, d), got {a.dtype} {a.shape}")
        if s.ndim != 4 or s.shape[3] != 3 or s.shape[1] != s.shape[2] or s.dtype != np.uint8:
            raise NeuralPaintError(f"{where}: strokes must be uint8 (N, S, S, 3), got {s.dtype} {s.shape}")
        if al.shape != s.shape[:3] or al.dtype != np.uint8:
            raise NeuralPaintError(f"{where}: alphas must be uint8 {s.shape[:3]}, got {al.dtype} {al.shape}")
        if not (len(a) == len(s) == len(al)):
            raise NeuralPaintError(f"{where}: {len(a)} actions but {len(s)} strokes and {len(al)} alphas")
        if a.size and (not np.isfinite(a).all() or a.min() < 0 or a.max() > 1):
            raise NeuralPaintError(f"{where}: actions must be finite and in [0, 1]")


def write_shard(path: str | os.PathLike, arrays: StrokeArrays) -> Path:
    """Write one shard atomically (uncompressed ``.npz``: strokes compress poorly and load faster)."""
    arrays.check(str(path))
    with atomic_write(path) as f:
        np.savez(f, actions=arrays.actions, strokes=arrays.strokes, alphas=arrays.alphas)
    return Path(path)


def read_shard(path: str | os.PathLike) -> StrokeArrays:
    """One shard, checked; ``NeuralPaintError`` naming the file when it is missing or malformed."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = StrokeArrays(z["actions"], z["strokes"], z["alphas"])
    except FileNotFoundError:
        raise NeuralPaintError(f"{p}: no such shard") from None
    except KeyError as err:
        raise NeuralPaintError(f"{p}: shard lacks {err}") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise NeuralPaintError(f"{p}: not a readable shard ({type(err).__name__})") from None
    arrays.check(str(p))
    return arrays


def write_index(directory: str | os.PathLike, info: dict) -> Path:
    """Write ``dataset.json`` (``info`` plus ``format_version``) atomically."""
    path = Path(directory) / INDEX_FILE
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({**info, "format_version": DATASET_VERSION}, indent=2) + "\n")
    return path


def read_index(directory: str | os.PathLike) -> dict:
    """The ``dataset.json`` of a data set directory, checked."""
    path = Path(directory) / INDEX_FILE
    if not path.is_file():
        raise NeuralPaintError(f"{directory}: not a stroke data set (no {INDEX_FILE})")
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise NeuralPaintError(f"{path}: unreadable ({type(err).__name__})") from None
    if not isinstance(info, dict) or info.get("format_version") != DATASET_VERSION:
        raise NeuralPaintError(f"{path}: unsupported data set format")
    for key in ("stroke_type", "size", "n", "shard_size"):
        if key not in info:
            raise NeuralPaintError(f"{path}: lacks {key!r}")
    return info


def shard_paths(directory: str | os.PathLike) -> list[Path]:
    """The complete shards present in ``directory``, in index order."""
    d = Path(directory)
    found = [(int(m.group(1)), d / name) for name in os.listdir(d) if (m := SHARD_PATTERN.match(name))]
    return [p for _, p in sorted(found)]


def load_dataset(directory: str | os.PathLike, limit: int | None = None) -> tuple[StrokeArrays, dict]:
    """All shards of a data set concatenated (at most ``limit`` strokes), and its index.

    Raises ``NeuralPaintError`` when the directory is not a data set or holds no shard.
    """
    info = read_index(directory)
    paths = shard_paths(directory)
    if not paths:
        raise NeuralPaintError(f"{directory}: the data set has no shards yet")
    parts: list[StrokeArrays] = []
    total = 0
    for p in paths:
        part = read_shard(p)
        if part.strokes.shape[1] != info["size"]:
            raise NeuralPaintError(f"{p}: strokes are {part.strokes.shape[1]} px, the data set says {info['size']}")
        parts.append(part)
        total += len(part)
        if limit is not None and total >= limit:
            break
    arrays = StrokeArrays(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("actions", "strokes", "alphas")))
    if limit is not None:
        arrays = StrokeArrays(arrays.actions[:limit], arrays.strokes[:limit], arrays.alphas[:limit])
    return arrays, info
