"""``neuralpaint compose``: a new stroke painting from a label map, each region in the manner of the
matching region of a style painting."""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from ..errors import NeuralPaintError
from .common import PROG, Command, check_output_dir, one_line

COMPOSE_STROKES = 800  # compose's default --max-strokes


def add_compose_arguments(p: argparse.ArgumentParser) -> None:
    from ..composition.composer import METHODS, ComposeConfig
    from ..resources import shipped_style_names
    from .paint import add_output_arguments, add_painterly_arguments, add_painting_arguments
    from .stylize import add_backbone_arguments

    d = ComposeConfig
    p.add_argument("--labels", type=Path, required=True, metavar="NEW.png",
                   help="the new composition: a label map, flat colours one per region, in the colours of "
                   "the style paintings' label maps (required)")
    p.add_argument("--style", action="append", required=True, metavar="PAINTING[:LABELS.png]",
                   help="a style painting (a file, or a shipped one by name: "
                   f"{', '.join(shipped_style_names())}) and its label map; without one it is made as "
                   "'neuralpaint labels' makes it and written beside the outputs. Repeat to mix "
                   "paintings: a colour found in several maps takes the first's (required)")
    add_painting_arguments(p, size_help="longer side of the painting in pixels (default: the label map's)",
                           max_strokes=COMPOSE_STROKES)
    g = p.add_argument_group("composition")
    g.add_argument("--steps", type=int, default=d.steps, metavar="N",
                   help="optimiser steps of the pixel synthesis (default: %(default)s)")
    g.add_argument("--method", choices=METHODS, default=d.method,
                   help="pixels: synthesise the picture region by region, then paint it; strokes: paint "
                   "the regions flat, then move the strokes against the region losses "
                   "(see docs/compose.md) (default: %(default)s)")
    g.add_argument("--work-size", type=int, default=d.work_size, metavar="PX",
                   help="the synthesis works on about PX x PX pixels of the label map (default: %(default)s)")
    g.add_argument("--feather", type=float, default=d.feather, metavar="PX",
                   help="pixels (at the working size) over which neighbouring regions' textures blend "
                   "(default: %(default)s)")
    g.add_argument("--style-regions", type=int, default=d.style_regions, metavar="K",
                   help="regions of a style label map made here, as 'neuralpaint labels --regions K' "
                   "(default: %(default)s)")
    add_backbone_arguments(g)
    add_output_arguments(p)
    add_painterly_arguments(p)


def run_compose(args: argparse.Namespace) -> int:
    import dataclasses

    from ..composition.composer import ComposeConfig, compose_run
    from ..export.painting import write_painting
    from ..imagefiles.io import write_image
    from .labels import write_label_map
    from .paint import paint_config_from_args

    start = time.perf_counter()
    if not args.labels.is_file():
        raise NeuralPaintError(f"{args.labels}: no such label map")
    size = args.size
    args.size = size or 512  # checked by the painter's config; compose_run sets the painting's size
    pcfg = paint_config_from_args(args)
    cfg = ComposeConfig(method=args.method, steps=args.steps, work_size=args.work_size, feather=args.feather,
                        style_regions=args.style_regions, size=size, backbone=args.backbone,
                        weights=str(args.vgg_weights) if args.vgg_weights else None)
    cfg.validate()
    check_output_dir(args.out)
    name = args.labels.stem
    bars = {}

    def log_step(stage: str, step: int, steps: int, terms: dict) -> None:
        if args.quiet:
            return
        if stage not in bars:
            from tqdm import tqdm

            bars[stage] = tqdm(total=steps, desc=f"compose: {stage}", unit="step", file=sys.stderr)
        bar = bars[stage]
        bar.set_postfix(style=f"{terms['style']:.3g}", colour=f"{terms['colour']:.1f}", refresh=False)
        bar.update(1)
        if step == steps - 1:
            bar.close()

    result = compose_run(args.labels, args.style, cfg, pcfg, progress=not args.quiet, log_step=log_step)
    for bar in bars.values():
        bar.close()
    files = []
    for style in result.styles:
        if style.made:  # as neuralpaint labels writes it
            files += write_label_map(args.out / f"{style.name}_labels.png", style.index, style.colours, {
                "style": style.path, "seed": 0, "regions": style.legend, "made_by": "neuralpaint compose"})
    if args.method == "pixels":
        files.append(write_image(args.out / f"{name}_synth.png", result.target))
    if result.strokes is None:  # Ctrl-C during the synthesis
        for path in files:
            print(f"  wrote {path}")
        print(f"{PROG}: interrupted during the synthesis, before painting: {name}_synth.png holds the "
              f"{len(result.log)} of {cfg.steps} steps done", file=sys.stderr)
        return 130
    command = shlex.join([PROG, *getattr(args, "_argv", sys.argv[1:])])
    strokes = dataclasses.replace(result.strokes, metadata={**result.strokes.metadata, "command": command,
                                                            "source": str(args.labels)})
    warn = lambda message: print(f"{PROG}: warning: {one_line(message)}", file=sys.stderr)  # noqa: E731
    files += write_painting(strokes, args.out, name, final_name=f"{name}_final.png", final=result.final,
                            animation=not args.no_animation, svg=args.svg, warn=warn)
    print(f"composed {args.labels} from {', '.join(s.name for s in result.styles)} with {strokes.n} "
          f"{strokes.stroke_type} strokes at {strokes.width}x{strokes.height} pixels in "
          f"{time.perf_counter() - start:.1f} s")
    print("  region  colour   source                              colour distance to source / to painting")
    for (s, k), row in zip(result.sources, result.report):
        style = result.styles[s]
        colour = "#" + "".join(f"{int(c):02x}" for c in style.colours[k])
        print(f"  {row['region']:>6}  {colour}  {row['source']:<34}  {row['colour_to_source']:5.1f} / "
              f"{row['colour_to_painting']:5.1f}")
    for path in files:
        print(f"  wrote {path}")
    if result.interrupted:
        print(f"{PROG}: interrupted: the outputs hold the {strokes.n} of {pcfg.max_strokes} strokes finished "
              "before Ctrl-C", file=sys.stderr)
        return 130
    return 0


COMMAND = Command(
    name="compose",
    summary="a new painting from a label map, each region in the manner of a painting's region",
    description="Paint a label map (flat colours, one per region; start from 'neuralpaint labels') with\n"
    "strokes, every region in the manner of the region of a style painting drawn in the same colour:\n"
    "per-region Gram matrices of a feature network and colour distributions shape a picture,\n"
    "which the painter then paints. The label map's size and aspect set the canvas. Writes to --out:\n"
    "  <name>_synth.png     the synthesised picture the strokes paint\n"
    "  <name>_strokes.npz   the strokes (render-hires renders them at any size, export-svg exports them)\n"
    "  <name>_final.png     the painting\n"
    "  <name>_animated.mp4  and .gif: the painting stroke by stroke (not with --no-animation)\n"
    "  <style>_labels.png   and .json: a style's label map, when made here\n"
    "Ctrl-C keeps what is finished (exit status 130). See docs/compose.md.",
    add_arguments=add_compose_arguments,
    run=run_compose,
    epilog="examples:\n"
    "  neuralpaint labels --style wheat_field --regions 4 -o wheat.png   # then edit a copy: new.png\n"
    "  neuralpaint compose --labels new.png --style wheat_field:wheat.png\n"
    "  neuralpaint compose --labels mix.png --style wheat_field:wheat.png --style starry_night:starry.png\n"
    "  neuralpaint compose --labels new.png --style wheat_field:wheat.png --size 768 --max-strokes 1500",
)
