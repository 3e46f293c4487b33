"""``neuralpaint labels``: a starting label map of a painting (flat colours, one per region) and its legend."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import NeuralPaintError
from .common import Command


def add_labels_arguments(p: argparse.ArgumentParser) -> None:
    from ..composition.labels import MAX_REGIONS, POSITION_WEIGHT
    from ..resources import shipped_style_names

    p.add_argument("--style", type=Path, required=True, metavar="PAINTING",
                   help=f"the painting: a file, or a shipped one by name: {', '.join(shipped_style_names())}")
    p.add_argument("--regions", type=int, default=6, metavar="K",
                   help=f"number of regions, 2..{MAX_REGIONS} (default: %(default)s)")
    p.add_argument("--size", type=int, default=512, metavar="PX",
                   help="longer side of the label map; the painting's aspect ratio is kept (default: %(default)s)")
    p.add_argument("--position-weight", type=float, default=POSITION_WEIGHT, metavar="W",
                   help="how much a pixel's position counts beside its colour: 0 clusters colour alone, "
                   "1 makes the longer side span 100 Lab units (default: %(default)s)")
    p.add_argument("--first-colour", "--first-color", dest="first_colour", type=int, default=0, metavar="N",
                   help="draw region 0 in the N-th label colour (0..31), region 1 in the next, ...: give a "
                   "second painting's map the colours after the first's, to mix them (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed of k-means (default: %(default)s)")
    p.add_argument("-o", "--output", type=Path, default=None, metavar="LABELS.png",
                   help="the label map, a PNG; the legend goes beside it as .json "
                   "(default: <painting>_labels.png in the current directory)")


def write_label_map(path: Path, index, colours, record: dict) -> tuple[Path, Path]:
    """Write the label map ``index (H, W)`` drawn in ``colours (K, 3)`` to the PNG ``path`` and its
    legend ``record`` (with the map's ``size`` added) beside it as ``.json``; both paths."""
    from ..composition.labels import label_picture
    from ..fileutil import write_text_atomic
    from ..imagefiles.io import write_image

    picture = write_image(path, label_picture(index, colours) / 255.0)
    record = {**record, "size": [int(index.shape[0]), int(index.shape[1])]}
    return picture, write_text_atomic(path.with_suffix(".json"), json.dumps(record, indent=2) + "\n")


def run_labels(args: argparse.Namespace) -> int:
    from ..composition.labels import make_labels
    from ..imagefiles.io import read_image
    from ..photo import image_tensor, painting_size, resize_image
    from ..style.stylize import style_image_path

    if not 2 <= args.size <= 8192:
        raise NeuralPaintError(f"--size must be in 2..8192 pixels, got {args.size}")
    path = style_image_path(args.style)
    out = args.output if args.output is not None else Path(f"{path.stem}_labels.png")
    if out.suffix.lower() != ".png":
        raise NeuralPaintError(f"{out}: a label map must be a .png (JPEG would blur its flat colours)")
    image = image_tensor(read_image(path), f"painting {path}")
    image = resize_image(image, *painting_size(image.shape[1], image.shape[2], args.size))
    index, palette, legend = make_labels(image, args.regions, args.seed, position_weight=args.position_weight,
                                          first_colour=args.first_colour)
    _, legend_path = write_label_map(out, index, palette, {
        "style": str(path), "seed": args.seed, "position_weight": args.position_weight,
        "first_colour": args.first_colour, "regions": legend})
    print(f"{len(legend)} regions of {path} ({index.shape[1]}x{index.shape[0]})")
    print("  region  colour   area    mean colour")
    for row in legend:
        print(f"  {row['region']:>6}  {row['colour']}  {row['area']:6.1%}  {row['mean_colour']}")
    print(f"  wrote {out}")
    print(f"  wrote {legend_path}")
    return 0


COMMAND = Command(
    name="labels",
    summary="a starting label map of a painting, to edit and compose from",
    description="Cut a painting into regions (k-means on colour and position, smoothed) and write\n"
    "them in flat colours, one per region, for editing in any paint program:\n"
    "  LABELS.png   the label map (region 0, the largest, in the first colour of a fixed palette)\n"
    "  LABELS.json  the legend: each region's colour, area and mean colour in the painting\n"
    "The same painting, options and --seed give the same map.",
    add_arguments=add_labels_arguments,
    run=run_labels,
    epilog="examples:\n  neuralpaint labels --style wheat_field --regions 4 -o wheat_labels.png\n"
    "  neuralpaint labels --style my_painting.jpg --regions 8 --size 768 --seed 3",
)
