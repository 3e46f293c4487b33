"""``neuralpaint stylize``: re-optimise a painting's strokes towards the style of an image."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..errors import NeuralPaintError
from .common import PROG, Command, check_output_dir, one_line


def add_style_arguments(p: argparse.ArgumentParser, *, steps_flag: str = "--steps") -> None:
    """The stylising options, shared by ``stylize`` and ``paint --style`` (where the number of
    steps is ``--style-steps``)."""
    from ..resources import shipped_style_names
    from ..style import MODES, StylizeConfig

    d = StylizeConfig
    g = p.add_argument_group("style (stylize, paint --style)")
    g.add_argument("--style", type=Path, default=None, metavar="IMAGE",
                   help="style image: a file, or a shipped one by name: "
                   f"{', '.join(shipped_style_names())}")
    g.add_argument("--mode", choices=MODES, default=d.mode,
                   help="colour: only the strokes' colours change (shapes stay bit-identical); texture: "
                   "strokes also move, turn, resize and change opacity; palette: the style's colours "
                   "only, no network (default: %(default)s)")
    g.add_argument("--style-weight", type=float, default=d.style_weight, metavar="W",
                   help="weight of the Gram style loss (default: %(default)s)")
    g.add_argument("--content-weight", type=float, default=d.content_weight, metavar="W",
                   help="weight of the content loss, keeping the photo recognisable (default: %(default)s)")
    g.add_argument(steps_flag, dest="style_steps", type=int, default=d.steps, metavar="N",
                   help="optimiser steps of the colour / texture modes (default: %(default)s)")
    add_backbone_arguments(g)


def add_backbone_arguments(g) -> None:
    """``--backbone`` and ``--vgg-weights``: the feature network of the style losses and of
    ``--loss feature``."""
    from ..style import StylizeConfig, backbone_names

    g.add_argument("--backbone", default=StylizeConfig.backbone, metavar="NAME",
                   help=f"network for the style losses: auto, {', '.join(backbone_names())}; auto: vgg19 when "
                   "its torchvision weights are on this machine, else the offline efficientnet_lite0 "
                   "(default: %(default)s)")
    g.add_argument("--vgg-weights", type=Path, default=None, metavar="FILE",
                   help="weights file for --backbone vgg19/vgg16 (default: torchvision's cache)")


def stylize_config_from_args(args: argparse.Namespace, device: str):
    """The ``StylizeConfig`` the options describe."""
    from ..style import StylizeConfig

    cfg = StylizeConfig(mode=args.mode, style_weight=args.style_weight, content_weight=args.content_weight,
                        steps=args.style_steps, backbone=args.backbone,
                        weights=str(args.vgg_weights) if args.vgg_weights else None, seed=args.seed, device=device)
    cfg.validate()
    return cfg


def add_stylize_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("strokes_file", type=Path, metavar="STROKES.npz", help="a strokes file written by paint")
    p.add_argument("--content", type=Path, default=None, metavar="PHOTO",
                   help="photo to stay close to (default: the photo recorded in the strokes file, "
                   "when it still exists, else the painting itself)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--device", default="auto",
                   help="auto, cpu, cuda or cuda:N; auto uses CUDA when available (default: %(default)s)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="directory for the outputs (default: beside the strokes file)")
    p.add_argument("--no-animation", action="store_true",
                   help="do not write <name>_stylized_animated.mp4 and .gif")
    p.add_argument("--svg", action="store_true", help="also write <name>_stylized.svg")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_style_arguments(p)


def painting_name(strokes_file: Path) -> str:
    """``astronaut_strokes.npz`` -> ``astronaut``; another name keeps its stem."""
    stem = strokes_file.stem
    return stem[: -len("_strokes")] if stem.endswith("_strokes") and len(stem) > len("_strokes") else stem


def run_stylize(args: argparse.Namespace) -> int:
    from ..device import resolve_device
    from ..export.painting import write_painting
    from ..strokesfile import load_strokes
    from ..style import stylize_run

    start = time.perf_counter()
    if args.style is None:
        raise NeuralPaintError("--style IMAGE is required")
    device = resolve_device(args.device)
    cfg = stylize_config_from_args(args, str(device))
    strokes = load_strokes(args.strokes_file)
    out = args.out if args.out is not None else args.strokes_file.parent
    check_output_dir(out)  # fail now rather than after the optimisation
    result = stylize_run(strokes, args.style, args.content, cfg, progress=not args.quiet)
    styled = result.strokes
    name = f"{painting_name(args.strokes_file)}_stylized"
    written = write_painting(styled, out, name, animation=not args.no_animation, svg=args.svg, device=device,
                             warn=lambda msg: print(f"{PROG}: warning: {one_line(msg)}", file=sys.stderr))
    backbone = f" with {result.backbone}" if result.backbone else ""
    print(f"stylized {args.strokes_file} ({styled.n} {styled.stroke_type} strokes) after "
          f"{styled.metadata['stylize']['style']} in "
          f"{args.mode} mode{backbone} in {time.perf_counter() - start:.1f} s")
    for path in written:
        print(f"  wrote {path}")
    return 0


COMMAND = Command(
    name="stylize",
    summary="re-optimise a painting's strokes towards the style of an image",
    description="Restyle a painting after a style image, keeping its strokes: the result is a normal "
    "strokes file\n(render-hires, export-svg, export-strokes work on it). Writes to --out:\n"
    "  <name>_stylized.png          the stylised painting\n"
    "  <name>_stylized_strokes.npz  its strokes\n"
    "  <name>_stylized_animated.mp4 and .gif (not with --no-animation)\n"
    "--mode palette needs no network; colour and texture use a pretrained backbone (--backbone).",
    add_arguments=add_stylize_arguments,
    run=run_stylize,
    epilog="examples:\n  neuralpaint stylize output/astronaut_strokes.npz --style starry_night\n"
    "  neuralpaint stylize output/astronaut_strokes.npz --style my_painting.jpg --mode texture --style-weight 2\n"
    "  neuralpaint stylize output/astronaut_strokes.npz --style wheat_field --mode palette",
)
