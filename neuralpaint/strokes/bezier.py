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
from dataclasses import dataclass

import torch
from torch import Tensor

from .base import PixelGrid, log_uniform

MAX_RADIUS = 0.25  # a radius parameter of 1 is a half-width of a quarter of the canvas's longer side
NEWTON_STEPS = 3  # per pixel, from a seed interpolated between cell corners (or from CANDIDATES)
CANDIDATES = 5  # coarse samples of t that seed Newton's method on grids that are not pixel grids
CELL = 8  # pixel grids are searched in cells of CELL x CELL pixels, from the cells' corners
CORNER_STEPS = 6  # Newton steps at the corners, from the best dense sample
SEED_SPAN = 2.0  # corners whose t differ by more arc length than this many cells: per-pixel seeds
DEEP_RADIUS = 4  # cells certainly covered whose half-width is >= this many cells ...
DEEP_STEPS = 1  # ... take this many Newton steps (no gradient needed)
RETRY_MOVE = 0.01  # pixels whose last Newton step moved B(t) by more pixels than this are searched
RETRY_SAMPLES = 16  # again from their cell's corners, the current t and RETRY_SAMPLES + 1 samples,
RETRY_STEPS = 8  # with this many Newton steps


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


def _distance(points: Tensor, t: Tensor, grid: PixelGrid) -> Tensor:
    """``|B(t) - p|`` in pixels, ``(B, h, w)``, from the curve's vector form (the quartic loses
    precision near the curve on big canvases), differentiable; never below ``1e-4``."""
    B = points.shape[0]
    px = points[:, 0::2] * grid.width
    py = points[:, 1::2] * grid.height
    v = lambda a: a.view(B, 1, 1)  # noqa: E731
    ex = (v(px[:, 0]) - grid.xs) + t * (v(2 * (px[:, 1] - px[:, 0])) + t * v(px[:, 0] - 2 * px[:, 1] + px[:, 2]))
    ey = (v(py[:, 0]) - grid.ys) + t * (v(2 * (py[:, 1] - py[:, 0])) + t * v(py[:, 0] - 2 * py[:, 1] + py[:, 2]))
    return torch.sqrt(ex * ex + ey * ey + 1e-8)


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


def closest_point(points: Tensor, radius_slope: Tensor, grid: PixelGrid) -> ClosestPoint:
    """The point of a tapered curve that reaches deepest towards every pixel of ``grid``.

    A stroke whose half-width changes linearly along the curve, ``r(t) = r0 + k t``, covers a
    pixel when ``min_t |B(t) - p| - r(t) < 0``; this finds that ``t`` (for ``k = 0`` it is the
    closest point). On pixel grids (``base.make_grid``) the search is seeded from cell corners
    (see ``_cell_search``); on other grids the best of a few coarse samples seeds Newton's method
    on the stationarity condition ``g'(t) = 2 k sqrt(g(t))`` of ``|B(t) - p| - k t``.

    Args:
        points: ``(B, 6)`` = ``x0, y0, x1, y1, x2, y2`` as canvas fractions (``P1`` is the control
            point).
        radius_slope: ``(B,)`` ``k`` in pixels per unit ``t``.
        grid: pixel centres, see ``base.make_grid``.

    Returns:
        ``ClosestPoint`` with ``t`` in [0, 1] and ``distance = |B(t) - p| >= 0`` (pixels), both
        ``(B, h, w)`` and differentiable with respect to ``points`` and ``radius_slope``.
        A curve of zero length is a point.
    """
    near, _ = _tapered(points, torch.zeros_like(radius_slope), radius_slope, grid, need_t=True)
    return near


