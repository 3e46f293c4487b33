"""Distance from every pixel to a quadratic Bezier curve: the geometry shared by the curved strokes.

The curve ``B(t) = P0 + t * A + t^2 * C`` (``A = 2 (P1 - P0)``, ``C = P0 - 2 P1 + P2``) is the
quadratic Bezier with end points ``P0``, ``P2`` and control point ``P1``. For a pixel ``p`` the
squared distance ``g(t) = |B(t) - p|^2`` is a quartic in ``t`` whose three low coefficients vary
per pixel (and are sums of a per-column and a per-row term) while the two high ones are per
stroke. The closest point is found by Newton's method on ``g`` from the projection onto the
chord, without building a graph; one final Newton step with the curvature held fixed carries
the gradient, which is then exactly the implicit-function gradient of the minimiser.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from typing import TYPE_CHECKING

from ..arrays import namespace, torch
from .base import PixelGrid, log_uniform

if TYPE_CHECKING:
    from torch import Tensor

MAX_RADIUS = 0.25  # a radius parameter of 1 is a half-width of a quarter of the canvas's longer side
NEWTON_STEPS = 3
CANDIDATES = 5  # coarse samples of t that seed Newton's method
CELL = 8  # renders without gradient classify cells of CELL x CELL pixels first (render_culled)
CULL_MIN_PIXELS = 48 * 48  # ... when a window has at least this many pixels
CULL_MARGIN = 1.0  # pixels of slack for the search's error at a cell centre
CENTRE_CANDIDATES = 33  # seeds of the search at cell centres: a wrong minimum there would drop a cell


@dataclass
class ClosestPoint:
    """Per pixel, ``(B, h, w)``: parameter ``t`` of the deepest point, and distance in pixels."""

    t: Tensor
    distance: Tensor


def _coefficients(points: Tensor, grid: PixelGrid) -> tuple[Tensor, ...]:
    """Quartic coefficients ``c0..c4`` of ``g(t)``; ``c0..c2`` are ``(B, h, w)``, ``c3, c4`` ``(B, 1, 1)``."""
    B = points.shape[0]
    px = points[:, 0::2] * grid.width  # (B, 3) x of P0, P1, P2 in pixels
    py = points[:, 1::2] * grid.height
    ax, ay = 2 * (px[:, 1] - px[:, 0]), 2 * (py[:, 1] - py[:, 0])
    cx, cy = px[:, 0] - 2 * px[:, 1] + px[:, 2], py[:, 0] - 2 * py[:, 1] + py[:, 2]
    v = lambda t: t.view(B, 1, 1)  # noqa: E731
    dx = v(px[:, 0]) - grid.xs  # (B, 1, w)
    dy = v(py[:, 0]) - grid.ys  # (B, h, 1)
    c0 = dx * dx + dy * dy
    c1 = 2 * (dx * v(ax) + dy * v(ay))
    c2 = v(ax * ax + ay * ay) + 2 * (dx * v(cx) + dy * v(cy))
    c3 = v(2 * (ax * cx + ay * cy))
    c4 = v(cx * cx + cy * cy)
    return c0, c1, c2, c3, c4


def _quartic(t: Tensor, c: tuple[Tensor, ...]) -> Tensor:
    """``g(t)``, differentiable."""
    c0, c1, c2, c3, c4 = c
    return c0 + t * (c1 + t * (c2 + t * (c3 + t * c4)))


def _slope(t: Tensor, c: tuple[Tensor, ...]) -> Tensor:
    """``g'(t)``, differentiable."""
    _, c1, c2, c3, c4 = c
    return c1 + t * (2 * c2 + t * (3 * c3 + t * (4 * c4)))


