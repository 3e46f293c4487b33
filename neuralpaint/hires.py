"""Rendering a strokes file at any resolution (``neuralpaint render-hires``).

* ``output_size`` -- the pixel size of a render at ``scale`` or ``width``, refusing absurd sizes;
* ``render_strokes`` -- the painting as an ``(H, W, 3)`` float32 array;
* ``write_render`` -- the painting straight into an image file, streamed: rendered band by band
  (``compositing.render_bands``), each band turned into 8-bit pixels and handed to the encoder
  (``imagewriter``) as soon as it is done, in a second thread while the next band renders. No
  full-size float canvas exists at any time; for PNG nothing full-size exists at all.

Bad input (an absurd size) raises ``NeuralPaintError`` with a one-line message.
"""
from __future__ import annotations

import math
import os
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from . import cpukernels
from .compositing import CULL_MIN_AREA, CULL_TILE, render_bands
from .errors import NeuralPaintError
from .strokesfile import MAX_CANVAS_SIDE, Strokes

MAX_OUTPUT_SIDE = MAX_CANVAS_SIDE  # 65536 pixels per side
MAX_OUTPUT_PIXELS = 1.2e9  # about 14 GB of float32 RGB canvas


def output_size(strokes: Strokes, scale: float = 1.0, width: int | None = None) -> tuple[int, int]:
    """``(height, width)`` in pixels of a render of ``strokes``.

    With ``width`` given: that width, and the height that keeps the stored canvas's aspect ratio.
    Otherwise the stored canvas size times ``scale``, rounded. Raises ``NeuralPaintError`` for a
    non-positive scale or a size outside 1..65536 pixels per side or over 1.2e9 pixels in all.
    """
    def absurd(size: str):
        raise NeuralPaintError(
            f"absurd output {size} pixels: each side must be 1..{MAX_OUTPUT_SIDE} "
            f"and the total at most {MAX_OUTPUT_PIXELS:.2g} pixels"
        )

    if width is not None:
        if isinstance(width, bool) or not isinstance(width, (int, np.integer)):
            raise NeuralPaintError(f"output width must be an integer, got {width!r}")
        out_w = int(width)
        if not 1 <= out_w <= MAX_OUTPUT_SIDE:
            absurd(f"width {out_w}")
        out_h = max(1, round(out_w * strokes.height / strokes.width))
    else:
        if not (isinstance(scale, (int, float, np.number)) and math.isfinite(scale) and scale > 0):
            raise NeuralPaintError(f"scale must be a positive number, got {scale!r}")
        w_f, h_f = strokes.width * scale, strokes.height * scale
        if max(w_f, h_f) > 1e15:  # too big to print as an integer
            absurd(f"size {w_f:.3g}x{h_f:.3g} ({strokes.width}x{strokes.height} x {scale:g})")
        out_w, out_h = round(w_f), round(h_f)
    if not (1 <= out_w <= MAX_OUTPUT_SIDE and 1 <= out_h <= MAX_OUTPUT_SIDE) or out_w * out_h > MAX_OUTPUT_PIXELS:
        absurd(f"size {out_w}x{out_h}")
    return out_h, out_w


BAND_PIXELS = 1 << 22  # pixels per band (rounded to whole tiles, at least one tile row)


# libmypaint draws a whole stroke each time any piece of it is rendered (``strokes.mypaint`` caches
# only the last stroke), so a stroke is drawn once per band it reaches: taller bands for it
# (measured at 8192^2, 500 strokes: 512-row bands took 1.9x the CPU time of the one-shot render)
BAND_PIXELS_BY_TYPE = {"mypaint": 1 << 24}


def band_rows(width: int, tile: int = CULL_TILE, stroke_type: str | None = None) -> int:
    """Rows per band for an image ``width`` pixels wide: about ``BAND_PIXELS`` pixels (more for
    stroke types in ``BAND_PIXELS_BY_TYPE``), whole tiles."""
    pixels = BAND_PIXELS_BY_TYPE.get(stroke_type, BAND_PIXELS)
    return max(1, round(pixels / width / tile)) * tile


