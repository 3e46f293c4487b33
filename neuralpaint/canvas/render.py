"""Finished paintings at any size, without torch: numpy and the compiled kernels.

* ``render_painting`` -- strokes composited in order onto one canvas (the final picture,
  animation frames);
* ``render_bands`` -- the same picture ``band`` rows at a time, never holding the whole canvas;
* ``output_size``, ``render_strokes``, ``write_render`` -- a strokes file at any size: as an array,
  or streamed band by band straight into an image file (``neuralpaint render-hires``): each band is
  turned into 8-bit pixels and handed to the encoder (``imagefiles.streaming``) in a second thread
  while the next band renders. No full-size float canvas exists; for PNG nothing full-size does.

A stroke type with a compiled kernel paints whole bands at once (``StrokeType.paint_onto``). Others
are rendered stroke by stroke, each only inside its own bounding box and, for big strokes, only on
the ``PATCH``-pixel squares of that box it touches (``covered_patches``): time grows with the
area strokes cover, memory stays bounded at any size. Their
windows come from ``StrokeType.render_window``: torch-free where the type provides it (mypaint),
otherwise its torch engine, on ``device``.

Bad input (an absurd size) raises ``NeuralPaintError`` with a one-line message.
"""
from __future__ import annotations

import math
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .. import kernels
from ..arrays import is_tensor, to_numpy, torch
from ..errors import NeuralPaintError
from ..kernels.pixels import to_rgb8
from ..strokes.base import pixel_ranges
from ..strokesfile import MAX_CANVAS_SIDE, Strokes

PATCH = 64  # strokes bigger than PATCH_MIN_AREA pixels are rendered only on the patches they touch
PATCH_MIN_AREA = 256 * 256
KERNEL_STROKES = 64  # strokes per call of a compiled kernel (``StrokeType.paint_onto``): progress steps


def blank(height: int, width: int, colour: tuple[float, float, float], dtype=np.float32) -> np.ndarray:
    """``(3, height, width)`` numpy canvas filled with ``colour`` (RGB in [0, 1])."""
    canvas = np.empty((3, height, width), dtype)
    for ch in range(3):
        canvas[ch].fill(colour[ch])
    return canvas


