"""The rotated-box family (``rectangle``, ``oilpaintbrush``): on the painter's cells, forward
and backward, and painted in order onto whole canvases.

Strokes reach these kernels in the family's layout ``FIELDS`` (the stroke type says which of its
parameters feed each field: ``StrokeType.kernel_fields``): centre ``x, y`` (canvas fractions),
``length`` along the stroke and ``breadth`` across (fractions of the longer side), ``angle``
(``* pi``), the colour at the start and at the end of the stroke, and ``alpha``. The rectangle
reads only the start colour; the gradient of the end colour is zero for it.
"""
from __future__ import annotations

import numpy as np

from . import PARTS, launch, numba

if numba is not None:
    from numba import njit, prange

FIELDS = ("x", "y", "length", "breadth", "angle", "red", "green", "blue", "red_end", "green_end", "blue_end",
          "alpha")
X, Y, LENGTH, BREADTH, ANGLE, RED, GREEN, BLUE, RED_END, GREEN_END, BLUE_END, ALPHA = range(len(FIELDS))

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

    @njit(inline="always")
    def _rectangle_terms(q, S, height, width):  # pragma: no cover
        """Per-stroke terms of a rectangle: centre, half length and breadth, direction."""
        return (q[X] * width, q[Y] * height, q[LENGTH] * (S / 2), q[BREADTH] * (S / 2), np.cos(q[ANGLE] * np.pi),
                np.sin(q[ANGLE] * np.pi))

    @njit(parallel=True, cache=True, fastmath=True)
    def _rectangle_forward(params, rows, origins, height, width, cell, colour, alpha):  # pragma: no cover
        S = max(height, width)
        for t in prange(rows.shape[0]):
            q = params[rows[t]]
            cx, cy, hl, ht, c, s = _rectangle_terms(q, S, height, width)
            oy, ox = origins[t, 0], origins[t, 1]
            for i in range(cell):
                dy = oy + i + 0.5 - cy
                for j in range(cell):
                    dx = ox + j + 0.5 - cx
                    cu = _coverage(dx * c + dy * s, hl)[0]
                    cv = _coverage(dy * c - dx * s, ht)[0]
                    p = i * cell + j
                    alpha[t, p] = cu * cv * q[ALPHA]
                    colour[t, 0, p] = q[RED]
                    colour[t, 1, p] = q[GREEN]
                    colour[t, 2, p] = q[BLUE]

    @njit(parallel=True, cache=True, fastmath=True)
    def _rectangle_backward(params, rows, origins, height, width, cell, grad_colour, grad_alpha,
                            grad):  # pragma: no cover
        # grad (T, 12): each pair's share of its stroke's gradient, in FIELDS
        S = max(height, width)
        for t in prange(rows.shape[0]):
            q = params[rows[t]]
            cx, cy, hl, ht, c, s = _rectangle_terms(q, S, height, width)
            oy, ox = origins[t, 0], origins[t, 1]
            g_cx = g_cy = g_hl = g_ht = g_c = g_s = g_a = g_r = g_g = g_b = 0.0
            for i in range(cell):
                dy = oy + i + 0.5 - cy
                for j in range(cell):
                    dx = ox + j + 0.5 - cx
                    p = i * cell + j
                    g_r += grad_colour[t, 0, p]
                    g_g += grad_colour[t, 1, p]
                    g_b += grad_colour[t, 2, p]
                    ga = grad_alpha[t, p]
                    u = dx * c + dy * s
                    v = dy * c - dx * s
                    cu, cu_d, cu_h = _coverage(u, hl)
                    cv, cv_d, cv_h = _coverage(v, ht)
                    g_a += ga * cu * cv
                    gcu, gcv = ga * q[ALPHA] * cv, ga * q[ALPHA] * cu
                    g_hl += gcu * cu_h
                    g_ht += gcv * cv_h
                    gu, gv = gcu * cu_d, gcv * cv_d
                    g_cx -= gu * c - gv * s
                    g_cy -= gu * s + gv * c
                    g_c += gu * dx + gv * dy
                    g_s += gu * dy - gv * dx
            grad[t, X] = g_cx * width
            grad[t, Y] = g_cy * height
            grad[t, LENGTH] = g_hl * (S / 2)
            grad[t, BREADTH] = g_ht * (S / 2)
            grad[t, ANGLE] = (g_s * c - g_c * s) * np.pi
            grad[t, RED] = g_r
            grad[t, GREEN] = g_g
            grad[t, BLUE] = g_b
            grad[t, ALPHA] = g_a
            grad[t, RED_END] = grad[t, GREEN_END] = grad[t, BLUE_END] = 0.0  # the rectangle has one colour



