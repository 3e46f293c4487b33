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

from ..errors import NeuralPaintError
from ..fileutil import atomic_path, atomic_write

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


# ---- generating a data set ------------------------------------------------------------------------
DEFAULT_SHARD_SIZE = 1000
RENDER_BATCH = 256  # strokes rendered per engine call
MAX_SIZE = 1024  # stroke image side, pixels
_MATCHED_KEYS = ("stroke_type", "stroke_options", "size", "shard_size", "seed")


def shard_seed(seed: int, index: int) -> int:
    """Seed of the generator that draws shard ``index``'s actions: a function of ``(seed, index)``
    only, so a data set does not depend on how many workers made it or in which order."""
    state = np.random.SeedSequence([seed % 2**64, index]).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


def render_arrays(stroke, actions, size: int, batch: int = RENDER_BATCH) -> StrokeArrays:
    """Render ``actions (N, d)`` (a tensor) at ``size x size`` with ``stroke.render``: the stroke
    composited on white as RGB, and its alpha, both rounded to uint8."""
    import torch

    strokes = np.empty((len(actions), size, size, 3), np.uint8)
    alphas = np.empty((len(actions), size, size), np.uint8)
    with torch.no_grad():
        for start in range(0, len(actions), batch):
            colour, alpha = stroke.render(actions[start : start + batch], size, size)
            on_white = (colour * alpha + (1.0 - alpha)).clamp(0.0, 1.0)
            stop = start + colour.shape[0]
            strokes[start:stop] = on_white.mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
            alphas[start:stop] = alpha[:, 0].clamp(0.0, 1.0).mul(255).round().to(torch.uint8).cpu().numpy()
    return StrokeArrays(actions.detach().cpu().numpy().astype(np.float32), strokes, alphas)


_WORKER_STROKES: dict = {}  # (name, options) -> stroke type, per process


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)  # one core per worker


def _make_shard(job: tuple) -> int:
    """Draw, render and write one shard (runs in a worker process or in-process)."""
    import torch

    from ..strokes import get_stroke_type

    name, options_json, size, index, count, seed, directory = job
    key = (name, options_json)
    if key not in _WORKER_STROKES:
        _WORKER_STROKES[key] = get_stroke_type(name, **json.loads(options_json))
    stroke = _WORKER_STROKES[key]
    actions = stroke.sample(count, torch.Generator().manual_seed(shard_seed(seed, index)))
    write_shard(Path(directory) / shard_name(index), render_arrays(stroke, actions, size))
    return count


def _shard_length(path: Path) -> int | None:
    """Strokes in a shard on disk, or ``None`` when it is unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return int(z["actions"].shape[0])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return None


def make_dataset(stroke, n: int, out_dir: str | os.PathLike, *, size: int = 64,
                 shard_size: int = DEFAULT_SHARD_SIZE, workers: int = 1, seed: int = 0,
                 progress: bool = True) -> dict:
    """Make (or finish) a data set of ``n`` random strokes in ``out_dir`` (see the module docstring).

    Args:
        stroke: a ``StrokeType`` (or a registered name); its training sampler ``sample`` draws the
            actions, ``render(actions, size, size)`` draws them.
        n: number of strokes; ``size``: side of the stroke images in pixels.
        shard_size: strokes per shard file; ``workers``: worker processes rendering shards.
        seed: shard ``k`` draws its actions from a generator seeded by ``shard_seed(seed, k)``, so
            the data set depends on ``seed`` only, not on ``workers``.
        progress: show a progress bar on stderr.

    Resumable: complete shards already in ``out_dir`` are kept (shards beyond a smaller ``n`` are
    removed, a last shard of the wrong length is redone). The ``dataset.json`` there must match the
    stroke type, its options, ``size``, ``shard_size`` and ``seed``, else ``NeuralPaintError``.

    Returns a summary: ``n``, ``shards``, ``written`` and ``kept`` shard counts, ``seconds`` and
    ``strokes_per_second`` (of the strokes rendered now), ``out``.
    """
    import sys
    import time

    from ..strokes import StrokeType, get_stroke_type

    if isinstance(stroke, str):
        stroke = get_stroke_type(stroke)
    if not isinstance(stroke, StrokeType):
        raise TypeError(f"stroke must be a StrokeType or a name, got {type(stroke).__name__}")
    for label, value, low, high in (("n", n, 0, None), ("size", size, 1, MAX_SIZE),
                                    ("shard size", shard_size, 1, None), ("workers", workers, 1, None)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low \
                or (high is not None and value > high):
            limit = f"{low}..{high}" if high is not None else f"at least {low}"
            raise NeuralPaintError(f"{label} must be an integer {limit}, got {value!r}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NeuralPaintError(f"{out}: exists and is not a directory")
    info = {"stroke_type": stroke.name, "stroke_options": stroke.options, "size": int(size), "n": int(n),
            "shard_size": int(shard_size), "seed": int(seed)}
    if (out / INDEX_FILE).exists():
        old = read_index(out)
        differ = [k for k in _MATCHED_KEYS if old.get(k) != json.loads(json.dumps(info[k]))]
        if differ:
            what = ", ".join(f"{k} {old.get(k)!r} (asked {info[k]!r})" for k in differ)
            raise NeuralPaintError(f"{out}: holds a different data set: {what}; use another directory "
                                   "or the same settings to resume")
    elif out.is_dir() and shard_paths(out):
        raise NeuralPaintError(f"{out}: has shards but no {INDEX_FILE}; not resuming into it")

    n_shards = -(-n // shard_size)
    counts = [min(shard_size, n - k * shard_size) for k in range(n_shards)]
    out.mkdir(parents=True, exist_ok=True)
    write_index(out, info)
    for path in shard_paths(out):  # shards beyond a smaller n
        if int(SHARD_PATTERN.match(path.name).group(1)) >= n_shards:
            path.unlink()
    todo = [k for k in range(n_shards) if _shard_length(out / shard_name(k)) != counts[k]]
    kept = n_shards - len(todo)
    summary = {"n": n, "shards": n_shards, "written": len(todo), "kept": kept, "seconds": 0.0,
               "strokes_per_second": 0.0, "out": str(out)}
    if not todo:
        return summary

    import torch

    with torch.no_grad():  # fail here, in one line, rather than in every worker
        stroke.render(stroke.sample(1, torch.Generator().manual_seed(0)), size, size)
    options_json = json.dumps(stroke.options, sort_keys=True)
    jobs = [(stroke.name, options_json, int(size), k, counts[k], int(seed), str(out)) for k in todo]
    from tqdm import tqdm

    start = time.perf_counter()
    total = sum(counts[k] for k in todo)
    with tqdm(total=n, initial=n - total, unit="stroke", desc="make-dataset", file=sys.stderr,
              disable=not progress, leave=False) as bar:
        if workers == 1 or len(jobs) == 1:
            _WORKER_STROKES[(stroke.name, options_json)] = stroke
            for job in jobs:
                bar.update(_make_shard(job))
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            # fork: workers start at once and need no importable __main__; torch in them is
            # single-threaded (as in torch's DataLoader workers)
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), initializer=_worker_init,
                                       mp_context=multiprocessing.get_context(method))
            try:
                futures = [pool.submit(_make_shard, job) for job in jobs]
                for future in as_completed(futures):
                    bar.update(future.result())
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    seconds = time.perf_counter() - start
    summary.update(seconds=seconds, strokes_per_second=total / seconds if seconds > 0 else 0.0)
    return summary