class _Polynomial:
    """``g``, ``g'``, ``g''`` evaluated with in-place arithmetic (no autograd; for the search)."""

    def __init__(self, c: tuple[Tensor, ...]):
        self.c0, self.c1, self.c2, self.c3, self.c4 = c
        self.c2x2 = 2 * self.c2

    def value(self, t: Tensor | float) -> Tensor:
        out = self.c2 + (self.c3 + self.c4 * t) * t
        return out.mul_(t).add_(self.c1).mul_(t).add_(self.c0)

    def slope(self, t: Tensor) -> Tensor:
        out = t * (4 * self.c4)
        return out.add_(3 * self.c3).mul_(t).add_(self.c2x2).mul_(t).add_(self.c1)

    def curvature(self, t: Tensor) -> Tensor:
        out = t * (12 * self.c4)
        return out.add_(6 * self.c3).mul_(t).add_(self.c2x2)

    def newton_step(self, t: Tensor, k: Tensor) -> tuple[Tensor, Tensor]:
        """One Newton step on ``F(t) = g'(t) - 2 k sqrt(g(t)) = 0``, the stationarity condition
        of ``sqrt(g(t)) - k t``. Returns the new ``t`` (a new tensor) and ``|F'(t)|``."""
        g = self.value(t).clamp_min_(1e-12)
        inv_dist = g.rsqrt()
        slope = self.slope(t)
        df = self.curvature(t).sub_((slope * inv_dist).mul_(k)).abs_().clamp_min_(1e-3)
        f = slope.sub_(g.mul_(inv_dist).mul_(2 * k))
        return (t - f.div_(df)).clamp_(0.0, 1.0), df


def closest_point(points: Tensor, radius_slope: Tensor, grid: PixelGrid, candidates: int = CANDIDATES,
                  seed: Tensor | None = None) -> ClosestPoint:
    """The point of a tapered curve that reaches deepest towards every pixel of ``grid``.

    A stroke whose half-width changes linearly along the curve, ``r(t) = r0 + k t``, covers a
    pixel when ``min_t |B(t) - p| - r(t) < 0``; this finds that ``t`` (for ``k = 0`` it is the
    closest point). The best of a few coarse samples seeds Newton's method on the stationarity
    condition ``g'(t) = 2 k sqrt(g(t))`` of ``|B(t) - p| - k t``.

    Args:
        points: ``(B, 6)`` = ``x0, y0, x1, y1, x2, y2`` as canvas fractions (``P1`` is the control
            point).
        radius_slope: ``(B,)`` ``k`` in pixels per unit ``t``.
        grid: pixel centres, see ``base.make_grid``.
        candidates: coarse samples of ``t`` (evenly spaced, ends included) seeding the search.
        seed: one more sample of ``t``, broadcastable to ``(B, h, w)`` (e.g. a nearby point's answer).

    Returns:
        ``ClosestPoint`` with ``t`` in [0, 1] and ``distance = |B(t) - p| >= 0`` (pixels), both
        ``(B, h, w)`` and differentiable with respect to ``points`` and ``radius_slope``.
        A curve of zero length is a point.
    """
    B = points.shape[0]
    k = radius_slope.view(B, 1, 1)
    needs_grad = torch.is_grad_enabled() and (points.requires_grad or radius_slope.requires_grad)
    with torch.no_grad():
        c = _coefficients(points, grid)
        poly = _Polynomial(c)
        best_t = torch.zeros_like(c[0])
        best_h = c[0].sqrt()  # depth at t = 0
        for i in range(1, candidates):
            ti = i / (candidates - 1)
            h = poly.value(ti).clamp_min_(0.0).sqrt_().sub_(k * ti)
            better = h < best_h
            best_t.masked_fill_(better, ti)
            torch.minimum(best_h, h, out=best_h)
        if seed is not None:
            seed = seed.expand_as(best_t)
            h = poly.value(seed).clamp_min_(0.0).sqrt_().sub_(k * seed)
            best_t = torch.where(h < best_h, seed, best_t)
        t = best_t
        for _ in range(NEWTON_STEPS):
            t, curvature = poly.newton_step(t, k)
        if not needs_grad:
            distance = poly.value(t).clamp_min_(0.0).add_(1e-8).sqrt_()
            return ClosestPoint(t=t, distance=distance)

    # one more step with grad and the curvature held fixed: the implicit gradient of the minimiser
    c = _coefficients(points, grid)
    stationarity = _slope(t, c) - 2 * k * _quartic(t, c).clamp_min(1e-12).sqrt()
    t = (t - stationarity / curvature).clamp(0.0, 1.0)
    distance = torch.sqrt(_quartic(t, c).clamp_min(0.0) + 1e-8)
    return ClosestPoint(t=t, distance=distance)


