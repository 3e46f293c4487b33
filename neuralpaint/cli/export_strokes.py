"""``neuralpaint export-strokes``: a strokes file as a JSON or CSV stroke list."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import Command, width_option


def add_export_strokes_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("strokes_file", type=Path, metavar="FILE.npz", help="strokes file to export")
    p.add_argument("--format", default=None, metavar="FORMAT",
                   help="json or csv (default: from the -o extension, else json)")
    p.add_argument("--units", default="px", metavar="UNITS",
                   help="px or mm: the unit of coordinates and widths (default: %(default)s; mm needs --width)")
    p.add_argument("--width", default=None, metavar="W",
                   help="output width in --units; the height keeps the aspect ratio (default for px: "
                   "the strokes file's canvas width)")
    p.add_argument("-o", "--output", default=None, metavar="OUT",
                   help="file to write, or - for standard output (default: <stem>.json or <stem>.csv "
                   "beside the strokes file)")


def run_export_strokes(args: argparse.Namespace) -> int:
    from ..export.strokelist import FORMATS, output_units, stroke_list_text, write_stroke_list
    from ..strokesfile import load_strokes

    fmt = args.format
    if fmt is None:
        suffix = Path(args.output).suffix.lower().lstrip(".") if args.output not in (None, "-") else ""
        fmt = suffix if suffix in FORMATS else "json"
    width = width_option(args.width, integer=False)
    strokes = load_strokes(args.strokes_file)
    if args.output == "-":
        sys.stdout.write(stroke_list_text(strokes, fmt, args.units, width))
        return 0
    output = Path(args.output) if args.output else args.strokes_file.with_name(f"{args.strokes_file.stem}.{fmt}")
    path = write_stroke_list(strokes, output, fmt, args.units, width)
    _, w, h = output_units(strokes, args.units, width)
    print(f"wrote {path}: {strokes.n} {strokes.stroke_type} strokes as {fmt}, {w:g}x{h:g} {args.units}")
    return 0


COMMAND = Command(
    name="export-strokes",
    summary="write a strokes file as a JSON or CSV stroke list for plotters and robots",
    description="Write one record per stroke in painting order: type, Bezier control points or "
    "box corners,\nwidths, length, angle, colours as #rrggbb and opacity, in px or mm (origin "
    "top-left, y down).\nThe fields are described in docs/vector-export.md.",
    add_arguments=add_export_strokes_arguments,
    run=run_export_strokes,
    epilog="examples:\n  neuralpaint export-strokes painting.npz              # writes painting.json\n"
    "  neuralpaint export-strokes painting.npz --format csv --units mm --width 297 -o plot.csv",
)