def _tapered(points: Tensor, r0: Tensor, k: Tensor, grid: PixelGrid,
             need_t: bool) -> tuple[ClosestPoint, Tensor]:
    """``closest_point`` and the half-width ``r0 + k t`` there; see ``tapered_curve``."""
    B = points.shape[0]
    kv = k.view(B, 1, 1)
    needs_grad = torch.is_grad_enabled() and (points.requires_grad or k.requires_grad or r0.requires_grad)
    if not _unit_spaced(grid):
        t, curvature = _candidate_search(points, kv, grid)
    else:
        with torch.no_grad():
            found = _cell_search(points.detach(), r0.detach(), k.detach(), grid,
                                 need_t=need_t or needs_grad, with_curvature=needs_grad)
        if not needs_grad:
            return ClosestPoint(t=found.t, distance=found.distance), found.radius
        t, curvature = found.t, found.curvature
    if not needs_grad:
        with torch.no_grad():
            distance = _distance(points, t, grid)
        return ClosestPoint(t=t, distance=distance), r0.view(B, 1, 1) + kv * t

    # one more step with grad and the curvature held fixed: the implicit gradient of the minimiser
    c = _coefficients(points, grid)
    stationarity = _slope(t, c) - 2 * kv * _quartic(t, c).clamp_min(1e-12).sqrt()
    t = (t - stationarity / curvature).clamp(0.0, 1.0)
    return ClosestPoint(t=t, distance=_distance(points, t, grid)), r0.view(B, 1, 1) + kv * t


def _unit_spaced(grid: PixelGrid) -> bool:
    """Whether ``grid`` has pixel centres one pixel apart (as ``make_grid`` makes them)."""
    for axis, dim in ((grid.xs, -1), (grid.ys, -2)):
        if axis.shape[dim] > 1:
            step = axis.narrow(dim, 1, 1) - axis.narrow(dim, 0, 1)
            if not bool(((step - 1.0).abs() < 1e-6).all()):
                return False
    return True


def _candidate_search(points: Tensor, k: Tensor, grid: PixelGrid) -> tuple[Tensor, Tensor]:
    """No-grad ``t (B, h, w)`` and ``|F'(t)|`` on any grid: the best of ``CANDIDATES`` samples of
    ``t`` seeds ``NEWTON_STEPS`` Newton steps."""
    with torch.no_grad():
        c = _coefficients(points.detach(), grid)
        poly = _Polynomial(c)
        k = k.detach()
        best_t = torch.zeros_like(c[0])
        best_h = c[0].sqrt()  # depth at t = 0
        for i in range(1, CANDIDATES):
            ti = i / (CANDIDATES - 1)
            h = poly.value(ti).clamp_min_(0.0).sqrt_().sub_(k * ti)
            better = h < best_h
            best_t.masked_fill_(better, ti)
            torch.minimum(best_h, h, out=best_h)
        t = best_t
        for _ in range(NEWTON_STEPS):
            t, curvature = poly.newton_step(t, k)
    return t, curvature


# ---- the search on pixel grids -------------------------------------------------------------
@dataclass
class _Curve:
    """Per stroke, in pixels, each ``(n,)``: ``B(t) = (x0, y0) + t (ax, ay) + t^2 (cx, cy)``,
    half-width ``r0 + k t``, and ``lip``, a Lipschitz constant of ``|B(t) - p| - r(t)`` in ``t``."""

    x0: Tensor
    y0: Tensor
    ax: Tensor
    ay: Tensor
    cx: Tensor
    cy: Tensor
    r0: Tensor
    k: Tensor
    lip: Tensor

    @staticmethod
    def of(points: Tensor, r0: Tensor, k: Tensor, grid: PixelGrid) -> "_Curve":
        px = points[:, 0::2] * grid.width
        py = points[:, 1::2] * grid.height
        ax, ay = 2 * (px[:, 1] - px[:, 0]), 2 * (py[:, 1] - py[:, 0])
        bx, by = 2 * (px[:, 2] - px[:, 1]), 2 * (py[:, 2] - py[:, 1])  # B'(1); B'(0) = (ax, ay)
        lip = torch.maximum(torch.hypot(ax, ay), torch.hypot(bx, by)) + k.abs()  # |B'| is convex in t
        return _Curve(px[:, 0], py[:, 0], ax, ay, px[:, 0] - 2 * px[:, 1] + px[:, 2],
                      py[:, 0] - 2 * py[:, 1] + py[:, 2], r0, k, lip)

    def take(self, index: Tensor) -> "_Curve":
        return _Curve(*(getattr(self, f)[index] for f in self.__dataclass_fields__))

    def coefficients(self, dx: Tensor, dy: Tensor) -> tuple[Tensor, ...]:
        """``g``'s coefficients for points at ``x0 - dx, y0 - dy`` (``dx (n, 1, w)``, ``dy (n, h, 1)``)."""
        v = lambda a: a.view(-1, 1, 1)  # noqa: E731
        c0 = dx * dx + dy * dy
        c1 = (2 * dx * v(self.ax)) + (2 * dy * v(self.ay))
        c2 = (2 * dx * v(self.cx) + v(self.ax * self.ax + self.ay * self.ay)) + 2 * dy * v(self.cy)
        c3 = v(2 * (self.ax * self.cx + self.ay * self.cy))
        c4 = v(self.cx * self.cx + self.cy * self.cy)
        return c0, c1, c2, c3, c4


