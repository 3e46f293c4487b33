"""``neuralpaint eval-renderer``: held-out PSNR and speed of a renderer checkpoint."""
from __future__ import annotations

import argparse
from pathlib import Path

from .common import Command, int_at_least


def add_eval_renderer_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", type=Path, metavar="CHECKPOINT", help="renderer checkpoint (.pt)")
    p.add_argument("--n", type=int_at_least(1), default=2000, help="held-out strokes (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out strokes (default: %(default)s)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    p.add_argument("--sampler", choices=["uniform", "train"], default="uniform",
                   help="uniform: every parameter uniform in [0, 1] (the published protocol); train: "
                   "also report the training sampler's figures (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--data", type=Path, default=None, metavar="DIR",
                   help="also report PSNR on the held-out part of this stroke data set (its last --val-size "
                   "strokes, as train-renderer --net gan holds out), at its resolution")
    p.add_argument("--val-size", type=int_at_least(1), default=1000, metavar="N",
                   help="held-out strokes at the end of --data (default: %(default)s)")


def run_eval_renderer(args: argparse.Namespace) -> int:
    import json

    from ..training.evaluation import evaluate_checkpoint

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


COMMAND = Command(
    name="eval-renderer",
    summary="held-out PSNR and speed of a renderer checkpoint",
    description="Evaluate a renderer checkpoint on held-out strokes with every parameter uniform "
    "in [0, 1],\ncompared at 128x128: foreground PSNR, alpha PSNR, their mean, ms per stroke.",
    add_arguments=add_eval_renderer_arguments,
    run=run_eval_renderer,
    epilog="example:\n  neuralpaint eval-renderer checkpoints/oilpaintbrush.pt --json",
)
