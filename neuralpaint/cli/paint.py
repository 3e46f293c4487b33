"""``neuralpaint paint``: paint a photo with strokes and write the painting, strokes and animation."""
from __future__ import annotations

import argparse
import sys
import time
import math
from pathlib import Path

from ..errors import NeuralPaintError
from .common import Command, PROG, add_brush_argument, brush_options, check_output_dir, colour_text, one_line


def add_paint_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--img", required=True, type=Path, metavar="PATH",
                   help="photo to paint: PNG, JPEG, ... (required)")
    add_painting_arguments(p)
    p.add_argument("--out", type=Path, default=Path("output"), metavar="DIR",
                   help="directory for the outputs, created if needed (default: %(default)s)")
    p.add_argument("--no-animation", action="store_true",
                   help="do not write the stroke-by-stroke <name>_animated.mp4 and .gif")
    p.add_argument("--svg", action="store_true",
                   help="also write <name>.svg, the painting as vector strokes (see export-svg)")
    add_painterly_arguments(p)
    from .stylize import add_style_arguments

    add_style_arguments(p, steps_flag="--style-steps")


def add_painting_arguments(p: argparse.ArgumentParser, size: int | None = None) -> None:
    """The painter's options, shared by ``paint`` and ``paint-video`` (``size``: another default
    for ``--size``)."""
    from ..painter.config import PaintConfig
    from ..strokes import stroke_type_names

    d = PaintConfig  # every default below is the library's own, so help and API cannot drift
    p.add_argument("--stroke", choices=stroke_type_names(), default=d.stroke, metavar="TYPE",
                   help="stroke type, one of: %(choices)s (default: %(default)s)")
    grid = p.add_mutually_exclusive_group()
    grid.add_argument("--max-divide", type=int, default=d.max_divide, metavar="N",
                      help="paint progressively in 1x1, 2x2, ... NxN blocks (default: %(default)s)")
    grid.add_argument("--m-grid", type=int, default=d.m_grid, metavar="M",
                      help="instead, paint in one pass of MxM blocks")
    p.add_argument("--max-strokes", type=int, default=d.max_strokes, metavar="N",
                   help="number of strokes in the painting (default: %(default)s)")
    p.add_argument("--size", type=int, default=size or d.size, metavar="PX",
                   help="longer side of the painting in pixels; the photo's aspect ratio is kept "
                   "(default: %(default)s)")
    p.add_argument("--canvas-color", "--canvas-colour", dest="canvas_colour", metavar="COLOR",
                   default=colour_text(d.canvas_colour),
                   help="colour of the bare canvas: white, black, #rrggbb or #rgb (default: %(default)s)")
    p.add_argument("--renderer", choices=["auto", "engine", "neural"], default=d.renderer,
                   help="engine: the stroke type's exact differentiable engine; neural: a trained "
                   "renderer net (--checkpoint); auto: the engine, or the net when --checkpoint is "
                   "given or the engine is not differentiable (mypaint: the final picture is still "
                   "drawn by libmypaint) (default: %(default)s)")
    p.add_argument("--checkpoint", type=Path, default=d.checkpoint, metavar="PATH",
                   help="renderer checkpoint for --renderer neural (default: checkpoints/<stroke>.pt)")
    p.add_argument("--ot-weight", type=float, default=d.ot_weight, metavar="W",
                   help="weight of the optimal-transport loss beside pixel L1 (default: %(default)s)")
    p.add_argument("--iters-per-stroke", type=int, default=d.iters_per_stroke, metavar="K",
                   help="optimiser steps each stroke receives in its level (default: %(default)s)")
    p.add_argument("--refine-steps", type=int, default=d.refine_steps, metavar="N",
                   help="final joint steps on all strokes over the whole canvas; 0 skips "
                   "(default: the stroke type's, 300 for rectangle and 150 for the slower engines; "
                   "skipped with a neural renderer)")
    p.add_argument("--seed", type=int, default=d.seed,
                   help="random seed; the same seed and settings give the same painting "
                   "(default: %(default)s)")
    p.add_argument("--device", default=d.device,
                   help="auto, cpu, cuda or cuda:N; auto uses CUDA when available (default: %(default)s)")
    add_brush_argument(p)
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar (default: show one on stderr)")


def add_painterly_arguments(p: argparse.ArgumentParser) -> None:
    """The painterly controls, shared by ``paint`` and ``paint-video``."""
    from ..painter.config import LOSSES, PaintConfig

    d = PaintConfig
    g = p.add_argument_group("painterly controls (visible brushwork rather than the closest copy)")
    g.add_argument("--opaque", action="store_true",
                   help="every stroke fully opaque, as the published oil painter draws them")
    g.add_argument("--min-stroke-size", type=float, default=d.min_stroke_size, metavar="PX",
                   help="no stroke narrower than PX pixels of the painting (default: %(default)s)")
    g.add_argument("--palette", type=int, default=d.palette, metavar="K",
                   help="paint with K paints: every stroke one of the photo's K main colours "
                   "(k-means), opaque")
    g.add_argument("--loss", choices=LOSSES, default=d.loss,
                   help="what the painting is compared with the photo by: pixel, the backbone's "
                   "features (Nakano's intrinsic style: the brush's own character shows), or both "
                   "(default: %(default)s)")
    g.add_argument("--feature-weight", type=float, default=d.feature_weight, metavar="W",
                   help="weight of the feature distance with --loss feature or pixel+feature "
                   "(default: %(default)s)")


