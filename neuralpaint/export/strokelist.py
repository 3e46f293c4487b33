"""The stroke list: one record per stroke, in painting order, for pen plotters and painting robots.

Coordinates are in output units: ``px`` (the strokes file's canvas pixels, or ``width`` pixels
wide) or ``mm`` (``width`` millimetres wide; the height follows the canvas's aspect ratio).
Origin top-left, x to the right, y down. Every record has these fields (the CSV columns; JSON
keeps ``points`` as a list of ``[x, y]`` pairs instead of the ``x0 .. y3`` columns):

===============  ================================================================================
``index``        painting order, 0 first
``type``         stroke type (``markerpen``, ``watercolor``, ``rectangle``, ``oilpaintbrush``, ...)
``shape``        ``bezier``: ``points`` are the start, control and end points of a quadratic
                 Bezier (the stroke's centre line); ``box``: the four corners of a rotated
                 rectangle, in order start-left, end-left, end-right, start-right (the stroke runs
                 from the edge ``p0 p3`` to the edge ``p1 p2``); ``bbox``: the four corners of the
                 axis-aligned box a stroke without a vector form (e.g. ``mypaint``) lies in
``x0 y0 .. x3 y3``  the points (``x3 y3`` empty for ``bezier``)
``width_start``  full stroke width at the start (Bezier: twice the half-width ``r0``; box: its
``width_end``    breadth), and at the end (``r2``); empty for ``bbox``
``length``       Bezier: arc length of the centre line; box: length along the stroke
``angle``        box: direction start -> end in degrees, clockwise from +x (y points down);
                 empty for the others
``colour_start`` ``#rrggbb`` at the start and at the end (equal for one-colour strokes)
``colour_end``
``opacity``      0..1 (watercolor: at the rim; the centre line carries 60 % of it)
===============  ================================================================================

The JSON document wraps the records with the format, the units, the output size, the stroke
type and the canvas colour (see ``stroke_list_document``). ``records_to_params`` inverts the
geometry of the built-in types, so a list can be turned back into strokes.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import NeuralPaintError
from ..fileutil import write_text_atomic
from ..strokesfile import Strokes

FORMATS = ("json", "csv")
UNITS = ("px", "mm")
FORMAT_NAME = "neuralpaint-stroke-list"
FORMAT_VERSION = 1
DIGITS = 4  # decimals of coordinates, widths and opacity
CSV_COLUMNS = ("index", "type", "shape", "x0", "y0", "x1", "y1", "x2", "y2", "x3", "y3",
               "width_start", "width_end", "length", "angle", "colour_start", "colour_end", "opacity")
MAX_WIDTH = 1e7  # output units; an absurd --width is refused


def _hex(rgb) -> str:
    return "#" + "".join(f"{int(round(min(max(float(c), 0.0), 1.0) * 255)):02x}" for c in rgb)


def _rgb(text: str, where: str) -> np.ndarray:
    s = str(text).strip().lower()
    if len(s) != 7 or s[0] != "#" or any(c not in "0123456789abcdef" for c in s[1:]):
        raise NeuralPaintError(f"{where}: bad colour {text!r}, expected #rrggbb")
    return np.array([int(s[i : i + 2], 16) / 255.0 for i in (1, 3, 5)])


def _r(x: float) -> float:
    return round(float(x), DIGITS) + 0.0  # + 0.0 turns -0.0 into 0.0


# ---- units ------------------------------------------------------------------------------------
def output_units(strokes: Strokes, units: str = "px", width: float | None = None) -> tuple[float, float, float]:
    """``(scale, width, height)``: output units per canvas pixel and the output size.

    ``px`` without ``width`` keeps the canvas's pixels; ``mm`` needs ``width`` (millimetres).
    ``NeuralPaintError`` for an unknown unit or a width that is not a positive finite number.
    """
    if units not in UNITS:
        raise NeuralPaintError(f"unknown units {units!r}; use {' or '.join(UNITS)}")
    if width is None:
        if units == "mm":
            raise NeuralPaintError("--units mm needs --width W, the output width in millimetres")
        return 1.0, float(strokes.width), float(strokes.height)
    if isinstance(width, bool) or not isinstance(width, (int, float, np.number)) \
            or not math.isfinite(width) or not 0 < width <= MAX_WIDTH:
        raise NeuralPaintError(f"output width must be a positive number up to {MAX_WIDTH:g} {units}, got {width!r}")
    scale = float(width) / strokes.width
    return scale, float(width), strokes.height * scale


# ---- records ----------------------------------------------------------------------------------
class _Frame:
    """Canvas geometry for the record writers: canvas pixels -> output units."""

    def __init__(self, strokes: Strokes, scale: float):
        self.width, self.height = strokes.width, strokes.height
        self.side = max(self.width, self.height)
        self.scale = scale
        self.stroke = strokes.stroke()


RecordWriter = Callable[[_Frame, np.ndarray], dict]
RECORD_WRITERS: dict[str, RecordWriter] = {}


def register_record_writer(stroke_type: str) -> Callable[[RecordWriter], RecordWriter]:
    """Decorator: ``writer(frame, row) -> dict`` gives the shape fields of one stroke of
    ``stroke_type`` (``shape``, ``points``, widths, ``length``, ``angle``, colours, opacity).
    Types without one get an axis-aligned ``bbox`` record."""

    def decorate(writer: RecordWriter) -> RecordWriter:
        RECORD_WRITERS[stroke_type] = writer
        return writer

    return decorate


def _bezier(frame: _Frame, row: np.ndarray, c0, c2, opacity) -> dict:
    from ..strokes.bezier import MAX_RADIUS

    pts = row[0:6].reshape(3, 2) * np.array([frame.width, frame.height]) * frame.scale
    t = np.linspace(0.0, 1.0, 257)[:, None]
    curve = (1 - t) ** 2 * pts[0] + 2 * (1 - t) * t * pts[1] + t**2 * pts[2]
    length = np.linalg.norm(np.diff(curve, axis=0), axis=1).sum()
    radius = MAX_RADIUS * frame.side * frame.scale
    return {"shape": "bezier", "points": pts, "width_start": 2 * row[6] * radius, "width_end": 2 * row[7] * radius,
            "length": length, "angle": None, "colour_start": _hex(c0), "colour_end": _hex(c2), "opacity": opacity}


def _box(frame: _Frame, row: np.ndarray, c0, c2, opacity) -> dict:
    xc, yc, w, h, theta = row[0:5]
    centre = np.array([xc * frame.width, yc * frame.height]) * frame.scale
    length, breadth = w * frame.side * frame.scale, h * frame.side * frame.scale
    angle = theta * math.pi
    along = np.array([math.cos(angle), math.sin(angle)])
    across = np.array([-along[1], along[0]])
    corners = [centre + su * 0.5 * length * along + sv * 0.5 * breadth * across
               for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    return {"shape": "box", "points": np.array(corners), "width_start": breadth, "width_end": breadth,
            "length": length, "angle": theta * 180.0, "colour_start": _hex(c0), "colour_end": _hex(c2),
            "opacity": opacity}


@register_record_writer("markerpen")
def _markerpen(frame: _Frame, row: np.ndarray) -> dict:
    return _bezier(frame, row, row[8:11], row[8:11], row[11])


@register_record_writer("watercolor")
def _watercolor(frame: _Frame, row: np.ndarray) -> dict:
    return _bezier(frame, row, row[8:11], row[11:14], row[14])


@register_record_writer("rectangle")
def _rectangle(frame: _Frame, row: np.ndarray) -> dict:
    return _box(frame, row, row[5:8], row[5:8], row[8])


@register_record_writer("oilpaintbrush")
def _oilpaintbrush(frame: _Frame, row: np.ndarray) -> dict:
    return _box(frame, row, row[5:8], row[8:11], row[11])


def _bbox(frame: _Frame, row: np.ndarray) -> dict:
    """Any other type: its bounding box, and colour / opacity when its layout has them."""
    stroke = frame.stroke
    box = stroke.bounding_boxes(np.asarray(row[None], np.float32), frame.height, frame.width)[0]
    top, left, bottom, right = (box.astype(np.float64) * frame.scale).tolist()
    colour = row[getattr(stroke, "colour", slice(0, 0))]
    c0, c2 = (colour, colour) if len(colour) == 3 else (colour[:3], colour[3:6]) if len(colour) == 6 else (None, None)
    alpha = getattr(stroke, "alpha", None)
    return {"shape": "bbox", "points": np.array([[left, top], [right, top], [right, bottom], [left, bottom]]),
            "width_start": None, "width_end": None, "length": None, "angle": None,
            "colour_start": _hex(c0) if c0 is not None else None,
            "colour_end": _hex(c2) if c2 is not None else None,
            "opacity": row[alpha] if isinstance(alpha, int) else None}


def strokes_to_records(strokes: Strokes, units: str = "px", width: float | None = None) -> list[dict]:
    """One JSON-ready record per stroke, in painting order (fields: see the module docstring).

    ``units``/``width``: see ``output_units``. Numbers are rounded to ``DIGITS`` decimals.
    """
    from ..strokesfile import validate

    validate(strokes, "strokes")
    scale, _, _ = output_units(strokes, units, width)
    frame = _Frame(strokes, scale)
    writer = RECORD_WRITERS.get(strokes.stroke_type, _bbox)
    records = []
    for i, row in enumerate(strokes.params.astype(np.float64)):
        fields = writer(frame, row)
        rec = {"index": i, "type": strokes.stroke_type, "shape": fields["shape"],
               "points": [[_r(x), _r(y)] for x, y in fields["points"]]}
        for key in ("width_start", "width_end", "length", "angle", "opacity"):
            rec[key] = None if fields[key] is None else _r(fields[key])
        rec["colour_start"], rec["colour_end"] = fields["colour_start"], fields["colour_end"]
        records.append({k: rec[k] for k in ("index", "type", "shape", "points", "width_start", "width_end",
                                            "length", "angle", "colour_start", "colour_end", "opacity")})
    return records


def stroke_list_document(strokes: Strokes, units: str = "px", width: float | None = None) -> dict:
    """The JSON document: ``format``, ``version``, ``units``, ``width``/``height`` (output size
    in ``units``), ``stroke_type``, ``canvas_colour``, ``count`` and ``strokes`` (the records)."""
    records = strokes_to_records(strokes, units, width)
    _, out_w, out_h = output_units(strokes, units, width)
    return {"format": FORMAT_NAME, "version": FORMAT_VERSION, "units": units, "width": _r(out_w),
            "height": _r(out_h), "origin": "top-left, x right, y down", "stroke_type": strokes.stroke_type,
            "canvas_colour": _hex(strokes.canvas_colour), "count": len(records), "strokes": records}


def records_to_csv(records: list[dict]) -> str:
    """CSV text with a header row of ``CSV_COLUMNS``; empty cells for missing values."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for rec in records:
        flat = dict(rec)
        points = flat.pop("points")
        for j in range(4):
            x, y = points[j] if j < len(points) else (None, None)
            flat[f"x{j}"], flat[f"y{j}"] = x, y
        writer.writerow(["" if flat[c] is None else flat[c] for c in CSV_COLUMNS])
    return out.getvalue()


