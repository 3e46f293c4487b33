"""SVG export: a painting as a scalable vector drawing, one element per stroke in painting order.

Layout of the document::

    <svg width="W" height="H" viewBox="0 0 Wc Hc" preserveAspectRatio="none">
      <defs> gradients, masks, brush shapes (each shared def written once) </defs>
      <rect id="canvas" .../>                  the bare canvas colour
      <g id="strokes"> one drawable element per stroke, row 0 first (id s0, s1, ...) </g>
    </svg>

User units (the ``viewBox``) are pixels of the canvas the strokes file was made at (``Wc x Hc``);
``width``/``height`` are the export size in pixels (``--width W``, height from the aspect ratio),
so the drawing scales to any size. Each stroke type has a writer in ``SVG_WRITERS`` that turns one
stroke into one element matching its engine's geometry (see ``neuralpaint.strokes``):

* ``rectangle``: a ``<rect>`` rotated by ``theta * 180`` degrees (clockwise on screen).
* ``markerpen``: one ``<path>`` filled with the nonzero rule: the union of the discs of radius
  ``r(t) = r0 + (r2 - r0) t`` centred on the quadratic Bezier, drawn as a chain of tapered
  capsules (the convex hull of two consecutive discs, arcs and tangent lines) at values of ``t``
  close enough that the chords stay within ``FLATNESS`` output pixels of the curve.
* ``watercolor``: the same outline, filled with a ``<linearGradient>`` along the chord whose
  stops sit where the centre line's ``t`` projects (colour ``R0 G0 B0 -> R2 G2 B2`` as in the
  engine), with a ``<mask>`` of ``WATERCOLOR_BANDS`` nested outlines (radius scaled down) that
  reproduces the edge darkening (density ``0.6 -> 1`` from centre line to rim) in steps.
* ``oilpaintbrush``: the brush is embedded once per mip level used: its outline (rounded heel,
  per-bristle ragged end, in the stroke's unit frame) as a ``<path>`` and its bristle density
  across the brush as a ``<linearGradient>`` used as a ``<mask>``. Each stroke is a ``<use>`` of
  that outline with the stroke's affine transform, its own start -> end colour gradient and
  opacity. The bristles' luminance modulation (colour times ``0.78 + 0.22 * density``) cannot be
  multiplied into a fill portably, so its density-weighted mean is folded into the colours.
* any other type (no vector form, e.g. a raster engine such as MyPaint): the stroke rendered by
  its engine at the export size, cropped to its bounding box, as a PNG data URI ``<image>``
  (colour and straight alpha). ``strokes_to_svg(..., raster=True)`` does this for every type.

Composition is the engines': each element is painted over the ones before it with its opacity,
``canvas = colour * alpha + canvas * (1 - alpha)``. Colours are written as 8-bit ``#rrggbb``.
"""
from __future__ import annotations

import base64
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from ..errors import NeuralPaintError
from ..fileutil import write_text_atomic
from ..strokesfile import Strokes

FLATNESS = 0.1  # output pixels: chords of a Bezier outline stay this close to the curve
MAX_SEGMENTS = 96  # capsules per Bezier stroke, at most
WATERCOLOR_BANDS = 4  # steps of the watercolor's edge darkening (1: flat mean density)
OIL_MIN_LEVEL = 2  # finest brush mip level embedded (4096 / 2**2 = 1024 gradient stops)


# ---- small formatting helpers -----------------------------------------------------------------
def _num(x: float, digits: int = 3) -> str:
    """A compact decimal: ``1.500 -> '1.5'``, ``-0.0001 -> '0'``."""
    text = f"{float(x):.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _hex(rgb) -> str:
    """RGB in [0, 1] -> ``#rrggbb`` (rounded to 8 bits)."""
    return "#" + "".join(f"{int(round(min(max(float(c), 0.0), 1.0) * 255)):02x}" for c in rgb)


def _pt(p) -> str:
    return f"{_num(p[0])} {_num(p[1])}"


