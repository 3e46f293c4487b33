"""``neuralpaint train-renderer``: train a renderer net (or the GAN renderer) to imitate an engine."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import NeuralPaintError
from .common import Command, int_at_least


def add_train_renderer_arguments(p: argparse.ArgumentParser) -> None:
    from ..nets import net_names
    from ..strokes import stroke_type_names

    p.add_argument("--stroke", required=True, choices=stroke_type_names(), metavar="TYPE",
                   help="stroke type whose engine the net imitates, one of: %(choices)s (required)")
    p.add_argument("--net", choices=net_names(), default=None, metavar="NET",
                   help="renderer net, one of: %(choices)s (default: from the config, fusion-light)")
    p.add_argument("--config", type=Path, default=None, metavar="FILE.yaml",
                   help="YAML overriding configs/train_renderer.yaml, or configs/train_gan.yaml with "
                   "--net gan (flags override both)")
    p.add_argument("--steps", type=int_at_least(1), default=None, help="optimiser steps (default: config, 20000; "
                   "with --net gan: of the --phase given)")
    p.add_argument("--batch-size", type=int_at_least(1), default=None, help="strokes per step (default: config, 64)")
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
    from ..training.train_gan import GanConfig, train_gan

    if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:
        raise NeuralPaintError("--net gan trains in one process: run it without torchrun")
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
    from ..training.train import TrainConfig, train_renderer

    if args.net == "gan":
        return _run_train_gan(args)
    if args.data is not None or args.phase != "all" or args.vgg_weights is not None:
        raise NeuralPaintError("--data, --phase and --vgg-weights apply only to --net gan")
    cfg = TrainConfig.from_yaml(args.config, stroke=args.stroke, net=args.net, steps=args.steps,
                                batch_size=args.batch_size, lr=args.lr, seed=args.seed, device=args.device)
    out = args.out or Path("runs") / f"{cfg.stroke}-{cfg.net}"
    result = train_renderer(cfg, out, resume=args.resume, progress=not args.quiet)
    if not result["master"]:  # under torchrun, rank 0 alone reports
        return 0
    print(f"trained {cfg.stroke}/{cfg.net} for {result['steps']} steps: held-out PSNR {result.get('psnr', float('nan')):.2f} dB "
          f"(best {result['best_psnr']:.2f} dB); best weights in {out / 'best.pt'}")
    return 0


COMMAND = Command(
    name="train-renderer",
    summary="train a neural renderer to imitate a stroke engine",
    description="Train a renderer net on strokes drawn and rendered on the fly by the stroke "
    "type's engine.\nSaves best.pt (float16), last.pt and state.pt in --out; Ctrl-C saves too, "
    "and --resume continues.\n"
    "Under torchrun (torchrun --nproc_per_node N -m neuralpaint train-renderer ...) N processes\n"
    "train together with DistributedDataParallel (gloo on CPU, nccl on CUDA); rank 0 writes the files.",
    add_arguments=add_train_renderer_arguments,
    run=run_train_renderer,
    epilog="examples:\n  neuralpaint train-renderer --stroke oilpaintbrush --steps 20000\n"
    "  neuralpaint train-renderer --stroke oilpaintbrush --resume   # after an interruption\n"
    "  torchrun --standalone --nproc_per_node 2 -m neuralpaint train-renderer --stroke rectangle --device cpu\n"
    "  neuralpaint train-renderer --stroke mypaint --net gan --data data/mypaint   # GAN renderer, 3 phases",
)
