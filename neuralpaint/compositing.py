"""Compositing strokes in painting order, and rendering whole paintings at any size.

``render_painting`` renders each stroke only inside its own bounding box and, for big strokes,
only on the ``CULL_TILE``-pixel tiles of that box the stroke touches, in chunks of at most
``CHUNK_PIXELS``; time grows with the area strokes cover and memory stays bounded (the canvas
plus a few chunk-sized buffers) at any output size.

``render_bands`` renders the same painting band by band (``band`` rows at a time, top to bottom)
without ever holding the whole canvas: each band sees only the strokes whose boxes reach it, in
painting order, and big strokes only on their tiles (laid on one grid over the whole canvas) that
fall in the band. Memory is one band plus the chunk buffers, whatever the output size.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch
from torch import Tensor

from .strokes import StrokeType

CULL_TILE = 64  # strokes bigger than CULL_MIN_AREA pixels are rendered only on tiles they touch
CULL_MIN_AREA = 256 * 256
CHUNK_PIXELS = 1 << 17  # pixels rendered per engine call: bounds the memory of big strokes
KERNEL_STROKES = 64  # strokes per call of a compiled kernel (``StrokeType.paint_onto``): progress steps


def composite(colour: Tensor, alpha: Tensor, canvas: Tensor) -> Tensor:
    """One stroke over a canvas: ``colour * alpha + canvas * (1 - alpha)``.

    Shapes broadcast: ``colour (..., 3, H, W)``, ``alpha (..., 1, H, W)``, ``canvas (..., 3, H, W)``.
    Differentiable; returns a new tensor.
    """
    return canvas + alpha * (colour - canvas)


def composite_in_order(colour: Tensor, alpha: Tensor, canvas: Tensor) -> Tensor:
    """Strokes ``colour (N, 3, H, W)``, ``alpha (N, 1, H, W)`` painted in order (row 0 first) over
    ``canvas (3, H, W)``. Differentiable; returns ``(3, H, W)``."""
    if colour.shape[0] != alpha.shape[0]:
        raise ValueError(f"colour and alpha differ in stroke count: {colour.shape[0]} vs {alpha.shape[0]}")
    for i in range(colour.shape[0]):
        canvas = composite(colour[i], alpha[i], canvas)
    return canvas


def blank_canvas(height: int, width: int, colour: tuple[float, float, float],
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> Tensor:
    """``(3, height, width)`` filled with ``colour`` (RGB in [0, 1])."""
    return torch.tensor(colour, device=device, dtype=dtype).view(3, 1, 1).repeat(1, height, width)


def pixel_boxes(stroke: StrokeType, params: Tensor, height: int, width: int) -> list[tuple[int, int, int, int]]:
    """Integer ``(top, left, bottom, right)`` boxes of each stroke clipped to the canvas (empty
    boxes have ``bottom <= top`` or ``right <= left``)."""
    boxes = stroke.bounding_boxes(params, height, width).detach().cpu().double()
    out = []
    for top, left, bottom, right in boxes.tolist():
        t, l = max(0, math.floor(top)), max(0, math.floor(left))
        b, r = min(height, math.ceil(bottom)), min(width, math.ceil(right))
        out.append((t, l, b, r))
    return out


def covered_tiles(stroke: StrokeType, one: Tensor, box: tuple[int, int, int, int],
                  height: int, width: int, tile: int) -> Tensor:
    """``(n, 2)`` origins ``(top, left)`` of the ``tile x tile`` squares, laid from the box's
    corner, that the stroke ``one (1, d)`` may touch.

    The stroke is rendered once at a resolution of one pixel per tile (the engines work at any,
    even fractional, canvas size); tiles whose coarse alpha is zero and whose neighbours' is too
    are skipped. Stroke types that know exactly where they paint provide their own
    ``covered_tiles`` (same arguments and result), which is used instead.
    """
    if hasattr(stroke, "covered_tiles"):
        return stroke.covered_tiles(one, box, height, width, tile)
    top, left, bottom, right = box
    ny, nx = -(-(bottom - top) // tile), -(-(right - left) // tile)
    offset = torch.tensor([[top / tile, left / tile]], device=one.device, dtype=one.dtype)
    _, alpha = stroke.render(one, height / tile, width / tile, window=(ny, nx), offset=offset)
    hit = torch.nn.functional.max_pool2d(alpha[0], 3, stride=1, padding=1)[0] > 0  # (ny, nx)
    iy, ix = hit.nonzero(as_tuple=True)
    return torch.stack([top + iy * tile, left + ix * tile], dim=1)


@torch.no_grad()
def render_painting(
    stroke: StrokeType,
    params: Tensor,
    height: int,
    width: int,
    canvas_colour: tuple[float, float, float] = (1.0, 1.0, 1.0),
    *,
    canvas: Tensor | None = None,
    progress: Callable[[int], None] | None = None,
) -> Tensor:
    """Render strokes ``params (N, d)`` in order onto a ``height x width`` canvas.

    Each stroke is rendered only where it can reach (see the module docstring) and composited
    in order, so memory stays bounded at any size. ``canvas`` (``(3, height, width)``, updated in
    place and returned) continues an earlier render; otherwise a canvas of ``canvas_colour`` is
    made on the params' device. ``progress(k)`` is called after each stroke with the number done so far.

    Returns the canvas ``(3, height, width)`` in [0, 1], not differentiable.
    """
    stroke.check_params(params)
    if canvas is not None and tuple(canvas.shape) != (3, height, width):
        raise ValueError(f"canvas must be (3, {height}, {width}), got {tuple(canvas.shape)}")
    out = blank_canvas(height, width, canvas_colour, params.device, params.dtype) if canvas is None else canvas
    work = out if out.is_contiguous() and out.dtype == params.dtype else out.to(params.dtype).contiguous()
    if stroke.can_paint_onto(params, work):  # a compiled kernel serves these tensors
        for done in range(0, params.shape[0], KERNEL_STROKES):
            part = params[done : done + KERNEL_STROKES]
            stroke.paint_onto(part, work, 0, height, width)
            if progress is not None:
                progress(done + part.shape[0])
        work.clamp_(0.0, 1.0)
        return out if work is out else out.copy_(work)
    # work on a canvas with a margin of one tile so that tiles may run over the right and bottom
    # edges; the result is a view of it without the margin
    padded = blank_canvas(height + CULL_TILE, width + CULL_TILE, canvas_colour, params.device, params.dtype)
    if canvas is not None:
        padded[:, :height, :width] = canvas
    for i, (top, left, bottom, right) in enumerate(pixel_boxes(stroke, params, height, width)):
        one = params[i : i + 1]
        if (bottom - top) * (right - left) <= CULL_MIN_AREA:
            if bottom > top and right > left:
                offset = torch.tensor([[top, left]], device=params.device, dtype=params.dtype)
                colour, alpha = stroke.render(one, height, width, window=(bottom - top, right - left), offset=offset)
                padded[:, top:bottom, left:right].lerp_(colour[0], alpha[0])
        else:
            origins = covered_tiles(stroke, one, (top, left, bottom, right), height, width, CULL_TILE)
            for chunk in origins.split(max(1, CHUNK_PIXELS // CULL_TILE**2)):
                n = chunk.shape[0]
                colour, alpha = stroke.render(one.expand(n, -1), height, width, window=(CULL_TILE, CULL_TILE),
                                              offset=chunk.to(params.dtype))
                for j, (y, x) in enumerate(chunk.tolist()):
                    padded[:, y : y + CULL_TILE, x : x + CULL_TILE].lerp_(colour[j], alpha[j])
        if progress is not None:
            progress(i + 1)
    result = padded[:, :height, :width].clamp_(0.0, 1.0)
    if canvas is not None:
        return canvas.copy_(result)
    return result


def _lerp_tiles(canvas: Tensor, origins: list, colour: Tensor, alpha: Tensor, tile: int, top: int) -> None:
    """Composite tiles ``colour (n, 3, tile, tile)``, ``alpha (n, 1, tile, tile)`` at canvas
    ``origins`` (``[(y, x), ...]``, ``y`` counted from row ``top`` of the canvas) in place."""
    for j, (y, x) in enumerate(origins):
        canvas[:, y - top : y - top + tile, x : x + tile].lerp_(colour[j], alpha[j])


@torch.no_grad()
def render_bands(
    stroke: StrokeType,
    params: Tensor,
    height: int,
    width: int,
    canvas_colour: tuple[float, float, float] = (1.0, 1.0, 1.0),
    *,
    band: int = 512,
    tile: int = CULL_TILE,
    cull_min_area: int = CULL_MIN_AREA,
    chunk_pixels: int = CHUNK_PIXELS,
) -> Iterator[tuple[int, Tensor]]:
    """Render strokes ``params (N, d)`` in order onto a ``height x width`` canvas, ``band`` rows
    at a time: yields ``(top, pixels)`` for each band from the top, ``pixels (3, rows, width)``
    in [0, 1] on the params' device (a view of a buffer that the next band does not reuse).

    The same picture as ``render_painting`` (strokes whose box covers more than ``cull_min_area``
    pixels are rendered only on the ``tile x tile`` squares of a canvas-wide grid that they may
    touch, in chunks of ``chunk_pixels``); ``band`` must be a multiple of ``tile``. A stroke that
    reaches several bands is rendered in pieces, one per band, each piece once.
    """
    stroke.check_params(params)
    if band < 1 or tile < 1 or band % tile:
        raise ValueError(f"band ({band}) must be a positive multiple of tile ({tile})")
    boxes = pixel_boxes(stroke, params, height, width)
    n_bands = -(-height // band)
    strokes_of_band: list[list[int]] = [[] for _ in range(n_bands)]
    for i, (top, left, bottom, right) in enumerate(boxes):
        if bottom > top and right > left:
            for k in range(top // band, (bottom - 1) // band + 1):
                strokes_of_band[k].append(i)
    tiles: dict[int, Tensor] = {}  # big stroke -> its tile origins (cpu, int64), until its last band
    padded_width = -(-width // tile) * tile
    per_chunk = max(1, chunk_pixels // tile**2)
    for k in range(n_bands):
        y0, y1 = k * band, min(height, (k + 1) * band)
        canvas = params.new_empty(3, -(-(y1 - y0) // tile) * tile, padded_width)
        for ch in range(3):
            canvas[ch].fill_(canvas_colour[ch])
        if stroke.paint_onto(params[strokes_of_band[k]], canvas, y0, height, width):  # a compiled kernel
            yield y0, canvas[:, : y1 - y0, :width].clamp_(0.0, 1.0)
            continue
        for i in strokes_of_band[k]:
            top, left, bottom, right = boxes[i]
            one = params[i : i + 1]
            if (bottom - top) * (right - left) <= cull_min_area:
                t, b = max(top, y0), min(bottom, y1)
                offset = torch.tensor([[t, left]], device=params.device, dtype=params.dtype)
                colour, alpha = stroke.render(one, height, width, window=(b - t, right - left), offset=offset)
                canvas[:, t - y0 : b - y0, left:right].lerp_(colour[0], alpha[0])
                continue
            origins = tiles.get(i)
            if origins is None:  # first band of this stroke: its tiles on the canvas-wide grid
                grid_box = (top // tile * tile, left // tile * tile, bottom, right)
                origins = covered_tiles(stroke, one, grid_box, height, width, tile).to("cpu", torch.int64)
                tiles[i] = origins
            if (bottom - 1) // band == k:
                del tiles[i]
            mine = origins[(origins[:, 0] >= y0) & (origins[:, 0] < y1)]
            for chunk in mine.split(per_chunk):
                n = chunk.shape[0]
                colour, alpha = stroke.render(one.expand(n, -1), height, width, window=(tile, tile),
                                              offset=chunk.to(params.device, params.dtype))
                _lerp_tiles(canvas, chunk.tolist(), colour, alpha, tile, y0)
        yield y0, canvas[:, : y1 - y0, :width].clamp_(0.0, 1.0)
