"""The ``neuralpaint`` command line: a thin layer of argument parsing over the library.

Each subcommand is one ``Command`` entry in ``COMMANDS``: a name, a one-line summary, a
function that adds its arguments to an ``argparse`` parser and a function that runs it and
returns the exit status. Adding a subcommand means writing those two functions and one entry.

Errors the user can fix (``NeuralPaintError``: a bad file, an impossible size...) are printed as
``neuralpaint: error: <message>`` on one line with exit status 2, like argparse's own usage
errors; Ctrl-C prints ``neuralpaint: interrupted`` and exits with 130. Anything else is a bug
and propagates with its traceback.

Heavy modules (torch, the engines, OpenCV) are imported inside the ``run_*`` functions.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .errors import NeuralPaintError

PROG = "neuralpaint"


@dataclass(frozen=True)
class Command:
    """One subcommand: ``add_arguments(parser)`` declares its options, ``run(args)`` does the
    work and returns the exit status."""

    name: str
    summary: str  # one line, shown in ``neuralpaint --help``
    description: str  # shown at the top of ``neuralpaint NAME --help``
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    epilog: str = ""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep the line breaks of descriptions and epilogs (examples); wrap option help."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)
        self._action_max_length = 20  # a floor, so subcommand names share a line with their summary


# ---- argument types ---------------------------------------------------------------------------
def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its messages
    return parse


def _format_scale(scale: float) -> str:
    """``8.0`` -> ``"8"``, ``2.5`` -> ``"2.5"`` (for file names)."""
    return str(int(scale)) if float(scale).is_integer() else repr(float(scale))


def add_brush_argument(p: argparse.ArgumentParser) -> None:
    """``--brush``: the oil brush's texture or the MyPaint brush (checked by ``brush_options``)."""
    from .strokes.brushes import BRUSHES

    p.add_argument("--brush", default=None, metavar="NAME",
                   help=f"oilpaintbrush: its texture, one of {', '.join(sorted(BRUSHES))} (default: oil); "
                   "mypaint: an installed MyPaint brush such as classic/charcoal, or a .myb file "
                   "(default: classic/dry_brush)")


def brush_options(args: argparse.Namespace) -> dict:
    """The stroke options ``--brush`` gives, ``{}`` when it is absent."""
    from .strokes.brushes import BRUSHES

    if args.brush is None:
        return {}
    if args.stroke == "oilpaintbrush" and args.brush not in BRUSHES:
        raise NeuralPaintError(f"--brush {args.brush!r} is not an oil brush texture; choose one of {', '.join(sorted(BRUSHES))}")
    if args.stroke not in ("mypaint", "oilpaintbrush"):
        raise NeuralPaintError(f"--brush applies only to --stroke oilpaintbrush or mypaint, not {args.stroke}")
    return {"brush": args.brush}


# ---- paint ------------------------------------------------------------------------------------
def _colour_text(rgb: tuple[float, float, float]) -> str:
    """``(1, 1, 1)`` -> ``"white"``, ``(0, 0, 0)`` -> ``"black"``, else ``"#rrggbb"``."""
    names = {(255, 255, 255): "white", (0, 0, 0): "black"}
    rgb8 = tuple(round(c * 255) for c in rgb)
    return names.get(rgb8, "#" + "".join(f"{c:02x}" for c in rgb8))