def _sampled_depth(curve: _Curve, qx: Tensor, qy: Tensor, lo: Tensor, hi: Tensor,
                   m: int) -> tuple[Tensor, Tensor, Tensor]:
    """``min_j |B(t_j) - q| - r(t_j)`` over ``t_j = lo + (hi - lo) j / m`` (``j = 0..m``) for points
    ``qx (n, 1, w)``, ``qy (n, h, 1)``: the minimum and its ``t`` (``(n, h, w)``), and ``(n,)`` the
    most by which the true minimum over ``[lo, hi]`` can be lower."""
    n = lo.shape[0]
    frac = torch.arange(m + 1, device=lo.device, dtype=lo.dtype) / m
    t = lo[:, None] + (hi - lo)[:, None] * frac  # (n, m + 1)
    bx = curve.x0[:, None] + t * (curve.ax[:, None] + t * curve.cx[:, None])
    by = curve.y0[:, None] + t * (curve.ay[:, None] + t * curve.cy[:, None])
    r = curve.r0[:, None] + curve.k[:, None] * t
    h, w = qy.shape[1], qx.shape[2]
    chunk = max(1, (1 << 21) // max(1, n * h * w))
    best = best_t = None
    for s in range(0, m + 1, chunk):
        sl = slice(s, min(m + 1, s + chunk))
        v = lambda a: a[:, None, None, sl]  # noqa: E731
        depth = torch.hypot(v(bx) - qx[..., None], v(by) - qy[..., None]).sub_(v(r))  # (n, h, w, c)
        val, idx = depth.min(-1)
        tj = t[:, sl].gather(1, idx.view(n, -1)).view(n, h, w)
        if best is None:
            best, best_t = val, tj
        else:
            better = val < best
            best = torch.where(better, val, best)
            best_t = torch.where(better, tj, best_t)
    return best, best_t, curve.lip * (hi - lo) / (2 * m)


@dataclass
class _Found:
    t: Tensor
    distance: Tensor
    radius: Tensor
    curvature: Tensor | None


def _cell_search(points: Tensor, r0: Tensor, k: Tensor, grid: PixelGrid, need_t: bool,
                 with_curvature: bool) -> _Found:
    """The deepest point per pixel of a unit-spaced grid, from the cells up.

    The depth ``D(p) = min_t |B(t) - p| - r(t)`` is 1-Lipschitz in ``p`` and ``|B(t) - p| - r(t)``
    is ``curve.lip``-Lipschitz in ``t``, so dense samples of ``t`` bound it from both sides:
    (1) at the window's centre, to narrow the range of ``t`` any pixel of the window can use;
    (2) at the corners of ``CELL x CELL`` cells, within that range, with ``CORNER_STEPS`` Newton
    steps from the best sample. A cell whose depth is certainly >= 0.5 is not covered (its pixels
    get ``distance = radius + 1``, no search); with ``need_t=False`` a cell certainly <= -0.5 is
    fully covered (``distance = 0``, ``radius = max(r0, r2)``). Every other pixel starts from the
    bilinear interpolation of its cell's corner ``t`` (or, where the corners disagree by more
    than ``SEED_SPAN`` cells of arc length, from the best of them) and takes ``NEWTON_STEPS``
    Newton steps.
    """
    B = points.shape[0]
    h, w = grid.ys.shape[-2], grid.xs.shape[-1]
    S = CELL
    hc, wc = -(-h // S), -(-w // S)
    curve = _Curve.of(points, r0, k, grid)
    left = grid.xs[:, 0, 0].expand(B) - 0.5  # window origin (pixel boundary), canvas pixels
    top = grid.ys[:, 0, 0].expand(B) - 0.5
    ones = torch.ones_like(left)

    # (1) the window's range of t
    half_diag = 0.5 * math.hypot(h, w)
    m1 = int(min(256, max(8, math.ceil(float(curve.lip.max()) / max(half_diag, S)))))
    cx, cy = (left + 0.5 * w).view(B, 1, 1), (top + 0.5 * h).view(B, 1, 1)
    frac = torch.arange(m1 + 1, device=left.device, dtype=left.dtype) / m1
    t1 = frac.expand(B, m1 + 1)
    dist1 = torch.hypot(curve.x0[:, None] + t1 * (curve.ax[:, None] + t1 * curve.cx[:, None]) - cx[:, 0],
                        curve.y0[:, None] + t1 * (curve.ay[:, None] + t1 * curve.cy[:, None]) - cy[:, 0])
    depth1 = dist1 - (curve.r0[:, None] + curve.k[:, None] * t1)  # (B, m1 + 1)
    delta1 = (curve.lip / (2 * m1))[:, None]
    useful = depth1 - delta1 - half_diag <= depth1.min(1, keepdim=True).values + half_diag
    inf = torch.tensor(float("inf"), device=left.device, dtype=left.dtype)
    lo = (torch.where(useful, t1, inf).min(1).values - 0.5 / m1).clamp(0.0, 1.0)
    hi = (torch.where(useful, t1, -inf).max(1).values + 0.5 / m1).clamp(0.0, 1.0)

    # (2) the cell corners
    m2 = int(max(4, math.ceil(float((curve.lip * (hi - lo)).max()) / S)))
    qx = (left.view(B, 1, 1) + S * torch.arange(wc + 1, device=left.device, dtype=left.dtype).view(1, 1, -1))
    qy = (top.view(B, 1, 1) + S * torch.arange(hc + 1, device=left.device, dtype=left.dtype).view(1, -1, 1))
    sampled, t_corner, delta2 = _sampled_depth(curve, qx, qy, lo, hi, m2)
    lower = sampled - delta2.view(B, 1, 1)  # <= the true depth at the corner
    poly = _Polynomial(curve.coefficients(curve.x0.view(B, 1, 1) - qx, curve.y0.view(B, 1, 1) - qy))
    kv = k.view(B, 1, 1)
    t = t_corner
    for _ in range(CORNER_STEPS):
        t, _ = poly.newton_step(t, kv)
    depth = poly.value(t).clamp_min_(0.0).sqrt_().sub_(kv * t).sub_(r0.view(B, 1, 1))
    better = depth < sampled
    t_corner = torch.where(better, t, t_corner)
    upper = torch.minimum(depth, sampled)  # >= the true depth at the corner

    def corners(a: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        return a[:, :-1, :-1], a[:, :-1, 1:], a[:, 1:, :-1], a[:, 1:, 1:]

    reach = S / math.sqrt(2.0)  # no pixel centre of a cell is further from its nearest corner
    lq = corners(lower)
    outside = torch.minimum(torch.minimum(lq[0], lq[1]), torch.minimum(lq[2], lq[3])) - reach >= 0.5
    uq = corners(upper)
    covered = torch.maximum(torch.maximum(uq[0], uq[1]), torch.maximum(uq[2], uq[3])) + reach <= -0.5
    inside = torch.zeros_like(outside) if need_t else covered
    tq = corners(t_corner)  # each (B, hc, wc)
    span = (torch.maximum(torch.maximum(tq[0], tq[1]), torch.maximum(tq[2], tq[3]))
            - torch.minimum(torch.minimum(tq[0], tq[1]), torch.minimum(tq[2], tq[3])))
    coherent = span * curve.lip.view(B, 1, 1) <= SEED_SPAN * S

    # per-cell outputs for the cells that are not searched
    cell_t = 0.25 * (tq[0] + tq[1] + tq[2] + tq[3])
    cell_r = r0.view(B, 1, 1) + kv * cell_t
    big_r = torch.maximum(r0, r0 + k).view(B, 1, 1).expand(B, hc, wc)
    cell_radius = torch.where(inside, big_r, cell_r)
    cell_distance = torch.where(inside, torch.zeros_like(cell_r), cell_r + 1.0)

    def full(cell_value: Tensor) -> Tensor:  # (B, hc, S, wc, S): the image's layout
        return cell_value.view(B, hc, 1, wc, 1).expand(B, hc, S, wc, S).contiguous()

    out_t, out_d, out_r = full(cell_t), full(cell_distance), full(cell_radius)
    out_c = full(torch.full_like(cell_t, float("inf"))) if with_curvature else None

    searched = ~(outside | inside)
    # deep inside a wide stroke one Newton step from the interpolated seed is plenty (the seed's
    # error there is second order in the cell size, and matters only relative to the half-width)
    rq = [r0.view(B, 1, 1) + kv * q for q in tq]
    wide = torch.minimum(torch.minimum(rq[0], rq[1]), torch.minimum(rq[2], rq[3])) >= DEEP_RADIUS * S
    deep = searched & covered & coherent & wide if not with_curvature else torch.zeros_like(searched)
    for group, steps in ((searched & ~deep, NEWTON_STEPS), (deep, min(NEWTON_STEPS, DEEP_STEPS))):
        index = group.view(-1).nonzero().squeeze(1)
        if index.numel():
            _solve_cells(index, steps, curve, left, top, hc, wc, tq, coherent, out_t, out_d, out_r, out_c)

    def image(a: Tensor | None) -> Tensor | None:
        return None if a is None else a.view(B, hc * S, wc * S)[:, :h, :w]

    return _Found(t=image(out_t), distance=image(out_d), radius=image(out_r), curvature=image(out_c))


def _solve_cells(index: Tensor, steps: int, curve: _Curve, left: Tensor, top: Tensor, hc: int, wc: int,
                 tq: tuple[Tensor, ...], coherent: Tensor, out_t: Tensor, out_d: Tensor, out_r: Tensor,
                 out_c: Tensor | None) -> None:
    """Search the pixels of cells ``index`` (into the flattened ``(B, hc, wc)``) from their
    corners' ``tq``, ``steps`` Newton steps; write ``t``, distance, radius (and ``|F'|``) there."""
    S = CELL
    if index.numel():
        b = torch.div(index, hc * wc, rounding_mode="floor")
        ci = torch.div(index, wc, rounding_mode="floor") % hc
        cj = index % wc
        cur = curve.take(b)
        ar = torch.arange(S, device=left.device, dtype=left.dtype) + 0.5
        dx = (cur.x0 - left[b] - S * cj).view(-1, 1, 1) - ar.view(1, 1, S)
        dy = (cur.y0 - top[b] - S * ci).view(-1, 1, 1) - ar.view(1, S, 1)
        poly = _Polynomial(cur.coefficients(dx, dy))
        kc = cur.k.view(-1, 1, 1)
        c00, c01, c10, c11 = (q[b, ci, cj].view(-1, 1, 1) for q in tq)
        fx, fy = (ar / S).view(1, 1, S), (ar / S).view(1, S, 1)
        upper_row = c00 + (c01 - c00) * fx
        t = upper_row + (c10 + (c11 - c10) * fx - upper_row) * fy  # (n, S, S)
        rough = (~coherent[b, ci, cj]).nonzero().squeeze(1)
        if rough.numel():  # corners on different branches of the curve: start from the best
            sub = _Polynomial(tuple(c[rough] for c in (poly.c0, poly.c1, poly.c2, poly.c3, poly.c4)))
            ks = kc[rough]
            best_t = best_h = None
            for q in (c00, c01, c10, c11):
                tj = q[rough].expand(-1, S, S)
                hj = sub.value(tj).clamp_min_(0.0).sqrt_().sub_(ks * tj)
                if best_h is None:
                    best_t, best_h = tj.clone(), hj
                else:
                    better = hj < best_h
                    best_t = torch.where(better, tj, best_t)
                    best_h = torch.minimum(best_h, hj)
            t[rough] = best_t
        curvature = None
        t_prev = t
        for _ in range(steps):
            t_prev = t
            t, curvature = poly.newton_step(t, kc)
        # pixels whose last step still moved: search again, from more seeds, with more steps
        # (not in deep cells, whose single step from a good seed is meant to move)
        moved = ((t - t_prev).abs_().mul_(cur.lip.view(-1, 1, 1)) > RETRY_MOVE).view(-1).nonzero().squeeze(1)
        if steps > 1 and moved.numel():
            cell = torch.div(moved, S * S, rounding_mode="floor")
            flat = lambda a: a.expand(-1, S, S).reshape(-1)[moved]  # noqa: E731
            sub = _Polynomial((flat(poly.c0), flat(poly.c1), flat(poly.c2), poly.c3.view(-1)[cell],
                               poly.c4.view(-1)[cell]))
            ks = kc.view(-1)[cell]
            seeds = [t.reshape(-1)[moved]] + [q.view(-1)[cell] for q in (c00, c01, c10, c11)]
            seeds += [torch.full_like(ks, j / RETRY_SAMPLES) for j in range(RETRY_SAMPLES + 1)]
            depth = lambda x: sub.value(x).clamp_min_(0.0).sqrt_().sub_(ks * x)  # noqa: E731
            best_t, best_h = seeds[0], depth(seeds[0])
            for x in seeds[1:]:
                hx = depth(x)
                best_t = torch.where(hx < best_h, x, best_t)
                best_h = torch.minimum(hx, best_h)
            x = best_t
            for _ in range(RETRY_STEPS):
                x, _ = sub.newton_step(x, ks)
            x = torch.where(depth(x) < best_h, x, best_t)
            t.view(-1)[moved] = x
            if curvature is not None:
                _, c_moved = sub.newton_step(x, ks)
                curvature.view(-1)[moved] = c_moved
        at = (b, ci, slice(None), cj, slice(None))  # out[at] is (n, S, S)
        out_t[at] = t
        ex = (cur.cx.view(-1, 1, 1) * t).add_(cur.ax.view(-1, 1, 1)).mul_(t).add_(dx)
        ey = (cur.cy.view(-1, 1, 1) * t).add_(cur.ay.view(-1, 1, 1)).mul_(t).add_(dy)
        out_d[at] = ex.mul_(ex).add_(ey.mul_(ey)).add_(1e-8).sqrt_()
        out_r[at] = cur.r0.view(-1, 1, 1) + kc * t
        if out_c is not None:
            if curvature is None:
                _, curvature = poly.newton_step(t, kc)
            out_c[at] = curvature


def curve_bounds(points: Tensor, margin: Tensor, height: int, width: int) -> Tensor:
    """``(B, 4)`` bounds ``(top, left, bottom, right)`` in pixels of curves ``(B, 6)`` thickened by
    ``margin (B,)`` pixels (the curve lies inside the hull of its three points)."""
    xs, ys = points[:, 0::2] * width, points[:, 1::2] * height
    m = margin + 1.0
    return torch.stack([ys.min(1).values - m, xs.min(1).values - m,
                        ys.max(1).values + m, xs.max(1).values + m], dim=1)


def sample_curves(n: int, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
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


def init_curves(centres: Tensor, sizes: Tensor, generator: torch.Generator | None) -> Tensor:
    """``(n, 6)`` straight-ish curves through ``centres``, chord ``sizes`` long, random direction."""
    n = centres.shape[0]
    u = torch.rand(n, 2, generator=generator).to(centres.device)
    angle = u[:, 0] * 2 * torch.pi
    half = 0.5 * sizes[:, None] * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    normal = torch.stack([-half[:, 1], half[:, 0]], dim=1) * (u[:, 1:2] - 0.5) * 0.4
    return torch.cat([centres - half, centres + normal, centres + half], dim=1).clamp(0, 1)


def tapered_curve(params: Tensor, grid: PixelGrid, need_t: bool = True) -> tuple[ClosestPoint, Tensor]:
    """For strokes whose first 8 parameters are ``x0, y0, x1, y1, x2, y2, r0, r2``: the deepest
    point of the curve per pixel and the stroke's half-width there, ``(B, h, w)`` pixels.

    ``need_t=False`` (for callers that only use ``box_coverage(distance, radius)``): without
    gradients, pixels certainly covered get ``distance = 0`` and ``radius = max(r0, r2)``
    instead of being searched. Pixels certainly not covered (depth >= 0.5 pixel) always get
    ``distance = radius + 1`` and an approximate ``t`` when no gradient is needed.
    """
    r0 = params[:, 6] * (MAX_RADIUS * grid.scale)
    r2 = params[:, 7] * (MAX_RADIUS * grid.scale)
    return _tapered(params[:, 0:6], r0, r2 - r0, grid, need_t)


def tapered_curve_bounds(params: Tensor, height: int, width: int) -> Tensor:
    """``(B, 4)`` pixel bounds of the strokes of ``tapered_curve`` (see ``curve_bounds``)."""
    margin = params[:, 6:8].max(1).values * (MAX_RADIUS * max(height, width))
    return curve_bounds(params[:, 0:6], margin, height, width)
