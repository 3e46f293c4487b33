"""Compiled CPU kernels (numba) for the painter's inner loops.

The painter spends its time in two places: compositing the (stroke, cell) pairs of
``neuralpaint.tiles`` in order, and rendering the rotated-box strokes on those cells. Written as
chains of tensor operations, each of them makes dozens of passes over memory per step, forward
and backward. Here each is one loop over the pixels, compiled by numba, with the backward
written out. They run on CPU tensors only; on other devices (and where numba is missing, or
``NEURALPAINT_KERNELS=torch`` is set) the callers use their tensor code, which the tests hold
these kernels to.

Kernels are compiled on first use and cached on disk (numba's ``cache=True``: beside this file,
or under ``NUMBA_CACHE_DIR``), so only the first run after an install pays for compiling.

* ``composite_cells`` -- ``neuralpaint.tiles``'s ordered compositing of pairs per cell, exact
  (no cap on alpha), with its backward: a differentiable op on ``(T, 3, P)``, ``(T, P)`` tiles.
"""
from __future__ import annotations

import os
import threading

import numpy as np
import torch
from torch import Tensor

try:
    import numba
    from numba import njit, prange
except ImportError:  # pragma: no cover - numba is a dependency; the tensor code covers its absence
    numba = None


# Kernels are launched one at a time: numba's fallback thread pool (``workqueue``, used where
# neither OpenMP nor TBB is installed) must not be entered from two Python threads at once (the
# animation is rendered in a second thread while the main one may render too).
_LAUNCH = threading.Lock()


def _launch(kernel, *args):
    with _LAUNCH:
        return kernel(*args)


def available(*tensors: Tensor) -> bool:
    """Whether the kernels serve these tensors: numba is installed, not switched off with
    ``NEURALPAINT_KERNELS=torch``, and every tensor is a float32 or float64 CPU tensor."""
    if numba is None or os.environ.get("NEURALPAINT_KERNELS", "").lower() == "torch":
        return False
    return all(t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64) for t in tensors)


if numba is not None:

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


def _np(t: Tensor):
    return t.detach().contiguous().numpy()


class _CompositeCellsKernel(torch.autograd.Function):
    @staticmethod
    def forward(ctx, colour: Tensor, alpha: Tensor, background: Tensor, cells: Tensor, first: Tensor,
                end: Tensor) -> Tensor:
        colour, alpha, background = colour.contiguous(), alpha.contiguous(), background.contiguous()
        out = background.clone()
        below = torch.empty_like(colour)
        _launch(_composite_forward, _np(colour), _np(alpha), _np(background), _np(cells), _np(first), _np(end),
                out.numpy(), below.numpy())
        ctx.save_for_backward(colour, alpha, below, cells, first, end)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        colour, alpha, below, cells, first, end = ctx.saved_tensors
        grad = grad.contiguous().to(alpha.dtype)
        grad_colour, grad_alpha = torch.empty_like(colour), torch.empty_like(alpha)
        grad_background = grad.clone()
        _launch(_composite_backward, _np(colour), _np(alpha), _np(below), _np(grad), _np(cells), _np(first),
                _np(end), grad_colour.numpy(), grad_alpha.numpy(), grad_background.numpy())
        return grad_colour, grad_alpha, grad_background, None, None, None


def composite_cells(colour: Tensor, alpha: Tensor, background: Tensor, cells: Tensor, first: Tensor) -> Tensor:
    """Pairs composited in order per cell: ``colour (T, 3, P)``, ``alpha (T, P)`` over
    ``background (M, 3, P)`` -> ``(M, 3, P)``, differentiable in all three.

    ``cells (T,)`` (int64, ascending): each pair's cell; ``first (K,)``: the index of the first
    pair of each occupied cell (``TileLayout``). Inside a cell the pairs are painted in index
    order, ``v <- v + alpha * (colour - v)``, exactly (an opaque pair hides what is below).
    Same dtype for the three float tensors; CPU only (see ``available``)."""
    T = alpha.shape[0]
    if colour.shape[0] != T or cells.shape[0] != T or colour.shape[1] != 3 or colour.shape[2] != alpha.shape[1]:
        raise ValueError(f"colour {tuple(colour.shape)}, alpha {tuple(alpha.shape)} and cells "
                         f"{tuple(cells.shape)} do not describe the same (T, 3, P) pairs")
    if background.dim() != 3 or background.shape[1:] != colour.shape[1:]:
        raise ValueError(f"background must be (M, 3, {colour.shape[2]}), got {tuple(background.shape)}")
    end = torch.cat([first[1:], first.new_full((1,), T)])
    return _CompositeCellsKernel.apply(colour, alpha, background.to(alpha.dtype), cells, first, end)


# ---- rotated boxes (``rectangle``) on tiles ------------------------------------------------------

