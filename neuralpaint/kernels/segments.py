"""Soft line segments: a stroke's coverage as the sum of Gaussian-blurred segments, on the painter's
cells, forward and backward (the differentiable model of MyPaint strokes, ``strokes.dabmodel``).

A stroke is ``K`` segments, each in the layout ``FIELDS``: its start ``ax, ay`` (canvas pixels),
unit direction ``ux, uy``, length ``length`` (pixels), ``inv = 1 / (sqrt(2) sigma)`` of its
Gaussian profile and its weight ``weight``. A pixel centre ``(x, y)``, at ``along`` the segment
and ``perp`` across it from its start, receives the density

    D = sum_k weight_k * exp(-(perp * inv)^2) * (erf((length - along) * inv) + erf(along * inv))

(a Gaussian of width sigma integrated along the segment: a row of dabs smeared into a line), and
the stroke's alpha there is ``1 - exp(-D)``. Segments further than ``REACH / inv`` from a pixel are
skipped (their share is below ``exp(-REACH^2)``, 1e-7).

Float64 arrays get ``math.erf`` and ``math.exp`` (the brush fit, and the gradient checks); float32
arrays (the painter) read ``erf`` and ``exp(-s)`` from tables of ``TABLE`` steps with linear
interpolation, exact to about 1e-6 (below float32's own rounding of a sum of terms) and, measured
on a 256^2 painting's refinement step (90 000 cells), 2.6x faster forward and 3.9x backward than
the libm calls (the loops have no branch left and vectorise).
"""
from __future__ import annotations

import math

import numpy as np

from . import launch, numba

if numba is not None:
    from numba import njit, prange, types
    from numba.extending import overload

FIELDS = ("ax", "ay", "ux", "uy", "length", "inv", "weight")
AX, AY, UX, UY, LENGTH, INV, WEIGHT = range(len(FIELDS))
REACH = 4.0
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# the float32 path's tables: erf on [-REACH, REACH] and exp(-s) on [0, REACH^2] (0 at the end:
# the cut-off), TABLE steps each, one entry more so that the last step interpolates too
TABLE = 4096
ERF_STEP = 2 * REACH / TABLE
EXP_STEP = REACH * REACH / TABLE
ERF_TABLE = np.array([math.erf(-REACH + i * ERF_STEP) for i in range(TABLE + 1)] + [1.0], np.float32)
EXP_TABLE = np.array([math.exp(-i * EXP_STEP) for i in range(TABLE)] + [0.0, 0.0], np.float32)

