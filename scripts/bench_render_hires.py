"""Benchmark: rendering a 500-stroke painting at x1, x4, x8, x16 of a 512x512 canvas.

    python scripts/bench_render_hires.py [--scales 1 4 8 16] [--n 500] [--threads 2] [--json out.json]

For each stroke type, a random painting (``random_painting``: strokes sized 2-30 % of the canvas,
largest first, seed 0) is rendered with ``neuralpaint.compositing.render_painting``, each size in a
fresh subprocess so that its peak memory (max RSS of the process, torch included) is its own.
Seconds cover the render only (no PNG encoding).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import resource
import subprocess
import sys
import time


def run_one(stroke: str, scale: int, n: int, threads: int) -> dict:
    import torch

    from neuralpaint.compositing import render_painting
    from neuralpaint.random_strokes import random_painting

    torch.set_num_threads(threads)
    strokes = random_painting(stroke, n, 512, 512, seed=0)
    size = 512 * scale
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    render_painting(strokes.stroke(), strokes.params_tensor(), size, size, strokes.canvas_colour)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"stroke": stroke, "scale": scale, "size": size, "n": n, "seconds": round(seconds, 2),
            "peak_rss_mb": round(peak), "rss_before_mb": round(base_rss)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 4, 8, 16])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--types", nargs="+", default=None)
    ap.add_argument("--json", default="bench_results/render_hires.json")
    ap.add_argument("--one", nargs=2, metavar=("STROKE", "SCALE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]), args.n, args.threads)))
        return

    from neuralpaint.strokes import stroke_type_names

    rows = []
    print(f"{args.n} strokes, canvas 512x512, {args.threads} threads")
    print(f"{'stroke type':<15}{'scale':>6}{'size':>8}{'seconds':>9}{'peak MB':>9}")
    for stroke in args.types or stroke_type_names():
        for scale in args.scales:
            out = subprocess.run(
                [sys.executable, __file__, "--one", stroke, str(scale), "--n", str(args.n),
                 "--threads", str(args.threads)], capture_output=True, text=True, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"{stroke:<15}{scale:>6}{row['size']:>8}{row['seconds']:>9.2f}{row['peak_rss_mb']:>9}", flush=True)
    if args.json:
        path = pathlib.Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"threads": args.threads, "results": rows}, indent=2))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