# ---- the document being written ---------------------------------------------------------------
@dataclass
class SvgDocument:
    """What writers need: the strokes and the coordinate systems, plus the shared ``<defs>``.

    ``width``/``height``: canvas pixels (user units); ``out_width``/``out_height``: export pixels;
    ``scale``: export pixels per user unit; ``side``: the canvas's longer side in user units (the
    unit of the strokes' lengths).
    """

    strokes: Strokes
    out_width: int
    out_height: int
    defs: list[str] = field(default_factory=list)
    cache: dict = field(default_factory=dict)  # per-document results writers share
    _shared: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.stroke = self.strokes.stroke()
        self.params = self.strokes.params.astype(np.float64)

    @property
    def width(self) -> int:
        return self.strokes.width

    @property
    def height(self) -> int:
        return self.strokes.height

    @property
    def side(self) -> int:
        return max(self.width, self.height)

    @property
    def scale(self) -> float:
        return self.out_width / self.width

    def shared(self, key: str, build: Callable[[str], str]) -> str:
        """The id of the shared def ``key``, building it with ``build(id)`` the first time."""
        if key not in self._shared:
            def_id = key.replace(" ", "-")
            self.defs.append(build(def_id))
            self._shared[key] = def_id
        return self._shared[key]


Writer = Callable[[SvgDocument, int], str]
SVG_WRITERS: dict[str, Writer] = {}


def register_svg_writer(stroke_type: str) -> Callable[[Writer], Writer]:
    """Decorator: ``writer(doc, i) -> str`` is the SVG element of stroke ``i`` of ``stroke_type``
    (it may add defs to ``doc``). Types without a writer get the raster fallback."""

    def decorate(writer: Writer) -> Writer:
        SVG_WRITERS[stroke_type] = writer
        return writer

    return decorate


def vector_types() -> list[str]:
    """Stroke types written as vector shapes."""
    return sorted(SVG_WRITERS)


def raster_types() -> list[str]:
    """Registered stroke types without a vector form: each stroke becomes an embedded PNG."""
    from ..strokes import stroke_type_names

    return [name for name in stroke_type_names() if name not in SVG_WRITERS]


# ---- rectangle --------------------------------------------------------------------------------
@register_svg_writer("rectangle")
def _rectangle(doc: SvgDocument, i: int) -> str:
    xc, yc, w, h, theta, r, g, b, a = doc.params[i]
    half_l, half_t = w * doc.side / 2, h * doc.side / 2
    return (f'<rect id="s{i}" x="{_num(-half_l)}" y="{_num(-half_t)}" width="{_num(2 * half_l)}" '
            f'height="{_num(2 * half_t)}" transform="translate({_pt((xc * doc.width, yc * doc.height))}) '
            f'rotate({_num(theta * 180, 4)})" fill="{_hex((r, g, b))}" fill-opacity="{_num(a, 4)}"/>')