if numba is not None:

    @njit(inline="always")
    def _coverage(d, hw):  # pragma: no cover
        """``base.box_coverage`` of one pixel and its derivatives in ``d`` and ``hw`` (branch-free:
        the edges of a stroke fall anywhere, so branches would be mispredicted)."""
        h = max(hw, 0.0)
        ad = abs(d)
        a = h + 0.5 - ad  # the overlap across the near edge ...
        b = 0.5 - h - ad  # ... minus the part of the pixel beyond the far one (thin bands)
        cov = min(max(a, 0.0), 1.0) - min(max(b, 0.0), 1.0)
        ia = 1.0 if 0.0 <= a <= 1.0 else 0.0  # where each clamp passes the gradient (as torch's)
        ib = 1.0 if 0.0 <= b <= 1.0 else 0.0
        slope = ib - ia
        d_d = slope if d > 0.0 else (-slope if d < 0.0 else 0.0)
        return cov, d_d, ia + ib if hw >= 0.0 else 0.0

    @njit(parallel=True, cache=True, fastmath=True)
    def _rectangle_forward(params, rows, origins, height, width, tile, colour, alpha):  # pragma: no cover
        S = max(height, width)
        for t in prange(rows.shape[0]):
            q = params[rows[t]]
            cx, cy = q[0] * width, q[1] * height
            hl, ht = q[2] * (S / 2), q[3] * (S / 2)
            c, s = np.cos(q[4] * np.pi), np.sin(q[4] * np.pi)
            oy, ox = origins[t, 0], origins[t, 1]
            for i in range(tile):
                dy = oy + i + 0.5 - cy
                for j in range(tile):
                    dx = ox + j + 0.5 - cx
                    cu = _coverage(dx * c + dy * s, hl)[0]
                    cv = _coverage(dy * c - dx * s, ht)[0]
                    p = i * tile + j
                    alpha[t, p] = cu * cv * q[8]
                    colour[t, 0, p] = q[5]
                    colour[t, 1, p] = q[6]
                    colour[t, 2, p] = q[7]

    @njit(parallel=True, cache=True, fastmath=True)
    def _rectangle_backward(params, rows, origins, height, width, tile, grad_colour, grad_alpha,
                            grad):  # pragma: no cover
        # grad (T, 9): each pair's share of its stroke's gradient
        S = max(height, width)
        for t in prange(rows.shape[0]):
            q = params[rows[t]]
            cx, cy = q[0] * width, q[1] * height
            hl, ht = q[2] * (S / 2), q[3] * (S / 2)
            c, s = np.cos(q[4] * np.pi), np.sin(q[4] * np.pi)
            oy, ox = origins[t, 0], origins[t, 1]
            g_cx = g_cy = g_hl = g_ht = g_c = g_s = g_a = g_r = g_g = g_b = 0.0
            for i in range(tile):
                dy = oy + i + 0.5 - cy
                for j in range(tile):
                    dx = ox + j + 0.5 - cx
                    p = i * tile + j
                    g_r += grad_colour[t, 0, p]
                    g_g += grad_colour[t, 1, p]
                    g_b += grad_colour[t, 2, p]
                    ga = grad_alpha[t, p]
                    u = dx * c + dy * s
                    v = dy * c - dx * s
                    cu, cu_d, cu_h = _coverage(u, hl)
                    cv, cv_d, cv_h = _coverage(v, ht)
                    g_a += ga * cu * cv
                    gcu, gcv = ga * q[8] * cv, ga * q[8] * cu
                    g_hl += gcu * cu_h
                    g_ht += gcv * cv_h
                    gu, gv = gcu * cu_d, gcv * cv_d
                    g_cx -= gu * c - gv * s
                    g_cy -= gu * s + gv * c
                    g_c += gu * dx + gv * dy
                    g_s += gu * dy - gv * dx
            grad[t, 0] = g_cx * width
            grad[t, 1] = g_cy * height
            grad[t, 2] = g_hl * (S / 2)
            grad[t, 3] = g_ht * (S / 2)
            grad[t, 4] = (g_s * c - g_c * s) * np.pi
            grad[t, 5] = g_r
            grad[t, 6] = g_g
            grad[t, 7] = g_b
            grad[t, 8] = g_a


def rectangle_tiles(params: Tensor, rows: Tensor, origins: Tensor, height: int, width: int,
                    tile: int) -> tuple[Tensor, Tensor]:
    """``rectangle`` strokes ``params (N, 9)`` (in [0, 1]) on ``tile x tile`` squares: stroke
    ``rows[k]`` on the square at ``origins[k]`` (``(T, 2)`` int64, top, left) of a ``height x
    width`` canvas -> ``colour (T, 3, tile * tile)``, ``alpha (T, tile * tile)``; the same
    pixels as ``Rectangle.render`` with a window, differentiable in ``params``. CPU only."""
    return _Tiles.apply(params, rows.contiguous(), origins.to(torch.int64).contiguous(), height, width, tile,
                        (_rectangle_forward, _rectangle_backward), ())


# ---- the oil brush (``oilpaintbrush``) on tiles --------------------------------------------------
# The same steps as ``OilPaintBrush._render`` (see there for what they mean), one pixel at a time;
# the texture lookup is ``grid_sample``'s (bilinear, align_corners=True, border padding) on the
# brush's (2, LEVELS, TEXELS) mip pyramid, whose level is fixed per stroke by its breadth.

