"""Building blocks of the vector forms of strokes: what the stroke types' ``svg_element`` and
``stroke_record`` hooks share (numpy only, no torch; imports nothing of this package, so every
stroke type and ``base`` may import it).

* formatting: ``num`` (compact decimals), ``point``, ``hex_colour`` (``#rrggbb``) and its inverse
  ``rgb_from_hex``;
* ``SvgDocument``: the SVG being written (coordinate systems, the strokes' parameters, the shared
  ``<defs>``), handed to ``StrokeType.svg_element(doc, i)``;
* ``StrokeFrame``: canvas pixels -> output units, handed to ``StrokeType.stroke_record(frame, row)``;
* tapered Bezier outlines (``bezier_segments``, ``capsule``, ``tapered_outline``) and the
  quadratic Bezier's points, record and inverse (``curve_points``, ``curve_record``,
  ``curve_from_record``) for strokes along a curve.

The documents themselves are assembled by ``neuralpaint.export.svg`` and
``neuralpaint.export.strokelist``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import NeuralPaintError

FLATNESS = 0.1  # output pixels: chords of a Bezier outline stay this close to the curve
MAX_SEGMENTS = 96  # capsules per Bezier stroke, at most


# ---- formatting -------------------------------------------------------------------------------
def num(x: float, digits: int = 3) -> str:
    """A compact decimal: ``1.500 -> '1.5'``, ``-0.0001 -> '0'``."""
    text = f"{float(x):.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def point(p) -> str:
    """``(x, y)`` as ``'x y'`` (``num``)."""
    return f"{num(p[0])} {num(p[1])}"


def hex_colour(rgb) -> str:
    """RGB in [0, 1] -> ``#rrggbb`` (clipped, rounded to 8 bits)."""
    return "#" + "".join(f"{int(round(min(max(float(c), 0.0), 1.0) * 255)):02x}" for c in rgb)


def rgb_from_hex(text: str, where: str) -> np.ndarray:
    """``#rrggbb`` -> ``(3,)`` RGB in [0, 1]; ``NeuralPaintError`` naming ``where`` otherwise."""
    s = str(text).strip().lower()
    if len(s) != 7 or s[0] != "#" or any(c not in "0123456789abcdef" for c in s[1:]):
        raise NeuralPaintError(f"{where}: bad colour {text!r}, expected #rrggbb")
    return np.array([int(s[i : i + 2], 16) / 255.0 for i in (1, 3, 5)])


# ---- the SVG document ---------------------------------------------------------------------------
@dataclass
class SvgDocument:
    """What ``svg_element`` hooks need: the strokes and the coordinate systems, plus the shared
    ``<defs>``.

    ``stroke``: the stroke type (with its options); ``params``: ``(N, d)`` float64;
    ``width``/``height``: canvas pixels (user units); ``out_width``/``out_height``: export pixels;
    ``scale``: export pixels per user unit; ``side``: the canvas's longer side in user units (the
    unit of the strokes' lengths). ``defs`` collects ``<defs>`` children; ``cache`` holds results
    a stroke type computes once per document (e.g. for all its strokes at once).
    """

    stroke: Any  # a StrokeType
    params: np.ndarray
    width: int
    height: int
    out_width: int
    out_height: int
    defs: list[str] = field(default_factory=list)
    cache: dict = field(default_factory=dict)
    _shared: dict[str, str] = field(default_factory=dict)

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


# ---- the stroke list ----------------------------------------------------------------------------
@dataclass(frozen=True)
class StrokeFrame:
    """Canvas geometry for ``stroke_record`` hooks: ``width``/``height`` in canvas pixels,
    ``scale`` output units per canvas pixel, ``stroke`` the stroke type."""

    stroke: Any  # a StrokeType
    width: int
    height: int
    scale: float

    @property
    def side(self) -> int:
        return max(self.width, self.height)


def record(shape: str, points, *, width_start=None, width_end=None, length=None, angle=None,
           colour_start=None, colour_end=None, opacity=None) -> dict:
    """The fields of one stroke-list record a ``stroke_record`` hook returns (colours as RGB in
    [0, 1] or ``None``; written as ``#rrggbb``). See ``neuralpaint.export.strokelist``."""
    return {"shape": shape, "points": np.asarray(points, np.float64), "width_start": width_start,
            "width_end": width_end, "length": length, "angle": angle,
            "colour_start": None if colour_start is None else hex_colour(colour_start),
            "colour_end": None if colour_end is None else hex_colour(colour_end), "opacity": opacity}


# ---- quadratic Bezier strokes ---------------------------------------------------------------------
CURVE_FIELDS = ("x0", "y0", "x1", "y1", "x2", "y2")  # a curve stroke's points; its half-widths: r0, r2


def curve_points(xy: np.ndarray, width: float, height: float) -> np.ndarray:
    """``(3, 2)`` points P0, P1 (control), P2 from ``xy = x0, y0, x1, y1, x2, y2`` (canvas
    fractions), scaled to ``width x height``."""
    return xy.reshape(3, 2) * np.array([width, height], dtype=np.float64)


