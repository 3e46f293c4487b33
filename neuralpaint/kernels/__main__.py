"""``python -m neuralpaint.kernels``: compile (or load from numba's cache) every kernel once.

``scripts/setup.sh`` runs it after installing, so the first painting does not wait for numba.
Each kernel is compiled for float32, as ``paint`` and ``render-hires`` use them: the whole-canvas
kernels through ``canvas.render`` (no torch), the painter's cell kernels with their gradients
through ``canvas.cells`` (torch).
"""
from __future__ import annotations

import time

import numpy as np
import torch

from ..canvas.cells import composite_cells, stroke_cells
from ..canvas.render import render_painting, to_uint8
from ..strokes import get_stroke_type
from ..strokes.dabmodel import segment_cells
from .segments import tube_touches


def warm_up() -> float:
    """Compile or load every kernel; returns the seconds it took."""
    start = time.perf_counter()
    for name in ("rectangle", "oilpaintbrush", "markerpen", "watercolor"):
        stroke = get_stroke_type(name)
        params = stroke.sample_painting(4, torch.Generator().manual_seed(0))
        to_uint8(render_painting(stroke, params.numpy().astype(np.float32), 16, 16))
        if stroke.cell_kernel is not None:  # the painter's kernels, with gradient
            params.requires_grad_(True)
            layout = stroke_cells(stroke, params, 16, 16, 4)
            colour, alpha = stroke.render_cells(params, layout.rows, 16, 16, 4, layout.origins)
            composite_cells(colour, alpha, layout, torch.ones(3, 16, 16)).sum().backward()
    # the soft segments of the mypaint dab model (its painter's kernels; no libmypaint needed), and
    # its cell test
    segments = torch.rand(2, 3, 7, requires_grad=True)
    rows, origins = torch.tensor([0, 1]), torch.zeros(2, 2, dtype=torch.int64)
    segment_cells(segments, rows, origins, 4).sum().backward()
    tube_touches(np.zeros((2, 3, 2)), np.ones(2), np.array([0, 1]), np.zeros((2, 2)), np.empty(2, np.bool_))
    return time.perf_counter() - start


if __name__ == "__main__":
    print(f"neuralpaint: compiled kernels ready in {warm_up():.1f} s")