if numba is not None:

    @njit(inline="always")
    def _oil_stroke(q, S, height, width, levels, texels):  # pragma: no cover
        """Per-stroke terms: centre, direction, length, breadth, mip level and its lerp."""
        cx, cy = q[0] * width, q[1] * height
        c, s = np.cos(q[4] * np.pi), np.sin(q[4] * np.pi)
        length, breadth = q[2] * S, q[3] * S
        level_raw = np.log2(texels / (breadth + 1e-6))
        level = min(max(level_raw, 0.0), levels - 1.0)
        y0 = min(int(np.floor(level)), levels - 2)
        return cx, cy, c, s, length, breadth, level, y0, level - y0, 0.0 < level_raw < levels - 1.0

    @njit(parallel=True)
    def _oil_terms(params, S, height, width, levels, texels):  # pragma: no cover
        """``_oil_stroke`` of every stroke: ``(N, 10)``."""
        out = np.empty((params.shape[0], 10))
        for k in prange(params.shape[0]):
            cx, cy, c, s, length, breadth, level, y0, wy, level_open = _oil_stroke(params[k], S, height, width,
                                                                                   levels, texels)
            out[k, 0], out[k, 1], out[k, 2], out[k, 3], out[k, 4] = cx, cy, c, s, length
            out[k, 5], out[k, 6], out[k, 7], out[k, 8] = breadth, level, y0, wy
            out[k, 9] = 1.0 if level_open else 0.0
        return out

    @njit(inline="always")
    def _texture(tex, ch, ix, y0, wy):  # pragma: no cover
        """Bilinear sample of channel ``ch`` at texel ``ix`` (already clipped) between levels
        ``y0`` and ``y0 + 1``: value, d/d ix, d/d level."""
        n = tex.shape[2]
        x0 = min(int(ix), n - 2)  # ix >= 0: truncation is the floor
        wx = ix - x0
        a, b = tex[ch, y0, x0], tex[ch, y0, x0 + 1]
        c, d = tex[ch, y0 + 1, x0], tex[ch, y0 + 1, x0 + 1]
        top, bottom = a + wx * (b - a), c + wx * (d - c)
        return top + wy * (bottom - top), (b - a) + wy * ((d - c) - (b - a)), bottom - top

    @njit(inline="always")
    def _oil_pixel(dx, dy, c, s, length, breadth, tex, y0, wy, start_round):  # pragma: no cover
        """Everything the oil brush computes at one pixel (offset ``dx, dy`` from its centre)."""
        u = dx * c + dy * s
        v = dy * c - dx * s
        vu = v * (1.0 / (0.5 * breadth + 1e-6))
        n = tex.shape[2]
        ix_raw = (vu + 1.0) * 0.5 * (n - 1)
        ix = min(max(ix_raw, 0.0), n - 1.0)
        density, dd_ix, dd_lv = _texture(tex, 0, ix, y0, wy)
        end, de_ix, de_lv = _texture(tex, 1, ix, y0, wy)
        w = max(1.0 - vu * vu, 0.0)
        root = np.sqrt(w + 1e-12)
        start = start_round * (1.0 - root)
        centre = 0.5 * (start - end) * length
        half_len = 0.5 * (1.0 - start - end) * length
        cu, cu_d, cu_h = _coverage(u - centre, half_len)
        cv, cv_d, cv_h = _coverage(v, 0.5 * breadth)
        along_raw = u * (1.0 / (length + 1e-6)) + 0.5
        along = min(max(along_raw, 0.0), 1.0)
        return (u, v, vu, ix_raw, density, dd_ix, dd_lv, end, de_ix, de_lv, w, root, start, cu, cu_d, cu_h,
                cv, cv_d, cv_h, along_raw, along)

    @njit(parallel=True, cache=True, fastmath=True)
    def _oil_forward(params, rows, origins, height, width, tile, tex, start_round, lum_floor, colour,
                     alpha):  # pragma: no cover
        S = max(height, width)
        levels = tex.shape[1]
        terms = _oil_terms(params, S, height, width, levels, tex.shape[2])
        for t in prange(rows.shape[0]):
            q = params[rows[t]]
            cx, cy, c, s, length, breadth, level, y0f, wy, _ = terms[rows[t]]
            y0 = int(y0f)
            oy, ox = origins[t, 0], origins[t, 1]
            for i in range(tile):
                dy = oy + i + 0.5 - cy
                for j in range(tile):
                    r = _oil_pixel(ox + j + 0.5 - cx, dy, c, s, length, breadth, tex, y0, wy, start_round)
                    density, cu, cv, along = r[4], r[13], r[16], r[20]
                    p = i * tile + j
                    alpha[t, p] = cu * cv * density * q[11]
                    lum = lum_floor + (1.0 - lum_floor) * density
                    for k in range(3):
                        colour[t, k, p] = (q[5 + k] + (q[8 + k] - q[5 + k]) * along) * lum

    @njit(parallel=True, cache=True, fastmath=True)
    def _oil_backward(params, rows, origins, height, width, tile, tex, start_round, lum_floor, grad_colour,
                      grad_alpha, grad):  # pragma: no cover
        S = max(height, width)
        levels = tex.shape[1]
        n = tex.shape[2]
        terms = _oil_terms(params, S, height, width, levels, tex.shape[2])
        for t in prange(rows.shape[0]):
            q = params[rows[t]]
            cx, cy, c, s, length, breadth, level, y0f, wy, level_open = terms[rows[t]]
            y0 = int(y0f)
            oy, ox = origins[t, 0], origins[t, 1]
            g_cx = g_cy = g_c = g_s = g_len = g_br = g_lv = g_a = 0.0
            g_r0 = g_g0 = g_b0 = g_r2 = g_g2 = g_b2 = 0.0
            inv_hb = 1.0 / (0.5 * breadth + 1e-6)
            inv_len = 1.0 / (length + 1e-6)
            for i in range(tile):
                dy = oy + i + 0.5 - cy
                for j in range(tile):
                    dx = ox + j + 0.5 - cx
                    (u, v, vu, ix_raw, density, dd_ix, dd_lv, end, de_ix, de_lv, w, root, start, cu, cu_d, cu_h,
                     cv, cv_d, cv_h, along_raw, along) = _oil_pixel(dx, dy, c, s, length, breadth, tex, y0, wy,
                                                                    start_round)
                    p = i * tile + j
                    ga = grad_alpha[t, p]
                    cover = cu * cv * density
                    g_a += ga * cover
                    gcover = ga * q[11]
                    gcu, gcv = gcover * cv * density, gcover * cu * density
                    g_dens = gcover * cu * cv
                    # colour = (c0 + (c2 - c0) along) lum
                    lum = lum_floor + (1.0 - lum_floor) * density
                    gr, gg, gb = grad_colour[t, 0, p] * lum, grad_colour[t, 1, p] * lum, grad_colour[t, 2, p] * lum
                    g_r0 += gr * (1.0 - along)
                    g_g0 += gg * (1.0 - along)
                    g_b0 += gb * (1.0 - along)
                    g_r2 += gr * along
                    g_g2 += gg * along
                    g_b2 += gb * along
                    g_along = gr * (q[8] - q[5]) + gg * (q[9] - q[6]) + gb * (q[10] - q[7])
                    g_lum = (grad_colour[t, 0, p] * (q[5] + (q[8] - q[5]) * along)
                             + grad_colour[t, 1, p] * (q[6] + (q[9] - q[6]) * along)
                             + grad_colour[t, 2, p] * (q[7] + (q[10] - q[7]) * along))
                    g_dens += g_lum * (1.0 - lum_floor)
                    g_u = g_v = g_vu = 0.0
                    if 0.0 <= along_raw <= 1.0:
                        g_u += g_along * inv_len
                        g_len -= g_along * u * inv_len * inv_len
                    # cu = coverage(u - centre, half_len), cv = coverage(v, breadth / 2)
                    g_du = gcu * cu_d
                    g_hl = gcu * cu_h
                    g_u += g_du
                    g_centre = -g_du
                    g_v += gcv * cv_d
                    g_br += 0.5 * gcv * cv_h
                    g_start = 0.5 * length * (g_centre - g_hl)
                    g_end = -0.5 * length * (g_centre + g_hl)
                    g_len += 0.5 * (start - end) * g_centre + 0.5 * (1.0 - start - end) * g_hl
                    # start = START_ROUND (1 - sqrt(max(1 - vu^2, 0) + 1e-12))
                    if 1.0 - vu * vu >= 0.0:
                        g_vu += g_start * start_round * 0.5 / root * 2.0 * vu
                    # texture: density and end at texel ix(vu), level(breadth)
                    if 0.0 < ix_raw < n - 1.0:
                        g_vu += (g_dens * dd_ix + g_end * de_ix) * (0.5 * (n - 1))
                    g_lv += g_dens * dd_lv + g_end * de_lv
                    # vu = v / (breadth / 2 + 1e-6)
                    g_v += g_vu * inv_hb
                    g_br -= g_vu * v * 0.5 * inv_hb * inv_hb
                    # u = dx c + dy s, v = dy c - dx s
                    g_cx -= g_u * c - g_v * s
                    g_cy -= g_u * s + g_v * c
                    g_c += g_u * dx + g_v * dy
                    g_s += g_u * dy - g_v * dx
            if level_open > 0.0:  # level = log2(TEXELS / (breadth + 1e-6)), strictly inside its clamp
                g_br -= g_lv / ((breadth + 1e-6) * np.log(2.0))
            grad[t, 0] = g_cx * width
            grad[t, 1] = g_cy * height
            grad[t, 2] = g_len * S
            grad[t, 3] = g_br * S
            grad[t, 4] = (g_s * c - g_c * s) * np.pi
            grad[t, 5], grad[t, 6], grad[t, 7] = g_r0, g_g0, g_b0
            grad[t, 8], grad[t, 9], grad[t, 10] = g_r2, g_g2, g_b2
            grad[t, 11] = g_a