def _check_output_dir(path: Path) -> None:
    """``NeuralPaintError`` unless ``path`` is, or can be created as, a writable directory (nothing
    is created here)."""
    import os

    existing = path.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise NeuralPaintError(f"{path}: cannot be the output directory: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise NeuralPaintError(f"{path}: cannot be the output directory: {existing} is not writable")


def add_paint_arguments(p: argparse.ArgumentParser) -> None:
    from .painter.config import PaintConfig
    from .strokes import stroke_type_names

    d = PaintConfig  # every default below is the library's own, so help and API cannot drift
    p.add_argument("--img", required=True, type=Path, metavar="PATH",
                   help="photo to paint: PNG, JPEG, ... (required)")
    p.add_argument("--stroke", choices=stroke_type_names(), default=d.stroke, metavar="TYPE",
                   help="stroke type, one of: %(choices)s (default: %(default)s)")
    grid = p.add_mutually_exclusive_group()
    grid.add_argument("--max-divide", type=int, default=d.max_divide, metavar="N",
                      help="paint progressively in 1x1, 2x2, ... NxN blocks (default: %(default)s)")
    grid.add_argument("--m-grid", type=int, default=d.m_grid, metavar="M",
                      help="instead, paint in one pass of MxM blocks")
    p.add_argument("--max-strokes", type=int, default=d.max_strokes, metavar="N",
                   help="number of strokes in the painting (default: %(default)s)")
    p.add_argument("--size", type=int, default=d.size, metavar="PX",
                   help="longer side of the painting in pixels; the photo's aspect ratio is kept "
                   "(default: %(default)s)")
    p.add_argument("--canvas-color", "--canvas-colour", dest="canvas_colour", metavar="COLOR",
                   default=_colour_text(d.canvas_colour),
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
                   help="optimiser steps each stroke receives (default: %(default)s)")
    p.add_argument("--refine-steps", type=int, default=d.refine_steps, metavar="N",
                   help="final joint steps on all strokes over the whole canvas; 0 skips "
                   "(default: the stroke type's, 300 for rectangle and 150 for the slower engines; "
                   "skipped with a neural renderer)")
    p.add_argument("--seed", type=int, default=d.seed,
                   help="random seed; the same seed and settings give the same painting "
                   "(default: %(default)s)")
    p.add_argument("--device", default=d.device,
                   help="auto, cpu, cuda or cuda:N; auto uses CUDA when available (default: %(default)s)")
    p.add_argument("--out", type=Path, default=Path("output"), metavar="DIR",
                   help="directory for the outputs, created if needed (default: %(default)s)")
    add_brush_argument(p)
    p.add_argument("--no-animation", action="store_true",
                   help="do not write the stroke-by-stroke <name>_animated.mp4 and .gif")
    p.add_argument("--svg", action="store_true",
                   help="also write <name>.svg, the painting as vector strokes (see export-svg)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar (default: show one on stderr)")


def paint_config_from_args(args: argparse.Namespace):
    """The ``PaintConfig`` the ``paint`` options describe (``NeuralPaintError`` if impossible)."""
    from .painter.config import PaintConfig
    from .strokesfile import parse_colour

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
    )
    cfg.validate()
    return cfg


def run_paint(args: argparse.Namespace) -> int:
    import dataclasses
    import shlex

    from .canvas import render_painting
    from .export import FFmpegUnavailable, write_animation
    from .images import read_image, write_image
    from .painter import paint_image
    from .strokesfile import save_strokes

    start = time.perf_counter()
    cfg = paint_config_from_args(args)
    image = read_image(args.img)
    _check_output_dir(args.out)  # fail now rather than after painting
    strokes, state, photo = paint_image(image, cfg, progress=not args.quiet)
    painted = time.perf_counter() - start

    # the outputs are written even after Ctrl-C, with the strokes finished so far
    name = args.img.stem
    out = args.out
    H, W = photo.shape[1:]
    command = shlex.join([PROG, *getattr(args, "_argv", sys.argv[1:])])
    strokes = dataclasses.replace(strokes, metadata={**strokes.metadata, "source": str(args.img), "command": command})
    stroke = strokes.stroke()
    final = render_painting(stroke, strokes.params_tensor(photo.device), H, W, strokes.canvas_colour)
    mse = (final - photo).pow(2).mean().item()
    psnr = 10 * math.log10(1.0 / mse) if mse > 0 else math.inf

    written = [write_image(out / f"{name}_input.png", photo),
               save_strokes(strokes, out / f"{name}_strokes.npz"),
               write_image(out / f"{name}_final.png", final)]
    if getattr(args, "svg", False):
        from .export.svg import write_svg

        written.append(write_svg(strokes, out / f"{name}.svg"))
    if not args.no_animation:
        mp4, gif = out / f"{name}_animated.mp4", out / f"{name}_animated.gif"
        try:
            write_animation(strokes, H, W, mp4, gif, device=photo.device)
            written += [mp4, gif]
        except FFmpegUnavailable as err:
            written.append(gif)
            print(f"{PROG}: warning: {_one_line(err)}", file=sys.stderr)

    seconds = time.perf_counter() - start
    print(f"painted {args.img} with {strokes.n} {strokes.stroke_type} strokes at {W}x{H} pixels in "
          f"{painted:.1f} s ({seconds:.1f} s with the outputs); PSNR {psnr:.2f} dB against the input")
    for path in written:
        print(f"  wrote {path}")
    if state.interrupted:
        print(f"{PROG}: interrupted: the outputs hold the {strokes.n} of {cfg.max_strokes} strokes "
              "finished before Ctrl-C", file=sys.stderr)
        return 130
    return 0