def paint_config_from_args(args: argparse.Namespace):
    """The ``PaintConfig`` the ``paint`` options describe (``NeuralPaintError`` if impossible)."""
    from ..painter.config import PaintConfig
    from ..strokesfile import parse_colour

    options = brush_options(args)
    renderer = args.renderer
    if args.checkpoint is not None:
        if renderer == "engine":
            raise NeuralPaintError("--checkpoint applies only to --renderer neural (or auto), not engine")
        renderer = "neural"
    cfg = PaintConfig(
        stroke=args.stroke, stroke_options=options, max_divide=args.max_divide, m_grid=args.m_grid,
        max_strokes=args.max_strokes, size=args.size, canvas_colour=parse_colour(args.canvas_colour),
        renderer=renderer, checkpoint=str(args.checkpoint) if args.checkpoint is not None else None,
        ot_weight=args.ot_weight, iters_per_stroke=args.iters_per_stroke,
        refine_steps=args.refine_steps, seed=args.seed, device=args.device,
        loss=args.loss, feature_weight=args.feature_weight, backbone=args.backbone,
        backbone_weights=str(args.vgg_weights) if args.vgg_weights else None,
        opaque=args.opaque, min_stroke_size=args.min_stroke_size, palette=args.palette,
    )
    cfg.validate()
    return cfg


def run_paint(args: argparse.Namespace) -> int:
    import dataclasses
    import shlex

    from ..canvas.render import render_painting
    from ..imagefiles.io import read_image, write_image
    from ..export.painting import write_painting
    from ..painter import paint_image

    start = time.perf_counter()
    cfg = paint_config_from_args(args)
    image = read_image(args.img)
    check_output_dir(args.out)  # fail now rather than after painting
    if args.style is not None:  # check the style image and settings before painting
        from ..style.stylize import read_style_image
        from .stylize import stylize_config_from_args

        read_style_image(args.style)
        style_cfg = stylize_config_from_args(args, cfg.device)
    strokes, state, photo = paint_image(image, cfg, progress=not args.quiet)
    painted = time.perf_counter() - start

    # the outputs are written even after Ctrl-C, with the strokes finished so far
    name = args.img.stem
    out = args.out
    H, W = photo.shape[1:]
    command = shlex.join([PROG, *getattr(args, "_argv", sys.argv[1:])])
    strokes = dataclasses.replace(strokes, metadata={**strokes.metadata, "source": str(args.img), "command": command})
    if state.interrupted:  # the canvas may hold part of an unfinished level: render the strokes
        final = render_painting(strokes.stroke(), strokes.params_tensor(photo.device), H, W, strokes.canvas_colour)
    else:  # the painter's canvas is the engine's render of exactly these strokes
        final = state.canvas

    mse = (final - photo).pow(2).mean().item()
    psnr = 10 * math.log10(1.0 / mse) if mse > 0 else math.inf
    warn = lambda message: print(f"{PROG}: warning: {one_line(message)}", file=sys.stderr)  # noqa: E731
    written = [write_image(out / f"{name}_input.png", photo)]
    written += write_painting(strokes, out, name, final_name=f"{name}_final.png", final=final,
                              animation=not args.no_animation, svg=args.svg, device=photo.device, warn=warn)
    if args.style is not None and not state.interrupted:
        from ..style import stylize_run

        result = stylize_run(strokes, args.style, photo, style_cfg, progress=not args.quiet)
        written += write_painting(result.strokes, out, f"{name}_stylized", animation=not args.no_animation,
                                  svg=args.svg, device=photo.device, warn=warn)
    seconds = time.perf_counter() - start
    print(f"painted {args.img} with {strokes.n} {strokes.stroke_type} strokes at {W}x{H} pixels in "
          f"{painted:.1f} s ({seconds:.1f} s with the outputs); PSNR {psnr:.2f} dB against the input")
    if state.seconds:
        stages = ", ".join(f"{k.replace('_', ' ')} {v:.1f} s" for k, v in state.seconds.items())
        print(f"  stages: {stages}; outputs {seconds - painted:.1f} s")
    for path in written:
        print(f"  wrote {path}")
    if state.interrupted:
        print(f"{PROG}: interrupted: the outputs hold the {strokes.n} of {cfg.max_strokes} strokes "
              "finished before Ctrl-C", file=sys.stderr)
        return 130
    return 0


COMMAND = Command(
    name="paint",
    summary="paint a photo with brush strokes (strokes file, final image, animation)",
    description="Paint a photo with --max-strokes parameterised strokes, progressively from "
    "coarse 1x1 blocks\nto fine NxN blocks (or in one --m-grid pass), then refine them all "
    "together. Writes to --out:\n  <name>_input.png     the photo as painted (resized to --size)\n"
    "  <name>_strokes.npz   the strokes (neuralpaint render-hires renders them at any size)\n"
    "  <name>_final.png     the painting\n"
    "  <name>_animated.mp4  and .gif: the painting stroke by stroke (not with --no-animation)\n"
    "  <name>.svg           the painting as an SVG of its strokes (with --svg)\n"
    "  <name>_stylized.png  and _stylized_strokes.npz, ...: the painting restyled (with --style)\n"
    "Ctrl-C stops early and still writes them with the strokes finished so far (exit status 130).",
    add_arguments=add_paint_arguments,
    run=run_paint,
    epilog="examples:\n  neuralpaint paint --img test_images/astronaut.png\n"
    "  neuralpaint paint --img photo.jpg --stroke markerpen --max-strokes 800 --size 768 --out out/\n"
    "  neuralpaint paint --img photo.jpg --stroke rectangle --m-grid 4 --no-animation -q",
)