class _Tiles(torch.autograd.Function):
    """A stroke type's forward and backward kernels as a differentiable op (see ``rectangle_tiles``);
    ``extra``: arrays the kernels take after the tile size (the oil brush's texture)."""

    @staticmethod
    def forward(ctx, params: Tensor, rows: Tensor, origins: Tensor, height: int, width: int, tile: int,
                kernels: tuple, extra: tuple):
        params = params.contiguous()
        T, P = rows.shape[0], tile * tile
        colour, alpha = params.new_empty(T, 3, P), params.new_empty(T, P)
        _launch(kernels[0], _np(params), _np(rows), _np(origins), height, width, tile, *extra, colour.numpy(),
                alpha.numpy())
        ctx.save_for_backward(params, rows, origins)
        ctx.setup = height, width, tile, kernels, extra
        return colour, alpha

    @staticmethod
    def backward(ctx, grad_colour: Tensor, grad_alpha: Tensor):
        params, rows, origins = ctx.saved_tensors
        height, width, tile, kernels, extra = ctx.setup
        T, P = rows.shape[0], tile * tile
        grad_colour = params.new_zeros(T, 3, P) if grad_colour is None else grad_colour.contiguous()
        grad_alpha = params.new_zeros(T, P) if grad_alpha is None else grad_alpha.contiguous()
        per_pair = params.new_empty(T, params.shape[1])
        _launch(kernels[1], _np(params), _np(rows), _np(origins), height, width, tile, *extra, _np(grad_colour),
                _np(grad_alpha), per_pair.numpy())
        return torch.zeros_like(params).index_add_(0, rows, per_pair), None, None, None, None, None, None, None


def oil_tiles(params: Tensor, rows: Tensor, origins: Tensor, height: int, width: int, tile: int,
              texture: Tensor, start_round: float, luminance_floor: float) -> tuple[Tensor, Tensor]:
    """``oilpaintbrush`` strokes ``params (N, 12)`` with the brush ``texture (2, LEVELS,
    TEXELS)`` and the engine's constants on tiles, like ``rectangle_tiles``: ``colour (T, 3,
    tile * tile)``, ``alpha (T, tile * tile)``, differentiable in ``params``. CPU only."""
    tex = texture.detach().to(params.dtype).contiguous().numpy()
    return _Tiles.apply(params, rows.contiguous(), origins.to(torch.int64).contiguous(), height, width, tile,
                        (_oil_forward, _oil_backward), (tex, float(start_round), float(luminance_floor)))


# ---- the tile layout: (stroke, cell) pairs sorted by cell ---------------------------------------

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
        # and the runs of equal cells: first / run / start / last of ``tiles.TileLayout``
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


