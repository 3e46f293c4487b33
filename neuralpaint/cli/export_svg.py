"""``neuralpaint export-svg``: a strokes file as an SVG, one vector element per stroke."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from .common import Command, width_option


def _svg_types_help() -> str:
    from ..export.svg import raster_types, vector_types

    raster = raster_types()
    return (f"Stroke types written as vector shapes: {', '.join(vector_types())}.\n"
            + (f"Stroke types without a vector form, embedded as one PNG image per stroke: {', '.join(raster)}."
               if raster else "Stroke types without a vector form (e.g. mypaint) are embedded as one PNG "
               "image per stroke."))


def add_export_svg_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (p.description or "") + _svg_types_help()
    p.add_argument("strokes_file", type=Path, metavar="FILE.npz", help="strokes file to export")
    p.add_argument("-o", "--output", type=Path, default=None, metavar="OUT.svg",
                   help="SVG to write (default: <stem>.svg beside the strokes file)")
    p.add_argument("--width", default=None, metavar="W",
                   help="width in pixels the SVG declares (and is tuned for); the height keeps the "
                   "aspect ratio (default: the strokes file's canvas width)")
    p.add_argument("--raster", action="store_true",
                   help="embed every stroke as a PNG rendered by its engine: exact at --width, but "
                   "larger and not editable")


def run_export_svg(args: argparse.Namespace) -> int:
    from ..export.svg import svg_size, write_svg
    from ..strokesfile import load_strokes

    start = time.perf_counter()
    width = width_option(args.width, integer=True)
    strokes = load_strokes(args.strokes_file)
    output = args.output or args.strokes_file.with_name(f"{args.strokes_file.stem}.svg")
    path = write_svg(strokes, output, width, raster=args.raster)
    size = path.stat().st_size
    w, h = svg_size(strokes, width)
    print(f"wrote {path} ({w}x{h} px, {strokes.n} {strokes.stroke_type} strokes, {size / 1024:.1f} KB) "
          f"in {time.perf_counter() - start:.1f} s")
    return 0


COMMAND = Command(
    name="export-svg",
    summary="write a strokes file as an SVG, one vector element per stroke",
    description="Write a strokes file as a scalable SVG: the canvas, then one element per stroke "
    "in painting\norder, matching the engines' render (Bezier outlines with their taper, rotated "
    "rectangles,\nthe oil brush's outline and bristle mask with a colour gradient).\n",
    add_arguments=add_export_svg_arguments,
    run=run_export_svg,
    epilog="examples:\n  neuralpaint export-svg painting.npz                # writes painting.svg\n"
    "  neuralpaint export-svg painting.npz --width 2048 -o poster.svg",
)
