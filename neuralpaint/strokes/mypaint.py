"""``mypaint``: a stroke painted by the real MyPaint brush engine (libmypaint, through ctypes).

Parameters (12, the action layout of the public MyPaintBrushstrokes data set), all in [0, 1]:

=====  ==================  ==================================================================
index  name                meaning
=====  ==================  ==================================================================
0      ``end_pressure``    pen pressure at the end of the stroke, times 0.8
1      ``size``            brush radius: ``radius_logarithmic = 2 * size + ln(S / 64)``, i.e.
                           ``exp(2 * size)`` pixels on a 64 px canvas (1 to 7.4 px), scaled with
                           the canvas's longer side ``S``
2, 3   ``ctrl_x, ctrl_y``  the point the path passes through at its middle
4, 5   ``end_x, end_y``    end of the path
6..8   ``R, G, B``         brush colour
9, 10  ``start_x, ...``    start of the path
11     ``start_pressure``  pen pressure at the start, times 0.8
=====  ==================  ==================================================================

The path is the quadratic Bezier from start to end whose point at ``t = 1/2`` is the control point
(its middle control point is ``2 C - (P0 + P2) / 2``). The pen moves along it at a constant speed
of ``SPEED`` reference pixels per second (a reference pixel is 1/64 of the canvas's longer side),
sampled every ``min(radius / 2, 2)`` reference pixels (at least ``MIN_EVENTS`` motion events);
the pressure ramps from the start pressure to the mean of both over the first quarter of the path
and to the end pressure over the last quarter. libmypaint interpolates dabs between the events.

Layout: there is no opacity parameter (``alpha = None``): a stroke's opacity is whatever the brush
paints (it depends on the pressure); ``colour = slice(6, 9)``; ``shape`` is the whole vector
(``slice(0, 12)``): every parameter but the colour moves or reshapes the stroke and they are not
contiguous, so a renderer's shape pathway sees all 12.

Resolution: coordinates scale with the canvas, the radius with its longer side, and the brush is
told ``viewzoom = 64 / S`` so that its speed inputs (pixels per second on screen) read the same at
every size while times stay the same: a render at any size is a scaled copy of the 64 x 64 one, as
closely as the brush's own randomness allows (the dab count, hence the random sequence, can differ
by a dab). libmypaint clamps dab radii to 0.2 .. 1000 pixels.

Rendering: every stroke is drawn with a fresh brush (its random generator always starts from the
same seed, so the same action gives the same pixels) on a transparent, sparse tiled surface, emptied
before each stroke (only the tiles the stroke touches exist, whatever the canvas size). The surface holds
premultiplied RGBA; ``alpha = A`` and ``colour = RGB / A`` (the nominal colour where ``A = 0``), so
``colour * alpha`` is the premultiplied paint and compositing over any canvas colour is exact for
normal brushes. Pigment mixing (``paint_mode``) is switched off: strokes are composited, not mixed.
The engine is not differentiable (``differentiable = False``): ``render`` computes on the CPU and
returns tensors without gradient on the params' device and dtype. The last stroke drawn is cached
(one entry), so rendering it again in windows or tiles (``canvas.render_painting``) draws it once.

The brush (option ``brush``, default ``deevad/brush``) is any ``.myb`` file of the installed
MyPaint brush collection, named relative to its directory, or a path to a ``.myb`` file; brush
files are found, read and measured by ``strokes.mypaint_brushes``.
"""
from __future__ import annotations

import colorsys
import math
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from ..arrays import is_tensor, namespace, to_numpy, torch

from .. import kernels
from ..errors import NeuralPaintError
from ..kernels import segments as segment_kernels
from . import libmypaint
from .base import CommandLineOption, PixelGrid, StrokeType
from .bezier import init_curves, sample_curves
from .mypaint_brushes import (DEFAULT_BRUSH, PRESSURE_SCALE, REF, SPEED, BrushInfo, available_brushes, engine_json,
                              find_brush, load_brush)
from .registry import register

if TYPE_CHECKING:
    from torch import Tensor

