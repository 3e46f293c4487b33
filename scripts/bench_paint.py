"""Benchmark: painting quality and speed.

    python scripts/bench_paint.py [--types rectangle oilpaintbrush mypaint] [--renderers auto engine neural]
                                  [--images astronaut chelsea coffee] [--size 256] [--strokes 500]

Protocol: each photo is centre-cropped to a square and resized to ``--size`` (Lanczos); it is
painted with ``--strokes`` strokes and otherwise default settings; the final painting (the
engine's render of the strokes, as 8-bit ``<name>_final.png``) is compared with the resized photo:
PSNR and SSIM (kornia, 11x11 Gaussian window). Wall time covers painting and the final render, on
the threads given. ``auto`` is the engine, or the neural renderer for engines that are not
differentiable (mypaint: the final picture is still libmypaint's); combinations that cannot run
(``mypaint`` with ``engine``) are skipped with a note. Writes a table and JSON; ``--save DIR``
keeps the paintings.
"""
from __future__ import annotations

import argparse
import json
import math
import pathlib
import time

import cv2
import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load_square(name: str, size: int) -> np.ndarray:
    from neuralpaint.imagefiles import read_image

    path = next((ROOT / "test_images").glob(f"{name}.*"))
    img = read_image(path)
    h, w = img.shape[:2]
    s = min(h, w)
    img = img[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_LANCZOS4).clip(0, 1)


def quality(final: torch.Tensor, photo: np.ndarray) -> tuple[float, float]:
    """PSNR and SSIM of an 8-bit-quantised painting ``(3, H, W)`` against ``photo (H, W, 3)``."""
    import kornia

    q = (final.clamp(0, 1) * 255).round() / 255
    ref = torch.from_numpy(photo).permute(2, 0, 1).float()
    mse = torch.mean((q - ref) ** 2).item()
    ssim = kornia.metrics.ssim(q[None], ref[None], 11).mean().item()
    return 10 * math.log10(1 / max(mse, 1e-12)), ssim


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--types", nargs="+", default=["rectangle", "oilpaintbrush", "markerpen", "watercolor"])
    ap.add_argument("--renderers", nargs="+", default=["auto"], choices=["auto", "engine", "neural"])
    ap.add_argument("--checkpoint", default=None, help="renderer checkpoint for neural (default: checkpoints/<type>.pt)")
    ap.add_argument("--images", nargs="+", default=["astronaut", "chelsea", "coffee"])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--strokes", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="PaintConfig overrides")
    ap.add_argument("--save", type=pathlib.Path, default=None)
    ap.add_argument("--json", default="bench_results/paint.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from neuralpaint.canvas.render import render_painting
    from neuralpaint.imagefiles import write_image
    from neuralpaint.painter import PaintConfig, paint_image
    from neuralpaint.strokes import get_stroke_type

    overrides = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in args.set)}
    rows = []
    print(f"{args.strokes} strokes, {args.size}x{args.size}, {args.threads} threads, overrides {overrides or 'none'}")
    print(f"{'stroke type':<15}{'renderer':<9}{'image':<11}{'PSNR':>7}{'SSIM':>7}{'seconds':>9}")
    for stroke in args.types:
        differentiable = get_stroke_type(stroke).differentiable
        for renderer in args.renderers:
            if renderer == "auto":
                renderer = "engine" if differentiable else "neural"
            if renderer == "engine" and not differentiable:
                print(f"{stroke:<15}{renderer:<9}skipped: the engine is not differentiable")
                continue
            per_type = []
            for name in args.images:
                photo = load_square(name, args.size)
                cfg = PaintConfig(stroke=stroke, renderer=renderer, size=args.size, max_strokes=args.strokes,
                                  checkpoint=args.checkpoint if renderer == "neural" else None, **overrides)
                start = time.perf_counter()
                strokes, _, _ = paint_image(photo, cfg)
                final = render_painting(strokes.stroke(), strokes.params_tensor(), args.size, args.size,
                                        strokes.canvas_colour)
                seconds = time.perf_counter() - start
                psnr, ssim = quality(final, photo)
                row = {"stroke": stroke, "renderer": renderer, "image": name, "size": args.size,
                       "strokes": strokes.n, "psnr": round(psnr, 2), "ssim": round(ssim, 4),
                       "seconds": round(seconds, 1), "overrides": overrides}
                rows.append(row)
                per_type.append(row)
                print(f"{stroke:<15}{renderer:<9}{name:<11}{psnr:>7.2f}{ssim:>7.3f}{seconds:>9.1f}", flush=True)
                if args.save:
                    write_image(args.save / f"{name}_{stroke}_{renderer}.png", final)
            mean = lambda k: sum(r[k] for r in per_type) / len(per_type)  # noqa: E731
            print(f"{stroke:<15}{renderer:<9}{'mean':<11}{mean('psnr'):>7.2f}{mean('ssim'):>7.3f}{mean('seconds'):>9.1f}")
    if args.json:
        path = pathlib.Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"threads": args.threads, "results": rows}, indent=2))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
