"""Rendering a strokes file at any resolution (``neuralpaint render-hires``).

* ``output_size`` -- the pixel size of a render at ``scale`` or ``width``, refusing absurd sizes;
* ``render_strokes`` -- the painting as an ``(H, W, 3)`` float32 array, bounded memory.

Bad input (an absurd size) raises ``NeuralPaintError`` with a one-line message.
"""
from __future__ import annotations

import math
import sys

import numpy as np
import torch

from .compositing import render_painting
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


def render_strokes(
    strokes: Strokes,
    scale: float = 1.0,
    width: int | None = None,
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> np.ndarray:
    """Render ``strokes`` as an ``(H, W, 3)`` float32 RGB array in [0, 1].

    The size is given by ``output_size(strokes, scale, width)``. Strokes are rendered one by one
    inside their bounding boxes (``canvas.render_painting``), so memory stays near the size of the
    canvas itself. ``progress`` shows a progress bar over strokes on stderr.
    """
    from tqdm import tqdm

    height, out_width = output_size(strokes, scale, width)
    stroke = strokes.stroke()
    params = strokes.params_tensor(device)
    with tqdm(total=strokes.n, unit="stroke", desc="rendering", file=sys.stderr,
              disable=not progress, leave=False) as bar:
        canvas = render_painting(
            stroke, params, height, out_width, strokes.canvas_colour,
            progress=lambda done: bar.update(done - bar.n),
        )
    return np.ascontiguousarray(canvas.permute(1, 2, 0).cpu().numpy(), dtype=np.float32)