def stroke_list_text(strokes: Strokes, fmt: str = "json", units: str = "px", width: float | None = None) -> str:
    """The stroke list as ``json`` (the document, indented) or ``csv`` (the records) text."""
    if fmt not in FORMATS:
        raise NeuralPaintError(f"unknown format {fmt!r}; use {' or '.join(FORMATS)}")
    if fmt == "json":  # the header indented, one record per line
        doc = stroke_list_document(strokes, units, width)
        records = doc.pop("strokes")
        head = json.dumps(doc, indent=1)[:-2]
        body = ",\n  ".join(json.dumps(rec) for rec in records)
        return f'{head},\n "strokes": [\n  {body}\n ]\n}}\n'
    return records_to_csv(strokes_to_records(strokes, units, width))


def write_stroke_list(strokes: Strokes, path: str | os.PathLike, fmt: str = "json", units: str = "px",
                      width: float | None = None) -> Path:
    """Write ``stroke_list_text(...)`` to ``path`` atomically (parent directories created)."""
    return write_text_atomic(path, stroke_list_text(strokes, fmt, units, width))


# ---- reading back -----------------------------------------------------------------------------
def records_from_csv(text: str) -> list[dict]:
    """Records (JSON form, ``points`` regrouped) from the CSV of ``records_to_csv``."""
    rows = list(csv.DictReader(io.StringIO(text)))
    records = []
    for row in rows:
        missing = [c for c in CSV_COLUMNS if c not in row]
        if missing:
            raise NeuralPaintError(f"not a stroke list CSV: missing column(s) {', '.join(missing)}")
        number = lambda c: None if row[c] == "" else float(row[c])  # noqa: E731
        points = [[float(row[f"x{j}"]), float(row[f"y{j}"])] for j in range(4) if row[f"x{j}"] != ""]
        rec = {"index": int(row["index"]), "type": row["type"], "shape": row["shape"], "points": points}
        for key in ("width_start", "width_end", "length", "angle", "opacity"):
            rec[key] = number(key)
        rec["colour_start"] = row["colour_start"] or None
        rec["colour_end"] = row["colour_end"] or None
        records.append(rec)
    return records


