"""``neuralpaint paint``: paint a photo with strokes and write the painting, strokes and animation."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..errors import NeuralPaintError
from .common import (Command, PROG, add_brush_argument, brush_options, check_output_dir, colour_text, int_at_least,
                     one_line)


def add_paint_arguments(p: argparse.ArgumentParser) -> None:
    from ..batch import default_jobs

    p.add_argument("--img", required=True, nargs="+", type=Path, metavar="PATH",
                   help="photo to paint: PNG, JPEG, ... (required); or several, painted as a resumable "
                   "batch: a folder (its photos), a quoted glob pattern ('photos/*.jpg') or several files")
    p.add_argument("--jobs", type=int_at_least(1), default=None, metavar="N",
                   help="in a batch, paint N photos at once in worker processes (default: one per core, "
                        f"as memory allows: {default_jobs()} here)")
    p.add_argument("--cluster", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="paint the photos on the workers of the Dask cluster whose scheduler is at ADDRESS "
                   "(tcp://host:8786); --cluster alone reads $DASK_SCHEDULER_ADDRESS. Needs "
                   "'neuralpaint[cluster]'; see docs/cluster.md")
    p.add_argument("--outputs-on-workers", action="store_true",
                   help="with --cluster, the workers write the outputs into --out themselves (a folder they "
                   "all see at the same path) instead of sending them back")
    add_painting_arguments(p)
    add_output_arguments(p)
    add_painterly_arguments(p)
    from .stylize import add_style_arguments

    add_style_arguments(p, steps_flag="--style-steps")


def add_output_arguments(p: argparse.ArgumentParser) -> None:
    """``--out``, ``--no-animation`` and ``--svg``: what a painting's outputs are and where (paint, compose)."""
    p.add_argument("--out", type=Path, default=Path("output"), metavar="DIR",
                   help="directory for the outputs, created if needed (default: %(default)s)")
    p.add_argument("--no-animation", action="store_true",
                   help="do not write the stroke-by-stroke <name>_animated.mp4 and .gif")
    p.add_argument("--svg", action="store_true",
                   help="also write <name>.svg, the painting as vector strokes (see export-svg)")


def add_painting_arguments(p: argparse.ArgumentParser, size: int | None = None, size_help: str | None = None,
                           max_strokes: int | None = None) -> None:
    """The painter's options, shared by ``paint``, ``paint-video`` and ``compose`` (``size``,
    ``max_strokes``: other defaults; ``size_help``: what ``--size`` says instead)."""
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
    p.add_argument("--max-strokes", type=int, default=max_strokes or d.max_strokes, metavar="N",
                   help="number of strokes in the painting (default: %(default)s)")
    p.add_argument("--size", type=int, default=size or (None if size_help else d.size), metavar="PX",
                   help=size_help or "longer side of the painting in pixels; the photo's aspect ratio is kept "
                   "(default: %(default)s)")
    p.add_argument("--canvas-color", "--canvas-colour", dest="canvas_colour", metavar="COLOR",
                   default=colour_text(d.canvas_colour),
                   help="colour of the bare canvas: white, black, #rrggbb or #rgb (default: %(default)s)")
    p.add_argument("--renderer", choices=["auto", "engine", "model", "neural"], default=d.renderer,
                   help="engine: the stroke type's exact differentiable engine; model: a differentiable "
                   "model of an engine that has no gradient (mypaint: the dab model of its brush); neural: "
                   "a trained renderer net (--checkpoint); auto: the engine, else the model, or the net when "
                   "--checkpoint is given (mypaint: the final picture is still drawn by libmypaint) "
                   "(default: %(default)s)")
    p.add_argument("--checkpoint", type=Path, default=d.checkpoint, metavar="PATH",
                   help="renderer checkpoint for --renderer neural (default: checkpoints/<stroke>.pt)")
    p.add_argument("--engine-in-loop", action=argparse.BooleanOptionalAction, default=d.engine_in_loop,
                   help="with a renderer net or model, measure the loss on the stroke type's engine's pixels and "
                   "take only the gradients from the net or model (default: on where the engine is not "
                   "differentiable, mypaint)")
    p.add_argument("--engine-tolerance", type=float, default=d.engine_tolerance, metavar="T",
                   help="with the engine in the loop, draw a stroke again only once a parameter moved "
                   "more than T since its last draw (default: %(default)s, every step)")
    p.add_argument("--engine-every", type=int, default=d.engine_every, metavar="N",
                   help="with the engine in the loop, let it draw only every N-th step; the steps between "
                   "reuse its last pictures of each stroke (default: the stroke type's, 16 for mypaint, 8 otherwise)")
    p.add_argument("--ot-weight", type=float, default=d.ot_weight, metavar="W",
                   help="weight of the optimal-transport loss beside pixel L1 (default: %(default)s)")
    p.add_argument("--iters-per-stroke", type=int, default=d.iters_per_stroke, metavar="K",
                   help="optimiser steps each stroke receives in its level (default: the stroke type's, 30 for mypaint, 40 otherwise)")
    p.add_argument("--refine-steps", type=int, default=d.refine_steps, metavar="N",
                   help="final joint steps on all strokes over the whole canvas; 0 skips "
                   "(default: the stroke type's, 300 for rectangle, 24 for mypaint and 150 for the "
                   "slower engines; skipped with a renderer net alone)")
    p.add_argument("--refine-frozen-levels", type=int, default=d.refine_frozen_levels, metavar="N",
                   help="keep the strokes of the first N levels fixed in the refinement, drawn once beneath "
                   "the others: a faster refinement (default: the stroke type's, 2 for mypaint, 0 otherwise)")
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
        engine_in_loop=args.engine_in_loop, engine_tolerance=args.engine_tolerance, engine_every=args.engine_every,
        ot_weight=args.ot_weight, iters_per_stroke=args.iters_per_stroke,
        refine_steps=args.refine_steps, refine_frozen_levels=args.refine_frozen_levels, seed=args.seed, device=args.device,
        loss=args.loss, feature_weight=args.feature_weight, backbone=args.backbone,
        backbone_weights=str(args.vgg_weights) if args.vgg_weights else None,
        opaque=args.opaque, min_stroke_size=args.min_stroke_size, palette=args.palette,
    )
    cfg.validate()
    return cfg


