"""``markerpen``: a felt-tip marker drawn along a quadratic Bezier curve.

Parameters (12): ``x0, y0, x1, y1, x2, y2, r0, r2, R, G, B, A``. The pen runs from ``(x0, y0)``
to ``(x2, y2)`` bending towards the control point ``(x1, y1)``; its half-width goes from ``r0``
to ``r2`` along the curve (both matter); the ink is one flat colour with opacity ``A``.
A curve of zero length is a round dab; a zero width draws nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..arrays import torch
from ..kernels import curves as curve_kernels
from . import vector
from .base import PixelGrid, StrokeType, box_coverage
from .bezier import (MAX_RADIUS, cullable, init_curves, render_culled, sample_curves, tapered_curve,
                     tapered_curve_bounds)
from .registry import register
from .vector import hex_colour, num

if TYPE_CHECKING:
    from torch import Tensor


@register
class MarkerPen(StrokeType):
    name = "markerpen"
    param_names = ("x0", "y0", "x1", "y1", "x2", "y2", "r0", "r2", "R", "G", "B", "A")
    shape = slice(0, 8)
    colour = slice(8, 11)
    alpha = 11
    x_indices = (0, 2, 4)
    y_indices = (1, 3, 5)
    length_indices = (6, 7)
    length_scale = 2 * MAX_RADIUS  # r0, r2 are half-widths in units of MAX_RADIUS
    # kernels.curves.FIELDS: the one ink colour at both ends
    kernel_fields = ("x0", "y0", "x1", "y1", "x2", "y2", "r0", "r2", "R", "G", "B", "R", "G", "B", "A")

    def _render(self, params: Tensor, grid: PixelGrid) -> tuple[Tensor, Tensor]:
        if cullable(params, grid):  # big windows without gradient: only the cells the edge crosses
            return render_culled(self._render_pixels, params, grid, inside_alpha=params[:, 11])
        return self._render_pixels(params, grid)

    def _render_pixels(self, params: Tensor, grid: PixelGrid, seed: Tensor | None = None) -> tuple[Tensor, Tensor]:
        B = params.shape[0]
        near, radius = tapered_curve(params, grid, seed=seed)
        cover = box_coverage(near.distance, radius)
        alpha = cover.unsqueeze(1) * params[:, 11].view(B, 1, 1, 1)
        colour = params[:, 8:11].view(B, 3, 1, 1).expand(B, 3, *cover.shape[1:])
        return colour, alpha

    def _paint_kernel(self, fields, boxes, canvas, top, height, width):
        curve_kernels.paint_curves(fields, boxes, canvas, top, height, width, MAX_RADIUS, watercolor=False)

    def bounding_boxes(self, params, height: int, width: int):
        return tapered_curve_bounds(params, height, width)

    def init_strokes(self, centres: Tensor, colours: Tensor, sizes: Tensor,
                     generator=None) -> Tensor:
        radius = (sizes * 0.3 / MAX_RADIUS).clamp(0, 1)[:, None]
        return torch.cat([init_curves(centres, sizes, generator), radius, radius, colours,
                          torch.ones_like(sizes)[:, None]], dim=1)

    def sample_painting(self, n: int, generator=None) -> Tensor:
        pts, length = sample_curves(n, generator)
        ratio = 0.1 + 0.25 * torch.rand(n, 2, generator=generator)  # half-width / length
        radii = (length[:, None] * ratio / MAX_RADIUS).clamp(0, 1)
        rgb = torch.rand(n, 3, generator=generator)
        a = 0.7 + 0.3 * torch.rand(n, 1, generator=generator)
        return torch.cat([pts, radii, rgb, a], dim=1)

    # ---- vector forms -------------------------------------------------------------------------
    def svg_element(self, doc: vector.SvgDocument, i: int) -> str:
        """One ``<path>`` filled with the nonzero rule: the union of the discs of radius ``r0 ->
        r2`` along the curve, as a chain of tapered capsules (``vector.tapered_outline``)."""
        row = doc.params[i]
        pts, r0, r2 = vector.curve_in_svg(self, row, doc, MAX_RADIUS)
        d = vector.tapered_outline(pts, r0, r2, vector.bezier_segments(pts, doc.scale))
        return (f'<path id="s{i}" d="{d}" fill="{hex_colour(self.fields(row, "R", "G", "B"))}" '
                f'fill-opacity="{num(self.field(row, "A"), 4)}"/>')

    def stroke_record(self, frame: vector.StrokeFrame, row: np.ndarray) -> dict:
        colour = self.fields(row, "R", "G", "B")
        return vector.curve_stroke_record(self, frame, row, MAX_RADIUS, colour, colour, self.field(row, "A"))

    def params_from_record(self, record: dict, width: float, height: float) -> list[float]:
        r, g, b = vector.rgb_from_hex(record["colour_start"], f"stroke {record.get('index')}")
        values = vector.curve_from_record(record, width, height, MAX_RADIUS) | {"R": r, "G": g, "B": b,
                                                                               "A": record["opacity"]}
        return [values[n] for n in self.param_names]
