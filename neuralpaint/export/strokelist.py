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

Each stroke type writes its own records (its ``stroke_record`` hook, in its module; shared pieces in
``neuralpaint.strokes.vector``); a type without one gets the ``bbox`` record. The JSON document
wraps the records with the format, the units, the output size, the stroke type and the canvas
colour (see ``stroke_list_document``). ``records_to_params`` inverts the geometry of the types
with a ``params_from_record`` hook (the built-in vector types), so a list can be turned back into
strokes.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path

import numpy as np

from ..errors import NeuralPaintError
from ..fileutil import write_text_atomic
from ..strokes.vector import StrokeFrame, hex_colour, rgb_from_hex
from ..strokesfile import Strokes

FORMATS = ("json", "csv")
UNITS = ("px", "mm")
FORMAT_NAME = "neuralpaint-stroke-list"
FORMAT_VERSION = 1
DIGITS = 4  # decimals of coordinates, widths and opacity
CSV_COLUMNS = ("index", "type", "shape", "x0", "y0", "x1", "y1", "x2", "y2", "x3", "y3",
               "width_start", "width_end", "length", "angle", "colour_start", "colour_end", "opacity")
MAX_WIDTH = 1e7  # output units; an absurd --width is refused


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
def strokes_to_records(strokes: Strokes, units: str = "px", width: float | None = None) -> list[dict]:
    """One JSON-ready record per stroke, in painting order (fields: see the module docstring).

    ``units``/``width``: see ``output_units``. Numbers are rounded to ``DIGITS`` decimals.
    """
    from ..strokesfile import validate

    validate(strokes, "strokes")
    scale, _, _ = output_units(strokes, units, width)
    stroke = strokes.stroke()
    frame = StrokeFrame(stroke, strokes.width, strokes.height, scale)
    records = []
    for i, row in enumerate(strokes.params.astype(np.float64)):
        fields = stroke.stroke_record(frame, row)
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
            "canvas_colour": hex_colour(strokes.canvas_colour), "count": len(records), "strokes": records}


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
    """``(N, d)`` parameters from records in an output of ``width x height`` units: the inverse of
    ``strokes_to_records`` up to rounding (colours to 8 bits), by the stroke type's
    ``params_from_record`` hook (the built-in vector types have one). Values are clipped to
    [0, 1]. ``NeuralPaintError`` for types without the hook."""
    from ..strokes import get_stroke_type, stroke_type_class

    if not stroke_type_class(stroke_type).implements("params_from_record"):
        raise NeuralPaintError(f"cannot rebuild {stroke_type!r} strokes from a stroke list")
    stroke = get_stroke_type(stroke_type)
    d = stroke.n_params
    rows = []
    for rec in records:
        where = f"stroke {rec.get('index', len(rows))}"
        rgb_from_hex(rec["colour_start"], where), rgb_from_hex(rec["colour_end"], where)  # checked here
        row = stroke.params_from_record(rec, width, height)
        if len(row) != d:  # pragma: no cover - the hooks build the types' own layouts
            raise NeuralPaintError(f"{where}: expected {d} parameters, got {len(row)}")
        rows.append(row)
    return np.clip(np.array(rows, dtype=np.float64).reshape(-1, d), 0.0, 1.0)
