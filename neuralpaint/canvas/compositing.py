"""Compositing strokes in painting order on tensors (differentiable), and blank tensor canvases.

The reference the fast paths are tested against: ``canvas.cells`` (the painter's compositor)
and ``canvas.render`` (finished paintings) must give the pictures ``composite_in_order`` gives.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .render import blank


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
    """``(3, height, width)`` tensor filled with ``colour`` (RGB in [0, 1]): ``render.blank``'s canvas."""
    return torch.from_numpy(blank(height, width, colour, np.float64)).to(device=device, dtype=dtype)