def box_pairs(y0: Tensor, x0: Tensor, ny: Tensor, nx: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Every cell of each stroke's block of cells ``y0 .. y0 + ny - 1`` by ``x0 .. x0 + nx - 1``
    (each ``(N,)`` int64, ``ny, nx >= 0``), stroke by stroke, row by row: ``rows, y, x`` ``(T,)``."""
    return tuple(torch.from_numpy(a) for a in _box_pairs(_np(y0), _np(x0), _np(ny), _np(nx)))


def sort_pairs(rows: Tensor, cells: Tensor, n_cells: int) -> tuple[Tensor, ...]:
    """The pairs' ``cells (T,)`` (int64 in ``0 .. n_cells - 1``, pairs in painting order) sorted
    stably: ``order (T,)`` (the pairs in cell order) and, in that order, ``first (K,)``, ``run``,
    ``start``, ``last (T,)`` as in ``tiles.TileLayout``."""
    return tuple(torch.from_numpy(a) for a in _sort_pairs(_np(rows), _np(cells), n_cells))


if numba is not None:

    @njit(parallel=True, cache=True)
    def _box_touches(terms, rows, centres, out):  # pragma: no cover
        for k in prange(rows.shape[0]):
            cx, cy, c, s, reach_u, reach_v, reach_x, reach_y = terms[rows[k]]
            dx, dy = centres[k, 1] - cx, centres[k, 0] - cy
            out[k] = (abs(dx * c + dy * s) <= reach_u and abs(dy * c - dx * s) <= reach_v
                      and abs(dx) <= reach_x and abs(dy) <= reach_y)


def box_touches(terms: Tensor, rows: Tensor, centres: Tensor) -> Tensor:
    """``rectangle.rotated_box_touches``'s test of pairs: ``terms (N, 8)`` per stroke (``cx, cy,
    cos, sin`` and the reaches along u, v, x, y), ``rows (T,)``, ``centres (T, 2)`` -> ``(T,)`` bool."""
    out = torch.empty(rows.shape[0], dtype=torch.bool)
    _launch(_box_touches, _np(terms.to(torch.float64)), _np(rows), _np(centres.to(torch.float64)), out.numpy())
    return out


# ---- whole paintings: strokes painted in order onto a canvas (no gradient) -----------------------
# Rows are shared out among the threads; every row goes through the strokes in painting order and
# paints each one only between the ends of the row's span of its rotated box (grown by half a
# pixel for the box-filtered edge, and one more pixel for rounding), so a pixel sees its strokes
# in order and no stroke is evaluated far from where it paints.

PARTS = 64  # rows are dealt out to the threads in this many interleaved sets (for balance)

if numba is not None:

    @njit(inline="always")
    def _span(dy, cx, c, s, reach_u, reach_v, left, right):  # pragma: no cover
        """The pixels ``[x0, x1)`` of a row, ``dy`` below a rotated box's centre, that its box
        ``|u| <= reach_u``, ``|v| <= reach_v`` may reach (inside ``[left, right)``)."""
        lo, hi = -1e30, 1e30
        # u = dx c + dy s and v = dy c - dx s are linear in dx
        if abs(c) > 1e-12:
            a, b = (-reach_u - dy * s) / c, (reach_u - dy * s) / c
            lo, hi = max(lo, min(a, b)), min(hi, max(a, b))
        elif abs(dy * s) > reach_u:
            return 0, 0
        if abs(s) > 1e-12:
            a, b = (dy * c - reach_v) / s, (dy * c + reach_v) / s
            lo, hi = max(lo, min(a, b)), min(hi, max(a, b))
        elif abs(dy * c) > reach_v:
            return 0, 0
        if lo > hi:
            return 0, 0
        # pixel j has dx = j + 0.5 - cx
        x0 = max(left, int(np.floor(lo + cx - 0.5)) - 1)
        x1 = min(right, int(np.ceil(hi + cx - 0.5)) + 2)
        return x0, max(x0, x1)

    # The pixel loops below store one array each and call nothing that branches, so that the
    # compiler vectorises them: alpha (and the brush's texture values) into row buffers first,
    # then the compositing, one colour channel at a time.

    @njit(parallel=True, cache=True, fastmath=True)
    def _rectangle_paint(params, boxes, canvas, top, height, width):  # pragma: no cover
        S = max(height, width)
        rows, cols = canvas.shape[1], canvas.shape[2]
        for part in prange(PARTS):
            alpha = np.empty(cols)
            for r in range(part, rows, PARTS):
                y = top + r
                for k in range(params.shape[0]):
                    if y < boxes[k, 0] or y >= boxes[k, 2]:
                        continue
                    q = params[k]
                    cx, cy = q[0] * width, q[1] * height
                    hl, ht = q[2] * (S / 2), q[3] * (S / 2)
                    c, s = np.cos(q[4] * np.pi), np.sin(q[4] * np.pi)
                    dy = y + 0.5 - cy
                    x0, x1 = _span(dy, cx, c, s, hl + 0.5, ht + 0.5, boxes[k, 1], min(boxes[k, 3], cols))
                    for i in range(x1 - x0):
                        dx = x0 + i + 0.5 - cx
                        alpha[i] = _coverage(dx * c + dy * s, hl)[0] * _coverage(dy * c - dx * s, ht)[0] * q[8]
                    for ch in range(3):
                        colour = q[5 + ch]
                        for i in range(x1 - x0):
                            canvas[ch, r, x0 + i] += alpha[i] * (colour - canvas[ch, r, x0 + i])

    @njit(parallel=True, cache=True, fastmath=True)
    def _oil_paint(params, boxes, canvas, top, height, width, tex, start_round, lum_floor):  # pragma: no cover
        S = max(height, width)
        levels, texels = tex.shape[1], tex.shape[2]
        rows, cols = canvas.shape[1], canvas.shape[2]
        for part in prange(PARTS):
            density, end, alpha = np.empty(cols), np.empty(cols), np.empty(cols)
            for r in range(part, rows, PARTS):
                y = top + r
                for k in range(params.shape[0]):
                    if y < boxes[k, 0] or y >= boxes[k, 2]:
                        continue
                    q = params[k]
                    cx, cy, c, s, length, breadth, level, y0, wy, _ = _oil_stroke(q, S, height, width, levels, texels)
                    dy = y + 0.5 - cy
                    x0, x1 = _span(dy, cx, c, s, 0.5 * length + 0.5, 0.5 * breadth + 0.5, boxes[k, 1],
                                   min(boxes[k, 3], cols))
                    m = x1 - x0
                    to_unit = 1.0 / (0.5 * breadth + 1e-6)  # v -> v across the brush, in [-1, 1]
                    for i in range(m):  # the texture lookups (gathers: scalar)
                        vu = (dy * c - (x0 + i + 0.5 - cx) * s) * to_unit
                        ix = min(max((vu + 1.0) * 0.5 * (texels - 1), 0.0), texels - 1.0)
                        density[i] = _texture(tex, 0, ix, y0, wy)[0]
                        end[i] = _texture(tex, 1, ix, y0, wy)[0]
                    for i in range(m):  # as _oil_pixel, without the derivatives
                        dx = x0 + i + 0.5 - cx
                        u, v = dx * c + dy * s, dy * c - dx * s
                        vu = v * to_unit
                        start = start_round * (1.0 - np.sqrt(max(1.0 - vu * vu, 0.0) + 1e-12))
                        centre = 0.5 * (start - end[i]) * length
                        half_len = 0.5 * (1.0 - start - end[i]) * length
                        alpha[i] = (_coverage(u - centre, half_len)[0] * _coverage(v, 0.5 * breadth)[0]
                                    * density[i] * q[11])
                    to_along = 1.0 / (length + 1e-6)
                    for ch in range(3):
                        c0, dc = q[5 + ch], q[8 + ch] - q[5 + ch]
                        for i in range(m):
                            along = min(max(((x0 + i + 0.5 - cx) * c + dy * s) * to_along + 0.5, 0.0), 1.0)
                            colour = (c0 + dc * along) * (lum_floor + (1.0 - lum_floor) * density[i])
                            canvas[ch, r, x0 + i] += alpha[i] * (colour - canvas[ch, r, x0 + i])


def _paint_boxes(boxes: Tensor, height: int, width: int) -> np.ndarray:
    """``(N, 4)`` float boxes -> int64 ``top, left, bottom, right`` pixel ranges, clipped."""
    b = boxes.detach().to(torch.float64)
    out = torch.stack([b[:, 0].floor().clamp(0, height), b[:, 1].floor().clamp(0, width),
                       b[:, 2].ceil().clamp(0, height), b[:, 3].ceil().clamp(0, width)], 1)
    return out.to(torch.int64).numpy()


def paint_rectangles(params: Tensor, boxes: Tensor, canvas: Tensor, top: int, height: int, width: int) -> None:
    """Paint ``rectangle`` strokes ``params (N, 9)`` (in [0, 1]; ``boxes (N, 4)`` their
    ``bounding_boxes``) in order onto ``canvas (3, h, w)`` in place: rows ``top .. top + h - 1``
    of a ``height x width`` picture (``w <= width``). Float32 or float64 CPU tensors."""
    _launch(_rectangle_paint, _np(params), _paint_boxes(boxes, height, width), canvas.numpy(), top, height, width)


def paint_oil(params: Tensor, boxes: Tensor, canvas: Tensor, top: int, height: int, width: int,
              texture: Tensor, start_round: float, luminance_floor: float) -> None:
    """``paint_rectangles`` for ``oilpaintbrush`` strokes ``params (N, 12)`` with the brush
    ``texture (2, LEVELS, TEXELS)`` and the engine's constants."""
    tex = _np(texture.to(torch.float64))  # no copy when it is already float64 (the oil brush caches it)
    _launch(_oil_paint, _np(params), _paint_boxes(boxes, height, width), canvas.numpy(), top, height, width, tex,
            float(start_round), float(luminance_floor))


# ---- curved strokes (``markerpen``, ``watercolor``) onto whole canvases ---------------------------
# The deepest point of a tapered quadratic Bezier towards each pixel, as ``strokes.bezier``. Each
# row only visits the pixels near the curve: the curve is cut into CURVE_PIECES pieces whose chords
# it leaves by at most |C| h^2 / 4 (h = 1 / CURVE_PIECES), and the row's span is that of the
# pieces' thickened chords. Along the span a full search (``_deepest``: the best of evenly spaced
# samples of t and of the last answer, then Newton's method) runs only every CURVE_BLOCK pixels.
# Where the two answers at a block's ends lie on one smooth branch of the curve (the deepest point
# moved at most CURVE_REACH pixels per pixel, the tangent turned less than CURVE_TURN and, on
# strongly bent curves, no piece of the curve away from that branch reaches the block), the pixels
# between take t interpolated between the two, refined by CURVE_REFINE Newton steps; otherwise
# each of them gets a full search. The depth ``min_t |B(t)-p| - r(t)`` is 1-Lipschitz along the row, so
# a depth far outside skips the next pixels, and (marker pen) a depth far inside proves the next
# pixels fully covered. The pixels between skips are then finished in runs by straight loops
# (Newton step, coverage, compositing) that the compiler vectorises.

