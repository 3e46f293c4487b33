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

import numpy as np
import torch
from torch import Tensor

try:
    import numba
    from numba import njit, prange
except ImportError:  # pragma: no cover - numba is a dependency; the tensor code covers its absence
    numba = None


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
                    grad_alpha[j, p] = (g0 * (colour[j, 0, p] - below[j, 0, p]) + g1 * (colour[j, 1, p] - below[j, 1, p])
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
        _composite_forward(_np(colour), _np(alpha), _np(background), _np(cells), _np(first), _np(end),
                           out.numpy(), below.numpy())
        ctx.save_for_backward(colour, alpha, below, cells, first, end)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        colour, alpha, below, cells, first, end = ctx.saved_tensors
        grad = grad.contiguous().to(alpha.dtype)
        grad_colour, grad_alpha = torch.empty_like(colour), torch.empty_like(alpha)
        grad_background = grad.clone()
        _composite_backward(_np(colour), _np(alpha), _np(below), _np(grad), _np(cells), _np(first), _np(end),
                            grad_colour.numpy(), grad_alpha.numpy(), grad_background.numpy())
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


class _RectangleTiles(torch.autograd.Function):
    @staticmethod
    def forward(ctx, params: Tensor, rows: Tensor, origins: Tensor, height: int, width: int, tile: int):
        params = params.contiguous()
        T, P = rows.shape[0], tile * tile
        colour, alpha = params.new_empty(T, 3, P), params.new_empty(T, P)
        _rectangle_forward(_np(params), _np(rows), _np(origins), height, width, tile, colour.numpy(), alpha.numpy())
        ctx.save_for_backward(params, rows, origins)
        ctx.size = height, width, tile
        return colour, alpha

    @staticmethod
    def backward(ctx, grad_colour: Tensor, grad_alpha: Tensor):
        params, rows, origins = ctx.saved_tensors
        height, width, tile = ctx.size
        T, P = rows.shape[0], tile * tile
        grad_colour = params.new_zeros(T, 3, P) if grad_colour is None else grad_colour.contiguous()
        grad_alpha = params.new_zeros(T, P) if grad_alpha is None else grad_alpha.contiguous()
        per_pair = params.new_empty(T, params.shape[1])
        _rectangle_backward(_np(params), _np(rows), _np(origins), height, width, tile, _np(grad_colour),
                            _np(grad_alpha), per_pair.numpy())
        return torch.zeros_like(params).index_add_(0, rows, per_pair), None, None, None, None, None


def rectangle_tiles(params: Tensor, rows: Tensor, origins: Tensor, height: int, width: int,
                    tile: int) -> tuple[Tensor, Tensor]:
    """``rectangle`` strokes ``params (N, 9)`` (in [0, 1]) on ``tile x tile`` squares: stroke
    ``rows[k]`` on the square at ``origins[k]`` (``(T, 2)`` int64, top, left) of a ``height x
    width`` canvas -> ``colour (T, 3, tile * tile)``, ``alpha (T, tile * tile)``; the same
    pixels as ``Rectangle.render`` with a window, differentiable in ``params``. CPU only."""
    return _RectangleTiles.apply(params, rows.contiguous(), origins.to(torch.int64).contiguous(), height, width, tile)


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

    @njit(inline="always")
    def _texture(tex, ch, ix, y0, wy):  # pragma: no cover
        """Bilinear sample of channel ``ch`` at texel ``ix`` (already clipped) between levels
        ``y0`` and ``y0 + 1``: value, d/d ix, d/d level."""
        n = tex.shape[2]
        x0 = min(int(np.floor(ix)), n - 2)
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
        vu = v / (0.5 * breadth + 1e-6)
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
        along_raw = u / (length + 1e-6) + 0.5
        along = min(max(along_raw, 0.0), 1.0)
        return (u, v, vu, ix_raw, density, dd_ix, dd_lv, end, de_ix, de_lv, w, root, start, cu, cu_d, cu_h,
                cv, cv_d, cv_h, along_raw, along)

    @njit(parallel=True, cache=True, fastmath=True)
    def _oil_forward(params, rows, origins, height, width, tile, tex, start_round, lum_floor, colour, alpha):  # pragma: no cover
        S = max(height, width)
        levels = tex.shape[1]
        for t in prange(rows.shape[0]):
            q = params[rows[t]]
            cx, cy, c, s, length, breadth, level, y0, wy, _ = _oil_stroke(q, S, height, width, levels, tex.shape[2])
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
        for t in prange(rows.shape[0]):
            q = params[rows[t]]
            cx, cy, c, s, length, breadth, level, y0, wy, level_open = _oil_stroke(q, S, height, width, levels, tex.shape[2])
            oy, ox = origins[t, 0], origins[t, 1]
            g_cx = g_cy = g_c = g_s = g_len = g_br = g_lv = g_a = 0.0
            g_c0 = np.zeros(3)
            g_c2 = np.zeros(3)
            inv_hb = 1.0 / (0.5 * breadth + 1e-6)
            inv_len = 1.0 / (length + 1e-6)
            for i in range(tile):
                dy = oy + i + 0.5 - cy
                for j in range(tile):
                    dx = ox + j + 0.5 - cx
                    (u, v, vu, ix_raw, density, dd_ix, dd_lv, end, de_ix, de_lv, w, root, start, cu, cu_d, cu_h,
                     cv, cv_d, cv_h, along_raw, along) = _oil_pixel(dx, dy, c, s, length, breadth, tex, y0, wy, start_round)
                    p = i * tile + j
                    ga = grad_alpha[t, p]
                    cover = cu * cv * density
                    g_a += ga * cover
                    gcover = ga * q[11]
                    gcu, gcv = gcover * cv * density, gcover * cu * density
                    g_dens = gcover * cu * cv
                    # colour = (c0 + (c2 - c0) along) lum
                    lum = lum_floor + (1.0 - lum_floor) * density
                    g_along = g_lum = 0.0
                    for k in range(3):
                        gk = grad_colour[t, k, p]
                        base = q[5 + k] + (q[8 + k] - q[5 + k]) * along
                        g_c0[k] += gk * lum * (1.0 - along)
                        g_c2[k] += gk * lum * along
                        g_along += gk * lum * (q[8 + k] - q[5 + k])
                        g_lum += gk * base
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
            if level_open:  # level = log2(TEXELS / (breadth + 1e-6)), strictly inside its clamp
                g_br -= g_lv / ((breadth + 1e-6) * np.log(2.0))
            grad[t, 0] = g_cx * width
            grad[t, 1] = g_cy * height
            grad[t, 2] = g_len * S
            grad[t, 3] = g_br * S
            grad[t, 4] = (g_s * c - g_c * s) * np.pi
            for k in range(3):
                grad[t, 5 + k] = g_c0[k]
                grad[t, 8 + k] = g_c2[k]
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
        kernels[0](_np(params), _np(rows), _np(origins), height, width, tile, *extra, colour.numpy(), alpha.numpy())
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
        kernels[1](_np(params), _np(rows), _np(origins), height, width, tile, *extra, _np(grad_colour),
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