# ---- the oil brush on cells --------------------------------------------------------------------
# The same steps as ``OilPaintBrush._render`` (see there for what they mean), one pixel at a time;
# the texture lookup is ``grid_sample``'s (bilinear, align_corners=True, border padding) on the
# brush's (2, LEVELS, TEXELS) mip pyramid, whose level is fixed per stroke by its breadth.

if numba is not None:

    @njit(inline="always")
    def _oil_stroke(q, S, height, width, levels, texels):  # pragma: no cover
        """Per-stroke terms: centre, direction, length, breadth, mip level and its lerp."""
        cx, cy = q[X] * width, q[Y] * height
        c, s = np.cos(q[ANGLE] * np.pi), np.sin(q[ANGLE] * np.pi)
        length, breadth = q[LENGTH] * S, q[BREADTH] * S
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
    def _oil_forward(params, rows, origins, height, width, cell, tex, start_round, lum_floor, colour,
                     alpha):  # pragma: no cover
        S = max(height, width)
        levels = tex.shape[1]
        terms = _oil_terms(params, S, height, width, levels, tex.shape[2])
        for t in prange(rows.shape[0]):
            q = params[rows[t]]
            cx, cy, c, s, length, breadth, level, y0f, wy, _ = terms[rows[t]]
            y0 = int(y0f)
            oy, ox = origins[t, 0], origins[t, 1]
            for i in range(cell):
                dy = oy + i + 0.5 - cy
                for j in range(cell):
                    r = _oil_pixel(ox + j + 0.5 - cx, dy, c, s, length, breadth, tex, y0, wy, start_round)
                    density, cu, cv, along = r[4], r[13], r[16], r[20]
                    p = i * cell + j
                    alpha[t, p] = cu * cv * density * q[ALPHA]
                    lum = lum_floor + (1.0 - lum_floor) * density
                    for k in range(3):
                        colour[t, k, p] = (q[RED + k] + (q[RED_END + k] - q[RED + k]) * along) * lum

    @njit(parallel=True, cache=True, fastmath=True)
    def _oil_backward(params, rows, origins, height, width, cell, tex, start_round, lum_floor, grad_colour,
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
            for i in range(cell):
                dy = oy + i + 0.5 - cy
                for j in range(cell):
                    dx = ox + j + 0.5 - cx
                    (u, v, vu, ix_raw, density, dd_ix, dd_lv, end, de_ix, de_lv, w, root, start, cu, cu_d, cu_h,
                     cv, cv_d, cv_h, along_raw, along) = _oil_pixel(dx, dy, c, s, length, breadth, tex, y0, wy,
                                                                    start_round)
                    p = i * cell + j
                    ga = grad_alpha[t, p]
                    cover = cu * cv * density
                    g_a += ga * cover
                    gcover = ga * q[ALPHA]
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
                    g_along = gr * (q[RED_END] - q[RED]) + gg * (q[GREEN_END] - q[GREEN]) + gb * (q[BLUE_END] - q[BLUE])
                    g_lum = (grad_colour[t, 0, p] * (q[RED] + (q[RED_END] - q[RED]) * along)
                             + grad_colour[t, 1, p] * (q[GREEN] + (q[GREEN_END] - q[GREEN]) * along)
                             + grad_colour[t, 2, p] * (q[BLUE] + (q[BLUE_END] - q[BLUE]) * along))
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
            grad[t, X] = g_cx * width
            grad[t, Y] = g_cy * height
            grad[t, LENGTH] = g_len * S
            grad[t, BREADTH] = g_br * S
            grad[t, ANGLE] = (g_s * c - g_c * s) * np.pi
            grad[t, RED], grad[t, GREEN], grad[t, BLUE] = g_r0, g_g0, g_b0
            grad[t, RED_END], grad[t, GREEN_END], grad[t, BLUE_END] = g_r2, g_g2, g_b2
            grad[t, ALPHA] = g_a



def cells_forward(kernel: str, params, rows, origins, height: int, width: int, cell: int, extra: tuple,
                  colour, alpha) -> None:
    """Strokes ``params (N, 12)`` (``FIELDS``, in [0, 1]) on ``cell x cell`` squares of a ``height
    x width`` canvas: stroke ``rows[k]`` on the square at ``origins[k]`` (``(T, 2)`` int64, top,
    left); fills ``colour (T, 3, cell * cell)`` and ``alpha (T, cell * cell)``. ``kernel``:
    ``"rectangle"`` (``extra = ()``) or ``"oil"`` (``extra = (texture (2, LEVELS, TEXELS),
    start_round, luminance_floor)``, in the params' dtype)."""
    launch(_FORWARD[kernel], params, rows, origins, height, width, cell, *extra, colour, alpha)


def cells_backward(kernel: str, params, rows, origins, height: int, width: int, cell: int, extra: tuple,
                   grad_colour, grad_alpha, grad) -> None:
    """The gradient of ``cells_forward``: fills ``grad (T, 12)``, each pair's share of its
    stroke's gradient in ``FIELDS``."""
    launch(_BACKWARD[kernel], params, rows, origins, height, width, cell, *extra, grad_colour, grad_alpha, grad)


if numba is not None:

    @njit(parallel=True, cache=True)
    def _box_touches(terms, rows, centres, out):  # pragma: no cover
        for k in prange(rows.shape[0]):
            cx, cy, c, s, reach_u, reach_v, reach_x, reach_y = terms[rows[k]]
            dx, dy = centres[k, 1] - cx, centres[k, 0] - cy
            out[k] = (abs(dx * c + dy * s) <= reach_u and abs(dy * c - dx * s) <= reach_v
                      and abs(dx) <= reach_x and abs(dy) <= reach_y)



def box_touches(terms, rows, centres, out) -> None:
    """Whether the rotated box of stroke ``rows[k]`` meets the square around ``centres[k]``
    (``(T, 2)``, ``y, x``): ``terms (N, 8)`` per stroke (``cx, cy, cos, sin`` and the reaches
    along u, v, x, y, see ``strokes.rectangle``), float64; fills ``out (T,)`` bool."""
    launch(_box_touches, terms, rows, centres, out)


# ---- whole canvases: strokes painted in order (no gradient) ------------------------------------
# Rows are shared out among the threads; every row goes through the strokes in painting order and
# paints each one only between the ends of the row's span of its rotated box (grown by half a
# pixel for the box-filtered edge, and one more pixel for rounding), so a pixel sees its strokes
# in order and no stroke is evaluated far from where it paints.


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
                    cx, cy, hl, ht, c, s = _rectangle_terms(q, S, height, width)
                    dy = y + 0.5 - cy
                    x0, x1 = _span(dy, cx, c, s, hl + 0.5, ht + 0.5, boxes[k, 1], min(boxes[k, 3], cols))
                    for i in range(x1 - x0):
                        dx = x0 + i + 0.5 - cx
                        alpha[i] = _coverage(dx * c + dy * s, hl)[0] * _coverage(dy * c - dx * s, ht)[0] * q[ALPHA]
                    for ch in range(3):
                        colour = q[RED + ch]
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
                                    * density[i] * q[ALPHA])
                    to_along = 1.0 / (length + 1e-6)
                    for ch in range(3):
                        c0, dc = q[RED + ch], q[RED_END + ch] - q[RED + ch]
                        for i in range(m):
                            along = min(max(((x0 + i + 0.5 - cx) * c + dy * s) * to_along + 0.5, 0.0), 1.0)
                            colour = (c0 + dc * along) * (lum_floor + (1.0 - lum_floor) * density[i])
                            canvas[ch, r, x0 + i] += alpha[i] * (colour - canvas[ch, r, x0 + i])



def paint_boxes(kernel: str, params, boxes, canvas, top: int, height: int, width: int, extra: tuple = ()) -> None:
    """Paint strokes ``params (N, 12)`` (``FIELDS``, in [0, 1]) in order onto ``canvas (3, h, w)``
    in place: rows ``top .. top + h - 1`` of a ``height x width`` picture (``w <= width``).
    ``boxes (N, 4)`` int64: each stroke's ``top, left, bottom, right`` pixel range, clipped.
    ``kernel`` and ``extra`` as in ``cells_forward`` (the oil texture in float64). Float32 or
    float64 arrays, C-contiguous."""
    launch(_PAINT[kernel], params, boxes, canvas, top, height, width, *extra)


if numba is not None:
    _FORWARD = {"rectangle": _rectangle_forward, "oil": _oil_forward}
    _BACKWARD = {"rectangle": _rectangle_backward, "oil": _oil_backward}
    _PAINT = {"rectangle": _rectangle_paint, "oil": _oil_paint}