CURVE_PIECES = 16
CURVE_SAMPLES = 9  # samples of t seeding a full search ...
CURVE_SAMPLES_BENT = 33  # ... on strongly bent curves (|C| > CURVE_BENT |A|: two deep branches)
CURVE_BENT = 0.5
CURVE_NEWTON = 3  # Newton steps of a full search
CURVE_BLOCK = 32  # pixels from one full search to the next along a row
CURVE_REACH = 2.0  # a block is one branch if its ends' deepest points are at most this many pixels apart per pixel ...
CURVE_TURN = 0.9  # ... and the cosine of the angle between their tangents is at least this
CURVE_NEAR = 4  # pieces on either side of a block's part of the curve that count as that part
CURVE_REFINE = 2  # Newton steps from the interpolated t (one leaves errors on small, bent strokes)
CURVE_MARGIN = 1.0  # pixels of slack for the search's error when a depth vouches for the next pixels

if numba is not None:

    @njit(inline="always")
    def _quartic(t, c0, c1, c2, c3, c4):  # pragma: no cover
        return c0 + t * (c1 + t * (c2 + t * (c3 + t * c4)))

    @njit(inline="always")
    def _curve_terms(q, height, width):  # pragma: no cover
        """``P0`` and the terms ``A``, ``C`` of ``B(t) = P0 + t A + t^2 C`` in pixels:
        ``x0, y0, ax, ay, cx, cy``."""
        x0, y0 = q[0] * width, q[1] * height
        ax, ay = 2.0 * (q[2] * width - x0), 2.0 * (q[3] * height - y0)
        cx, cy = x0 - 2.0 * q[2] * width + q[4] * width, y0 - 2.0 * q[3] * height + q[5] * height
        return x0, y0, ax, ay, cx, cy

    @njit(inline="always")
    def _newton(t, c0, c1, c2, c3, c4, k):  # pragma: no cover
        """One Newton step on the stationarity condition ``g'(t) = 2 k sqrt(g(t))`` of the depth
        ``sqrt(g(t)) - k t``, ``g`` the quartic ``c``; clamped to [0, 1]."""
        g = max(_quartic(t, c0, c1, c2, c3, c4), 1e-12)
        inv = 1.0 / np.sqrt(g)
        slope = c1 + t * (2.0 * c2 + t * (3.0 * c3 + t * 4.0 * c4))
        curv = 2.0 * c2 + t * (6.0 * c3 + t * 12.0 * c4)
        df = max(abs(curv - k * slope * inv), 1e-3)
        f = slope - 2.0 * k * g * inv
        return min(max(t - f / df, 0.0), 1.0)

    @njit(inline="always")
    def _depth(t, c0, c1, c2, c3, c4, k):  # pragma: no cover
        return np.sqrt(max(_quartic(t, c0, c1, c2, c3, c4), 0.0)) - k * t

    @njit(inline="always")
    def _deepest(px, py, q, S, height, width, k, prev, samples, steps, second):  # pragma: no cover
        """``t`` and distance of the point of the curve of ``q`` reaching deepest towards pixel centre
        ``(px, py)``, for a half-width growing by ``k`` pixels per unit t: the deepest of ``samples``
        evenly spaced values of ``t`` and ``prev`` (< 0: none), then ``steps`` of Newton's method;
        with ``second``, Newton's method also runs from the second deepest local minimum of the
        samples (another branch of a bent curve, or a narrow basin at a thin end) and the deeper
        answer wins."""
        x0, y0, ax, ay, cx, cy = _curve_terms(q, height, width)
        dx, dy = x0 - px, y0 - py
        c0 = dx * dx + dy * dy
        c1 = 2.0 * (dx * ax + dy * ay)
        c2 = ax * ax + ay * ay + 2.0 * (dx * cx + dy * cy)
        c3 = 2.0 * (ax * cx + ay * cy)
        c4 = cx * cx + cy * cy
        # the two deepest local minima of the samples; h2, h1: the two samples before sample i
        best_t, best_h, other_t, other_h = 0.0, 1e300, 0.0, 1e300
        h2, h1 = 1e300, 1e300
        for i in range(samples + 1):
            h = _depth(i / (samples - 1), c0, c1, c2, c3, c4, k) if i < samples else h2
            if i >= 1 and h1 <= h2 and h1 <= h:  # sample i - 1 is a local minimum (the ends: one side)
                t = (i - 1) / (samples - 1)
                if h1 < best_h:
                    other_t, other_h, best_t, best_h = best_t, best_h, t, h1
                elif h1 < other_h:
                    other_t, other_h = t, h1
            h2, h1 = h1, h
        if prev >= 0.0:
            h = _depth(prev, c0, c1, c2, c3, c4, k)
            if h < best_h:
                best_t, best_h = prev, h
        t = best_t
        for _ in range(steps):
            t = _newton(t, c0, c1, c2, c3, c4, k)
        if second and other_h < 1e300:
            u = other_t
            for _ in range(steps):
                u = _newton(u, c0, c1, c2, c3, c4, k)
            if _depth(u, c0, c1, c2, c3, c4, k) < _depth(t, c0, c1, c2, c3, c4, k):
                t = u
        return t, np.sqrt(max(_quartic(t, c0, c1, c2, c3, c4), 0.0) + 1e-8)

    @njit(inline="always")
    def _curve_pieces(q, height, width, r0, k, pieces):  # pragma: no cover
        """Row ``i`` of ``pieces (CURVE_PIECES, 5)`` (filled in place): the box ``x_min, x_max, y_min, y_max`` of
        piece ``i``'s chord and how far the stroke reaches beyond it (the piece's largest
        half-width plus the chord's error)."""
        x0, y0, ax, ay, cx, cy = _curve_terms(q, height, width)
        h = 1.0 / CURVE_PIECES
        bulge = np.sqrt(cx * cx + cy * cy) * h * h / 4.0
        xa, ya = x0, y0
        for i in range(CURVE_PIECES):
            t = (i + 1) * h
            xb, yb = x0 + t * (ax + t * cx), y0 + t * (ay + t * cy)
            pieces[i, 0], pieces[i, 1] = min(xa, xb), max(xa, xb)
            pieces[i, 2], pieces[i, 3] = min(ya, yb), max(ya, yb)
            pieces[i, 4] = max(r0 + k * (t - h), r0 + k * t) + bulge
            xa, ya = xb, yb

    @njit(inline="always")
    def _curve_span(py, pieces, left, right):  # pragma: no cover
        """Pixels ``[x0, x1)`` of the row with centre ``py`` that the stroke of ``pieces`` may
        reach (its edge included), inside ``[left, right)``."""
        lo, hi = 1e30, -1e30
        for i in range(CURVE_PIECES):
            grow = pieces[i, 4] + 1.0
            if pieces[i, 2] - grow <= py <= pieces[i, 3] + grow:
                lo, hi = min(lo, pieces[i, 0] - grow), max(hi, pieces[i, 1] + grow)
        if lo > hi:
            return 0, 0
        a = max(left, int(np.floor(lo - 0.5)))
        b = min(right, int(np.ceil(hi - 0.5)) + 1)
        return a, max(a, b)

    @njit(inline="always")
    def _alone(pieces, t, tb, xa, xb, py, depth):  # pragma: no cover
        """Whether no piece of the curve away from the part between ``t`` and ``tb`` (and
        ``CURVE_NEAR`` pieces on either side) can reach deeper than ``depth`` into the pixels ``xa .. xb`` of the row
        with centre ``py``."""
        first = int(min(t, tb) * CURVE_PIECES) - CURVE_NEAR
        last = int(max(t, tb) * CURVE_PIECES) + CURVE_NEAR
        for i in range(CURVE_PIECES):
            if first <= i <= last:
                continue
            gx = max(0.0, max(pieces[i, 0] - (xb + 0.5), (xa + 0.5) - pieces[i, 1]))
            gy = max(0.0, max(pieces[i, 2] - py, py - pieces[i, 3]))
            if np.sqrt(gx * gx + gy * gy) - pieces[i, 4] < depth:
                return False
        return True

    @njit(inline="always")
    def _one_branch(t, tb, pixels, ax, ay, cx, cy):  # pragma: no cover
        """Whether the deepest points ``t``, ``tb`` of two pixels ``pixels`` apart on a row lie on
        one smooth branch of the curve ``P0 + t A + t^2 C``: close along it, tangents alike."""
        mx, my = (tb - t) * (ax + (tb + t) * cx), (tb - t) * (ay + (tb + t) * cy)  # B(tb) - B(t)
        ux, uy = ax + 2.0 * t * cx, ay + 2.0 * t * cy
        vx, vy = ax + 2.0 * tb * cx, ay + 2.0 * tb * cy
        dot = ux * vx + uy * vy
        return (mx * mx + my * my <= (CURVE_REACH * pixels) ** 2 and dot > 0.0
                and dot * dot >= CURVE_TURN * CURVE_TURN * (ux * ux + uy * uy) * (vx * vx + vy * vy))

    # The run loops: one store each, so that they vectorise, in float32 (twice the lanes of
    # float64; the pixel's offset from the curve's start is formed in float64 first, so the
    # errors stay near 1e-4 pixels). Pixel ``i`` of a run has centre ``px0 + i``; its offset from
    # the curve is ``B(t) - p = (X0 - px, dy) + t A + t^2 C``.
    @njit(inline="always")
    def _refine_run(n, seeds, px0, X0, dy, ax, ay, cx, cy, k, out_t):  # pragma: no cover
        f = np.float32
        zero, one, two, tiny, small = f(0.0), f(1.0), f(2.0), f(1e-12), f(1e-3)
        ax_, ay_, cx_, cy_, k_, dy_ = f(ax), f(ay), f(cx), f(cy), f(k), f(dy)
        ex1, ey1 = f(ax + cx), f(ay + cy)
        for i in range(n):
            dx = f(X0 - (px0 + i))
            t = seeds[i]
            for _ in range(CURVE_REFINE):
                bx, by = ax_ + two * t * cx_, ay_ + two * t * cy_
                ex, ey = dx + t * (ax_ + t * cx_), dy_ + t * (ay_ + t * cy_)
                g = max(ex * ex + ey * ey, tiny)
                inv = one / np.sqrt(g)
                slope = two * (ex * bx + ey * by)
                curv = two * (bx * bx + by * by + two * (ex * cx_ + ey * cy_))
                df = max(abs(curv - k_ * slope * inv), small)
                t = min(max(t - (slope - two * k_ * g * inv) / df, zero), one)
            # Newton's method finds stationary points: an end of the curve may still reach deeper
            ex, ey = dx + t * (ax_ + t * cx_), dy_ + t * (ay_ + t * cy_)
            h = np.sqrt(ex * ex + ey * ey) - k_ * t
            h0 = np.sqrt(dx * dx + dy_ * dy_)
            h1 = np.sqrt((dx + ex1) * (dx + ex1) + (dy_ + ey1) * (dy_ + ey1)) - k_
            out_t[i] = zero if h0 < min(h, h1) else (one if h1 < h else t)

    @njit(inline="always")
    def _alpha_run(n, ts, px0, X0, dy, ax, ay, cx, cy, k, r0, opacity, watercolor, centre_density,
                   out_a):  # pragma: no cover
        f = np.float32
        zero, one, half, eps, eps3 = f(0.0), f(1.0), f(0.5), f(1e-8), f(1e-3)
        ax_, ay_, cx_, cy_, k_, dy_, r0_ = f(ax), f(ay), f(cx), f(cy), f(k), f(dy), f(r0)
        cd, op = f(centre_density), f(opacity)
        for i in range(n):
            t = ts[i]
            dx = f(X0 - (px0 + i))
            ex, ey = dx + t * (ax_ + t * cx_), dy_ + t * (ay_ + t * cy_)
            dist = np.sqrt(ex * ex + ey * ey + eps)
            radius = r0_ + k_ * t
            hw = max(radius, zero)  # _coverage's value, in float32
            cover = min(max(hw + half - dist, zero), one) - min(max(half - hw - dist, zero), one)
            if watercolor:  # pigment gathers at the rim
                rim = min(dist / (radius + eps3), one)
                cover *= cd + (one - cd) * rim * rim
            out_a[i] = cover * op

    @njit(inline="always")
    def _composite_run(n, canvas, r, x0, a, ts, q, watercolor):  # pragma: no cover
        for ch in range(3):
            c = q[8 + ch]
            dc = q[11 + ch] - c if watercolor else 0.0  # watercolor: colour along the curve
            for i in range(n):
                canvas[ch, r, x0 + i] += a[i] * (c + dc * ts[i] - canvas[ch, r, x0 + i])

    @njit(parallel=True, cache=True, fastmath=True)
    def _curve_paint(params, boxes, canvas, top, height, width, max_radius, watercolor, centre_density,
                     alpha_index):  # pragma: no cover
        # markerpen (watercolor False): flat colour q[8:11]; watercolor: colour from q[8:11] to
        # q[11:14] along the curve, pigment gathering at the rim
        S = max(height, width)
        rows, cols = canvas.shape[1], canvas.shape[2]
        pieces = np.empty((params.shape[0], CURVE_PIECES, 5))  # per stroke, for every row
        for j in prange(params.shape[0]):
            start_radius = params[j, 6] * (max_radius * S)
            _curve_pieces(params[j], height, width, start_radius, params[j, 7] * (max_radius * S) - start_radius,
                          pieces[j])
        for part in prange(PARTS):
            seeds, ts, alphas = np.empty(cols, np.float32), np.empty(cols, np.float32), np.empty(cols, np.float32)
            for r in range(part, rows, PARTS):
                y = top + r
                py = y + 0.5
                for n in range(params.shape[0]):
                    if y < boxes[n, 0] or y >= boxes[n, 2]:
                        continue
                    q = params[n]
                    r0, r2 = q[6] * (max_radius * S), q[7] * (max_radius * S)
                    k = r2 - r0
                    X0, Y0, ax, ay, cx, cy = _curve_terms(q, height, width)
                    bent = cx * cx + cy * cy > CURVE_BENT * CURVE_BENT * (ax * ax + ay * ay)
                    samples = CURVE_SAMPLES_BENT if bent else CURVE_SAMPLES
                    x0, x1 = _curve_span(py, pieces[n], boxes[n, 1], min(boxes[n, 3], cols))
                    dy = Y0 - py
                    x, start, known = x0, -1, False  # start: of the run of seeded pixels (-1: none)
                    t, dist, depth = -1.0, 0.0, 0.0
                    while True:
                        if x < x1:
                            if not known:
                                t, dist = _deepest(x + 0.5, py, q, S, height, width, k, t, samples, CURVE_NEWTON, bent)
                            known = False
                            depth = dist - (r0 + k * t)
                        # marker pen deep inside: this pixel and the next ones are fully covered
                        fill = 0 if watercolor or x >= x1 else min(int(-depth - 0.5 - CURVE_MARGIN), x1 - x)
                        if x >= x1 or depth >= 1.5 + CURVE_MARGIN or fill > 1:
                            if start >= 0:  # finish the run [start, x)
                                m = x - start
                                _refine_run(m, seeds[start:], start + 0.5, X0, dy, ax, ay, cx, cy, k, ts)
                                _alpha_run(m, ts, start + 0.5, X0, dy, ax, ay, cx, cy, k, r0, q[alpha_index],
                                           watercolor, centre_density, alphas)
                                _composite_run(m, canvas, r, start, alphas, ts, q, watercolor)
                                start = -1
                            if x >= x1:
                                break
                            if fill > 1:
                                for ch in range(3):
                                    for xx in range(x, x + fill):
                                        canvas[ch, r, xx] += q[alpha_index] * (q[8 + ch] - canvas[ch, r, xx])
                                x += fill
                            else:  # still outside: skip the pixels the depth vouches for
                                x += int(depth - 0.5 - CURVE_MARGIN)
                            continue
                        if start < 0:
                            start = x
                        seeds[x] = t
                        x += 1
                        xb = min(x - 1 + CURVE_BLOCK, x1 - 1)  # the block's far end
                        if xb <= x:
                            continue
                        tb, db = _deepest(xb + 0.5, py, q, S, height, width, k, t, samples, CURVE_NEWTON, bent)
                        # one branch; in the caps of bent curves (where an end is deepest), no
                        # other part of the curve deeper than the cap (its depth is largest at the
                        # block's ends) or than the edge
                        if (_one_branch(t, tb, xb - x + 1, ax, ay, cx, cy)
                                and (not bent or 0.0 < min(t, tb) <= max(t, tb) < 1.0
                                     or _alone(pieces[n], t, tb, x - 1, xb, py,
                                               min(0.5, max(depth, db - (r0 + k * tb)))))):
                            step = (tb - t) / (xb - x + 1)
                            for i in range(xb - x):
                                seeds[x + i] = t + step * (i + 1)
                            x = xb
                            t, dist, known = tb, db, True