# ---- random-strokes ---------------------------------------------------------------------------
def add_random_strokes_arguments(p: argparse.ArgumentParser) -> None:
    from .strokes import stroke_type_names

    p.add_argument("--stroke", required=True, choices=stroke_type_names(), metavar="TYPE",
                   help="stroke type, one of: %(choices)s (required)")
    p.add_argument("-n", "--n", type=_int_at_least(0), default=300, metavar="N",
                   help="number of strokes (default: %(default)s)")
    p.add_argument("--width", type=_int_at_least(1), default=None, metavar="W",
                   help="canvas width in pixels (default: 512, or --height when only that is given)")
    p.add_argument("--height", type=_int_at_least(1), default=None, metavar="H",
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
    from .render import random_painting
    from .strokesfile import parse_colour, save_strokes

    width = args.width if args.width is not None else (args.height or 512)
    height = args.height if args.height is not None else width
    options = brush_options(args)
    strokes = random_painting(args.stroke, args.n, width, height, args.seed,
                              canvas_colour=parse_colour(args.canvas_colour), stroke_options=options)
    path = save_strokes(strokes, args.output)
    print(f"wrote {path}: {strokes.n} random {strokes.stroke_type} strokes on a "
          f"{width}x{height} canvas (seed {args.seed})")
    return 0


# ---- render-hires -----------------------------------------------------------------------------
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
                   help="image to write, format from the extension (default: <stem>_x<scale>.png, "
                   "or <stem>_w<W>.png with --width, beside the strokes file)")
    p.add_argument("--device", default="auto",
                   help="auto, cpu, cuda or cuda:N; auto uses CUDA when available (default: %(default)s)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar (default: show one on stderr)")


def run_render_hires(args: argparse.Namespace) -> int:
    import cv2
    import torch

    from .images import write_image
    from .render import output_size, render_strokes, resolve_device
    from .strokesfile import load_strokes

    start = time.perf_counter()
    device = resolve_device(args.device)
    strokes = load_strokes(args.strokes_file)
    height, width = output_size(strokes, args.scale, args.width)
    output = args.output
    if output is None:
        tag = f"w{args.width}" if args.width is not None else f"x{_format_scale(args.scale)}"
        output = args.strokes_file.with_name(f"{args.strokes_file.stem}_{tag}.png")
    if not cv2.haveImageWriter(str(output)):  # fail now rather than after a long render
        raise NeuralPaintError(f"{output}: cannot write images with extension "
                               f"{output.suffix.lower()!r}; use .png or .jpg")
    out_of_memory = (MemoryError, getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError))
    try:
        image = render_strokes(strokes, args.scale, args.width, device=device, progress=not args.quiet)
    except out_of_memory:
        raise NeuralPaintError(f"out of memory rendering {width}x{height} pixels on {device}; "
                               "try a smaller --scale or --width, or --device cpu") from None
    write_image(output, image)
    seconds = time.perf_counter() - start
    print(f"wrote {output} ({width}x{height} pixels, {strokes.n} strokes, {device}) in {seconds:.1f} s")
    return 0