# ---- Bezier strokes: markerpen, watercolor ------------------------------------------------------
def bezier_points(doc: SvgDocument, row: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``(3, 2)`` points P0, P1 (control), P2 in user units and the half-widths ``r0, r2``."""
    from ..strokes.bezier import MAX_RADIUS

    pts = row[0:6].reshape(3, 2) * np.array([doc.width, doc.height], dtype=np.float64)
    return pts, row[6] * MAX_RADIUS * doc.side, row[7] * MAX_RADIUS * doc.side


def bezier_segments(pts: np.ndarray, scale: float) -> int:
    """Capsules needed so that chords stay within ``FLATNESS`` export pixels of the curve."""
    bend = np.linalg.norm(pts[0] - 2 * pts[1] + pts[2]) * scale  # |B''| / 2, export pixels
    return int(min(MAX_SEGMENTS, max(1, math.ceil(math.sqrt(bend / (4 * FLATNESS))))))


def _circle(c: np.ndarray, r: float) -> str:
    x, y = c
    return (f"M{_pt((x + r, y))}A{_num(r)} {_num(r)} 0 1 0 {_pt((x - r, y))}"
            f"A{_num(r)} {_num(r)} 0 1 0 {_pt((x + r, y))}Z")


def _capsule(c1: np.ndarray, r1: float, c2: np.ndarray, r2: float) -> str:
    """Subpath of the convex hull of two discs, always with the same orientation (so a chain of
    them fills their union under the nonzero rule)."""
    d = float(np.hypot(*(c2 - c1)))
    if d <= abs(r1 - r2) + 1e-9:  # one disc holds the other
        return _circle(c1, r1) if r1 >= r2 else _circle(c2, r2)
    u = (c2 - c1) / d
    n = np.array([-u[1], u[0]])
    s = (r1 - r2) / d
    c = math.sqrt(max(0.0, 1.0 - s * s))
    w_plus, w_minus = s * u + c * n, s * u - c * n
    a1, a2 = c1 + r1 * w_plus, c2 + r2 * w_plus
    b2, b1 = c2 + r2 * w_minus, c1 + r1 * w_minus
    large2, large1 = int(s < 0), int(s > 0)
    return (f"M{_pt(a1)}L{_pt(a2)}A{_num(r2)} {_num(r2)} 0 {large2} 0 {_pt(b2)}"
            f"L{_pt(b1)}A{_num(r1)} {_num(r1)} 0 {large1} 0 {_pt(a1)}Z")


def tapered_outline(pts: np.ndarray, r0: float, r2: float, segments: int) -> str:
    """Path data of the union of the discs ``r0 + (r2 - r0) t`` along the quadratic Bezier
    ``pts`` (user units), as ``segments`` capsules; empty when both radii vanish."""
    if max(r0, r2) <= 1e-6:
        return ""
    t = np.linspace(0.0, 1.0, segments + 1)[:, None]
    centres = (1 - t) ** 2 * pts[0] + 2 * (1 - t) * t * pts[1] + t**2 * pts[2]
    radii = r0 + (r2 - r0) * t[:, 0]
    return "".join(_capsule(centres[j], radii[j], centres[j + 1], radii[j + 1]) for j in range(segments))


@register_svg_writer("markerpen")
def _markerpen(doc: SvgDocument, i: int) -> str:
    row = doc.params[i]
    pts, r0, r2 = bezier_points(doc, row)
    d = tapered_outline(pts, r0, r2, bezier_segments(pts, doc.scale))
    return f'<path id="s{i}" d="{d}" fill="{_hex(row[8:11])}" fill-opacity="{_num(row[11], 4)}"/>'


def _watercolor_bands() -> list[tuple[float, float]]:
    """``(radius fraction, density)`` of the nested outlines: band ``j`` covers
    ``rho in [s_{j+1}, s_j]`` (``rho`` = distance / half-width) with the mean of the engine's
    density ``0.6 + 0.4 rho^2`` there; bounds equally spaced in density."""
    from ..strokes.watercolor import CENTRE_DENSITY as c

    k = WATERCOLOR_BANDS
    bounds = [math.sqrt(1.0 - j / k) for j in range(k)] + [0.0]  # 1 .. 0
    bands = []
    for hi, lo in zip(bounds[:-1], bounds[1:]):
        mean = c + (1 - c) * (hi**3 - lo**3) / (3 * (hi - lo))  # mean of c + (1-c) rho^2
        bands.append((hi, mean))
    return bands


COLOUR_SAMPLES = 24  # per side of the grid on which a watercolor stroke's colour axis is fitted
COLOUR_STOPS = 12  # stops of a watercolor stroke's colour gradient


def _watercolor_colour_axes(doc: SvgDocument) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per stroke ``(start, end, offsets, t)``: the linear gradient that best imitates the
    engine's colour ``lerp(c0, c2, t*(p))``, where ``t*`` is the curve parameter the engine picks
    for pixel ``p``. ``t*`` is sampled on a grid over the stroke's box, weighted by its alpha; a
    weighted least-squares plane ``t* ~ a x + b y + c`` gives the gradient's axis, and the stops
    take the mean ``t*`` of the samples that project near them."""
    import torch

    from ..strokes.base import PixelGrid, box_coverage
    from ..strokes.bezier import tapered_curve, tapered_curve_bounds

    params = torch.tensor(doc.params, dtype=torch.float64)
    B, n = params.shape[0], COLOUR_SAMPLES
    box = tapered_curve_bounds(params, doc.height, doc.width)  # (B, 4) top, left, bottom, right
    frac = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    xs = box[:, 1:2] + (box[:, 3:4] - box[:, 1:2]) * frac  # (B, n)
    ys = box[:, 0:1] + (box[:, 2:3] - box[:, 0:1]) * frac
    grid = PixelGrid(xs=xs.view(B, 1, n), ys=ys.view(B, n, 1), height=doc.height, width=doc.width)
    with torch.no_grad():
        near, radius = tapered_curve(params, grid)
        weight = box_coverage(near.distance, radius)  # (B, n, n)
    X = xs.view(B, 1, n).expand(B, n, n).reshape(B, -1).numpy()
    Y = ys.view(B, n, 1).expand(B, n, n).reshape(B, -1).numpy()
    T, Wt = near.t.reshape(B, -1).numpy(), weight.reshape(B, -1).numpy()
    axes = []
    for i in range(B):
        w, t = Wt[i], T[i]
        total = w.sum()
        mean_t = float((w * t).sum() / total) if total > 0 else 0.0
        A = np.stack([X[i], Y[i], np.ones_like(t)], axis=1) * np.sqrt(w)[:, None]
        coef = np.linalg.lstsq(A, t * np.sqrt(w), rcond=None)[0] if total > 0 else np.zeros(3)
        s = X[i] * coef[0] + Y[i] * coef[1]
        covered = w > 0
        lo, hi = (s[covered].min(), s[covered].max()) if covered.any() else (0.0, 0.0)
        slope2 = float(coef[0] ** 2 + coef[1] ** 2)
        if hi - lo < 1e-3 or slope2 < 1e-18:  # no colour change to speak of: one flat colour
            axes.append((None, None, np.array([0.0]), np.array([mean_t])))
            continue
        direction = coef[:2] / slope2  # moving by this changes the fitted s by 1
        start, end = direction * lo, direction * hi
        offset = (s[covered] - lo) / (hi - lo)
        k = COLOUR_STOPS
        bins = np.clip((offset * k).astype(int), 0, k - 1)
        sums = np.bincount(bins, weights=(w * t)[covered], minlength=k)
        counts = np.bincount(bins, weights=w[covered], minlength=k)
        centres = (np.arange(k) + 0.5) / k
        has = counts > 1e-9
        stop_t = np.interp(centres, centres[has], sums[has] / counts[has])
        axes.append((start, end, centres, stop_t))
    return axes


def _watercolor_fill(doc: SvgDocument, i: int, c0: np.ndarray, c2: np.ndarray) -> str:
    """The fill of watercolor stroke ``i``: a flat colour or ``url(#g<i>)`` (gradient added)."""
    if "watercolor_axes" not in doc.cache:
        doc.cache["watercolor_axes"] = _watercolor_colour_axes(doc)
    start, end, offsets, t = doc.cache["watercolor_axes"][i]
    if start is None:
        return _hex(c0 + (c2 - c0) * t[0])
    stops = "".join(f'<stop offset="{_num(o, 4)}" stop-color="{_hex(c0 + (c2 - c0) * tj)}"/>'
                    for o, tj in zip(offsets, t))
    doc.defs.append(f'<linearGradient id="g{i}" gradientUnits="userSpaceOnUse" x1="{_num(start[0])}" '
                    f'y1="{_num(start[1])}" x2="{_num(end[0])}" y2="{_num(end[1])}">{stops}</linearGradient>')
    return f"url(#g{i})"


@register_svg_writer("watercolor")
def _watercolor(doc: SvgDocument, i: int) -> str:
    row = doc.params[i]
    pts, r0, r2 = bezier_points(doc, row)
    segments = bezier_segments(pts, doc.scale)
    d = tapered_outline(pts, r0, r2, segments)
    fill = _watercolor_fill(doc, i, row[8:11], row[11:14])
    bands = _watercolor_bands()
    layers = [f'<rect width="{doc.width}" height="{doc.height}" fill="#fff" fill-opacity="{_num(bands[0][1], 4)}"/>']
    for (_, outer), (frac, inner) in zip(bands[:-1], bands[1:]):
        inner_d = tapered_outline(pts, r0 * frac, r2 * frac, segments)
        if inner_d:  # black over white scales the mask down by (1 - opacity)
            layers.append(f'<path d="{inner_d}" fill="#000" fill-opacity="{_num(1 - inner / outer, 4)}"/>')
    mask = (f'<mask id="m{i}" maskUnits="userSpaceOnUse" x="0" y="0" width="{doc.width}" '
            f'height="{doc.height}">{"".join(layers)}</mask>')
    if len(layers) > 1 or bands[0][1] < 1.0:
        doc.defs.append(mask)
        masked = f' mask="url(#m{i})"'
    else:
        masked = ""
    return f'<path id="s{i}" d="{d}" fill="{fill}" fill-opacity="{_num(row[14], 4)}"{masked}/>'


# ---- oilpaintbrush ------------------------------------------------------------------------------
def _oil_level(doc: SvgDocument, breadth: float) -> int:
    """The engine's mip level for a brush ``breadth`` user units broad, at the export size."""
    from ..strokes import brushes

    level = math.log2(brushes.TEXELS / (breadth * doc.scale + 1e-6))
    return int(min(brushes.LEVELS - 1, max(OIL_MIN_LEVEL, round(level))))


def _oil_profiles(doc: SvgDocument, level: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``v`` in [-1, 1] and the brush's density and end profiles there at mip ``level``, sampled
    one value per filtered texel."""
    from ..strokes import brushes

    tex = doc.stroke.texture_array(np.float64)
    samples = brushes.TEXELS // 2**level
    v = np.linspace(-1.0, 1.0, samples + 1)
    texel = (v + 1.0) * 0.5 * (brushes.TEXELS - 1)
    grid = np.arange(brushes.TEXELS)
    density = np.interp(texel, grid, tex[0, level])
    end = np.interp(texel, grid, tex[1, level])
    return v, density, end


def _oil_defs(doc: SvgDocument, level: int) -> tuple[str, str, float]:
    """Ids of the brush outline and density mask at ``level`` (written once), and the brush's
    mean luminance factor (weighted by density)."""
    from ..strokes.oilpaintbrush import LUMINANCE_FLOOR, START_ROUND

    v, density, end = _oil_profiles(doc, level)
    brush = doc.stroke.options.get("brush", "oil")

    def shape(def_id: str) -> str:
        # unit frame: x = along the stroke (-0.5 start .. 0.5 end), y = across (-1 .. 1)
        start = START_ROUND * (1.0 - np.sqrt(np.clip(1.0 - v * v, 0.0, None)))
        heel = " ".join(_pt((s - 0.5, y)) for s, y in zip(start, v))
        tip = " ".join(_pt((0.5 - e, y)) for e, y in zip(end[::-1], v[::-1]))
        return f'<path id="{def_id}" d="M{heel} {tip}Z"/>'

    def mask(def_id: str) -> str:
        stops = "".join(f'<stop offset="{_num(j / (len(v) - 1), 5)}" stop-color="#fff" '
                        f'stop-opacity="{_num(dj, 4)}"/>' for j, dj in enumerate(density))
        return (f'<linearGradient id="{def_id}-density" gradientUnits="userSpaceOnUse" x1="0" y1="-1" '
                f'x2="0" y2="1">{stops}</linearGradient><mask id="{def_id}" maskUnits="userSpaceOnUse" '
                f'x="-1" y="-2" width="2" height="4"><rect x="-1" y="-1" width="2" height="2" '
                f'fill="url(#{def_id}-density)"/></mask>')

    shape_id = doc.shared(f"brush-{brush}-{level}", shape)
    mask_id = doc.shared(f"brush-{brush}-{level}-mask", mask)
    luminance = LUMINANCE_FLOOR + (1.0 - LUMINANCE_FLOOR) * density
    mean_lum = float((density * luminance).sum() / max(density.sum(), 1e-9))
    return shape_id, mask_id, mean_lum


@register_svg_writer("oilpaintbrush")
def _oilpaintbrush(doc: SvgDocument, i: int) -> str:
    xc, yc, w, h, theta = doc.params[i, 0:5]
    c0, c2, a = doc.params[i, 5:8], doc.params[i, 8:11], doc.params[i, 11]
    length, breadth = w * doc.side, h * doc.side
    if length * breadth <= 0.0:  # draws nothing; keep one element per stroke
        return f'<g id="s{i}"/>'
    shape_id, mask_id, lum = _oil_defs(doc, _oil_level(doc, breadth))
    doc.defs.append(f'<linearGradient id="g{i}" gradientUnits="userSpaceOnUse" x1="-0.5" y1="0" x2="0.5" '
                    f'y2="0"><stop offset="0" stop-color="{_hex(c0 * lum)}"/><stop offset="1" '
                    f'stop-color="{_hex(c2 * lum)}"/></linearGradient>')
    transform = (f"translate({_pt((xc * doc.width, yc * doc.height))}) rotate({_num(theta * 180, 4)}) "
                 f"scale({_num(length, 4)} {_num(breadth / 2, 4)})")
    return (f'<use id="s{i}" xlink:href="#{shape_id}" transform="{transform}" fill="url(#g{i})" '
            f'fill-opacity="{_num(a, 4)}" mask="url(#{mask_id})"/>')


# ---- the raster fallback ----------------------------------------------------------------------
def raster_element(doc: SvgDocument, i: int) -> str:
    """Stroke ``i`` rendered by its engine at the export size, cropped to its bounding box, as a
    PNG ``<image>`` (straight alpha); an empty ``<g>`` when it lies outside the canvas."""
    import cv2

    from ..strokes.base import pixel_ranges

    one = np.asarray(doc.params[i : i + 1], np.float32)
    H, W = doc.out_height, doc.out_width
    (top, left, bottom, right), = pixel_ranges(doc.stroke.bounding_boxes(one, H, W), H, W).tolist()
    if bottom <= top or right <= left:
        return f'<g id="s{i}"/>'
    colour, alpha = doc.stroke.render_window(one, H, W, top, left, bottom - top, right - left)
    rgba = np.rint(np.clip(np.concatenate([colour[0], alpha[0]]), 0, 1) * 255).astype(np.uint8)
    pixels = rgba.transpose(1, 2, 0)[:, :, [2, 1, 0, 3]]  # OpenCV wants BGRA
    ok, png = cv2.imencode(".png", np.ascontiguousarray(pixels))
    if not ok:  # pragma: no cover - OpenCV always encodes PNG
        raise NeuralPaintError(f"could not encode stroke {i} as PNG")
    s = 1.0 / doc.scale
    data = base64.b64encode(png.tobytes()).decode("ascii")
    return (f'<image id="s{i}" x="{_num(left * s, 4)}" y="{_num(top * s, 4)}" width="{_num((right - left) * s, 4)}" '
            f'height="{_num((bottom - top) * s, 4)}" preserveAspectRatio="none" '
            f'xlink:href="data:image/png;base64,{data}"/>')


# ---- the document -----------------------------------------------------------------------------
def svg_size(strokes: Strokes, width: int | None = None) -> tuple[int, int]:
    """``(width, height)`` in pixels of the SVG: the strokes file's canvas, or ``width`` wide with
    the height from the aspect ratio. ``NeuralPaintError`` for a width outside 1..65536."""
    from ..canvas.render import output_size

    height, out_width = output_size(strokes, 1.0, width)
    return out_width, height


def strokes_to_svg(strokes: Strokes, width: int | None = None, *, raster: bool = False) -> str:
    """The SVG document of ``strokes`` (see the module docstring).

    Args:
        strokes: the painting (validated again here).
        width: export width in pixels (default: the strokes file's canvas width); the height
            keeps the aspect ratio. It sets the SVG's ``width``/``height`` and the detail of the
            approximations (Bezier flatness, brush mip level, raster resolution); the user units
            stay canvas pixels.
        raster: embed every stroke as a PNG rendered by its engine (exact at this width, large,
            not editable) instead of vector shapes.

    Returns:
        The document as text (UTF-8 XML).
    """
    from ..strokesfile import validate

    validate(strokes, "strokes")
    out_width, out_height = svg_size(strokes, width)
    doc = SvgDocument(strokes, out_width, out_height)
    writer = raster_element if raster else SVG_WRITERS.get(strokes.stroke_type, raster_element)
    elements = [writer(doc, i) for i in range(strokes.n)]
    title = f"neuralpaint: {strokes.n} {strokes.stroke_type} strokes"
    source = strokes.metadata.get("source")
    mode = "raster" if writer is raster_element else "vector"
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" '
        f'width="{out_width}" height="{out_height}" viewBox="0 0 {strokes.width} {strokes.height}" '
        'preserveAspectRatio="none">',
        f"<title>{escape(title + (f' from {source}' if source else ''))}</title>",
        "<defs>", *doc.defs, "</defs>",
        f'<rect id="canvas" width="{strokes.width}" height="{strokes.height}" fill="{_hex(strokes.canvas_colour)}"/>',
        f'<g id="strokes" data-stroke-type={quoteattr(strokes.stroke_type)} data-mode="{mode}">',
        *elements,
        "</g>",
        "</svg>",
        "",
    ]
    return "\n".join(lines)


def write_svg(strokes: Strokes, path: str | os.PathLike, width: int | None = None, *,
              raster: bool = False) -> Path:
    """Write ``strokes_to_svg(strokes, width, raster=raster)`` to ``path`` atomically (parent
    directories created). Returns ``path``; ``NeuralPaintError`` when it cannot be written."""
    return write_text_atomic(path, strokes_to_svg(strokes, width, raster=raster))