def paint_curves(params: Tensor, boxes: Tensor, canvas: Tensor, top: int, height: int, width: int,
                 max_radius: float, watercolor: bool, centre_density: float = 0.0) -> None:
    """``paint_rectangles`` for ``markerpen`` (``params (N, 12)``) or, with ``watercolor``,
    ``watercolor`` strokes (``params (N, 15)``, ``centre_density`` its pigment on the centre line);
    ``max_radius``: ``bezier.MAX_RADIUS``."""
    _launch(_curve_paint, _np(params), _paint_boxes(boxes, height, width), canvas.numpy(), top, height, width,
            float(max_radius), bool(watercolor), float(centre_density), params.shape[1] - 1)


if numba is not None:

    @njit(parallel=True, cache=True)
    def _to_rgb8(pixels, consts, out):  # pragma: no cover
        # consts = 0, 1, 255 in the pixels' dtype: the arithmetic stays in it, as torch's does
        zero, one, scale = consts[0], consts[1], consts[2]
        for r in prange(pixels.shape[1]):
            for x in range(pixels.shape[2]):
                for ch in range(3):
                    out[r, x, ch] = np.uint8(np.rint(min(max(pixels[ch, r, x], zero), one) * scale))


def to_rgb8(pixels: Tensor) -> np.ndarray:
    """``(3, h, w)`` values -> ``(h, w, 3)`` uint8 RGB: clamped to [0, 1], times 255, rounded half
    to even (as ``torch.round``), in one pass. Any strides; CPU float32 or float64."""
    out = np.empty((pixels.shape[1], pixels.shape[2], 3), np.uint8)
    values = pixels.detach().numpy()
    _launch(_to_rgb8, values, np.array([0.0, 1.0, 255.0], values.dtype), out)
    return out


def warm_up() -> float:
    """Compile (or load from numba's cache) every kernel for float32, as ``paint`` and
    ``render-hires`` use them; ``scripts/setup.sh`` runs this once after installing. Returns the
    seconds it took."""
    import time

    from .compositing import render_painting
    from .strokes import get_stroke_type
    from .tiles import composite_tiles, stroke_tiles

    start = time.perf_counter()
    for name in ("rectangle", "oilpaintbrush", "markerpen", "watercolor"):
        stroke = get_stroke_type(name)
        params = stroke.sample_painting(4, torch.Generator().manual_seed(0)).requires_grad_(True)
        to_rgb8(render_painting(stroke, params.detach(), 16, 16))
        if name in ("rectangle", "oilpaintbrush"):  # the painter's kernels, with gradient
            layout = stroke_tiles(stroke, params, 16, 16, 4)
            colour, alpha = stroke.render_tiles(params, layout.rows, 16, 16, 4, layout.origins)
            composite_tiles(colour, alpha, layout, torch.ones(3, 16, 16)).sum().backward()
    return time.perf_counter() - start


if __name__ == "__main__":
    print(f"neuralpaint: compiled kernels ready in {warm_up():.1f} s")
