"""``neuralpaint make-dataset``: render random strokes into a sharded data set."""
from __future__ import annotations

import argparse
from pathlib import Path

from .common import Command, add_brush_argument, brush_options, int_at_least


def add_make_dataset_arguments(p: argparse.ArgumentParser) -> None:
    from ..training.dataset import DEFAULT_SHARD_SIZE
    from ..strokes import stroke_type_names

    p.add_argument("--stroke", required=True, choices=stroke_type_names(), metavar="TYPE",
                   help="stroke type, one of: %(choices)s (required)")
    p.add_argument("-n", "--n", required=True, type=int_at_least(1), metavar="N",
                   help="number of strokes (required)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR",
                   help="data set directory, created if needed; an interrupted run resumes there (required)")
    p.add_argument("--workers", type=int_at_least(1), default=1, metavar="K",
                   help="worker processes; the data set does not depend on it (default: %(default)s)")
    p.add_argument("--size", type=int_at_least(1), default=64, metavar="PX",
                   help="side of the stroke images in pixels (default: %(default)s)")
    p.add_argument("--shard-size", type=int_at_least(1), default=DEFAULT_SHARD_SIZE, metavar="N",
                   help="strokes per shard file (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0,
                   help="random seed; the same seed gives the same data set (default: %(default)s)")
    add_brush_argument(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run_make_dataset(args: argparse.Namespace) -> int:
    from ..training.dataset import make_dataset
    from ..strokes import get_stroke_type

    options = brush_options(args)
    stroke = get_stroke_type(args.stroke, **options)
    r = make_dataset(stroke, args.n, args.out, size=args.size, shard_size=args.shard_size,
                     workers=args.workers, seed=args.seed, progress=not args.quiet)
    rate = f" in {r['seconds']:.1f} s, {r['strokes_per_second']:.0f} strokes/s" if r["written"] else ""
    print(f"{args.out}: {r['n']} {stroke.name} strokes at {args.size}x{args.size} px in {r['shards']} "
          f"shards ({r['written']} written{rate}; {r['kept']} already there)")
    return 0


COMMAND = Command(
    name="make-dataset",
    summary="render random strokes into a sharded .npz data set (for the GAN renderer)",
    description="Render --n random strokes (the type's training sampler) at --size pixels into "
    "--out:\n  dataset.json, shard_00000.npz, ...  (actions, strokes on white, alphas; see "
    "neuralpaint/training/dataset.py)\nAn interrupted run resumes: complete shards are kept. --workers "
    "does not change the result.",
    add_arguments=add_make_dataset_arguments,
    run=run_make_dataset,
    epilog="examples:\n  neuralpaint make-dataset --stroke mypaint --n 100000 --out data/mypaint --workers 2\n"
    "  neuralpaint make-dataset --stroke mypaint --brush classic/charcoal --n 20000 --out data/charcoal",
)