def lerp_(region: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> None:
    """``region += alpha * (colour - region)`` in place, with ``torch.lerp``'s arithmetic: from the
    near end where ``alpha < 0.5``, from the far end otherwise, as one fused multiply-add
    (emulated in float64); shapes broadcast to ``region``'s."""
    diff = (colour - region).astype(np.float64)
    small = alpha < 0.5
    coeff = np.where(small, alpha, alpha - 1.0).astype(np.float64)
    base = np.where(small, region, colour).astype(np.float64)
    np.copyto(region, coeff * diff + base, casting="same_kind")


def torch_lerp_(region: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> None:
    """``lerp_`` done by ``torch.lerp_`` on the same memory (for tensor callers: the painter's
    canvases stay bit for bit what its tensor compositing gave)."""
    torch.from_numpy(region).lerp_(torch.from_numpy(colour), torch.from_numpy(alpha))


def covered_patches(stroke, one: np.ndarray, box: tuple[int, int, int, int], height: int, width: int,
                    patch: int) -> np.ndarray:
    """``(n, 2)`` int64 origins ``(top, left)`` of the ``patch x patch`` squares, laid from the
    box's corner, that the stroke ``one (1, d)`` may touch.

    The stroke is rendered once at a resolution of one pixel per patch (the engines work at any,
    even fractional, canvas size); patches whose coarse alpha is zero and whose neighbours' is too
    are skipped. Stroke types that know exactly where they paint provide their own
    ``covered_patches`` (same arguments and result), which is used instead.
    """
    if hasattr(stroke, "covered_patches"):
        return stroke.covered_patches(one, box, height, width, patch)
    top, left, bottom, right = box
    ny, nx = -(-(bottom - top) // patch), -(-(right - left) // patch)
    _, alpha = stroke.render_window(one, height / patch, width / patch, top / patch, left / patch, ny, nx)
    hit = np.pad(alpha[0, 0] > 0, 1)
    near = np.zeros((ny, nx), bool)  # the 3 x 3 neighbourhood of each coarse pixel
    for dy in range(3):
        for dx in range(3):
            near |= hit[dy : dy + ny, dx : dx + nx]
    iy, ix = np.nonzero(near)
    return np.stack([top + iy * patch, left + ix * patch], axis=1).astype(np.int64)


def on_cpu(device) -> bool:
    """Whether ``device`` lets the compiled CPU kernels paint (``"auto"`` or ``"cpu"``)."""
    return str(device).lower() in ("auto", "cpu")


def _paint_windows(stroke, params: np.ndarray, boxes: list, order, canvas: np.ndarray, top: int,
                   height: int, width: int, patch: int, patch_min_area: int, device,
                   patches: dict | None = None, progress: Callable[[int], None] | None = None,
                   lerp: Callable = lerp_) -> None:
    """Strokes ``params[i]`` for ``i`` in ``order`` (painting order) composited onto ``canvas (3,
    h, w)``, which holds rows ``top .. top + h - 1`` of the picture and has room for patches that
    run over its right and bottom edges; one window each (clipped to the canvas's rows), big ones
    on their patches of the picture-wide grid. ``patches`` caches big strokes' patch origins from
    one band to the next; ``lerp`` composites (``lerp_`` or ``torch_lerp_``)."""
    rows = canvas.shape[1]
    for done, i in enumerate(order):
        s_top, left, bottom, right = boxes[i]
        one = params[i : i + 1]
        if (bottom - s_top) * (right - left) <= patch_min_area:
            t, b = max(s_top, top), min(bottom, top + rows)
            if b > t and right > left:
                colour, alpha = stroke.render_window(one, height, width, t, left, b - t, right - left, device)
                lerp(canvas[:, t - top : b - top, left:right], colour[0], alpha[0])
        else:
            origins = None if patches is None else patches.get(i)
            if origins is None:  # its patches on the picture-wide grid
                grid_box = (s_top // patch * patch, left // patch * patch, bottom, right)
                origins = covered_patches(stroke, one, grid_box, height, width, patch)
                if patches is not None:
                    patches[i] = origins
            mine = origins[(origins[:, 0] >= top) & (origins[:, 0] < top + rows)]
            for y, x in mine.tolist():
                colour, alpha = stroke.render_window(one, height, width, y, x, patch, patch, device)
                lerp(canvas[:, y - top : y - top + patch, x : x + patch], colour[0], alpha[0])
        if progress is not None:
            progress(done + 1)


def render_painting(stroke, params, height: int, width: int, canvas_colour: tuple[float, float, float] = (1.0, 1.0, 1.0),
                    *, canvas=None, progress: Callable[[int], None] | None = None, device="auto"):
    """Render strokes ``params (N, d)`` in order onto a ``height x width`` canvas.

    ``params``: a numpy array, or a tensor (the result is then a tensor on its device; the
    rendering itself runs on numpy). ``canvas`` (``(3, height, width)``, of the same kind, updated
    in place and returned) continues an earlier render; otherwise a canvas of ``canvas_colour`` is
    made in the params' float dtype. ``progress(k)`` is called as strokes are done with the
    number done so far. ``device``: ``"auto"`` or ``"cpu"`` paint with the compiled kernels where
    the stroke type has them; stroke types without (and every type on another device, e.g.
    ``"cuda"``) render their windows with ``StrokeType.render_window`` on that device.

    Returns the canvas ``(3, height, width)`` in [0, 1], not differentiable.
    """
    tensor = params if is_tensor(params) else None
    values = stroke.check_array(params)
    dtype = values.dtype if values.dtype in (np.float32, np.float64) else np.float32
    values = values.astype(dtype, copy=False)
    if canvas is not None and tuple(canvas.shape) != (3, height, width):
        raise ValueError(f"canvas must be (3, {height}, {width}), got {tuple(canvas.shape)}")
    if canvas is None:
        work = blank(height, width, canvas_colour, dtype)
    else:
        work = np.ascontiguousarray(to_numpy(canvas), dtype=dtype)
    if on_cpu(device) and stroke.can_paint_onto(values, work):  # a compiled kernel paints them
        for done in range(0, values.shape[0], KERNEL_STROKES):
            part = values[done : done + KERNEL_STROKES]
            stroke.paint_onto(part, work, 0, height, width)
            if progress is not None:
                progress(done + part.shape[0])
    else:
        # a margin of one patch so that patches may run over the right and bottom edges
        padded = blank(height + PATCH, width + PATCH, canvas_colour, dtype)
        padded[:, :height, :width] = work
        boxes = pixel_ranges(stroke.bounding_boxes(values, height, width), height, width).tolist()
        _paint_windows(stroke, values, boxes, range(values.shape[0]), padded, 0, height, width, PATCH,
                       PATCH_MIN_AREA, device, progress=progress, lerp=lerp_ if tensor is None else torch_lerp_)
        work = padded[:, :height, :width]
    np.clip(work, 0.0, 1.0, out=work)
    if tensor is None:
        if canvas is None:
            return work
        if canvas is not work:
            np.copyto(canvas, work, casting="unsafe")
        return canvas
    import torch  # a tensor came in: torch is loaded already

    result = torch.from_numpy(np.ascontiguousarray(work)).to(tensor.device)
    return result if canvas is None else canvas.copy_(result)


def render_bands(stroke, params, height: int, width: int, canvas_colour: tuple[float, float, float] = (1.0, 1.0, 1.0),
                 *, band: int = 512, patch: int = PATCH, patch_min_area: int = PATCH_MIN_AREA,
                 device="auto") -> Iterator[tuple[int, np.ndarray]]:
    """Render strokes ``params (N, d)`` (numpy array or tensor) in order onto a ``height x width``
    canvas, ``band`` rows at a time: yields ``(top, pixels)`` for each band from the top, ``pixels
    (3, rows, width)`` numpy in [0, 1] (a view of a buffer that the next band does not reuse).

    The same picture as ``render_painting``: each band sees only the strokes whose boxes reach
    it, in painting order; strokes whose box covers more than ``patch_min_area`` pixels are
    rendered only on the ``patch x patch`` squares of a canvas-wide grid that they may touch. A
    stroke that reaches several bands is rendered in pieces, one per band, each piece once.
    ``band`` must be a multiple of ``patch``.
    """
    values = stroke.check_array(params)
    values = values.astype(values.dtype if values.dtype in (np.float32, np.float64) else np.float32, copy=False)
    if band < 1 or patch < 1 or band % patch:
        raise ValueError(f"band ({band}) must be a positive multiple of patch ({patch})")
    boxes = pixel_ranges(stroke.bounding_boxes(values, height, width), height, width).tolist()
    n_bands = -(-height // band)
    strokes_of_band: list[list[int]] = [[] for _ in range(n_bands)]
    for i, (top, left, bottom, right) in enumerate(boxes):
        if bottom > top and right > left:
            for k in range(top // band, (bottom - 1) // band + 1):
                strokes_of_band[k].append(i)
    patches: dict[int, np.ndarray] = {}  # big stroke -> its patch origins, until its last band
    padded_width = -(-width // patch) * patch
    for k in range(n_bands):
        y0, y1 = k * band, min(height, (k + 1) * band)
        canvas = blank(-(-(y1 - y0) // patch) * patch, padded_width, canvas_colour, values.dtype)
        if not (on_cpu(device) and stroke.paint_onto(values[strokes_of_band[k]], canvas, y0, height, width)):
            _paint_windows(stroke, values, boxes, strokes_of_band[k], canvas, y0, height, width, patch,
                           patch_min_area, device, patches)
            for i in strokes_of_band[k]:
                if i in patches and (boxes[i][2] - 1) // band == k:
                    del patches[i]
        pixels = canvas[:, : y1 - y0, :width]
        np.clip(pixels, 0.0, 1.0, out=pixels)
        yield y0, pixels


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



def band_rows(width: int, patch: int = PATCH, stroke=None) -> int:
    """Rows per band for an image ``width`` pixels wide: about ``stroke.band_pixels`` pixels
    (``BAND_PIXELS`` without a stroke type), whole patches."""
    pixels = BAND_PIXELS if stroke is None else stroke.band_pixels
    return max(1, round(pixels / width / patch)) * patch


BAND_PIXELS = 1 << 22  # the default of ``StrokeType.band_pixels``


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """``(3, h, w)`` values in [0, 1] -> ``(h, w, 3)`` uint8 RGB, rounded half to even."""
    if kernels.serves(pixels):
        return to_rgb8(pixels)
    return np.rint(np.clip(pixels, 0.0, 1.0) * 255.0).astype(np.uint8).transpose(1, 2, 0).copy()


def _bands(strokes: Strokes, height: int, width: int, device, band: int | None, patch: int, patch_min_area: int):
    stroke = strokes.stroke()
    return render_bands(stroke, strokes.params, height, width, strokes.canvas_colour,
                        band=band or band_rows(width, patch, stroke), patch=patch, patch_min_area=patch_min_area,
                        device=device)


def render_strokes(
    strokes: Strokes,
    scale: float = 1.0,
    width: int | None = None,
    device="auto",
    progress: bool = True,
    *,
    band: int | None = None,
    patch: int = PATCH,
    patch_min_area: int = PATCH_MIN_AREA,
) -> np.ndarray:
    """Render ``strokes`` as an ``(H, W, 3)`` float32 RGB array in [0, 1].

    The size is given by ``output_size(strokes, scale, width)``. Rendered band by band like
    ``write_render`` (the same pixels), into the returned array. ``progress`` shows a progress bar
    over rows on stderr. ``band`` (rows, a multiple of ``patch``; default ``band_rows``), ``patch``
    and ``patch_min_area`` tune ``render_bands``; ``device`` is where stroke types without a
    compiled kernel render (see ``render_painting``).
    """
    from tqdm import tqdm

    height, out_width = output_size(strokes, scale, width)
    image = np.empty((height, out_width, 3), np.float32)
    with tqdm(total=height, unit="row", desc=f"rendering {strokes.n} strokes", file=sys.stderr,
              disable=not progress, leave=False) as bar:
        for top, pixels in _bands(strokes, height, out_width, device, band, patch, patch_min_area):
            image[top : top + pixels.shape[1]] = pixels.transpose(1, 2, 0)
            bar.update(pixels.shape[1])
    return image


def write_render(
    strokes: Strokes,
    path: str | os.PathLike,
    scale: float = 1.0,
    width: int | None = None,
    device="auto",
    progress: bool = True,
    *,
    band: int | None = None,
    patch: int = PATCH,
    patch_min_area: int = PATCH_MIN_AREA,
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

    from ..imagefiles.streaming import open_image_writer

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
                for _, pixels in _bands(strokes, height, out_width, device, band, patch, patch_min_area):
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