# ``size`` -> radius: ``ln(radius)`` runs linearly over this range (reference pixels) as ``size``
# runs over [0, 1]. "dataset" is the MyPaintBrushstrokes layout (1 to 7.4 px on a 64 px canvas),
# which the GAN renderer was trained on; "fine" reaches down to a quarter of that, 1 px at 256^2,
# so a painting can draw details (strokes files and nets recorded without the option are "dataset")
SIZES = {"dataset": (0.0, 2.0), "fine": (math.log(0.25), 2.0)}
DEFAULT_SIZES = "fine"
STEP = 0.5  # motion events every STEP radii ...
MAX_STEP = 2.0  # ... and at most every MAX_STEP reference pixels
MIN_EVENTS, MAX_EVENTS = 16, 1024
MIN_DTIME = 1e-3  # seconds per event when the pen does not move
DENSE = 64  # segments of the polyline that measures the path's arc length
TUBE = 8  # chords of the path that ``cells_touched`` measures distances to


# ---- the path -----------------------------------------------------------------------------------
def _points(params, height: float, width: float):
    """Start, middle control point and end of the Bezier ``(B, 2)`` in canvas pixels (numpy
    arrays or tensors, as ``params``)."""
    def at(i):  # the point whose x is column i and y column i + 1
        return namespace(params).stack([params[:, i] * width, params[:, i + 1] * height], 1)

    start, through, end = at(9), at(2), at(4)
    return start, 2 * through - 0.5 * (start + end), end


def path_points(params: Tensor, height: float, width: float, chords: int) -> Tensor:
    """The Bezier paths of strokes ``params (N, 12)`` at ``t = k / chords``, ``k = 0 .. chords``:
    ``(N, chords + 1, 2)`` canvas pixels (x, y), differentiable."""
    start, control, end = _points(params, height, width)
    t = torch.linspace(0.0, 1.0, chords + 1, device=params.device, dtype=params.dtype)[None, :, None]
    return (1 - t) ** 2 * start[:, None] + 2 * t * (1 - t) * control[:, None] + t ** 2 * end[:, None]


def log_radius(size, sizes: str = DEFAULT_SIZES):
    """``ln`` of the base radius in reference pixels (1/64 of the canvas's longer side) of strokes
    of ``size`` (a number, numpy array or tensor) in the layout ``sizes`` (``SIZES``)."""
    low, high = SIZES[sizes]
    return low + (high - low) * size


def base_radius(size, scale: float, sizes: str = DEFAULT_SIZES):
    """Base radius in pixels of strokes of ``size`` (a number, numpy array or tensor) on a canvas
    whose longer side is ``scale``, in the layout ``sizes``."""
    if isinstance(size, (int, float)):
        return math.exp(log_radius(size, sizes)) * (scale / REF)
    return namespace(size).exp(log_radius(size, sizes)) * (scale / REF)


def motion_events(action: np.ndarray, height: float, width: float, shift: tuple[float, float] = (0.0, 0.0),
                  sizes: str = DEFAULT_SIZES) -> np.ndarray:
    """The motion events ``(N, 4)`` = ``x, y, pressure, dtime`` that paint ``action (12,)`` on a
    ``height x width`` canvas, in pixels shifted by ``shift = (dy, dx)``; row 0 places the pen."""
    scale = max(height, width) / REF
    a = np.clip(np.asarray(action, np.float64), 0.0, 1.0)
    p0 = np.array([a[9] * width, a[10] * height])
    c = np.array([a[2] * width, a[3] * height])
    p2 = np.array([a[4] * width, a[5] * height])
    p1 = 2 * c - 0.5 * (p0 + p2)

    def bezier(t):
        t = t[:, None]
        return (1 - t) ** 2 * p0 + 2 * t * (1 - t) * p1 + t ** 2 * p2

    dense_t = np.linspace(0.0, 1.0, DENSE + 1)
    dense = bezier(dense_t)
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(dense, axis=0).T))])
    length = arc[-1] / scale  # reference pixels
    radius = math.exp(log_radius(a[1], sizes))
    n = int(np.clip(math.ceil(length / min(STEP * radius, MAX_STEP)), MIN_EVENTS, MAX_EVENTS))
    s = np.linspace(0.0, 1.0, n + 1)
    t = np.interp(s * arc[-1], arc, dense_t) if arc[-1] > 0 else s
    xy = bezier(t)
    start_p, end_p = PRESSURE_SCALE * a[11], PRESSURE_SCALE * a[0]
    mean_p = 0.5 * (start_p + end_p)
    pressure = np.where(s < 0.25, start_p + (mean_p - start_p) * s / 0.25,
                        np.where(s > 0.75, mean_p + (end_p - mean_p) * (s - 0.75) / 0.25, mean_p))
    dtime = np.full(n + 1, max(length / n / SPEED, MIN_DTIME))
    return np.stack([xy[:, 0] - shift[1], xy[:, 1] - shift[0], pressure, dtime], axis=1)