# ---- train-renderer ---------------------------------------------------------------------------
def add_train_renderer_arguments(p: argparse.ArgumentParser) -> None:
    from .nets import net_names
    from .strokes import stroke_type_names

    p.add_argument("--stroke", required=True, choices=stroke_type_names(), metavar="TYPE",
                   help="stroke type whose engine the net imitates, one of: %(choices)s (required)")
    p.add_argument("--net", choices=net_names(), default=None, metavar="NET",
                   help="renderer net, one of: %(choices)s (default: from the config, fusion-light)")
    p.add_argument("--config", type=Path, default=None, metavar="FILE.yaml",
                   help="YAML overriding configs/train_renderer.yaml, or configs/train_gan.yaml with "
                   "--net gan (flags override both)")
    p.add_argument("--steps", type=_int_at_least(1), default=None, help="optimiser steps (default: config, 20000; "
                   "with --net gan: of the --phase given)")
    p.add_argument("--batch-size", type=_int_at_least(1), default=None, help="strokes per step (default: config, 64)")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default: config, 2e-4)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: config, 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="run directory for best.pt, last.pt, state.pt, log.jsonl, samples/ "
                   "(default: runs/<stroke>-<net>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its state.pt")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    gan = p.add_argument_group("GAN renderer (--net gan), trained on a stroke data set instead of the engine")
    gan.add_argument("--data", type=Path, default=None, metavar="DIR",
                     help="stroke data set to train on (required with --net gan); its last val_size "
                     "strokes are held out")
    gan.add_argument("--phase", choices=["all", "1", "2", "3"], default="all",
                     help="1: pre-train the generator, 2: pre-train the critic, 3: adversarial; all: "
                     "1, 2, 3 in order, skipping finished ones with --resume (default: %(default)s)")
    gan.add_argument("--vgg-weights", type=Path, default=None, metavar="FILE",
                     help="VGG16 weights for the perceptual loss (default: vgg16-397923af.pth in the "
                     "torch hub cache when present; without weights the loss is off)")


def _run_train_gan(args: argparse.Namespace) -> int:
    from .train_gan import GanConfig, train_gan

    phases = (1, 2, 3) if args.phase == "all" else (int(args.phase),)
    steps = {}
    if args.steps is not None:
        if len(phases) > 1:
            raise NeuralPaintError("with --net gan, --steps needs --phase 1, 2 or 3 (or set pretrain_steps, "
                                   "critic_steps, gan_steps in --config)")
        steps = {{1: "pretrain_steps", 2: "critic_steps", 3: "gan_steps"}[phases[0]]: args.steps}
    cfg = GanConfig.from_yaml(args.config, stroke=args.stroke, data=str(args.data) if args.data else None,
                              batch_size=args.batch_size, lr=args.lr, seed=args.seed, device=args.device,
                              vgg_weights=str(args.vgg_weights) if args.vgg_weights else None, **steps)
    out = args.out or Path("runs") / f"{cfg.stroke}-gan"
    results = train_gan(cfg, out, phases=phases, resume=args.resume, progress=not args.quiet,
                        log=None if not args.quiet else (lambda msg: print(msg, file=sys.stderr)))
    for phase, r in results.items():
        if phase == 2:
            print(f"phase 2 (critic): {r['steps']} steps, held-out critic accuracy {r.get('critic_acc', float('nan')):.3f}")
        else:
            print(f"phase {phase} ({'pre-train' if phase == 1 else 'gan'}): {r['steps']} steps, held-out PSNR "
                  f"{r.get('psnr', float('nan')):.2f} dB (best {r['best_psnr']:.2f} dB); best weights in "
                  f"{out / f'phase{phase}' / 'best.pt'}")
    return 0


def run_train_renderer(args: argparse.Namespace) -> int:
    from .train import TrainConfig, train_renderer

    if args.net == "gan":
        return _run_train_gan(args)
    if args.data is not None or args.phase != "all" or args.vgg_weights is not None:
        raise NeuralPaintError("--data, --phase and --vgg-weights apply only to --net gan")
    cfg = TrainConfig.from_yaml(args.config, stroke=args.stroke, net=args.net, steps=args.steps,
                                batch_size=args.batch_size, lr=args.lr, seed=args.seed, device=args.device)
    out = args.out or Path("runs") / f"{cfg.stroke}-{cfg.net}"
    result = train_renderer(cfg, out, resume=args.resume, progress=not args.quiet)
    print(f"trained {cfg.stroke}/{cfg.net} for {result['steps']} steps: held-out PSNR {result.get('psnr', float('nan')):.2f} dB "
          f"(best {result['best_psnr']:.2f} dB); best weights in {out / 'best.pt'}")
    return 0


