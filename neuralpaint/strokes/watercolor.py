"""``watercolor``: a translucent wash along a quadratic Bezier curve.

Parameters (15): ``x0, y0, x1, y1, x2, y2, r0, r2, R0, G0, B0, R2, G2, B2, A``. Like the marker
pen, but colour blends from ``(R0, G0, B0)`` to ``(R2, G2, B2)`` along the curve and the wash is
translucent, with pigment gathering at its edges (opacity ``A`` at the rim, ``CENTRE_DENSITY * A``
on the centre line). A curve of zero length is a round dab; a zero width draws nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..arrays import torch
from ..kernels import curves as curve_kernels
from .base import PixelGrid, StrokeType, box_coverage
from .bezier import (MAX_RADIUS, cullable, init_curves, render_culled, sample_curves, tapered_curve,
                     tapered_curve_bounds)
from .registry import register

if TYPE_CHECKING:
    from torch import Tensor

CENTRE_DENSITY = 0.6  # pigment on the centre line relative to the rim (edge darkening)


@register
class Watercolor(StrokeType):
    name = "watercolor"
    param_names = ("x0", "y0", "x1", "y1", "x2", "y2", "r0", "r2",
                   "R0", "G0", "B0", "R2", "G2", "B2", "A")
    shape = slice(0, 8)
    colour = slice(8, 14)
    alpha = 14
    x_indices = (0, 2, 4)
    y_indices = (1, 3, 5)
    length_indices = (6, 7)
    length_scale = 2 * MAX_RADIUS  # r0, r2 are half-widths in units of MAX_RADIUS
    kernel_fields = param_names  # kernels.curves.FIELDS, in the same order

    def _render(self, params: Tensor, grid: PixelGrid) -> tuple[Tensor, Tensor]:
        if cullable(params, grid):  # big windows without gradient: only cells the stroke reaches
            return render_culled(self._render_pixels, params, grid)
        return self._render_pixels(params, grid)

    def _render_pixels(self, params: Tensor, grid: PixelGrid, seed: Tensor | None = None) -> tuple[Tensor, Tensor]:
        B = params.shape[0]
        near, radius = tapered_curve(params, grid, seed=seed)
        rim = (near.distance / (radius + 1e-3)).clamp(max=1.0)
        density = CENTRE_DENSITY + (1.0 - CENTRE_DENSITY) * rim * rim
        cover = box_coverage(near.distance, radius) * density
        alpha = cover.unsqueeze(1) * params[:, 14].view(B, 1, 1, 1)
        c0 = params[:, 8:11].view(B, 3, 1, 1)
        c2 = params[:, 11:14].view(B, 3, 1, 1)
        colour = c0 + (c2 - c0) * near.t.unsqueeze(1)
        return colour, alpha

    def _paint_kernel(self, fields, boxes, canvas, top, height, width):
        curve_kernels.paint_curves(fields, boxes, canvas, top, height, width, MAX_RADIUS, watercolor=True,
                                   centre_density=CENTRE_DENSITY)

    def bounding_boxes(self, params, height: int, width: int):
        return tapered_curve_bounds(params, height, width)

    def init_strokes(self, centres: Tensor, colours: Tensor, sizes: Tensor,
                     generator=None) -> Tensor:
        radius = (sizes * 0.3 / MAX_RADIUS).clamp(0, 1)[:, None]
        return torch.cat([init_curves(centres, sizes, generator), radius, radius, colours, colours,
                          torch.ones_like(sizes)[:, None]], dim=1)

    def sample_painting(self, n: int, generator=None) -> Tensor:
        pts, length = sample_curves(n, generator)
        ratio = 0.1 + 0.3 * torch.rand(n, 2, generator=generator)
        radii = (length[:, None] * ratio / MAX_RADIUS).clamp(0, 1)
        c0 = torch.rand(n, 3, generator=generator)
        c2 = (c0 + 0.2 * torch.randn(n, 3, generator=generator)).clamp(0, 1)
        a = 0.5 + 0.4 * torch.rand(n, 1, generator=generator)
        return torch.cat([pts, radii, c0, c2, a], dim=1)