def curve_in_svg(stroke, row: np.ndarray, doc: SvgDocument, max_radius: float) -> tuple[np.ndarray, float, float]:
    """Of a curve stroke ``row`` (fields ``CURVE_FIELDS``, ``r0``, ``r2``; a radius of 1 is
    ``max_radius`` of the longer side): ``(3, 2)`` points in user units and half-widths ``r0, r2``."""
    pts = curve_points(stroke.fields(row, *CURVE_FIELDS), doc.width, doc.height)
    return pts, stroke.field(row, "r0") * max_radius * doc.side, stroke.field(row, "r2") * max_radius * doc.side


def curve_stroke_record(stroke, frame: StrokeFrame, row: np.ndarray, max_radius: float, c0, c2, opacity) -> dict:
    """The ``bezier`` record of a curve stroke ``row`` (see ``curve_in_svg``)."""
    pts = curve_points(stroke.fields(row, *CURVE_FIELDS), frame.width, frame.height) * frame.scale
    return curve_record(pts, stroke.field(row, "r0"), stroke.field(row, "r2"),
                        max_radius * frame.side * frame.scale, c0, c2, opacity)


def curve_record(pts: np.ndarray, r0: float, r2: float, radius_unit: float, c0, c2, opacity) -> dict:
    """The ``bezier`` record of a curve ``pts`` (``(3, 2)``, output units) whose half-width runs
    from ``r0`` to ``r2`` (parameters; ``radius_unit`` output units each)."""
    t = np.linspace(0.0, 1.0, 257)[:, None]
    curve = (1 - t) ** 2 * pts[0] + 2 * (1 - t) * t * pts[1] + t**2 * pts[2]
    length = np.linalg.norm(np.diff(curve, axis=0), axis=1).sum()
    return record("bezier", pts, width_start=2 * r0 * radius_unit, width_end=2 * r2 * radius_unit,
                  length=length, colour_start=c0, colour_end=c2, opacity=opacity)


def curve_from_record(rec: dict, width: float, height: float, max_radius: float) -> dict[str, float]:
    """Inverse of ``curve_record`` in an output of ``width x height`` units, where a radius
    parameter of 1 is ``max_radius`` of the longer side: ``{x0, y0, x1, y1, x2, y2, r0, r2}``."""
    pts = np.asarray(rec["points"], dtype=np.float64)
    side = max(width, height)
    values = dict(zip(CURVE_FIELDS, (pts[:3] / [width, height]).ravel()))
    return values | {"r0": rec["width_start"] / (2 * max_radius * side), "r2": rec["width_end"] / (2 * max_radius * side)}


def bezier_segments(pts: np.ndarray, scale: float) -> int:
    """Capsules needed so that chords stay within ``FLATNESS`` export pixels of the curve ``pts``
    (user units; ``scale`` export pixels per user unit)."""
    bend = np.linalg.norm(pts[0] - 2 * pts[1] + pts[2]) * scale  # |B''| / 2, export pixels
    return int(min(MAX_SEGMENTS, max(1, math.ceil(math.sqrt(bend / (4 * FLATNESS))))))


def circle(c: np.ndarray, r: float) -> str:
    """Path data of a circle."""
    x, y = c
    return (f"M{point((x + r, y))}A{num(r)} {num(r)} 0 1 0 {point((x - r, y))}"
            f"A{num(r)} {num(r)} 0 1 0 {point((x + r, y))}Z")


def capsule(c1: np.ndarray, r1: float, c2: np.ndarray, r2: float) -> str:
    """Subpath of the convex hull of two discs, always with the same orientation (so a chain of
    them fills their union under the nonzero rule)."""
    d = float(np.hypot(*(c2 - c1)))
    if d <= abs(r1 - r2) + 1e-9:  # one disc holds the other
        return circle(c1, r1) if r1 >= r2 else circle(c2, r2)
    u = (c2 - c1) / d
    n = np.array([-u[1], u[0]])
    s = (r1 - r2) / d
    c = math.sqrt(max(0.0, 1.0 - s * s))
    w_plus, w_minus = s * u + c * n, s * u - c * n
    a1, a2 = c1 + r1 * w_plus, c2 + r2 * w_plus
    b2, b1 = c2 + r2 * w_minus, c1 + r1 * w_minus
    large2, large1 = int(s < 0), int(s > 0)
    return (f"M{point(a1)}L{point(a2)}A{num(r2)} {num(r2)} 0 {large2} 0 {point(b2)}"
            f"L{point(b1)}A{num(r1)} {num(r1)} 0 {large1} 0 {point(a1)}Z")


def tapered_outline(pts: np.ndarray, r0: float, r2: float, segments: int) -> str:
    """Path data of the union of the discs ``r0 + (r2 - r0) t`` along the quadratic Bezier
    ``pts`` (user units), as ``segments`` capsules; empty when both radii vanish."""
    if max(r0, r2) <= 1e-6:
        return ""
    t = np.linspace(0.0, 1.0, segments + 1)[:, None]
    centres = (1 - t) ** 2 * pts[0] + 2 * (1 - t) * t * pts[1] + t**2 * pts[2]
    radii = r0 + (r2 - r0) * t[:, 0]
    return "".join(capsule(centres[j], radii[j], centres[j + 1], radii[j + 1]) for j in range(segments))