# ---- eval-renderer ----------------------------------------------------------------------------
def add_eval_renderer_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", type=Path, metavar="CHECKPOINT", help="renderer checkpoint (.pt)")
    p.add_argument("--n", type=_int_at_least(1), default=2000, help="held-out strokes (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out strokes (default: %(default)s)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    p.add_argument("--sampler", choices=["uniform", "train"], default="uniform",
                   help="uniform: every parameter uniform in [0, 1] (the published protocol); train: "
                   "also report the training sampler's figures (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--data", type=Path, default=None, metavar="DIR",
                   help="also report PSNR on the held-out part of this stroke data set (its last --val-size "
                   "strokes, as train-renderer --net gan holds out), at its resolution")
    p.add_argument("--val-size", type=_int_at_least(1), default=1000, metavar="N",
                   help="held-out strokes at the end of --data (default: %(default)s)")


def run_eval_renderer(args: argparse.Namespace) -> int:
    import json

    from .evaluation import evaluate_checkpoint

    r = evaluate_checkpoint(args.checkpoint, n=args.n, seed=args.seed, device=args.device, sampler=args.sampler,
                            data=args.data, val_size=args.val_size)
    if args.json:
        print(json.dumps(r))
        return 0
    print(f"{args.checkpoint}: {r['stroke_type']} / {r['net']} ({r['params'] / 1e6:.2f} M params, "
          f"{r['size']}px, {r['steps']} steps), {r['n']} uniform strokes at 128x128, seed {r['seed']}")
    print(f"  PSNR foreground {r['psnr_fg']:.2f} dB, alpha {r['psnr_alpha']:.2f} dB, mean {r['psnr']:.2f} dB")
    if "train_psnr" in r:
        print(f"  training sampler: foreground {r['train_psnr_fg']:.2f} dB, alpha {r['train_psnr_alpha']:.2f} dB, "
              f"mean {r['train_psnr']:.2f} dB")
    if "data_psnr" in r:
        print(f"  data set {args.data} (last {r['data_n']} strokes, {r['data_size']}px): foreground "
              f"{r['data_psnr_fg']:.2f} dB, alpha {r['data_psnr_alpha']:.2f} dB, mean {r['data_psnr']:.2f} dB")
    print(f"  {r['ms_forward']:.3f} ms/stroke forward, {r['ms_backward']:.3f} ms/stroke forward+backward on {r['device']}")
    return 0


# ---- export-svg, export-strokes ----------------------------------------------------------------
def _width_option(text: str | None, integer: bool) -> float | int | None:
    """``--width`` as a number (``NeuralPaintError`` when it is not one); ``None`` stays ``None``."""
    if text is None:
        return None
    try:
        value = float(text)
        if integer and value.is_integer():
            return int(value)
        if not integer:
            return value
    except ValueError:
        pass
    kind = "a whole number of pixels" if integer else "a number"
    raise NeuralPaintError(f"--width must be {kind}, got {text!r}")


def _svg_types_help() -> str:
    from .export.svg import raster_types, vector_types

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
    from .export.svg import svg_size, write_svg
    from .strokesfile import load_strokes

    start = time.perf_counter()
    width = _width_option(args.width, integer=True)
    strokes = load_strokes(args.strokes_file)
    output = args.output or args.strokes_file.with_name(f"{args.strokes_file.stem}.svg")
    path = write_svg(strokes, output, width, raster=args.raster)
    size = path.stat().st_size
    w, h = svg_size(strokes, width)
    print(f"wrote {path} ({w}x{h} px, {strokes.n} {strokes.stroke_type} strokes, {size / 1024:.1f} KB) "
          f"in {time.perf_counter() - start:.1f} s")
    return 0


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
    from .export.strokelist import FORMATS, output_units, stroke_list_text, write_stroke_list
    from .strokesfile import load_strokes

    fmt = args.format
    if fmt is None:
        suffix = Path(args.output).suffix.lower().lstrip(".") if args.output not in (None, "-") else ""
        fmt = suffix if suffix in FORMATS else "json"
    width = _width_option(args.width, integer=False)
    strokes = load_strokes(args.strokes_file)
    if args.output == "-":
        sys.stdout.write(stroke_list_text(strokes, fmt, args.units, width))
        return 0
    output = Path(args.output) if args.output else args.strokes_file.with_name(f"{args.strokes_file.stem}.{fmt}")
    path = write_stroke_list(strokes, output, fmt, args.units, width)
    _, w, h = output_units(strokes, args.units, width)
    print(f"wrote {path}: {strokes.n} {strokes.stroke_type} strokes as {fmt}, {w:g}x{h:g} {args.units}")
    return 0


