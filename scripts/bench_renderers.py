"""Benchmark: neural renderers against their engines, next to the published figures.

    python scripts/bench_renderers.py [CHECKPOINT ...] [--n 2000] [--device auto] [--json out.json]

With no checkpoints given, evaluates every ``checkpoints/*.pt``. Each row: stroke type, net,
parameters, checkpoint size, held-out PSNR (foreground, alpha, mean) under the published protocol
(``neuralpaint eval-renderer``: every parameter uniform in [0, 1], compared at 128x128), training
steps, and ms per stroke forward / forward+backward (batch 64) on the device. Then, per stroke
type seen, the resolution ceiling (``--ceiling 64``): what a perfect net drawing at that size
would score, i.e. the engine's own render at that size upsampled to 128x128.
"""
from __future__ import annotations

import argparse
import json
import pathlib

import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Zou et al., "Stylized Neural Painting" (CVPR 2021), validation PSNR at 128x128 (mean of
# foreground and alpha), 18 M-parameter nets trained 400 epochs x 50,000 strokes
PUBLISHED = {
    ("oilpaintbrush", "rasterization"): 24.02, ("oilpaintbrush", "shading"): 26.05,
    ("oilpaintbrush", "fusion"): 26.98, ("watercolor", "rasterization"): 25.77,
    ("watercolor", "shading"): 29.05, ("watercolor", "fusion"): 31.39,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="*", type=pathlib.Path)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ceiling", type=int, nargs="*", default=[64], metavar="SIZE",
                    help="net output sizes whose resolution ceiling to print (default: 64; none: skip)")
    ap.add_argument("--json", default="bench_results/renderers.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from neuralpaint.training.evaluation import evaluate_checkpoint, resolution_ceiling

    paths = args.checkpoints or sorted((ROOT / "checkpoints").glob("*.pt"))
    rows = []
    print(f"held-out: {args.n} strokes, every parameter uniform in [0, 1], at 128x128, seed {args.seed}")
    print(f"{'stroke type':<14}{'net':<21}{'params':>8}{'MB':>6}{'steps':>7}{'fg':>7}{'alpha':>7}{'mean':>7}"
          f"{'published':>10}{'ms fwd':>8}{'ms f+b':>8}")
    for path in paths:
        r = evaluate_checkpoint(path, n=args.n, seed=args.seed, device=args.device)
        r["checkpoint"] = str(path)
        r["mb"] = round(path.stat().st_size / 2**20, 2)
        base = r["net"].removesuffix("-light")
        pub = PUBLISHED.get((r["stroke_type"], base))
        r["published_psnr"] = pub
        rows.append(r)
        print(f"{r['stroke_type']:<14}{r['net']:<21}{r['params'] / 1e6:>7.2f}M{r['mb']:>6.1f}{r['steps']:>7}"
              f"{r['psnr_fg']:>7.2f}{r['psnr_alpha']:>7.2f}{r['psnr']:>7.2f}{(f'{pub:.2f}' if pub else '-'):>10}"
              f"{r['ms_forward']:>8.3f}{r['ms_backward']:>8.3f}", flush=True)
    ceilings = []
    if args.ceiling:
        print("resolution ceiling: the engine's own render at SIZE, upsampled to 128x128 (same strokes)")
        print(f"{'stroke type':<14}{'size':>6}{'fg':>7}{'alpha':>7}{'mean':>7}")
        # mypaint is skipped: libmypaint draws each size on its own, so there is no fixed reference
        for stroke_type in dict.fromkeys(r["stroke_type"] for r in rows if r["stroke_type"] != "mypaint"):
            for size in args.ceiling:
                c = {"stroke_type": stroke_type, "size": size,
                     **resolution_ceiling(stroke_type, size, n=args.n, seed=args.seed, device=args.device)}
                ceilings.append(c)
                print(f"{stroke_type:<14}{size:>6}{c['psnr_fg']:>7.2f}{c['psnr_alpha']:>7.2f}{c['psnr']:>7.2f}", flush=True)
    if args.json:
        out = pathlib.Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"n": args.n, "seed": args.seed, "results": rows, "ceiling": ceilings}, indent=2))
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
