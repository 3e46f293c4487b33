"""``neuralpaint random-strokes``: a strokes file of random strokes."""
from __future__ import annotations

import argparse
from pathlib import Path

from .common import Command, add_brush_argument, brush_options, int_at_least


def add_random_strokes_arguments(p: argparse.ArgumentParser) -> None:
    from ..strokes import stroke_type_names

    p.add_argument("--stroke", required=True, choices=stroke_type_names(), metavar="TYPE",
                   help="stroke type, one of: %(choices)s (required)")
    p.add_argument("-n", "--n", type=int_at_least(0), default=300, metavar="N",
                   help="number of strokes (default: %(default)s)")
    p.add_argument("--width", type=int_at_least(1), default=None, metavar="W",
                   help="canvas width in pixels (default: 512, or --height when only that is given)")
    p.add_argument("--height", type=int_at_least(1), default=None, metavar="H",
                   help="canvas height in pixels (default: 512, or --width when only that is given)")
    p.add_argument("--seed", type=int, default=0,
                   help="random seed; the same seed gives the same strokes (default: %(default)s)")
    p.add_argument("--canvas-color", "--canvas-colour", dest="canvas_colour", default="white",
                   metavar="COLOR", help="colour of the bare canvas: white, black, #rrggbb or #rgb "
                   "(default: %(default)s)")
    add_brush_argument(p)
    p.add_argument("-o", "--output", required=True, type=Path, metavar="FILE.npz",
                   help="strokes file to write (required; replaced atomically if it exists)")


def run_random_strokes(args: argparse.Namespace) -> int:
    from ..random_strokes import random_painting
    from ..strokesfile import parse_colour, save_strokes

    width = args.width if args.width is not None else (args.height or 512)
    height = args.height if args.height is not None else width
    options = brush_options(args)
    strokes = random_painting(args.stroke, args.n, width, height, args.seed,
                              canvas_colour=parse_colour(args.canvas_colour), stroke_options=options)
    path = save_strokes(strokes, args.output)
    print(f"wrote {path}: {strokes.n} random {strokes.stroke_type} strokes on a "
          f"{width}x{height} canvas (seed {args.seed})")
    return 0


COMMAND = Command(
    name="random-strokes",
    summary="write a strokes file of random strokes (tests, demos)",
    description="Write a strokes file holding N random strokes of one type, sized like a real "
    "painting\n(large strokes first). The same --seed always gives the same strokes.",
    add_arguments=add_random_strokes_arguments,
    run=run_random_strokes,
    epilog="example:\n  neuralpaint random-strokes --stroke oilpaintbrush --n 200 --seed 1 -o random.npz",
)