# ---- make-dataset -------------------------------------------------------------------------------
def add_make_dataset_arguments(p: argparse.ArgumentParser) -> None:
    from .dataset import DEFAULT_SHARD_SIZE
    from .strokes import stroke_type_names

    p.add_argument("--stroke", required=True, choices=stroke_type_names(), metavar="TYPE",
                   help="stroke type, one of: %(choices)s (required)")
    p.add_argument("-n", "--n", required=True, type=_int_at_least(1), metavar="N",
                   help="number of strokes (required)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR",
                   help="data set directory, created if needed; an interrupted run resumes there (required)")
    p.add_argument("--workers", type=_int_at_least(1), default=1, metavar="K",
                   help="worker processes; the data set does not depend on it (default: %(default)s)")
    p.add_argument("--size", type=_int_at_least(1), default=64, metavar="PX",
                   help="side of the stroke images in pixels (default: %(default)s)")
    p.add_argument("--shard-size", type=_int_at_least(1), default=DEFAULT_SHARD_SIZE, metavar="N",
                   help="strokes per shard file (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0,
                   help="random seed; the same seed gives the same data set (default: %(default)s)")
    add_brush_argument(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run_make_dataset(args: argparse.Namespace) -> int:
    from .dataset import make_dataset
    from .strokes import get_stroke_type

    options = brush_options(args)
    stroke = get_stroke_type(args.stroke, **options)
    r = make_dataset(stroke, args.n, args.out, size=args.size, shard_size=args.shard_size,
                     workers=args.workers, seed=args.seed, progress=not args.quiet)
    rate = f" in {r['seconds']:.1f} s, {r['strokes_per_second']:.0f} strokes/s" if r["written"] else ""
    print(f"{args.out}: {r['n']} {stroke.name} strokes at {args.size}x{args.size} px in {r['shards']} "
          f"shards ({r['written']} written{rate}; {r['kept']} already there)")
    return 0


# ---- the command table and the parser ---------------------------------------------------------
COMMANDS: tuple[Command, ...] = (
    Command(
        name="paint",
        summary="paint a photo with brush strokes (strokes file, final image, animation)",
        description="Paint a photo with --max-strokes parameterised strokes, progressively from "
        "coarse 1x1 blocks\nto fine NxN blocks (or in one --m-grid pass), then refine them all "
        "together. Writes to --out:\n  <name>_input.png     the photo as painted (resized to --size)\n"
        "  <name>_strokes.npz   the strokes (neuralpaint render-hires renders them at any size)\n"
        "  <name>_final.png     the painting\n"
        "  <name>_animated.mp4  and .gif: the painting stroke by stroke (not with --no-animation)\n"
        "  <name>.svg           the painting as an SVG of its strokes (with --svg)\n"
        "Ctrl-C stops early and still writes them with the strokes finished so far (exit status 130).",
        add_arguments=add_paint_arguments,
        run=run_paint,
        epilog="examples:\n  neuralpaint paint --img test_images/astronaut.png\n"
        "  neuralpaint paint --img photo.jpg --stroke markerpen --max-strokes 800 --size 768 --out out/\n"
        "  neuralpaint paint --img photo.jpg --stroke rectangle --m-grid 4 --no-animation -q",
    ),
    Command(
        name="random-strokes",
        summary="write a strokes file of random strokes (tests, demos)",
        description="Write a strokes file holding N random strokes of one type, sized like a real "
        "painting\n(large strokes first). The same --seed always gives the same strokes.",
        add_arguments=add_random_strokes_arguments,
        run=run_random_strokes,
        epilog="example:\n  neuralpaint random-strokes --stroke oilpaintbrush --n 200 --seed 1 -o random.npz",
    ),
    Command(
        name="render-hires",
        summary="render a strokes file as an image at any resolution",
        description="Render a strokes file as an image, --scale times the canvas size it was made "
        "at,\nor --width pixels wide. Memory stays near the size of the output image.",
        add_arguments=add_render_hires_arguments,
        run=run_render_hires,
        epilog="examples:\n  neuralpaint render-hires painting.npz             # writes painting_x8.png\n"
        "  neuralpaint render-hires painting.npz --width 4000 -o poster.png",
    ),
    Command(
        name="train-renderer",
        summary="train a neural renderer to imitate a stroke engine",
        description="Train a renderer net on strokes drawn and rendered on the fly by the stroke "
        "type's engine.\nSaves best.pt (float16), last.pt and state.pt in --out; Ctrl-C saves too, "
        "and --resume continues.",
        add_arguments=add_train_renderer_arguments,
        run=run_train_renderer,
        epilog="examples:\n  neuralpaint train-renderer --stroke oilpaintbrush --steps 20000\n"
        "  neuralpaint train-renderer --stroke oilpaintbrush --resume   # after an interruption\n"
        "  neuralpaint train-renderer --stroke mypaint --net gan --data data/mypaint   # GAN renderer, 3 phases",
    ),
    Command(
        name="eval-renderer",
        summary="held-out PSNR and speed of a renderer checkpoint",
        description="Evaluate a renderer checkpoint on held-out strokes with every parameter uniform "
        "in [0, 1],\ncompared at 128x128: foreground PSNR, alpha PSNR, their mean, ms per stroke.",
        add_arguments=add_eval_renderer_arguments,
        run=run_eval_renderer,
        epilog="example:\n  neuralpaint eval-renderer checkpoints/oilpaintbrush.pt --json",
    ),
    Command(
        name="export-svg",
        summary="write a strokes file as an SVG, one vector element per stroke",
        description="Write a strokes file as a scalable SVG: the canvas, then one element per stroke "
        "in painting\norder, matching the engines' render (Bezier outlines with their taper, rotated "
        "rectangles,\nthe oil brush's outline and bristle mask with a colour gradient).\n",
        add_arguments=add_export_svg_arguments,
        run=run_export_svg,
        epilog="examples:\n  neuralpaint export-svg painting.npz                # writes painting.svg\n"
        "  neuralpaint export-svg painting.npz --width 2048 -o poster.svg",
    ),
    Command(
        name="export-strokes",
        summary="write a strokes file as a JSON or CSV stroke list for plotters and robots",
        description="Write one record per stroke in painting order: type, Bezier control points or "
        "box corners,\nwidths, length, angle, colours as #rrggbb and opacity, in px or mm (origin "
        "top-left, y down).\nThe fields are described in the README (Vector export).",
        add_arguments=add_export_strokes_arguments,
        run=run_export_strokes,
        epilog="examples:\n  neuralpaint export-strokes painting.npz              # writes painting.json\n"
        "  neuralpaint export-strokes painting.npz --format csv --units mm --width 297 -o plot.csv",
    ),
    Command(
        name="make-dataset",
        summary="render random strokes into a sharded .npz data set (for the GAN renderer)",
        description="Render --n random strokes (the type's training sampler) at --size pixels into "
        "--out:\n  dataset.json, shard_00000.npz, ...  (actions, strokes on white, alphas; see "
        "neuralpaint/dataset.py)\nAn interrupted run resumes: complete shards are kept. --workers "
        "does not change the result.",
        add_arguments=add_make_dataset_arguments,
        run=run_make_dataset,
        epilog="examples:\n  neuralpaint make-dataset --stroke mypaint --n 100000 --out data/mypaint --workers 2\n"
        "  neuralpaint make-dataset --stroke mypaint --brush classic/charcoal --n 20000 --out data/charcoal",
    ),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Turn a photo into a painting made of real, parameterised brush strokes.",
        epilog="quick example:\n"
        "  neuralpaint paint --img photo.jpg                  # writes output/photo_final.png and more\n"
        "  neuralpaint random-strokes --stroke oilpaintbrush --n 300 -o strokes.npz\n"
        "  neuralpaint render-hires strokes.npz --scale 4     # writes strokes_x4.png\n\n"
        f"Run '{PROG} COMMAND --help' for a command's options.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.summary, description=command.description,
                           epilog=command.epilog or None, formatter_class=_HelpFormatter)
        command.add_arguments(p)
        p.set_defaults(_run=command.run)
    return parser


def _one_line(message: object) -> str:
    return " ".join(str(message).split()) or "unknown error"


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    ``--help``, ``--version`` and usage errors exit through ``SystemExit`` (status 0 or 2), as
    argparse does.
    """
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        args = build_parser().parse_args(argv)
        args._argv = argv  # the command line, for provenance in output files
        return args._run(args)
    except NeuralPaintError as err:
        print(f"{PROG}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
