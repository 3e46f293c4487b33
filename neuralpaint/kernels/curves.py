"""The tapered quadratic Bezier family (``markerpen``, ``watercolor``), painted in order onto
whole canvases.

Strokes reach the kernel in the family's layout ``FIELDS`` (``StrokeType.kernel_fields``): the
end points and the control point ``x0, y0, x1, y1, x2, y2`` (canvas fractions), the half-widths
``r0, r2`` at the ends (units of ``max_radius`` times the longer side), the colour at the start
and at the end, and ``alpha``. The marker pen feeds its one colour to both ends.
"""
from __future__ import annotations

import numpy as np

from . import PARTS, launch, numba

if numba is not None:
    from numba import njit, prange

FIELDS = ("x0", "y0", "x1", "y1", "x2", "y2", "r0", "r2", "red", "green", "blue", "red_end", "green_end",
          "blue_end", "alpha")
P0X, P0Y, P1X, P1Y, P2X, P2Y, RADIUS0, RADIUS2, RED, GREEN, BLUE, RED_END, GREEN_END, BLUE_END, ALPHA = range(len(FIELDS))

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
        x0, y0 = q[P0X] * width, q[P0Y] * height
        ax, ay = 2.0 * (q[P1X] * width - x0), 2.0 * (q[P1Y] * height - y0)
        cx, cy = x0 - 2.0 * q[P1X] * width + q[P2X] * width, y0 - 2.0 * q[P1Y] * height + q[P2Y] * height
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
            c = q[RED + ch]
            dc = q[RED_END + ch] - c if watercolor else 0.0  # watercolor: colour along the curve
            for i in range(n):
                canvas[ch, r, x0 + i] += a[i] * (c + dc * ts[i] - canvas[ch, r, x0 + i])

    @njit(parallel=True, cache=True, fastmath=True)
    def _curve_paint(params, boxes, canvas, top, height, width, max_radius, watercolor,
                     centre_density):  # pragma: no cover
        # markerpen (watercolor False): flat colour (RED..BLUE); watercolor: colour from RED..BLUE to
        # RED_END..BLUE_END along the curve, pigment gathering at the rim
        S = max(height, width)
        rows, cols = canvas.shape[1], canvas.shape[2]
        pieces = np.empty((params.shape[0], CURVE_PIECES, 5))  # per stroke, for every row
        for j in prange(params.shape[0]):
            start_radius = params[j, RADIUS0] * (max_radius * S)
            _curve_pieces(params[j], height, width, start_radius, params[j, RADIUS2] * (max_radius * S) - start_radius,
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
                    r0, r2 = q[RADIUS0] * (max_radius * S), q[RADIUS2] * (max_radius * S)
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
                                _alpha_run(m, ts, start + 0.5, X0, dy, ax, ay, cx, cy, k, r0, q[ALPHA],
                                           watercolor, centre_density, alphas)
                                _composite_run(m, canvas, r, start, alphas, ts, q, watercolor)
                                start = -1
                            if x >= x1:
                                break
                            if fill > 1:
                                for ch in range(3):
                                    for xx in range(x, x + fill):
                                        canvas[ch, r, xx] += q[ALPHA] * (q[RED + ch] - canvas[ch, r, xx])
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


def paint_curves(params, boxes, canvas, top: int, height: int, width: int, max_radius: float,
                 watercolor: bool, centre_density: float = 0.0) -> None:
    """Paint strokes ``params (N, 15)`` (``FIELDS``, in [0, 1]) in order onto ``canvas (3, h,
    w)`` in place, as ``boxes.paint_boxes``: a marker pen's flat ink, or with ``watercolor`` a wash
    whose colour runs along the curve and whose pigment on the centre line is ``centre_density``
    of the rim's; ``max_radius``: ``strokes.bezier.MAX_RADIUS``."""
    launch(_curve_paint, params, boxes, canvas, top, height, width, float(max_radius), bool(watercolor),
           float(centre_density))
