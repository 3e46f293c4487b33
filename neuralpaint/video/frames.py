"""Frames in: a video file, an animated GIF or a folder of images, as float RGB arrays.

``open_frames(path, start, end, fps)`` checks the input and returns a ``Clip``: its frame rate, the
frames it will yield and an iterator over them, ``(H, W, 3)`` float32 in [0, 1], read one at a
time (imageio + its ffmpeg plugin for video; ``imagefiles.read_image`` for a folder).

``start`` and ``end`` are frame numbers (``"12"``) or times (``"1.5s"``); ``end`` is exclusive.
``fps`` keeps every k-th frame so that about ``fps`` frames a second remain.

Bad input -- a missing path, something that is not a video, an empty clip or range, frames of
different sizes in a folder -- raises ``NeuralPaintError`` with a one-line message.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import NeuralPaintError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
FOLDER_FPS = 25.0  # a folder of frames has no frame rate of its own


@dataclass
class Clip:
    """Frames chosen from a source: ``indices`` (source frame numbers, ascending) at ``fps``."""

    source: Path
    fps: float
    indices: list[int]
    size: tuple[int, int]  # (height, width) of the source frames

    def __len__(self) -> int:
        return len(self.indices)

    def frames(self, skip: int = 0) -> Iterator[np.ndarray]:
        """The chosen frames from the ``skip``-th on, ``(H, W, 3)`` float32 in [0, 1]."""
        wanted = self.indices[skip:]
        if not wanted:
            return
        pick = iter(wanted)
        nxt = next(pick)
        for i, frame in enumerate(_iterate(self.source)):
            if i < nxt:
                continue
            yield frame
            nxt = next(pick, None)
            if nxt is None:
                return


def parse_position(text: str | None, fps: float, what: str) -> int | None:
    """``"12"`` (a frame) or ``"1.5s"`` (seconds) -> a frame number; ``None`` stays ``None``."""
    if text is None:
        return None
    value = str(text).strip().lower()
    try:
        frame = round(float(value[:-1]) * fps) if value.endswith("s") else int(value)
    except ValueError:
        raise NeuralPaintError(f"{what} must be a frame number (12) or a time in seconds (1.5s), got {text!r}") from None
    if frame < 0:
        raise NeuralPaintError(f"{what} must not be negative, got {text!r}")
    return frame


def open_frames(path: str | Path, start: str | None = None, end: str | None = None,
                fps: float | None = None) -> Clip:
    """Check ``path`` and choose its frames (see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise NeuralPaintError(f"{path}: no such file or folder")
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise NeuralPaintError(f"--fps must be a positive number, got {fps}")
    source_fps, count, size = _probe(path)
    first = parse_position(start, source_fps, "--start") or 0
    stop = parse_position(end, source_fps, "--end")
    stop = count if stop is None else min(stop, count)
    step = 1 if fps is None or fps >= source_fps else source_fps / fps
    indices = sorted({first + math.floor(k * step + 1e-9) for k in range(max(0, math.ceil((stop - first) / step)))})
    indices = [i for i in indices if i < stop]
    if not indices:
        raise NeuralPaintError(f"{path}: no frames in the range chosen ({count} frames, --start {start}, --end {end})")
    return Clip(source=path, fps=source_fps / step, indices=indices, size=size)


def _probe(path: Path) -> tuple[float, int, tuple[int, int]]:
    """Frame rate, frame count and ``(H, W)`` of a source (reading a video once to count)."""
    if path.is_dir():
        files = _folder_files(path)
        if not files:
            raise NeuralPaintError(f"{path}: no image files ({', '.join(IMAGE_SUFFIXES)}) in the folder")
        return FOLDER_FPS, len(files), _frame_size(path)
    import imageio.v3 as iio

    try:
        meta = iio.immeta(path)
    except Exception as err:  # imageio raises many kinds: none of them is the user's to read
        raise NeuralPaintError(f"{path}: not a video or animated image that can be read ({_first_line(err)})") from None
    fps = float(meta.get("fps") or 0.0)
    if not fps and meta.get("duration"):  # GIF: milliseconds per frame
        fps = 1000.0 / float(meta["duration"])
    count, size = 0, None
    try:
        for frame in iio.imiter(path):
            if size is None:
                size = frame.shape[:2]
            count += 1
    except Exception as err:
        if count == 0:
            raise NeuralPaintError(f"{path}: cannot decode its frames ({_first_line(err)})") from None
    if count == 0 or size is None:
        raise NeuralPaintError(f"{path}: the clip has no frames")
    return fps if fps > 0 else FOLDER_FPS, count, tuple(size)


def _folder_files(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _frame_size(path: Path) -> tuple[int, int]:
    from ..imagefiles.io import read_image

    return read_image(_folder_files(path)[0]).shape[:2]


def _iterate(path: Path) -> Iterator[np.ndarray]:
    """Every frame of the source, float32 RGB in [0, 1]."""
    if path.is_dir():
        from ..imagefiles.io import read_image

        files = _folder_files(path)
        size = None
        for f in files:
            frame = read_image(f)
            if size is not None and frame.shape != size:
                raise NeuralPaintError(f"{f}: frame of {frame.shape[1]}x{frame.shape[0]} pixels in a folder of "
                                       f"{size[1]}x{size[0]} frames; all frames must be the same size")
            size = frame.shape
            yield frame
        return
    import imageio.v3 as iio

    for frame in iio.imiter(path):
        yield _to_rgb(frame)


def _to_rgb(frame: np.ndarray) -> np.ndarray:
    """A decoded frame (uint8 gray, RGB or RGBA) as float32 RGB in [0, 1] (alpha over white)."""
    x = frame.astype(np.float32) / (65535.0 if frame.dtype == np.uint16 else 255.0)
    if x.ndim == 2:
        x = np.repeat(x[..., None], 3, axis=2)
    if x.shape[2] == 4:
        a = x[..., 3:]
        x = x[..., :3] * a + (1.0 - a)
    return np.ascontiguousarray(x[..., :3])


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__