# ---- drawing ------------------------------------------------------------------------------------
_last: dict = {}  # the last stroke drawn: {"key": ..., "surface": TileSurface}


def _draw(brush: BrushInfo, action: np.ndarray, height: float, width: float,
          shift: tuple[float, float], sizes: str) -> libmypaint.TileSurface:
    """The surface with ``action`` (in the layout ``sizes``) painted (surface pixel ``(i, j)`` is
    canvas pixel ``(i, j)`` offset by ``shift``); the last one is cached."""
    key = (brush.path, tuple(float(v) for v in action), float(height), float(width), shift, sizes)
    if _last.get("key") == key:
        return _last["surface"]
    surface = _last.pop("surface", None)  # the last stroke's surface is used again, emptied
    _last.clear()
    if surface is None:
        surface = libmypaint.TileSurface()
    surface.tiles.clear()
    scale = max(height, width)
    events = motion_events(action, height, width, shift, sizes)
    try:
        with libmypaint.Brush(engine_json(brush.path)) as pen:
            rgb = np.clip(np.asarray(action[6:9], np.float64), 0.0, 1.0)
            h, s, v = colorsys.rgb_to_hsv(*rgb)
            pen.set("color_h", h)
            pen.set("color_s", s)
            pen.set("color_v", v)
            pen.set("radius_logarithmic", log_radius(float(np.clip(action[1], 0.0, 1.0)), sizes) + math.log(scale / REF))
            if libmypaint.has_setting("paint_mode"):
                pen.set("paint_mode", 0.0)
            _warm_up(pen, surface, events[0])
            libmypaint.paint_events(pen, surface, events, viewzoom=REF / scale)
    except BaseException:
        surface.close()
        raise
    _last.update(key=key, surface=surface)
    return surface


def _warm_up(pen: libmypaint.Brush, surface: libmypaint.TileSurface, first: np.ndarray) -> None:
    """Give a new brush defined state before its stroke.

    libmypaint 1.6 reads the previous step's setting values (dab spacing, grid map) on a brush's
    first step, which for a new brush are uninitialised memory: the first stroke would depend on
    whatever that memory held (measured: the same action gave different pixels from one run to the
    next). So the pen is placed at the start point and two still, pressure-less steps are run
    (after a reset each): they draw no dab and consume no random number, and compute every setting
    value from defined inputs; the reset before the real stroke clears the brush's state again.
    Placing the pen also keeps libmypaint's position smoothing from dragging the stroke in from
    the origin.
    """
    x, y = float(first[0]), float(first[1])
    lib = libmypaint.library()
    for _ in range(2):
        lib.mypaint_brush_reset(pen.handle)
        pen.place(x, y)
        for _ in range(2):
            lib.mypaint_brush_stroke_to_2(pen.handle, surface.address, x, y, 0.0, 0.0, 0.0, 0.01, 1.0, 0.0, 0.0)
    lib.mypaint_brush_reset(pen.handle)
    pen.place(x, y)
    surface.tiles.clear()


