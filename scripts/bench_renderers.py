"""Benchmark: neural renderers against their engines, next to the published figures.

    python scripts/bench_renderers.py [CHECKPOINT ...] [--n 2000] [--device auto] [--json out.json]

With no checkpoints given, evaluates every ``checkpoints/*.pt`` (the shipped ones). Each row: stroke type, net,
parameters, checkpoint size, held-out PSNR (foreground, alpha, mean) under the published protocol
(``neuralpaint eval-renderer``: every parameter uniform in [0, 1], compared at 128x128), training
steps, and ms per stroke forward / forward+backward (batch 64) on the device. Then, per stroke
type seen, the resolution ceiling (``--ceiling 64``): what a perfect net drawing at that size
would score, i.e. the engine's own render at that size upsampled to 128x128.

``tables`` makes docs/renderers.md's tables: ``shipped`` (the checkpoints with their ceiling) and
``ablation`` (runs named ``runs/ablation/TYPE-VARIANT/best.pt``, a column per variant).
"""
from __future__ import annotations

import argparse
import pathlib

import figures

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Zou et al., "Stylized Neural Painting" (CVPR 2021), validation PSNR at 128x128 (mean of
# foreground and alpha), 18 M-parameter nets trained 400 epochs x 50,000 strokes
PUBLISHED = {
    ("oilpaintbrush", "rasterization"): 24.02, ("oilpaintbrush", "shading"): 26.05,
    ("oilpaintbrush", "fusion"): 26.98, ("watercolor", "rasterization"): 25.77,
    ("watercolor", "shading"): 29.05, ("watercolor", "fusion"): 31.39,
}
ABLATION_VARIANTS = {  # run-name suffix -> column heading
    "rasterization-light": "rasterization-light", "shading-light": "shading-light",
    "fusion-light": "fusion-light", "fusion-light-coords": "fusion-light-coords",
    "fusion-light-wide": "fusion-light, wide rasterization", "fusion-light-lr3e-3": "fusion-light, lr 3e-3",
}


def tables(results: dict) -> dict[str, figures.Table]:
    """``shipped``: one row per checkpoint, with its type's resolution ceiling; ``ablation``: per
    stroke type, the mean PSNR of each ``runs/ablation/TYPE-VARIANT`` run, and the published one."""
    ceiling = {(c["stroke_type"], c["size"]): c["psnr"] for c in results.get("ceiling", [])}
    rows = []
    for r in results["results"]:
        c = ceiling.get((r["stroke_type"], r["size"]))
        rows.append([r["stroke_type"], f"`{r['checkpoint']}`", r["net"], f"{r['params'] / 1e6:.2f} M", f"{r['mb']:.1f}",
                     f"{r['steps']:,}".replace(",", " "), f"{r['psnr_fg']:.2f}", f"{r['psnr_alpha']:.2f}",
                     f"**{r['psnr']:.2f}**", "–" if c is None else f"{c:.2f}",
                     "–" if r.get("published_psnr") is None else f"{r['published_psnr']:.2f}",
                     f"{r['ms_forward']:.3f}", f"{r['ms_backward']:.3f}"])
    shipped = figures.Table(["stroke type", "checkpoint", "net", "params", "MB", "steps", "fg", "alpha", "mean",
                             "64-px ceiling", "published (18 M, GPU)", "ms fwd", "ms fwd+bwd"], rows, "lll")

    runs = {}  # (stroke type, variant) -> mean PSNR
    for r in results["results"]:
        parts = pathlib.PurePath(r["checkpoint"]).parts
        if len(parts) >= 3 and parts[-3] == "ablation":
            stroke, _, variant = parts[-2].partition("-")
            runs[stroke, variant] = r
    variants = [v for v in ABLATION_VARIANTS if any(key[1] == v for key in runs)]
    rows = []
    for stroke in dict.fromkeys(key[0] for key in runs):
        cells = [stroke]
        for v in variants:
            r = runs.get((stroke, v))
            cells.append("" if r is None else f"{r['psnr']:.2f}" + (f" ({r['steps']} steps)" if r["steps"] != 2000 else ""))
        pub = [PUBLISHED.get((stroke, net)) for net in ("rasterization", "shading", "fusion")]
        cells.append(" / ".join("–" if p is None else f"{p:.2f}" for p in pub))
        rows.append(cells)
    ablation = figures.Table(["stroke type", *(ABLATION_VARIANTS[v] for v in variants),
                              "published: raster / shading / fusion"], rows)
    return {"shipped": shipped, "ablation": ablation}


def main() -> int:
    import torch

    from neuralpaint.training.evaluation import evaluate_checkpoint, resolution_ceiling

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

    paths = args.checkpoints or sorted((ROOT / "checkpoints").glob("*.pt"))
    rows, failed = [], []
    print(f"held-out: {args.n} strokes, every parameter uniform in [0, 1], at 128x128, seed {args.seed}")
    print(f"{'stroke type':<14}{'net':<21}{'params':>8}{'MB':>6}{'steps':>7}{'fg':>7}{'alpha':>7}{'mean':>7}"
          f"{'published':>10}{'ms fwd':>8}{'ms f+b':>8}")
    for path in paths:
        try:
            r = evaluate_checkpoint(path, n=args.n, seed=args.seed, device=args.device)
        except Exception as e:  # a failed run is reported and left out of the results
            failed.append({"checkpoint": str(path), "error": f"{type(e).__name__}: {e}"})
            print(f"{str(path):<35} FAILED: {type(e).__name__}: {e}", flush=True)
            continue
        r["checkpoint"] = str(path.relative_to(ROOT) if path.is_absolute() and path.is_relative_to(ROOT) else path)
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
        figures.save(args.json, {"n": args.n, "seed": args.seed, "threads": args.threads, "results": rows,
                                 "ceiling": ceilings, "failed": failed},
                     timing=figures.INNER + f"; ms per stroke, batch 64, {args.threads} threads, as eval-renderer "
                     "measures it")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
