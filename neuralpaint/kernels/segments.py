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
"""
from __future__ import annotations

import math

import numpy as np

from . import launch, numba

if numba is not None:
    from numba import njit, prange

FIELDS = ("ax", "ay", "ux", "uy", "length", "inv", "weight")
AX, AY, UX, UY, LENGTH, INV, WEIGHT = range(len(FIELDS))
REACH = 4.0
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

if numba is not None:

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
                inv, length = s[INV], s[LENGTH]
                for i in range(cell):
                    dy = oy + i + 0.5 - s[AY]
                    for j in range(cell):
                        dx = ox + j + 0.5 - s[AX]
                        along = (dx * s[UX] + dy * s[UY]) * inv
                        perp = (dy * s[UX] - dx * s[UY]) * inv
                        if abs(perp) > REACH or along < -REACH or along > length * inv + REACH:
                            continue
                        density[i * cell + j] += s[WEIGHT] * math.exp(-perp * perp) * (
                            math.erf(length * inv - along) + math.erf(along))
            for p in range(cell * cell):
                alpha[t, p] = 1.0 - math.exp(-density[p])

    @njit(parallel=True, cache=True, fastmath=True)
    def _backward(segments, rows, origins, cell, alpha, grad_alpha, grad):  # pragma: no cover
        K = segments.shape[1]
        for t in prange(rows.shape[0]):
            oy, ox = origins[t, 0], origins[t, 1]
            for k in range(K):
                s = segments[rows[t], k]
                for f in range(grad.shape[2]):
                    grad[t, k, f] = 0.0
                if s[WEIGHT] == 0.0 or not _near(s, oy, ox, cell):
                    continue
                inv, length, w, ux, uy = s[INV], s[LENGTH], s[WEIGHT], s[UX], s[UY]
                g_ax = g_ay = g_ux = g_uy = g_len = g_inv = g_w = 0.0
                for i in range(cell):
                    dy = oy + i + 0.5 - s[AY]
                    for j in range(cell):
                        dx = ox + j + 0.5 - s[AX]
                        a = dx * ux + dy * uy  # pixels
                        q = dy * ux - dx * uy
                        along, perp, rest = a * inv, q * inv, (length - a) * inv
                        if abs(perp) > REACH or along < -REACH or rest < -REACH:
                            continue
                        p = i * cell + j
                        g_d = grad_alpha[t, p] * (1.0 - alpha[t, p])  # dL/dD
                        if g_d == 0.0:
                            continue
                        gauss = math.exp(-perp * perp)
                        e = math.erf(rest) + math.erf(along)
                        e_rest, e_along = TWO_OVER_SQRT_PI * math.exp(-rest * rest), TWO_OVER_SQRT_PI * math.exp(-along * along)
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