def to_uint8(pixels: torch.Tensor) -> np.ndarray:
    """``(3, h, w)`` values in [0, 1] -> ``(h, w, 3)`` uint8 RGB, rounded like ``images.write_image``."""
    if cpukernels.available(pixels):
        return cpukernels.to_rgb8(pixels)
    return pixels.clamp(0.0, 1.0).mul_(255.0).round_().to(torch.uint8).permute(1, 2, 0).contiguous().cpu().numpy()


def _bands(strokes: Strokes, height: int, width: int, device, band: int | None, tile: int,
           cull_min_area: int):
    params = strokes.params_tensor(device)
    return render_bands(strokes.stroke(), params, height, width, strokes.canvas_colour,
                        band=band or band_rows(width, tile, strokes.stroke_type), tile=tile, cull_min_area=cull_min_area)


def render_strokes(
    strokes: Strokes,
    scale: float = 1.0,
    width: int | None = None,
    device: torch.device | str = "cpu",
    progress: bool = True,
    *,
    band: int | None = None,
    tile: int = CULL_TILE,
    cull_min_area: int = CULL_MIN_AREA,
) -> np.ndarray:
    """Render ``strokes`` as an ``(H, W, 3)`` float32 RGB array in [0, 1].

    The size is given by ``output_size(strokes, scale, width)``. Rendered band by band like
    ``write_render`` (the same pixels), into the returned array. ``progress`` shows a progress bar
    over rows on stderr. ``band`` (rows, a multiple of ``tile``; default ``band_rows``), ``tile``
    and ``cull_min_area`` tune ``compositing.render_bands``.
    """
    from tqdm import tqdm

    height, out_width = output_size(strokes, scale, width)
    image = np.empty((height, out_width, 3), np.float32)
    with tqdm(total=height, unit="row", desc=f"rendering {strokes.n} strokes", file=sys.stderr,
              disable=not progress, leave=False) as bar:
        for top, pixels in _bands(strokes, height, out_width, device, band, tile, cull_min_area):
            image[top : top + pixels.shape[1]] = pixels.permute(1, 2, 0).cpu().numpy()
            bar.update(pixels.shape[1])
    return image


def write_render(
    strokes: Strokes,
    path: str | os.PathLike,
    scale: float = 1.0,
    width: int | None = None,
    device: torch.device | str = "cpu",
    progress: bool = True,
    *,
    band: int | None = None,
    tile: int = CULL_TILE,
    cull_min_area: int = CULL_MIN_AREA,
    threaded: bool = True,
) -> Path:
    """Render ``strokes`` straight into the image file ``path`` (format from the extension),
    streamed band by band; returns ``path`` as a ``Path``.

    The size is given by ``output_size(strokes, scale, width)``. Everything that can fail early
    fails before any rendering with ``NeuralPaintError``: an absurd size, an unknown extension, a
    size the format cannot hold, a destination that cannot be written. The file is written
    atomically: on any error, Ctrl-C included, ``path`` is left as it was and no temporary file
    stays behind. Bands are encoded in a second thread (``threaded``) while the next renders;
    ``progress`` shows a bar over the rows written, on stderr. The pixels are those of
    ``render_strokes`` rounded to 8 bits.
    """
    from tqdm import tqdm

    from .imagewriter import open_image_writer

    height, out_width = output_size(strokes, scale, width)
    strokes.stroke()  # an unknown stroke type or a missing engine fails here, before any file
    writer = open_image_writer(path, out_width, height)
    pending: deque = deque()
    try:
        with tqdm(total=height, unit="row", desc=f"rendering {strokes.n} strokes", file=sys.stderr,
                  disable=not progress, leave=False) as bar, \
                ThreadPoolExecutor(1, thread_name_prefix="encoder") as pool:
            def write(rows: np.ndarray) -> None:
                writer.write_rows(rows)
                bar.update(rows.shape[0])

            try:
                for _, pixels in _bands(strokes, height, out_width, device, band, tile, cull_min_area):
                    rows = to_uint8(pixels)
                    del pixels
                    if not threaded:
                        write(rows)
                        continue
                    while pending:  # at most one band waits for the encoder while the next renders
                        pending.popleft().result()
                    pending.append(pool.submit(write, rows))
                while pending:
                    pending.popleft().result()
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
        return writer.close()
    except BaseException:
        writer.abort()
        raise
