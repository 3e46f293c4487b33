"""Benchmark of the ``mypaint`` stroke type (libmypaint through ctypes) and of ``make-dataset``.

Measures, on the CPU:
  * ms per stroke rendered at 64 x 64 (the data set's size) and at 512 x 512, uniform actions;
  * ms per stroke of ``render_painting`` at 512 x 512 (painting-sized strokes, bounding-box culled);
  * PSNR of the 64 x 64 render against a 256 x 256 render box-downsampled (on white);
  * ``make_dataset`` throughput in strokes per second with 1 and with 2 workers.

    python scripts/bench_mypaint.py [--brush classic/dry_brush] [--n-dataset 4000] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

from neuralpaint.canvas.render import render_painting
from neuralpaint.training.dataset import make_dataset
from neuralpaint.strokes import get_stroke_type, mypaint


def timed(fn, repeats: int) -> float:
    """Median seconds of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        mypaint.clear_cache()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--brush", default=mypaint.DEFAULT_BRUSH)
    ap.add_argument("--n64", type=int, default=1000, help="strokes for the 64 x 64 timing")
    ap.add_argument("--n512", type=int, default=50, help="strokes for the 512 x 512 timings")
    ap.add_argument("--n-dataset", type=int, default=4000, help="strokes for the make-dataset throughput")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = ap.parse_args()

    st = get_stroke_type("mypaint", brush=args.brush)
    g = torch.Generator().manual_seed(0)
    uniform = st.sample(max(args.n64, args.n512), g)
    painting = st.sample_painting(args.n512, torch.Generator().manual_seed(1))
    r = {"brush": args.brush, "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count()}

    r["ms_per_stroke_64"] = 1e3 * timed(lambda: st.render(uniform[: args.n64], 64, 64), args.repeats) / args.n64
    r["ms_per_stroke_512"] = 1e3 * timed(lambda: st.render(uniform[: args.n512], 512, 512), args.repeats) / args.n512
    r["ms_per_stroke_render_painting_512"] = 1e3 * timed(
        lambda: render_painting(st, painting, 512, 512), args.repeats) / args.n512

    def on_white(colour, alpha):
        return colour * alpha + (1 - alpha)

    p = uniform[:64]
    small = on_white(*st.render(p, 64, 64))
    big = F.avg_pool2d(on_white(*st.render(p, 256, 256)), 4)
    r["psnr_64_vs_256_downsampled"] = 10 * math.log10(1 / F.mse_loss(small, big).item())

    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            s = make_dataset(st, args.n_dataset, tmp, shard_size=max(1, args.n_dataset // 16), workers=workers,
                             progress=False)
            r[f"make_dataset_strokes_per_s_{workers}_workers"] = s["strokes_per_second"]

    for key, value in r.items():
        print(f"{key:40s} {value:.3f}" if isinstance(value, float) else f"{key:40s} {value}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