def run_paint(args: argparse.Namespace) -> int:
    import shlex

    from ..batch import is_batch, paint_file
    from ..imagefiles.io import read_image

    if len(args.img) > 1 or is_batch(args.img[0]) or args.cluster is not None:
        return run_paint_batch(args)
    start = time.perf_counter()
    img = args.img[0]
    cfg = paint_config_from_args(args)
    image = read_image(img)
    check_output_dir(args.out)  # fail now rather than after painting
    style_cfg = style_config_from_args(args, cfg)  # checks the style image and settings before painting
    command = shlex.join([PROG, *getattr(args, "_argv", sys.argv[1:])])
    warn = lambda message: print(f"{PROG}: warning: {one_line(message)}", file=sys.stderr)  # noqa: E731
    # the outputs are written even after Ctrl-C, with the strokes finished so far
    result = paint_file(img, args.out, cfg, image=image, animation=not args.no_animation, svg=args.svg,
                        style=args.style, style_config=style_cfg, command=command, progress=not args.quiet,
                        warn=warn, started=start)
    seconds, painted = result.seconds, result.painted_seconds
    print(f"painted {img} with {result.strokes} {result.stroke_type} strokes at {result.width}x{result.height} "
          f"pixels in {painted:.1f} s ({seconds:.1f} s with the outputs); PSNR {result.psnr:.2f} dB against the input")
    if result.stages:
        stages = ", ".join(f"{k.replace('_', ' ')} {v:.1f} s" for k, v in result.stages.items())
        print(f"  stages: {stages}; outputs {seconds - painted:.1f} s")
    for path in result.files:
        print(f"  wrote {path}")
    if result.status == "interrupted":
        print(f"{PROG}: interrupted: the outputs hold the {result.strokes} of {cfg.max_strokes} strokes "
              "finished before Ctrl-C", file=sys.stderr)
        return 130
    return 0


def style_config_from_args(args: argparse.Namespace, cfg):
    """The ``StylizeConfig`` of ``--style`` (None without it), the style image checked."""
    if args.style is None:
        return None
    from ..style.stylize import read_style_image
    from .stylize import stylize_config_from_args

    read_style_image(args.style)
    return stylize_config_from_args(args, cfg.device)


