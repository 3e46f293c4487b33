"""``watercolor``: a translucent wash along a quadratic Bezier curve.

Parameters (15): ``x0, y0, x1, y1, x2, y2, r0, r2, R0, G0, B0, R2, G2, B2, A``. Like the marker
pen, but colour blends from ``(R0, G0, B0)`` to ``(R2, G2, B2)`` along the curve and the wash is
translucent, with pigment gathering at its edges (opacity ``A`` at the rim, ``CENTRE_DENSITY * A``
on the centre line). A curve of zero length is a round dab; a zero width draws nothing.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..arrays import torch
from ..kernels import curves as curve_kernels
from . import vector
from .base import PixelGrid, StrokeType, box_coverage
from .bezier import (CANDIDATES, MAX_RADIUS, NEWTON_STEPS, cullable, init_curves, render_culled, sample_curves, tapered_curve,
                     tapered_curve_bounds)
from .registry import register

if TYPE_CHECKING:
    from torch import Tensor

CENTRE_DENSITY = 0.6  # pigment on the centre line relative to the rim (edge darkening)
SVG_BANDS = 4  # steps of the edge darkening in an SVG (1: flat mean density)
COLOUR_SAMPLES = 24  # per side of the grid on which a stroke's SVG colour axis is fitted
COLOUR_STOPS = 12  # stops of a stroke's SVG colour gradient


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

    # ---- vector forms -------------------------------------------------------------------------
    def svg_element(self, doc: vector.SvgDocument, i: int) -> str:
        """The marker pen's outline, filled with a ``<linearGradient>`` fitted to the engine's
        colour (``_colour_axes``), with a ``<mask>`` of ``SVG_BANDS`` nested outlines (radius
        scaled down) that reproduces the edge darkening (density ``CENTRE_DENSITY -> 1`` from
        centre line to rim) in steps."""
        row = doc.params[i]
        pts, r0, r2 = vector.curve_in_svg(self, row, doc, MAX_RADIUS)
        segments = vector.bezier_segments(pts, doc.scale)
        d = vector.tapered_outline(pts, r0, r2, segments)
        fill = self._svg_fill(doc, i, self.fields(row, "R0", "G0", "B0"), self.fields(row, "R2", "G2", "B2"))
        bands = svg_bands()
        num = vector.num
        layers = [f'<rect width="{doc.width}" height="{doc.height}" fill="#fff" fill-opacity="{num(bands[0][1], 4)}"/>']
        for (_, outer), (frac, inner) in zip(bands[:-1], bands[1:]):
            inner_d = vector.tapered_outline(pts, r0 * frac, r2 * frac, segments)
            if inner_d:  # black over white scales the mask down by (1 - opacity)
                layers.append(f'<path d="{inner_d}" fill="#000" fill-opacity="{num(1 - inner / outer, 4)}"/>')
        mask = (f'<mask id="m{i}" maskUnits="userSpaceOnUse" x="0" y="0" width="{doc.width}" '
                f'height="{doc.height}">{"".join(layers)}</mask>')
        if len(layers) > 1 or bands[0][1] < 1.0:
            doc.defs.append(mask)
            masked = f' mask="url(#m{i})"'
        else:
            masked = ""
        return f'<path id="s{i}" d="{d}" fill="{fill}" fill-opacity="{num(self.field(row, "A"), 4)}"{masked}/>'

    def _svg_fill(self, doc: vector.SvgDocument, i: int, c0: np.ndarray, c2: np.ndarray) -> str:
        """The fill of stroke ``i``: a flat colour or ``url(#g<i>)`` (gradient added to the defs)."""
        if "watercolor_axes" not in doc.cache:
            doc.cache["watercolor_axes"] = self._colour_axes(doc)
        start, end, offsets, t = doc.cache["watercolor_axes"][i]
        hex_colour, num = vector.hex_colour, vector.num
        if start is None:
            return hex_colour(c0 + (c2 - c0) * t[0])
        stops = "".join(f'<stop offset="{num(o, 4)}" stop-color="{hex_colour(c0 + (c2 - c0) * tj)}"/>'
                        for o, tj in zip(offsets, t))
        doc.defs.append(f'<linearGradient id="g{i}" gradientUnits="userSpaceOnUse" x1="{num(start[0])}" '
                        f'y1="{num(start[1])}" x2="{num(end[0])}" y2="{num(end[1])}">{stops}</linearGradient>')
        return f"url(#g{i})"

    def _colour_axes(self, doc: vector.SvgDocument) -> list[tuple]:
        """Per stroke ``(start, end, offsets, t)``: the linear gradient that best imitates the
        engine's colour ``lerp(c0, c2, t*(p))``, where ``t*`` is the curve parameter the engine
        picks for pixel ``p``. ``t*`` is sampled on a grid over the stroke's box, weighted by its
        alpha; a weighted least-squares plane ``t* ~ a x + b y + c`` gives the gradient's axis, and
        the stops take the mean ``t*`` of the samples that project near them. Numpy only."""
        params = doc.params
        B, n = params.shape[0], COLOUR_SAMPLES
        box = tapered_curve_bounds(params, doc.height, doc.width)  # (B, 4) top, left, bottom, right
        frac = (np.arange(n, dtype=np.float64) + 0.5) / n
        xs = box[:, 1:2] + (box[:, 3:4] - box[:, 1:2]) * frac  # (B, n)
        ys = box[:, 0:1] + (box[:, 2:3] - box[:, 0:1]) * frac
        T, distance, radius = deepest_points(self, params, xs[:, None, :], ys[:, :, None], doc.height, doc.width)
        half_width, d = np.maximum(radius, 0.0), np.abs(distance)  # box_coverage, in numpy
        weight = np.clip(half_width + 0.5 - d, 0.0, 1.0) - np.clip(0.5 - half_width - d, 0.0, 1.0)  # (B, n, n)
        X = np.broadcast_to(xs[:, None, :], (B, n, n)).reshape(B, -1)
        Y = np.broadcast_to(ys[:, :, None], (B, n, n)).reshape(B, -1)
        T, Wt = T.reshape(B, -1), weight.reshape(B, -1)
        axes = []
        for i in range(B):
            w, t = Wt[i], T[i]
            total = w.sum()
            mean_t = float((w * t).sum() / total) if total > 0 else 0.0
            A = np.stack([X[i], Y[i], np.ones_like(t)], axis=1) * np.sqrt(w)[:, None]
            coef = np.linalg.lstsq(A, t * np.sqrt(w), rcond=None)[0] if total > 0 else np.zeros(3)
            s = X[i] * coef[0] + Y[i] * coef[1]
            covered = w > 0
            lo, hi = (s[covered].min(), s[covered].max()) if covered.any() else (0.0, 0.0)
            slope2 = float(coef[0] ** 2 + coef[1] ** 2)
            if hi - lo < 1e-3 or slope2 < 1e-18:  # no colour change to speak of: one flat colour
                axes.append((None, None, np.array([0.0]), np.array([mean_t])))
                continue
            direction = coef[:2] / slope2  # moving by this changes the fitted s by 1
            start, end = direction * lo, direction * hi
            offset = (s[covered] - lo) / (hi - lo)
            k = COLOUR_STOPS
            bins = np.clip((offset * k).astype(int), 0, k - 1)
            sums = np.bincount(bins, weights=(w * t)[covered], minlength=k)
            counts = np.bincount(bins, weights=w[covered], minlength=k)
            centres = (np.arange(k) + 0.5) / k
            has = counts > 1e-9
            stop_t = np.interp(centres, centres[has], sums[has] / counts[has])
            axes.append((start, end, centres, stop_t))
        return axes

    def stroke_record(self, frame: vector.StrokeFrame, row: np.ndarray) -> dict:
        return vector.curve_stroke_record(self, frame, row, MAX_RADIUS, self.fields(row, "R0", "G0", "B0"),
                                          self.fields(row, "R2", "G2", "B2"), self.field(row, "A"))

    def params_from_record(self, record: dict, width: float, height: float) -> list[float]:
        where = f"stroke {record.get('index')}"
        c0, c2 = vector.rgb_from_hex(record["colour_start"], where), vector.rgb_from_hex(record["colour_end"], where)
        values = vector.curve_from_record(record, width, height, MAX_RADIUS) | dict(zip(("R0", "G0", "B0"), c0)) \
            | dict(zip(("R2", "G2", "B2"), c2)) | {"A": record["opacity"]}
        return [values[n] for n in self.param_names]


def svg_bands() -> list[tuple[float, float]]:
    """``(radius fraction, density)`` of the nested outlines of the SVG's edge darkening: band
    ``j`` covers ``rho in [s_{j+1}, s_j]`` (``rho`` = distance / half-width) with the mean of the
    engine's density ``c + (1 - c) rho^2`` there (``c = CENTRE_DENSITY``); bounds equally spaced
    in density."""
    c, k = CENTRE_DENSITY, SVG_BANDS
    bounds = [math.sqrt(1.0 - j / k) for j in range(k)] + [0.0]  # 1 .. 0
    bands = []
    for hi, lo in zip(bounds[:-1], bounds[1:]):
        mean = c + (1 - c) * (hi**3 - lo**3) / (3 * (hi - lo))  # mean of c + (1-c) rho^2
        bands.append((hi, mean))
    return bands


def deepest_points(stroke: StrokeType, params: np.ndarray, xs: np.ndarray, ys: np.ndarray, height: int,
                   width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``bezier.tapered_curve`` in numpy float64, without gradient: for curve strokes ``params
    (B, d)`` and pixel centres ``xs (B, 1, w)``, ``ys (B, h, 1)`` of a ``height x width`` canvas,
    the curve parameter ``t`` of the deepest point, the distance to it and the half-width there,
    each ``(B, h, w)`` pixels. The same search as the engine: the best of ``CANDIDATES`` samples
    of ``t``, then ``NEWTON_STEPS`` Newton steps on ``g'(t) = 2 k sqrt(g(t))``."""
    B = params.shape[0]
    S = max(height, width)
    r0 = stroke.field(params, "r0") * (MAX_RADIUS * S)
    r2 = stroke.field(params, "r2") * (MAX_RADIUS * S)
    k = (r2 - r0).reshape(B, 1, 1)
    points = stroke.fields(params, *vector.CURVE_FIELDS)
    px, py = points[:, 0::2] * width, points[:, 1::2] * height  # (B, 3) pixels
    ax, ay = 2 * (px[:, 1] - px[:, 0]), 2 * (py[:, 1] - py[:, 0])
    cx, cy = px[:, 0] - 2 * px[:, 1] + px[:, 2], py[:, 0] - 2 * py[:, 1] + py[:, 2]
    v = lambda a: a.reshape(B, 1, 1)  # noqa: E731
    dx, dy = v(px[:, 0]) - xs, v(py[:, 0]) - ys
    c0 = dx * dx + dy * dy
    c1 = 2 * (dx * v(ax) + dy * v(ay))
    c2 = v(ax * ax + ay * ay) + 2 * (dx * v(cx) + dy * v(cy))
    c3, c4 = v(2 * (ax * cx + ay * cy)), v(cx * cx + cy * cy)

    def value(t):
        return ((c2 + (c3 + c4 * t) * t) * t + c1) * t + c0

    best_t, best_h = np.zeros_like(c0), np.sqrt(c0)
    for i in range(1, CANDIDATES):
        ti = i / (CANDIDATES - 1)
        h = np.sqrt(np.maximum(value(ti), 0.0)) - k * ti
        best_t[h < best_h] = ti
        best_h = np.minimum(best_h, h)
    t = best_t
    for _ in range(NEWTON_STEPS):
        g = np.maximum(value(t), 1e-12)
        inv_dist = 1.0 / np.sqrt(g)
        slope = ((t * (4 * c4) + 3 * c3) * t + 2 * c2) * t + c1
        df = np.maximum(np.abs((t * (12 * c4) + 6 * c3) * t + 2 * c2 - slope * inv_dist * k), 1e-3)
        t = np.clip(t - (slope - g * inv_dist * (2 * k)) / df, 0.0, 1.0)
    distance = np.sqrt(np.maximum(value(t), 0.0) + 1e-8)
    return t, distance, v(r0) + v(r2 - r0) * t