def records_to_params(records: list[dict], stroke_type: str, width: float, height: float) -> np.ndarray:
    """``(N, d)`` parameters of the built-in stroke types from records in an output of
    ``width x height`` units: the inverse of ``strokes_to_records`` up to rounding (colours to
    8 bits). Values are clipped to [0, 1]. ``NeuralPaintError`` for other types."""
    from ..strokes import get_stroke_type
    from ..strokes.bezier import MAX_RADIUS

    if stroke_type not in RECORD_WRITERS:
        raise NeuralPaintError(f"cannot rebuild {stroke_type!r} strokes from a stroke list")
    d = get_stroke_type(stroke_type).n_params
    side = max(width, height)
    rows = []
    for rec in records:
        where = f"stroke {rec.get('index', len(rows))}"
        pts = np.asarray(rec["points"], dtype=np.float64)
        c0, c2 = _rgb(rec["colour_start"], where), _rgb(rec["colour_end"], where)
        if stroke_type in ("markerpen", "watercolor"):
            shape = list((pts[:3] / [width, height]).ravel())
            shape += [rec["width_start"] / (2 * MAX_RADIUS * side), rec["width_end"] / (2 * MAX_RADIUS * side)]
        else:
            centre = pts.mean(axis=0) / [width, height]
            shape = [centre[0], centre[1], rec["length"] / side, rec["width_start"] / side, rec["angle"] / 180.0]
        colours = list(c0) if stroke_type in ("markerpen", "rectangle") else list(c0) + list(c2)
        row = shape + colours + [rec["opacity"]]
        if len(row) != d:  # pragma: no cover - the layouts above are the types' own
            raise NeuralPaintError(f"{where}: expected {d} parameters, got {len(row)}")
        rows.append(row)
    return np.clip(np.array(rows, dtype=np.float64).reshape(-1, d), 0.0, 1.0)