def curve_bounds(points, margin, height: int, width: int):
    """``(B, 4)`` bounds ``(top, left, bottom, right)`` in pixels of curves ``(B, 6)`` thickened by
    ``margin (B,)`` pixels (the curve lies inside the hull of its three points). Numpy arrays or
    tensors; the bounds are the same kind."""
    xp = namespace(points)
    xs, ys = points[:, 0::2] * width, points[:, 1::2] * height
    m = margin + 1.0
    return xp.stack([xp.amin(ys, 1) - m, xp.amin(xs, 1) - m, xp.amax(ys, 1) + m, xp.amax(xs, 1) + m], 1)


def sample_curves(n: int, generator) -> tuple[Tensor, Tensor]:
    """``(n, 6)`` curve points and ``(n,)`` chord lengths (canvas fractions) for a painting: start
    anywhere, chord length log-uniform in 2 %..30 % of the canvas, control point near the chord's
    middle; largest first."""
    length = log_uniform(n, 0.02, 0.30, generator).sort(descending=True).values
    start = torch.rand(n, 2, generator=generator)
    angle = torch.rand(n, generator=generator) * 2 * torch.pi
    direction = torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    end = start + direction * length[:, None]
    normal = torch.stack([-direction[:, 1], direction[:, 0]], dim=1)
    bend = (torch.rand(n, 1, generator=generator) - 0.5) * 0.8 * length[:, None]
    control = 0.5 * (start + end) + normal * bend
    return torch.cat([start, control, end], dim=1).clamp(0.0, 1.0), length


def init_curves(centres: Tensor, sizes: Tensor, generator) -> Tensor:
    """``(n, 6)`` straight-ish curves through ``centres``, chord ``sizes`` long, random direction."""
    n = centres.shape[0]
    u = torch.rand(n, 2, generator=generator).to(centres.device)
    angle = u[:, 0] * 2 * torch.pi
    half = 0.5 * sizes[:, None] * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    normal = torch.stack([-half[:, 1], half[:, 0]], dim=1) * (u[:, 1:2] - 0.5) * 0.4
    return torch.cat([centres - half, centres + normal, centres + half], dim=1).clamp(0, 1)


def tapered_curve(params: Tensor, grid: PixelGrid, candidates: int = CANDIDATES,
                  seed: Tensor | None = None) -> tuple[ClosestPoint, Tensor]:
    """For strokes whose first 8 parameters are ``x0, y0, x1, y1, x2, y2, r0, r2``: the deepest
    point of the curve per pixel and the stroke's half-width there, ``(B, h, w)`` pixels."""
    B = params.shape[0]
    r0 = params[:, 6] * (MAX_RADIUS * grid.scale)
    r2 = params[:, 7] * (MAX_RADIUS * grid.scale)
    near = closest_point(params[:, 0:6], r2 - r0, grid, candidates, seed)
    radius = r0.view(B, 1, 1) + (r2 - r0).view(B, 1, 1) * near.t
    return near, radius


def tapered_curve_bounds(params, height: int, width: int):
    """``(B, 4)`` pixel bounds of the strokes of ``tapered_curve`` (see ``curve_bounds``)."""
    margin = namespace(params).amax(params[:, 6:8], 1) * (MAX_RADIUS * max(height, width))
    return curve_bounds(params[:, 0:6], margin, height, width)


def cullable(params: Tensor, grid: PixelGrid) -> bool:
    """Whether ``render_culled`` applies: no gradient is wanted and the window is big enough."""
    needs_grad = torch.is_grad_enabled() and params.requires_grad
    return not needs_grad and grid.ys.shape[1] * grid.xs.shape[2] >= CULL_MIN_PIXELS


