"""``oilpaintbrush``: a bristle brush dragged along a straight line, placed by one affine map.

Parameters (12): ``xc, yc, w, h, theta, R0, G0, B0, R2, G2, B2, A``. The stroke is centred at
``(xc, yc)``, ``w`` long (along its direction ``theta * pi``) and ``h`` broad. Colour runs from
``(R0, G0, B0)`` at the start to ``(R2, G2, B2)`` at the end and is modulated by the bristles'
luminance; ``A`` scales the opacity. The brush texture (``brush=`` option: see
``neuralpaint.strokes.brushes.BRUSHES``) is procedural and mip-mapped, so it stays sharp at any
scale. A stroke of zero length or zero breadth draws nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..arrays import F, torch
from ..kernels import boxes as box_kernels
from . import brushes
from .base import PixelGrid, StrokeType, box_coverage
from .rectangle import (init_rotated_boxes, rotated_box_bounds, rotated_box_touches, rotated_frame,
                        sample_rotated_boxes)
from .registry import register

if TYPE_CHECKING:
    from torch import Tensor

START_ROUND = 0.08  # the brush touches down with a rounded heel: offset (fraction of length) at the edges
LUMINANCE_FLOOR = 0.78  # colour multiplier where the bristles carry least paint


@register
class OilPaintBrush(StrokeType):
    name = "oilpaintbrush"
    param_names = ("xc", "yc", "w", "h", "theta", "R0", "G0", "B0", "R2", "G2", "B2", "A")
    shape = slice(0, 5)
    colour = slice(5, 11)
    alpha = 11
    x_indices = (0,)
    y_indices = (1,)
    length_indices = (2, 3)
    kernel_fields = ("xc", "yc", "w", "h", "theta", "R0", "G0", "B0", "R2", "G2", "B2", "A")  # kernels.boxes.FIELDS
    cell_kernel = "oil"

    def __init__(self, brush: str = "oil"):
        self._brush = brush
        self._texture = brushes.brush_texture(brush)  # (2, LEVELS, TEXELS) numpy float32
        self._as: dict[tuple, object] = {}  # the texture as other arrays, by (kind, device, dtype)

    @property
    def options(self) -> dict:
        return {"brush": self._brush}

    def texture_array(self, dtype) -> np.ndarray:
        """The brush texture ``(2, LEVELS, TEXELS)`` as a numpy array of ``dtype`` (cached)."""
        key = ("numpy", str(np.dtype(dtype)))
        if key not in self._as:
            self._as[key] = np.ascontiguousarray(self._texture, dtype=dtype)
        return self._as[key]

    def texture(self, device, dtype) -> Tensor:
        """The brush texture ``(1, 2, LEVELS, TEXELS)`` as a tensor on ``device`` in ``dtype`` (cached)."""
        key = ("torch", str(device), dtype)
        if key not in self._as:
            self._as[key] = torch.tensor(self._texture)[None].to(device=device, dtype=dtype)
        return self._as[key]

    def _render(self, params: Tensor, grid: PixelGrid) -> tuple[Tensor, Tensor]:
        B = params.shape[0]
        S = grid.scale
        u, v = rotated_frame(params[:, 0:2], params[:, 4], grid)  # (B, h, w) pixels
        length = (params[:, 2] * S).view(B, 1, 1)
        breadth = (params[:, 3] * S).view(B, 1, 1)
        h, w = u.shape[1:]

        # texture lookup across the brush at the mip level where one texel ~ one pixel
        v_unit = v / (0.5 * breadth + 1e-6)  # -1 .. 1 across the brush
        level = torch.log2(brushes.TEXELS / (breadth + 1e-6)).clamp(0, brushes.LEVELS - 1)
        level_coord = (level * (2.0 / (brushes.LEVELS - 1)) - 1.0).expand(B, h, w)
        lookup = torch.stack([v_unit, level_coord], dim=-1)  # (B, h, w, 2)
        tex = self.texture(params.device, params.dtype).expand(B, -1, -1, -1)
        density, end = F.grid_sample(
            tex, lookup, mode="bilinear", padding_mode="border", align_corners=True
        ).unbind(1)  # (B, h, w) each

        # along the stroke: rounded heel at the start, per-bristle dry end
        start = START_ROUND * (1.0 - torch.sqrt((1.0 - v_unit * v_unit).clamp_min(0.0) + 1e-12))
        centre = 0.5 * (start - end) * length
        half_len = 0.5 * (1.0 - start - end) * length
        cover = box_coverage(u - centre, half_len) * box_coverage(v, 0.5 * breadth) * density
        alpha = cover.unsqueeze(1) * params[:, 11].view(B, 1, 1, 1)

        along = (u / (length + 1e-6) + 0.5).clamp(0.0, 1.0).unsqueeze(1)  # 0 at start, 1 at end
        c0 = params[:, 5:8].view(B, 3, 1, 1)
        c2 = params[:, 8:11].view(B, 3, 1, 1)
        luminance = (LUMINANCE_FLOOR + (1.0 - LUMINANCE_FLOOR) * density).unsqueeze(1)
        colour = (c0 + (c2 - c0) * along) * luminance
        return colour, alpha

    def kernel_extra(self, dtype) -> tuple:
        return self.texture_array(dtype), START_ROUND, LUMINANCE_FLOOR

    def _paint_kernel(self, fields, boxes, canvas, top, height, width):
        box_kernels.paint_boxes("oil", fields, boxes, canvas, top, height, width, self.kernel_extra(np.float64))

    def bounding_boxes(self, params, height: int, width: int):
        return rotated_box_bounds(params, height, width)

    def cells_touched(self, params: Tensor, rows: Tensor, centres: Tensor, half: float, height: int,
                      width: int) -> Tensor:
        return rotated_box_touches(params, rows, centres, half, height, width)

    def init_strokes(self, centres: Tensor, colours: Tensor, sizes: Tensor,
                     generator=None) -> Tensor:
        shape = init_rotated_boxes(centres, sizes, generator, aspect=(1.5, 3.0))
        return torch.cat([shape, colours, colours, torch.ones_like(sizes)[:, None]], dim=1)

    def sample_painting(self, n: int, generator=None) -> Tensor:
        shape = sample_rotated_boxes(n, generator, aspect=(1.5, 5.0))
        c0 = torch.rand(n, 3, generator=generator)
        c2 = (c0 + 0.15 * torch.randn(n, 3, generator=generator)).clamp(0, 1)
        a = 0.6 + 0.4 * torch.rand(n, 1, generator=generator)
        return torch.cat([shape, c0, c2, a], dim=1)