def clear_cache() -> None:
    """Forget the cached last stroke (frees its tiles)."""
    old = _last.pop("surface", None)
    _last.clear()
    if old is not None:
        old.close()


# ---- the stroke type ----------------------------------------------------------------------------
@register
class MyPaint(StrokeType):
    """Strokes painted by libmypaint with a MyPaint brush (option ``brush``). Not differentiable."""

    name = "mypaint"
    param_names = ("end_pressure", "size", "ctrl_x", "ctrl_y", "end_x", "end_y", "R", "G", "B",
                   "start_x", "start_y", "start_pressure")
    shape = slice(0, 12)
    colour = slice(6, 9)
    alpha = None  # no opacity parameter
    x_indices = (2, 4, 9)
    y_indices = (3, 5, 10)
    length_indices = ()
    differentiable = False
    command_line_options = (
        CommandLineOption("--brush", "brush", "an installed MyPaint brush such as classic/charcoal, or a .myb file "
                          f"(default: {DEFAULT_BRUSH})"),
        CommandLineOption("--sizes", "sizes", "the size parameter's radii: fine (1/256 to 7.4/64 of the canvas) or "
                          f"dataset (1/64 to 7.4/64, the GAN renderer's layout) (default: {DEFAULT_SIZES})",
                          choices=tuple(SIZES), kind="a MyPaint size layout"))
    # strokes files, data sets and checkpoints written before an option existed had this value
    legacy_options = {"brush": "classic/dry_brush", "sizes": "dataset"}
    # libmypaint draws a whole stroke each time any piece of it is rendered (``_draw`` caches only
    # the last stroke), so a stroke is drawn once per band it reaches: taller bands (measured at
    # 8192^2, 500 strokes: 512-row bands took 1.9x the CPU time of the one-shot render)
    band_pixels = 1 << 24
    # a short joint refinement through the dab model with libmypaint in the loop, over the strokes
    # of the levels after the first two (those are drawn once beneath: most of the cells are
    # theirs), with libmypaint drawing every 16th render (levels included): three photos at 256^2,
    # 20 steps 24.86 dB, 24 steps 25.06 dB, 30 steps 25.27 dB (docs/mypaint.md). Through the GAN
    # net alone it is skipped (PaintConfig.resolved); with the GAN in the loop it runs and, like
    # every refinement, is kept only where libmypaint's picture improved
    refine_steps = 24
    refine_frozen_levels = 2
    engine_every = 16
    # and 30 steps per stroke in its level, not 40: three photos, 25.02 against 25.06 dB in 15 %
    # less time (with 30 refinement steps 25.23 dB in the same time as the default)
    iters_per_stroke = 30
    # the refinement runs on a larger canvas than the others': fine strokes optimised at 128 px
    # (radii below libmypaint's 0.2 px there) made a 256^2 painting worse (astronaut,
    # deevad/brush, 30 steps: at 128 px -0.6 dB, at 256 px +1.6 dB); a 512^2 painting refined
    # at 256 px lost 0.17 dB against 512 px in a third of the time
    refine_size = 256
    # and without restarting hidden strokes: in so few steps the restarted ones do not settle
    # (astronaut, 20 steps: +1.3 dB without, +1.0 dB with restarts at 10 .. 50 %)
    refine_respawn_at = ()

    def __init__(self, brush: str = DEFAULT_BRUSH, sizes: str = DEFAULT_SIZES):
        if sizes not in SIZES:
            raise NeuralPaintError(f"MyPaint sizes must be one of {', '.join(SIZES)}, got {sizes!r}")
        self.brush = brush
        self.sizes = sizes
        self._info = load_brush(brush)
        low, high = SIZES[sizes]
        self.size_span = high - low  # ln(radius) per unit of size

    @property
    def options(self) -> dict:
        return {"brush": self.brush, "sizes": self.sizes}

    @property
    def brush_file(self) -> Path:
        """The brush's ``.myb`` file."""
        return Path(self._info.path)

    # ---- rendering ----------------------------------------------------------------------------
    def _render(self, params: Tensor, grid: PixelGrid) -> tuple[Tensor, Tensor]:
        h, w = grid.ys.shape[1], grid.xs.shape[2]
        tops = (grid.ys[:, 0, 0] - 0.5).detach().to("cpu", torch.float64).numpy()
        lefts = (grid.xs[:, 0, 0] - 0.5).detach().to("cpu", torch.float64).numpy()
        colour, alpha = self._draw_windows(to_numpy(params, np.float64), tops, lefts, h, w, grid.height, grid.width)
        out = dict(device=params.device, dtype=params.dtype)
        return torch.from_numpy(colour).to(**out), torch.from_numpy(alpha).to(**out)

    def render_window(self, params: np.ndarray, height: int, width: int, top: int, left: int, h: int, w: int,
                      device="cpu") -> tuple[np.ndarray, np.ndarray]:
        """libmypaint draws on the CPU, without torch (``device`` is not used)."""
        B = params.shape[0]
        actions = np.clip(np.asarray(params, np.float64), 0.0, 1.0)
        colour, alpha = self._draw_windows(actions, np.full(B, float(top)), np.full(B, float(left)), h, w,
                                           height, width)
        return colour.astype(params.dtype, copy=False), alpha.astype(params.dtype, copy=False)

    def render_cells(self, params: Tensor, rows: Tensor, height: int, width: int, cell: int,
                     origins: Tensor) -> tuple[Tensor, Tensor]:
        """As ``StrokeType.render_cells`` (``colour (T, 3, cell, cell)``, ``alpha (T, 1, cell, cell)``,
        no gradient), but each stroke is drawn once, read on the rectangle its cells span, and cut
        into them (the default draws and reads a window per pair)."""
        self.check_params(params)
        T = rows.shape[0]
        colour = np.zeros((T, 3, cell, cell), np.float32)
        alpha = np.zeros((T, 1, cell, cell), np.float32)
        actions = np.clip(to_numpy(params.detach(), np.float64), 0.0, 1.0)
        r = rows.cpu().numpy()
        o = origins.cpu().numpy().astype(np.int64)  # (T, 2) top, left
        order = np.argsort(r, kind="stable")
        steps = np.arange(cell)
        for group in np.split(order, np.flatnonzero(np.diff(r[order])) + 1):
            if group.size == 0:
                continue
            (top, left), (bottom, right) = o[group].min(0), o[group].max(0) + cell
            c, a = self._draw_windows(actions[r[group[0]]][None], np.array([float(top)]), np.array([float(left)]),
                                      int(bottom - top), int(right - left), height, width)
            ys = (o[group, 0] - top)[:, None, None] + steps[None, :, None]  # (n, cell, 1)
            xs = (o[group, 1] - left)[:, None, None] + steps[None, None, :]  # (n, 1, cell)
            colour[group] = c[0][:, ys, xs].transpose(1, 0, 2, 3)
            alpha[group] = a[0][:, ys, xs].transpose(1, 0, 2, 3)
        out = dict(device=params.device, dtype=params.dtype)
        return torch.from_numpy(colour).to(**out), torch.from_numpy(alpha).to(**out)

    def _draw_windows(self, actions: np.ndarray, tops: np.ndarray, lefts: np.ndarray, h: int, w: int,
                      height: float, width: float) -> tuple[np.ndarray, np.ndarray]:
        """Strokes ``actions (B, 12)`` (float64, in [0, 1]) drawn by libmypaint, read on the ``h x w``
        windows at ``tops, lefts (B,)`` (pixels, fractions allowed) of a ``height x width`` canvas:
        ``colour (B, 3, h, w)``, ``alpha (B, 1, h, w)`` float32."""
        B = actions.shape[0]
        colour = np.empty((B, 3, h, w), np.float32)
        alpha = np.empty((B, 1, h, w), np.float32)
        for i in range(B):
            top, left = math.floor(tops[i]), math.floor(lefts[i])
            shift = (float(tops[i] - top), float(lefts[i] - left))
            surface = _draw(self._info, actions[i], height, width, shift, self.sizes)
            rgba = surface.read(top, left, h, w).astype(np.float32) * (1.0 / libmypaint.ONE)
            a = rgba[..., 3]
            nominal = actions[i, 6:9].astype(np.float32)[None, None, :]
            with np.errstate(divide="ignore", invalid="ignore"):
                rgb = np.where(a[..., None] > 0, rgba[..., :3] / a[..., None], nominal)
            colour[i] = np.clip(rgb, 0.0, 1.0).transpose(2, 0, 1)
            alpha[i, 0] = np.clip(a, 0.0, 1.0)
        return colour, alpha

    def bounding_boxes(self, params, height: int, width: int):
        xp = namespace(params)
        scale = max(height, width)
        p = xp.clip(params.detach() if is_tensor(params) else params, 0.0, 1.0)
        start, control, end = _points(p, height, width)
        pts = xp.stack([start, control, end], 1)  # (B, 3, 2): the curve lies in their hull
        reach = self._reach(p, scale)
        lo, hi = xp.amin(pts, 1), xp.amax(pts, 1)
        return xp.stack([lo[:, 1] - reach, lo[:, 0] - reach, hi[:, 1] + reach, hi[:, 0] + reach], 1)

    def _reach(self, params, scale: float):
        """``BrushInfo.reach`` of strokes ``params (B, 12)`` (in [0, 1]) on a canvas whose longer
        side is ``scale``: at their radius and largest pressure."""
        xp = namespace(params)
        return self._info.reach(base_radius(params[:, 1], scale, self.sizes), scale,
                                xp.maximum(params[:, 0], params[:, 11]))

    def cells_touched(self, params: Tensor, rows: Tensor, centres: Tensor, half: float, height: int,
                      width: int) -> Tensor | None:
        """For brushes whose dabs follow the path (``BrushInfo.tracks``): the squares within the
        brush's reach of the path (``TUBE`` chords of the Bezier, the reach grown by twice their
        largest distance from the curve, the other for the chords between motion events, and by
        the square's half diagonal). ``None`` (the bounding box) for the others."""
        if not self._info.tracks:
            return None
        path = path_points(params, height, width, TUBE)  # (N, TUBE + 1, 2) x, y
        start, control, end = _points(params, height, width)
        sag = (start - 2 * control + end).norm(dim=1) / (4 * TUBE ** 2)  # a chord's distance from the curve
        reach = self._reach(params, max(height, width)) + 2 * sag + half * math.sqrt(2)
        if kernels.serves(path, centres):
            out = np.empty(rows.shape[0], np.bool_)
            segment_kernels.tube_touches(np.ascontiguousarray(to_numpy(path, np.float64)), to_numpy(reach, np.float64),
                                         to_numpy(rows, np.int64), np.ascontiguousarray(to_numpy(centres, np.float64)), out)
            return torch.from_numpy(out)
        a, b = path[:, :-1].index_select(0, rows), path[:, 1:].index_select(0, rows)  # (T, TUBE, 2)
        c = centres.flip(1)[:, None, :].to(params.dtype)  # (T, 1, 2) x, y
        ab = b - a
        along = (((c - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-12)).clamp(0.0, 1.0)
        distance = (a + along[..., None] * ab - c).norm(dim=-1).amin(1)
        return distance <= reach.index_select(0, rows)

    def covered_patches(self, one: np.ndarray, box: tuple[int, int, int, int], height: int, width: int,
                        patch: int) -> np.ndarray:
        """``(n, 2)`` int64 origins of the ``patch x patch`` squares laid from ``box``'s corner that
        the stroke ``one (1, 12)`` (numpy) paints (exactly: the stroke is drawn once, and cached for
        the renders of those patches). The hook ``canvas.render.covered_patches`` uses instead of a
        coarse render."""
        top, left, bottom, right = box
        ny, nx = -(-(bottom - top) // patch), -(-(right - left) // patch)
        action = np.clip(self.check_array(one)[0].astype(np.float64), 0.0, 1.0)
        surface = _draw(self._info, action, height, width, (0.0, 0.0), self.sizes)
        hit = np.zeros((ny, nx), bool)
        size = libmypaint.MYPAINT_TILE
        for (tx, ty), t in surface.tiles.items():
            ys, xs = np.nonzero(t[..., 3])
            if ys.size == 0:
                continue
            iy = (ys + ty * size - top) // patch
            ix = (xs + tx * size - left) // patch
            keep = (iy >= 0) & (iy < ny) & (ix >= 0) & (ix < nx)
            hit[iy[keep], ix[keep]] = True
        iy, ix = np.nonzero(hit)
        return np.stack([top + iy * patch, left + ix * patch], axis=1).astype(np.int64)

    # ---- sampling -----------------------------------------------------------------------------
    @staticmethod
    def _assemble(start: Tensor, through: Tensor, end: Tensor, size: Tensor, rgb: Tensor,
                  start_p: Tensor, end_p: Tensor) -> Tensor:
        return torch.cat([end_p[:, None], size[:, None], through, end, rgb, start, start_p[:, None]],
                         dim=1).clamp(0.0, 1.0)

    def size_for_radius(self, radius: Tensor) -> Tensor:
        """The ``size`` parameter whose radius is ``radius`` (a fraction of the canvas's longer side),
        clamped to [0, 1] (``SIZES``)."""
        low = SIZES[self.sizes][0]
        return ((torch.log((radius * REF).clamp_min(1e-6)) - low) / self.size_span).clamp(0.0, 1.0)

    def sample_painting(self, n: int, generator=None) -> Tensor:
        pts, length = sample_curves(n, generator)
        start, control, end = pts[:, 0:2], pts[:, 2:4], pts[:, 4:6]
        through = 0.25 * (start + 2 * control + end)  # the curve's middle
        ratio = 0.04 + 0.1 * torch.rand(n, generator=generator)  # radius / length (the dabs scatter)
        size = self.size_for_radius(length * ratio)
        rgb = torch.rand(n, 3, generator=generator)
        pressure = 0.4 + 0.6 * torch.rand(n, 2, generator=generator)
        return self._assemble(start, through, end, size, rgb, pressure[:, 0], pressure[:, 1])

    def init_strokes(self, centres: Tensor, colours: Tensor, sizes: Tensor,
                     generator=None) -> Tensor:
        pts = init_curves(centres, sizes, generator)
        start, control, end = pts[:, 0:2], pts[:, 2:4], pts[:, 4:6]
        through = (0.25 * (start + 2 * control + end)).clamp(0.0, 1.0)
        size = self.size_for_radius(0.3 * sizes)
        half = torch.full_like(sizes, 0.5)
        return self._assemble(start, through, end, size, colours, half, half)

    def keep_for_canvas_(self, params: Tensor, fraction: float) -> Tensor:
        """``size`` held in ``[-ln(fraction) / span, 1 - ln(fraction) / span]`` (``span`` the layout's
        range of ``ln(radius)``): the sizes ``to_canvas``
        does not clamp (a block's stroke thinner than the canvas's smallest radius would be drawn
        thicker on the canvas; at the first level, whose window is larger than the canvas, one
        thicker than its largest would be drawn thinner)."""
        shift = -math.log(fraction) / self.size_span
        params[..., 1].clamp_(max(0.0, shift), min(1.0, 1.0 + shift))
        return params

    def to_canvas(self, params: Tensor, box: tuple[int, int, int, int], height: int, width: int) -> Tensor:
        """Positions as for every type; the logarithmic size shifts by ``ln(block / canvas) / span``
        (longer sides; ``span`` the layout's range of ``ln(radius)``) and is clamped at 0: strokes
        thinner than the canvas's smallest radius get that radius."""
        out = super().to_canvas(params, box, height, width)
        _, _, bh, bw = box
        out[:, 1] = (params[:, 1] + math.log(max(bh, bw) / max(height, width)) / self.size_span).clamp(0.0, 1.0)
        return out


__all__ = ["DEFAULT_BRUSH", "MyPaint", "available_brushes", "find_brush", "load_brush", "motion_events"]
