"""``neuralpaint render-hires``: render a strokes file at any resolution."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..errors import NeuralPaintError
from .common import Command, format_scale


def add_render_hires_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("strokes_file", type=Path, metavar="FILE.npz", help="strokes file to render")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--scale", type=float, default=8,
                      help="output size as a multiple of the strokes file's canvas size "
                      "(default: %(default)s)")
    size.add_argument("--width", type=int, default=None, metavar="W",
                      help="output width in pixels instead of --scale; the height keeps the "
                      "canvas's aspect ratio")
    p.add_argument("-o", "--output", type=Path, default=None, metavar="OUT.png",
                   help="image to write, format from the extension: .png (streamed), .jpg, .webp, .tif... "
                   "(default: <stem>_x<scale>.png, "
                   "or <stem>_w<W>.png with --width, beside the strokes file)")
    p.add_argument("--device", default="auto",
                   help="auto or cpu: the compiled CPU kernels paint (no torch); cuda or cuda:N: the "
                   "stroke types' torch engines render on that GPU (default: %(default)s)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar (default: show one on stderr)")


def run_render_hires(args: argparse.Namespace) -> int:
    # numpy and the compiled kernels only: torch is imported just for a stroke type that has no
    # compiled kernel and no torch-free renderer (its engine then renders on --device)
    from ..canvas.render import output_size, write_render
    from ..device import check_device, resolve_device
    from ..strokesfile import load_strokes

    start = time.perf_counter()
    if check_device(args.device) not in ("auto", "cpu"):  # a GPU: torch's engines render there
        resolve_device(args.device)
    strokes = load_strokes(args.strokes_file)
    height, width = output_size(strokes, args.scale, args.width)
    output = args.output
    if output is None:
        tag = f"w{args.width}" if args.width is not None else f"x{format_scale(args.scale)}"
        output = args.strokes_file.with_name(f"{args.strokes_file.stem}_{tag}.png")
    try:  # a bad extension or an unwritable output fails here before any rendering
        write_render(strokes, output, args.scale, args.width, device=args.device, progress=not args.quiet)
    except MemoryError:
        raise NeuralPaintError(f"out of memory rendering {width}x{height} pixels; "
                               "try a smaller --scale or --width") from None
    seconds = time.perf_counter() - start
    print(f"wrote {output} ({width}x{height} pixels, {strokes.n} strokes) in {seconds:.1f} s")
    return 0


COMMAND = Command(
    name="render-hires",
    summary="render a strokes file as an image at any resolution",
    description="Render a strokes file as an image, --scale times the canvas size it was made "
    "at,\nor --width pixels wide, band by band straight into the file: memory stays bounded "
    "at any\nsize (PNG is streamed; other formats hold the 8-bit image once).",
    add_arguments=add_render_hires_arguments,
    run=run_render_hires,
    epilog="examples:\n  neuralpaint render-hires painting.npz             # writes painting_x8.png\n"
    "  neuralpaint render-hires painting.npz --width 4000 -o poster.png",
)
