"""The painting appearing stroke by stroke, as an MP4 (H.264) and a looping GIF.

Frame 0 is the bare canvas; frame ``i`` (``1 <= i <= F``, ``F = min(max_frames, N)``) shows the
first ``ceil(i * N / F)`` of the ``N`` strokes, so the last frame is the finished painting, which
is then held for about a second. Frames are rendered incrementally: each one continues the
previous frame's canvas with the strokes added since (``render_painting(..., canvas=...)``), so
the whole animation costs one render of the painting.

The MP4 is H.264 in yuv420p (what every player reads), which needs even sides: an odd side is
padded by repeating the last row or column. The GIF is downscaled so its longer side is at most
``gif_max_side`` pixels, loops forever and uses one palette for every frame (taken from the bare
canvas and the finished painting), so each frame after the first stores only the rectangle that
changed: quantising with a shared palette is several times faster than a palette per frame and
the file is about ten times smaller. The GIF is quantised and written in a second thread while
ffmpeg finishes the MP4. Both files are written to a temporary name beside the
destination and renamed into place, so a reader never sees half a file.
"""
from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ..canvas.render import blank, render_painting, to_uint8
from ..errors import NeuralPaintError
from ..fileutil import atomic_path
from ..strokesfile import Strokes

HOLD_SECONDS = 1.0  # the finished painting stays on screen this long
# x264's "veryfast" encodes a 512² painting's 120 frames in half the time of its default (0.41 vs
# 0.82 s here), in a smaller file (361 vs 410 KB), at 39-40 dB against the frames instead of 40.2
X264_PRESET = "veryfast"


class FFmpegUnavailable(NeuralPaintError):
    """The MP4 could not be written because no ffmpeg executable was found (the GIF was)."""


def frame_counts(n_strokes: int, max_frames: int) -> list[int]:
    """Strokes shown in each frame: ``[0, ceil(1*N/F), ..., N]`` with ``F = min(max_frames, N)``
    (just ``[0]`` for no strokes)."""
    frames = min(max_frames, n_strokes)
    return [0] + [math.ceil(i * n_strokes / frames) for i in range(1, frames + 1)]


def _frames(strokes: Strokes, height: int, width: int, counts: list[int],
            device) -> Iterator[np.ndarray]:
    """``(height, width, 3)`` uint8 frames showing ``counts[i]`` strokes, rendered incrementally."""
    stroke = strokes.stroke()
    params = strokes.params
    canvas = blank(height, width, strokes.canvas_colour)
    done = 0
    for count in counts:
        if count > done:
            render_painting(stroke, params[done:count], height, width, canvas=canvas, device=device)
            done = count
        yield to_uint8(canvas)


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad an odd height or width by one pixel (repeating the edge) for yuv420p."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _gif_size(height: int, width: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def _ffmpeg_problem() -> str | None:
    """Why the MP4 cannot be written (no ffmpeg), or ``None`` when it can."""
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as err:
        return str(err).splitlines()[0] if str(err) else type(err).__name__
    return None


def _gif_palette(frames: list[np.ndarray]):
    """A 256-colour palette image for the whole GIF: median cut over the bare canvas (the first
    frame) beside the finished painting (the last), so both the canvas colour and the painting's
    colours are in it."""
    from PIL import Image

    sample = np.concatenate([frames[0][:8], frames[-1]], axis=0) if len(frames) > 1 else frames[-1]
    return Image.fromarray(sample).quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def _write_gif(path: Path, frames: list[np.ndarray], fps: int) -> None:
    from PIL import Image

    step = max(20, round(1000 / fps))  # ms; GIF delays are in hundredths of a second
    durations = [step] * len(frames)
    durations[-1] += round(HOLD_SECONDS * 1000)
    palette = _gif_palette(frames)
    images = [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=durations,
                       loop=0, optimize=False)


def write_animation(
    strokes: Strokes,
    height: int,
    width: int,
    mp4_path: str | os.PathLike | None,
    gif_path: str | os.PathLike | None,
    max_frames: int = 100,
    fps: int = 20,
    gif_max_side: int = 256,
    *,
    device="cpu",
) -> None:
    """Write the painting ``strokes`` appearing stroke by stroke at ``height x width`` pixels as
    an MP4 at ``mp4_path`` and a GIF at ``gif_path`` (either may be ``None`` to skip it).

    See the module docstring for the frames. Raises ``NeuralPaintError`` for bad settings or an
    unwritable destination, and ``FFmpegUnavailable`` (a ``NeuralPaintError``) after writing the
    GIF when the MP4 cannot be written for want of ffmpeg.
    """
    if max_frames < 1:
        raise NeuralPaintError(f"max_frames must be at least 1, got {max_frames}")
    if fps < 1:
        raise NeuralPaintError(f"fps must be at least 1, got {fps}")
    if gif_max_side < 1:
        raise NeuralPaintError(f"gif_max_side must be at least 1, got {gif_max_side}")
    if height < 1 or width < 1:
        raise NeuralPaintError(f"animation size must be at least 1x1, got {width}x{height}")
    counts = frame_counts(strokes.n, max_frames)
    gif_h, gif_w = _gif_size(height, width, gif_max_side)
    problem = _ffmpeg_problem() if mp4_path is not None else None
    if problem is not None:
        missing = FFmpegUnavailable(f"{mp4_path}: not written, ffmpeg is not available ({problem}); "
                                    "install imageio-ffmpeg")
        mp4_path = None

    gif_frames: list[np.ndarray] = []
    gif_job = None
    target = mp4_path
    try:
        with ExitStack() as stack:
            writer = None
            if mp4_path is not None:
                import imageio.v2 as imageio

                tmp = stack.enter_context(atomic_path(mp4_path))
                writer = imageio.get_writer(tmp, format="FFMPEG", mode="I", fps=fps, codec="libx264",
                                            quality=7, macro_block_size=1, pixelformat="yuv420p",
                                            ffmpeg_log_level="error", output_params=["-preset", X264_PRESET])
                stack.callback(writer.close)  # closed (finished) before the rename
            frame = None
            for frame in _frames(strokes, height, width, counts, device):
                if writer is not None:
                    writer.append_data(_even(frame))
                if gif_path is not None:
                    gif_frames.append(frame if (gif_h, gif_w) == frame.shape[:2] else
                                      cv2.resize(frame, (gif_w, gif_h), interpolation=cv2.INTER_AREA))
            if gif_path is not None:  # quantised and written while ffmpeg finishes the MP4
                gif_job = stack.enter_context(ThreadPoolExecutor(1)).submit(_write_gif, Path(gif_path),
                                                                             gif_frames, fps)
            if writer is not None:
                for _ in range(max(1, round(HOLD_SECONDS * fps))):
                    writer.append_data(_even(frame))
        if gif_job is not None:
            target = gif_path
            gif_job.result()
    except OSError as err:
        raise NeuralPaintError(f"{target}: cannot write: {err.strerror or err}") from None
    if problem is not None:
        raise missing
