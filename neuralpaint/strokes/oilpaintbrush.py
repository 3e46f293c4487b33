"""``oilpaintbrush``: a bristle brush dragged along a straight line, placed by one affine map.

Parameters (12): ``xc, yc, w, h, theta, R0, G0, B0, R2, G2, B2, A``. The stroke is centred at
``(xc, yc)``, ``w`` long (along its direction ``theta * pi``) and ``h`` broad. Colour runs from
``(R0, G0, B0)`` at the start to ``(R2, G2, B2)`` at the end and is modulated by the bristles'
luminance; ``A`` scales the opacity. The brush texture (``brush=`` option: see
``neuralpaint.strokes.brushes.BRUSHES``) is procedural and mip-mapped, so it stays sharp at any
scale. A stroke of zero length or zero breadth draws nothing.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..arrays import F, torch
from ..kernels import boxes as box_kernels
from . import brushes, vector
from .base import CommandLineOption, PixelGrid, StrokeType, box_coverage
from .rectangle import (init_rotated_boxes, rotated_box_bounds, rotated_box_from_record, rotated_box_record,
                        rotated_box_touches, rotated_frame, sample_rotated_boxes)
from .vector import hex_colour, num, point
from .registry import register

if TYPE_CHECKING:
    from torch import Tensor

START_ROUND = 0.08  # the brush touches down with a rounded heel: offset (fraction of length) at the edges
LUMINANCE_FLOOR = 0.78  # colour multiplier where the bristles carry least paint
SVG_MIN_LEVEL = 2  # finest brush mip level embedded in an SVG (4096 / 2**2 = 1024 gradient stops)


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
    command_line_options = (CommandLineOption(
        "--brush", "brush", f"its texture, one of {', '.join(sorted(brushes.BRUSHES))} (default: oil)",
        choices=tuple(sorted(brushes.BRUSHES)), kind="an oil brush texture"),)

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

    # ---- vector forms -------------------------------------------------------------------------
    def svg_element(self, doc: vector.SvgDocument, i: int) -> str:
        """A ``<use>`` of the brush outline embedded once per mip level (rounded heel, per-bristle
        ragged end, in the stroke's unit frame), masked by the bristle density across the brush
        (a ``<linearGradient>``), placed by the stroke's affine transform, with its own start ->
        end colour gradient and opacity. The bristles' luminance modulation cannot be multiplied
        into a fill portably, so its density-weighted mean is folded into the colours."""
        row = doc.params[i]
        xc, yc, w, h, theta, a = self.fields(row, "xc", "yc", "w", "h", "theta", "A")
        c0, c2 = self.fields(row, "R0", "G0", "B0"), self.fields(row, "R2", "G2", "B2")
        length, breadth = w * doc.side, h * doc.side
        if length * breadth <= 0.0:  # draws nothing; keep one element per stroke
            return f'<g id="s{i}"/>'
        shape_id, mask_id, lum = self._svg_defs(doc, self._svg_level(doc, breadth))
        doc.defs.append(f'<linearGradient id="g{i}" gradientUnits="userSpaceOnUse" x1="-0.5" y1="0" x2="0.5" '
                        f'y2="0"><stop offset="0" stop-color="{hex_colour(c0 * lum)}"/><stop offset="1" '
                        f'stop-color="{hex_colour(c2 * lum)}"/></linearGradient>')
        transform = (f"translate({point((xc * doc.width, yc * doc.height))}) rotate({num(theta * 180, 4)}) "
                     f"scale({num(length, 4)} {num(breadth / 2, 4)})")
        return (f'<use id="s{i}" xlink:href="#{shape_id}" transform="{transform}" fill="url(#g{i})" '
                f'fill-opacity="{num(a, 4)}" mask="url(#{mask_id})"/>')

    @staticmethod
    def _svg_level(doc: vector.SvgDocument, breadth: float) -> int:
        """The engine's mip level for a brush ``breadth`` user units broad, at the export size."""
        level = math.log2(brushes.TEXELS / (breadth * doc.scale + 1e-6))
        return int(min(brushes.LEVELS - 1, max(SVG_MIN_LEVEL, round(level))))

    def _svg_profiles(self, level: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``v`` in [-1, 1] and the brush's density and end profiles there at mip ``level``, sampled
        one value per filtered texel."""
        tex = self.texture_array(np.float64)
        samples = brushes.TEXELS // 2**level
        v = np.linspace(-1.0, 1.0, samples + 1)
        texel = (v + 1.0) * 0.5 * (brushes.TEXELS - 1)
        grid = np.arange(brushes.TEXELS)
        density = np.interp(texel, grid, tex[0, level])
        end = np.interp(texel, grid, tex[1, level])
        return v, density, end

    def _svg_defs(self, doc: vector.SvgDocument, level: int) -> tuple[str, str, float]:
        """Ids of the brush outline and density mask at ``level`` (written once per document), and
        the brush's mean luminance factor (weighted by density)."""
        v, density, end = self._svg_profiles(level)

        def shape(def_id: str) -> str:
            # unit frame: x = along the stroke (-0.5 start .. 0.5 end), y = across (-1 .. 1)
            start = START_ROUND * (1.0 - np.sqrt(np.clip(1.0 - v * v, 0.0, None)))
            heel = " ".join(point((s - 0.5, y)) for s, y in zip(start, v))
            tip = " ".join(point((0.5 - e, y)) for e, y in zip(end[::-1], v[::-1]))
            return f'<path id="{def_id}" d="M{heel} {tip}Z"/>'

        def mask(def_id: str) -> str:
            stops = "".join(f'<stop offset="{num(j / (len(v) - 1), 5)}" stop-color="#fff" '
                            f'stop-opacity="{num(dj, 4)}"/>' for j, dj in enumerate(density))
            return (f'<linearGradient id="{def_id}-density" gradientUnits="userSpaceOnUse" x1="0" y1="-1" '
                    f'x2="0" y2="1">{stops}</linearGradient><mask id="{def_id}" maskUnits="userSpaceOnUse" '
                    f'x="-1" y="-2" width="2" height="4"><rect x="-1" y="-1" width="2" height="2" '
                    f'fill="url(#{def_id}-density)"/></mask>')

        shape_id = doc.shared(f"brush-{self._brush}-{level}", shape)
        mask_id = doc.shared(f"brush-{self._brush}-{level}-mask", mask)
        luminance = LUMINANCE_FLOOR + (1.0 - LUMINANCE_FLOOR) * density
        mean_lum = float((density * luminance).sum() / max(density.sum(), 1e-9))
        return shape_id, mask_id, mean_lum

    def stroke_record(self, frame: vector.StrokeFrame, row: np.ndarray) -> dict:
        return rotated_box_record(frame, *self.fields(row, "xc", "yc", "w", "h", "theta"),
                                  self.fields(row, "R0", "G0", "B0"), self.fields(row, "R2", "G2", "B2"),
                                  self.field(row, "A"))

    def params_from_record(self, record: dict, width: float, height: float) -> list[float]:
        where = f"stroke {record.get('index')}"
        c0, c2 = vector.rgb_from_hex(record["colour_start"], where), vector.rgb_from_hex(record["colour_end"], where)
        values = rotated_box_from_record(record, width, height) | dict(zip(("R0", "G0", "B0"), c0)) \
            | dict(zip(("R2", "G2", "B2"), c2)) | {"A": record["opacity"]}
        return [values[n] for n in self.param_names]
