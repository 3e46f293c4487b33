"""Compositing strokes in painting order, and rendering whole paintings at any size.

``render_painting`` renders each stroke only inside its own bounding box, split into tiles of at
most ``TILE x TILE`` pixels, so time grows with the area strokes cover and memory stays bounded
(the canvas itself plus a few tile-sized buffers) at any output size.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from .strokes import StrokeType

TILE = 1024


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

    Each stroke is rendered only inside its bounding box, tile by tile, and composited in place,
    so memory stays bounded at any size. ``canvas`` (``(3, height, width)``, modified in place)
    continues an earlier render; otherwise a canvas of ``canvas_colour`` is made on the params'
    device. ``progress(k)`` is called after each stroke with the number done so far.

    Returns the canvas ``(3, height, width)`` in [0, 1], not differentiable.
    """
    stroke.check_params(params)
    if canvas is None:
        canvas = blank_canvas(height, width, canvas_colour, params.device, params.dtype)
    elif tuple(canvas.shape) != (3, height, width):
        raise ValueError(f"canvas must be (3, {height}, {width}), got {tuple(canvas.shape)}")
    for i, (top, left, bottom, right) in enumerate(pixel_boxes(stroke, params, height, width)):
        one = params[i : i + 1]
        for y in range(top, bottom, TILE):
            for x in range(left, right, TILE):
                h, w = min(TILE, bottom - y), min(TILE, right - x)
                offset = torch.tensor([[y, x]], device=params.device, dtype=params.dtype)
                colour, alpha = stroke.render(one, height, width, window=(h, w), offset=offset)
                region = canvas[:, y : y + h, x : x + w]
                region.lerp_(colour[0], alpha[0])
        if progress is not None:
            progress(i + 1)
    return canvas.clamp_(0.0, 1.0)
