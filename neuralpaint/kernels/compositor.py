"""Compositing in order on the painter's cells, and the cell layout's pairing and sort.

``composite_forward`` / ``composite_backward``: pairs (a stroke on a cell) composited in painting
order inside each cell, ``v <- v + alpha * (colour - v)``, exactly (an opaque pair hides what is
below), and the gradient of that. ``box_pairs`` and ``sort_pairs``: the (stroke, cell) pairs of
``neuralpaint.canvas.cells.CellLayout``. All take and fill numpy arrays.
"""
from __future__ import annotations

import numpy as np

from . import launch, numba

if numba is not None:
    from numba import njit, prange

    @njit(parallel=True, cache=True, fastmath=True)
    def _composite_forward(colour, alpha, background, cells, first, end, out, below):  # pragma: no cover
        # out starts as a copy of background; each occupied cell is painted pair by pair
        P = alpha.shape[1]
        for k in prange(first.shape[0]):
            a0, a1 = first[k], end[k]
            m = cells[a0]
            for c in range(3):
                for p in range(P):
                    v = background[m, c, p]
                    for j in range(a0, a1):
                        below[j, c, p] = v
                        v += alpha[j, p] * (colour[j, c, p] - v)
                    out[m, c, p] = v

    @njit(parallel=True, cache=True, fastmath=True)
    def _composite_backward(colour, alpha, below, grad, cells, first, end,
                            grad_colour, grad_alpha, grad_background):  # pragma: no cover
        # grad_background starts as a copy of grad (cells without pairs pass it straight through)
        P = alpha.shape[1]
        for k in prange(first.shape[0]):
            a0, a1 = first[k], end[k]
            m = cells[a0]
            for p in range(P):
                g0, g1, g2 = grad[m, 0, p], grad[m, 1, p], grad[m, 2, p]
                for j in range(a1 - 1, a0 - 1, -1):
                    a = alpha[j, p]
                    grad_alpha[j, p] = (g0 * (colour[j, 0, p] - below[j, 0, p])
                                        + g1 * (colour[j, 1, p] - below[j, 1, p])
                                        + g2 * (colour[j, 2, p] - below[j, 2, p]))
                    grad_colour[j, 0, p] = g0 * a
                    grad_colour[j, 1, p] = g1 * a
                    grad_colour[j, 2, p] = g2 * a
                    keep = 1.0 - a
                    g0, g1, g2 = g0 * keep, g1 * keep, g2 * keep
                grad_background[m, 0, p] = g0
                grad_background[m, 1, p] = g1
                grad_background[m, 2, p] = g2



def composite_forward(colour, alpha, background, cells, first, end, out, below) -> None:
    """Fill ``out (M, 3, P)`` (a copy of ``background (M, 3, P)`` on entry) with the pairs
    ``colour (T, 3, P)``, ``alpha (T, P)`` composited in index order per cell, and ``below (T, 3,
    P)`` with what each pair was painted over. ``cells (T,)``: each pair's cell, ascending;
    ``first``, ``end (K,)``: the first and one-past-last pair of each occupied cell. C-contiguous
    arrays of one float dtype; int64 indices."""
    launch(_composite_forward, colour, alpha, background, cells, first, end, out, below)


def composite_backward(colour, alpha, below, grad, cells, first, end, grad_colour, grad_alpha,
                       grad_background) -> None:
    """The gradient of ``composite_forward`` for ``grad (M, 3, P)``: fills ``grad_colour``,
    ``grad_alpha`` and ``grad_background`` (a copy of ``grad`` on entry)."""
    launch(_composite_backward, colour, alpha, below, grad, cells, first, end, grad_colour, grad_alpha,
           grad_background)


if numba is not None:

    @njit(cache=True)
    def _box_pairs(y0, x0, ny, nx):  # pragma: no cover
        n = 0
        for i in range(y0.shape[0]):
            n += ny[i] * nx[i]
        rows = np.empty(n, np.int64)
        ys = np.empty(n, np.int64)
        xs = np.empty(n, np.int64)
        k = 0
        for i in range(y0.shape[0]):
            for a in range(ny[i]):
                for b in range(nx[i]):
                    rows[k], ys[k], xs[k] = i, y0[i] + a, x0[i] + b
                    k += 1
        return rows, ys, xs

    @njit(cache=True)
    def _sort_pairs(rows, cells, n_cells):  # pragma: no cover
        # a counting sort by cell, stable (pairs come in painting order and keep it inside a cell),
        # and the runs of equal cells: first / run / start / last of ``canvas.cells.CellLayout``
        count = np.zeros(n_cells + 1, np.int64)
        for k in range(cells.shape[0]):
            count[cells[k] + 1] += 1
        occupied = 0
        for c in range(n_cells):
            if count[c + 1] > 0:
                occupied += 1
            count[c + 1] += count[c]
        T = cells.shape[0]
        order = np.empty(T, np.int64)
        slot = count[:-1].copy()
        for k in range(T):
            c = cells[k]
            order[slot[c]] = k
            slot[c] += 1
        first = np.empty(occupied, np.int64)
        run = np.empty(T, np.int64)
        start = np.empty(T, np.int64)
        last = np.empty(T, np.int64)
        r = 0
        for c in range(n_cells):
            a, b = count[c], count[c + 1]
            if b > a:
                first[r] = a
                for k in range(a, b):
                    run[k], start[k], last[k] = r, a, b - 1
                r += 1
        return order, first, run, start, last



def box_pairs(y0, x0, ny, nx):
    """Every cell of each stroke's block of cells ``y0 .. y0 + ny - 1`` by ``x0 .. x0 + nx - 1``
    (each ``(N,)`` int64, ``ny, nx >= 0``), stroke by stroke, row by row: ``rows, y, x`` ``(T,)``."""
    return _box_pairs(y0, x0, ny, nx)


def sort_pairs(rows, cells, n_cells: int):
    """The pairs' ``cells (T,)`` (int64 in ``0 .. n_cells - 1``, pairs in painting order) sorted
    stably: ``order (T,)`` (the pairs in cell order) and, in that order, ``first (K,)``, ``run``,
    ``start``, ``last (T,)`` as in ``canvas.cells.CellLayout``."""
    return _sort_pairs(rows, cells, n_cells)