def run_paint_batch(args: argparse.Namespace) -> int:
    """``paint --img`` with several photos: one progress bar, a line per photo, a summary."""
    import shlex

    from tqdm import tqdm

    from ..batch import default_jobs, prepare_batch, run_batch

    start = time.perf_counter()
    if args.cluster is None and args.outputs_on_workers:
        raise NeuralPaintError("--outputs-on-workers applies only with --cluster")
    if args.cluster is not None and args.jobs is not None:
        raise NeuralPaintError("--jobs does not apply with --cluster: the cluster's workers and threads decide "
                               "how many photos are painted at once")
    cfg = paint_config_from_args(args)
    check_output_dir(args.out)
    style_cfg = style_config_from_args(args, cfg)
    command = shlex.join([PROG, *getattr(args, "_argv", sys.argv[1:])])
    batch = prepare_batch(args.img, args.out, cfg, animation=not args.no_animation, svg=args.svg,
                          style=args.style, style_config=style_cfg, command=command)
    runner = None
    if args.cluster is not None and batch.todo:
        from ..cluster import cluster_address, cluster_runner

        runner = cluster_runner(cluster_address(args.cluster), outputs_on_workers=args.outputs_on_workers)
    counts = {"painted": 0, "skipped": 0, "failed": 0, "interrupted": 0}
    failed, stopped, strokes = [], [], 0
    bar = tqdm(total=len(batch.photos), initial=len(batch.done), unit="photo", desc="painting", disable=args.quiet,
               file=sys.stderr)
    results = run_batch(batch, args.jobs or default_jobs(), runner)
    if runner is not None:  # closed by the runner, unless nothing reached it
        results = _closing(results, runner.client)
    try:
        for result in results:
            counts[result.status] += 1
            for message in result.warnings:
                bar.write(f"{PROG}: warning: {result.path}: {one_line(message)}", file=sys.stderr)
            if result.status == "interrupted":
                stopped.append(result)
            if result.status == "failed":
                failed.append(result)
                bar.write(f"{PROG}: error: {result.error}", file=sys.stderr)
            elif result.status == "painted":
                strokes += result.strokes
                bar.write(f"painted {result.path} with {result.strokes} {result.stroke_type} strokes at "
                          f"{result.width}x{result.height} pixels in {result.seconds:.1f} s; PSNR {result.psnr:.2f} dB",
                          file=sys.stdout)
            if result.status != "skipped":
                bar.update(1)
                bar.set_postfix_str(f"{strokes / max(time.perf_counter() - start, 1e-9):.0f} strokes/s")
    except KeyboardInterrupt:
        results.close()  # the workers stop; what they finished is recorded
        bar.close()
        print(f"{PROG}: interrupted: {counts['painted']} painted, {counts['skipped']} skipped and "
              f"{counts['failed']} failed before Ctrl-C are recorded in {args.out / 'manifest.json'}; the same "
              "command paints the rest", file=sys.stderr)
        for result in stopped:
            print(f"  {result.path}: its outputs hold the {result.strokes} of {cfg.max_strokes} strokes finished "
                  "before Ctrl-C; it is painted again next time", file=sys.stderr)
        return 130
    bar.close()
    print(f"{counts['painted']} painted, {counts['skipped']} skipped, {counts['failed']} failed in "
          f"{time.perf_counter() - start:.1f} s (outputs and manifest.json in {args.out})")
    if failed:
        print(f"{PROG}: {len(failed)} of {len(batch.photos)} photos failed:", file=sys.stderr)
        for result in failed:
            print(f"  {result.error}", file=sys.stderr)
        return 1
    return 0


def _closing(results, client):
    """``results``, then ``client`` closed (a generator, so that ``close()`` stops both)."""
    try:
        yield from results
    finally:
        results.close()
        client.close()


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
    "Ctrl-C stops early and still writes them with the strokes finished so far (exit status 130).\n\n"
    "Several photos (a folder, a quoted glob pattern, several files) are painted as a batch: the\n"
    "same files for each, one progress bar, and --out/manifest.json, which records each photo's\n"
    "settings and results, so that running the command again skips the photos already painted\n"
    "with the same settings (Ctrl-C keeps every finished photo). A photo that cannot be painted\n"
    "prints its error and the others go on (exit status 1 at the end). See docs/batch.md.",
    add_arguments=add_paint_arguments,
    run=run_paint,
    epilog="examples:\n  neuralpaint paint --img test_images/astronaut.png\n"
    "  neuralpaint paint --img photo.jpg --stroke markerpen --max-strokes 800 --size 768 --out out/\n"
    "  neuralpaint paint --img photo.jpg --stroke rectangle --m-grid 4 --no-animation -q\n"
    "  neuralpaint paint --img photos/ --out painted/ --jobs 2\n"
    "  neuralpaint paint --img photos/ --out painted/ --cluster tcp://scheduler:8786\n"
    "  neuralpaint paint --img 'photos/*.jpg' --stroke markerpen --size 256",
)