if numba is not None:

    @njit(inline="always")
    def _lookup(table, u):  # pragma: no cover
        """``table`` at the fractional index ``u`` (clamped), linearly interpolated."""
        u = min(max(u, 0.0), float(TABLE))
        i = int(u)
        low = table[i]
        return low + (u - i) * (table[i + 1] - low)

    # erf, exp(-s) and the cut-off, chosen when a kernel is compiled by the dtype of ``like`` (a
    # segment's number): exact for float64, from the tables for float32
    def _erf(x, like):  # pragma: no cover
        """``erf(x)``."""

    def _exp_neg(s, like):  # pragma: no cover
        """``exp(-s)`` for ``s >= 0`` (0 beyond ``REACH^2`` from the tables)."""

    def _within(perp, along, rest, like):  # pragma: no cover
        """Whether a pixel at ``perp, along`` (and ``rest`` before the end) is within ``REACH``."""

    @overload(_erf, inline="always")
    def _erf_for(x, like):  # pragma: no cover
        if like == types.float64:
            return lambda x, like: math.erf(x)
        return lambda x, like: _lookup(ERF_TABLE, (x + REACH) * (1.0 / ERF_STEP))

    @overload(_exp_neg, inline="always")
    def _exp_neg_for(s, like):  # pragma: no cover
        if like == types.float64:
            return lambda s, like: math.exp(-s)
        return lambda s, like: _lookup(EXP_TABLE, s * (1.0 / EXP_STEP))

    @overload(_within, inline="always")
    def _within_for(perp, along, rest, like):  # pragma: no cover
        if like == types.float64:
            return lambda perp, along, rest, like: abs(perp) <= REACH and along >= -REACH and rest >= -REACH
        return lambda perp, along, rest, like: True  # the tables end in the cut-off: no branch, the loops vectorise

    @njit(inline="always")
    def _near(s, oy, ox, cell):  # pragma: no cover
        """Whether segment ``s`` can reach the ``cell x cell`` square at ``(oy, ox)``."""
        reach = REACH / s[INV]
        bx, by = s[AX] + s[UX] * s[LENGTH], s[AY] + s[UY] * s[LENGTH]
        return not (min(s[AX], bx) - reach > ox + cell or max(s[AX], bx) + reach < ox
                    or min(s[AY], by) - reach > oy + cell or max(s[AY], by) + reach < oy)

    @njit(parallel=True, cache=True, fastmath=True)
    def _forward(segments, rows, origins, cell, alpha):  # pragma: no cover
        K = segments.shape[1]
        for t in prange(rows.shape[0]):
            oy, ox = origins[t, 0], origins[t, 1]
            density = np.zeros(cell * cell, segments.dtype)
            for k in range(K):
                s = segments[rows[t], k]
                if s[WEIGHT] == 0.0 or not _near(s, oy, ox, cell):
                    continue
                ax, ay, ux, uy = s[AX], s[AY], s[UX], s[UY]
                length, inv, weight = s[LENGTH], s[INV], s[WEIGHT]
                for i in range(cell):
                    dy = oy + i + 0.5 - ay
                    for j in range(cell):
                        dx = ox + j + 0.5 - ax
                        along = (dx * ux + dy * uy) * inv
                        perp = (dy * ux - dx * uy) * inv
                        rest = length * inv - along
                        if _within(perp, along, rest, inv):
                            density[i * cell + j] += weight * _exp_neg(perp * perp, inv) * (
                                _erf(rest, inv) + _erf(along, inv))
            for p in range(cell * cell):
                alpha[t, p] = 1.0 - math.exp(-density[p])

    @njit(parallel=True, cache=True, fastmath=True)
    def _backward(segments, rows, origins, cell, alpha, grad_alpha, grad):  # pragma: no cover
        K = segments.shape[1]
        for t in prange(rows.shape[0]):
            oy, ox = origins[t, 0], origins[t, 1]
            g_density = np.empty(cell * cell, alpha.dtype)  # dL/dD
            for p in range(cell * cell):
                g_density[p] = grad_alpha[t, p] * (1.0 - alpha[t, p])
            for k in range(K):
                s = segments[rows[t], k]
                for f in range(grad.shape[2]):
                    grad[t, k, f] = 0.0
                if s[WEIGHT] == 0.0 or not _near(s, oy, ox, cell):
                    continue
                ax, ay, ux, uy = s[AX], s[AY], s[UX], s[UY]
                length, inv, w = s[LENGTH], s[INV], s[WEIGHT]
                g_ax = g_ay = g_ux = g_uy = g_len = g_inv = g_w = 0.0
                for i in range(cell):
                    dy = oy + i + 0.5 - ay
                    for j in range(cell):
                        dx = ox + j + 0.5 - ax
                        a = dx * ux + dy * uy  # pixels
                        q = dy * ux - dx * uy
                        along, perp, rest = a * inv, q * inv, (length - a) * inv
                        if not _within(perp, along, rest, inv):
                            continue
                        g_d = g_density[i * cell + j]
                        gauss = _exp_neg(perp * perp, inv)
                        e = _erf(rest, inv) + _erf(along, inv)
                        e_rest = TWO_OVER_SQRT_PI * _exp_neg(rest * rest, inv)
                        e_along = TWO_OVER_SQRT_PI * _exp_neg(along * along, inv)
                        g_w += g_d * gauss * e
                        c = g_d * w * gauss
                        d_q = c * e * (-2.0 * perp * inv)  # d term / d q
                        d_a = c * inv * (e_along - e_rest)  # d term / d a
                        g_len += c * inv * e_rest
                        g_inv += c * (-2.0 * perp * q * e + e_rest * (length - a) + e_along * a)
                        # a = dx ux + dy uy, q = dy ux - dx uy, dx = x - ax, dy = y - ay
                        g_ax += -d_a * ux + d_q * uy
                        g_ay += -d_a * uy - d_q * ux
                        g_ux += d_a * dx + d_q * dy
                        g_uy += d_a * dy - d_q * dx
                grad[t, k, AX], grad[t, k, AY], grad[t, k, UX], grad[t, k, UY] = g_ax, g_ay, g_ux, g_uy
                grad[t, k, LENGTH], grad[t, k, INV], grad[t, k, WEIGHT] = g_len, g_inv, g_w


def cells_forward(segments, rows, origins, cell: int, alpha) -> None:
    """Strokes of ``segments (N, K, 7)`` (``FIELDS``) on ``cell x cell`` squares: stroke ``rows[k]``
    on the square at ``origins[k]`` (``(T, 2)`` int64, top, left, canvas pixels); fills ``alpha
    (T, cell * cell)``."""
    launch(_forward, segments, rows, origins, cell, alpha)


def cells_backward(segments, rows, origins, cell: int, alpha, grad_alpha, grad) -> None:
    """The gradient of ``cells_forward`` (given its ``alpha`` and the loss's gradient ``grad_alpha
    (T, cell * cell)``): fills ``grad (T, K, 7)``, each pair's share of its stroke's segments'
    gradient."""
    launch(_backward, segments, rows, origins, cell, alpha, grad_alpha, grad)


if numba is not None:

    @njit(parallel=True, cache=True)
    def _tube_touches(path, reach, rows, centres, out):  # pragma: no cover
        for k in prange(rows.shape[0]):
            r = rows[k]
            cy, cx = centres[k, 0], centres[k, 1]
            nearest = np.inf
            for i in range(path.shape[1] - 1):
                ax, ay = path[r, i, 0], path[r, i, 1]
                abx, aby = path[r, i + 1, 0] - ax, path[r, i + 1, 1] - ay
                along = ((cx - ax) * abx + (cy - ay) * aby) / max(abx * abx + aby * aby, 1e-12)
                along = min(max(along, 0.0), 1.0)
                dx, dy = ax + along * abx - cx, ay + along * aby - cy
                nearest = min(nearest, dx * dx + dy * dy)
            out[k] = math.sqrt(nearest) <= reach[r]


def tube_touches(path, reach, rows, centres, out) -> None:
    """Whether the polyline ``path[rows[k]]`` (``path (N, n, 2)``, x, y pixels) passes within
    ``reach[rows[k]]`` (``(N,)``) of ``centres[k]`` (``(T, 2)``, y, x): fills ``out (T,)`` bool.
    Float64 arrays."""
    launch(_tube_touches, path, reach, rows, centres, out)