def render_culled(render: Callable[..., tuple[Tensor, Tensor]], params: Tensor, grid: PixelGrid,
                  inside_alpha: Tensor | None = None, cell: int = CELL) -> tuple[Tensor, Tensor]:
    """``render(params, grid)`` of tapered-curve strokes (``(B, d) -> (B, 3, h, w), (B, 1, h, w)``),
    evaluated only on the ``cell x cell`` pixel cells that the stroke's edge may cross.

    The depth ``f(p) = min_t |B(t) - p| - r(t)`` is 1-Lipschitz in ``p``, and a pixel's box-filtered
    coverage is 0 where ``f >= 0.5`` and 1 where ``f <= -0.5``. So ``f`` at a cell's centre, give or
    take the centre's distance to the cell's farthest pixel centre (plus ``CULL_MARGIN`` for the
    search), proves a cell empty (alpha 0, colour 0) or, with ``inside_alpha (B,)``, fully covered
    (alpha ``inside_alpha``, colour from ``render`` at the cell centre: strokes of flat colour).
    The search at cell centres is seeded densely (``CENTRE_CANDIDATES``) and each cell's pixels are
    also seeded with their centre's answer (``render(params, grid, seed)``), so on strongly bent,
    tapered strokes pixels find the deepest point where the few seeds of a plain render miss it and
    leave gaps. The grid must be regular (``base.make_grid``). Without gradient only."""
    B, h, w = params.shape[0], grid.ys.shape[1], grid.xs.shape[2]
    hc, wc = -(-h // cell), -(-w // cell)
    half = (cell - 1) / 2
    centres = PixelGrid(xs=grid.xs[:, :, ::cell] + half, ys=grid.ys[:, ::cell, :] + half,
                        height=grid.height, width=grid.width)
    near, radius = tapered_curve(params, centres, CENTRE_CANDIDATES)
    depth = near.distance - radius  # (B, hc, wc)
    reach = 0.5 + half * math.sqrt(2) + CULL_MARGIN
    inside = depth <= -reach if inside_alpha is not None else torch.zeros_like(depth, dtype=torch.bool)
    edge = (depth < reach) & ~inside
    # the cells to render pixel by pixel, as a batch of cell-sized windows
    b, cy, cx = edge.nonzero(as_tuple=True)
    steps = torch.arange(cell, device=params.device, dtype=grid.xs.dtype)
    xs = (grid.xs[b, 0, 0] + (cx * cell).to(steps.dtype))[:, None] + steps  # (M, cell)
    ys = (grid.ys[b, 0, 0] + (cy * cell).to(steps.dtype))[:, None] + steps
    seed = near.t[b, cy, cx].view(-1, 1, 1)
    colour_cells, alpha_cells = render(params[b], PixelGrid(xs=xs[:, None, :], ys=ys[:, :, None],
                                                             height=grid.height, width=grid.width), seed)
    colour = params.new_zeros(B, hc, wc, 3, cell, cell)
    alpha = params.new_zeros(B, hc, wc, 1, cell, cell)
    colour[b, cy, cx] = colour_cells.expand(-1, 3, -1, -1)
    alpha[b, cy, cx] = alpha_cells
    if inside.any():
        colour_centres, _ = render(params, centres)  # (B, 3, hc, wc)
        bi, yi, xi = inside.nonzero(as_tuple=True)
        colour[bi, yi, xi] = colour_centres.expand(-1, 3, -1, -1)[bi, :, yi, xi][:, :, None, None]
        alpha[bi, yi, xi] = inside_alpha[bi].view(-1, 1, 1, 1).to(alpha.dtype)
    def unfold(cells: Tensor) -> Tensor:  # (B, hc, wc, C, cell, cell) -> (B, C, h, w)
        C = cells.shape[3]
        return cells.permute(0, 3, 1, 4, 2, 5).reshape(B, C, hc * cell, wc * cell)[:, :, :h, :w]

    return unfold(colour), unfold(alpha)
