"""Benchmark of the ``mypaint`` stroke type (libmypaint through ctypes) and of ``make-dataset``.

Measures, on the CPU:
  * ms per stroke rendered at 64 x 64 (the data set's size) and at 512 x 512, uniform actions;
  * ms per stroke of ``render_painting`` at 512 x 512 (painting-sized strokes, bounding-box culled);
  * PSNR of the 64 x 64 render against a 256 x 256 render box-downsampled (on white);
  * ``make_dataset`` throughput in strokes per second with 1 and with 2 workers.

    python scripts/bench_mypaint.py [--brush classic/dry_brush (the default)] [--n-dataset 4000] [--json FILE]

Writes ``--json`` (default bench_results/mypaint.json); ``tables`` makes docs/mypaint.md's table.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time

import figures


def tables(results: dict) -> dict[str, figures.Table]:
    """``mypaint``: the render times, the fidelity across sizes and the data-set throughput."""
    r = results["results"]
    rows = []
    if "ms_per_stroke_64" in r:
        rows.append([f"render, 64×64, per stroke (uniform actions, {results['n64']} strokes)",
                     f"{r['ms_per_stroke_64']:.2f} ms"])
    if "ms_per_stroke_512" in r:
        rows.append([f"render, 512×512 full canvas, per stroke ({results['n512']} strokes)",
                     f"{r['ms_per_stroke_512']:.2f} ms"])
    if "ms_per_stroke_render_painting_512" in r:
        rows.append([f"`render_painting` 512², painting-sized strokes, per stroke ({results['n512']} strokes)",
                     f"{r['ms_per_stroke_render_painting_512']:.2f} ms"])
    if "psnr_64_vs_256_downsampled" in r:
        rows.append(["64² render vs 256² render box-downsampled (64 strokes)", f"{r['psnr_64_vs_256_downsampled']:.1f} dB"])
    for workers in (1, 2):
        key = f"make_dataset_strokes_per_s_{workers}_workers"
        if key in r:
            rows.append([f"`make-dataset`, 64², {workers} worker{'s' if workers > 1 else ''} "
                         f"({results['n_dataset']} strokes)", f"{r[key]:,.0f} strokes/s"])
    return {"mypaint": figures.Table([f"`{results['brush']}`", "measured"], rows)}


def timed(fn, repeats: int) -> float:
    """Median seconds of ``repeats`` calls of ``fn``."""
    from neuralpaint.strokes import mypaint

    times = []
    for _ in range(repeats):
        mypaint.clear_cache()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    import torch
    import torch.nn.functional as F

    from neuralpaint.canvas.render import render_painting
    from neuralpaint.strokes import get_stroke_type, mypaint
    from neuralpaint.training.dataset import make_dataset

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--brush", default="classic/dry_brush")  # the data set's and the GAN's brush
    ap.add_argument("--n64", type=int, default=1000, help="strokes for the 64 x 64 timing")
    ap.add_argument("--n512", type=int, default=50, help="strokes for the 512 x 512 timings")
    ap.add_argument("--n-dataset", type=int, default=4000, help="strokes for the make-dataset throughput")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default="bench_results/mypaint.json")
    args = ap.parse_args()

    st = get_stroke_type("mypaint", brush=args.brush)
    g = torch.Generator().manual_seed(0)
    uniform = st.sample(max(args.n64, args.n512), g)
    painting = st.sample_painting(args.n512, torch.Generator().manual_seed(1))

    def on_white(colour, alpha):
        return colour * alpha + (1 - alpha)

    def psnr_across_sizes():
        p = uniform[:64]
        small = on_white(*st.render(p, 64, 64))
        big = F.avg_pool2d(on_white(*st.render(p, 256, 256)), 4)
        return 10 * math.log10(1 / F.mse_loss(small, big).item())

    def dataset(workers):
        with tempfile.TemporaryDirectory() as tmp:
            return make_dataset(st, args.n_dataset, tmp, shard_size=max(1, args.n_dataset // 16), workers=workers,
                                progress=False)["strokes_per_second"]

    measurements = {
        "ms_per_stroke_64": lambda: 1e3 * timed(lambda: st.render(uniform[: args.n64], 64, 64), args.repeats) / args.n64,
        "ms_per_stroke_512": lambda: 1e3 * timed(lambda: st.render(uniform[: args.n512], 512, 512),
                                                 args.repeats) / args.n512,
        "ms_per_stroke_render_painting_512": lambda: 1e3 * timed(lambda: render_painting(st, painting, 512, 512),
                                                                 args.repeats) / args.n512,
        "psnr_64_vs_256_downsampled": psnr_across_sizes,
        "make_dataset_strokes_per_s_1_workers": lambda: dataset(1),
        "make_dataset_strokes_per_s_2_workers": lambda: dataset(2),
    }
    results, failed = {}, {}
    for key, measure in measurements.items():
        try:
            results[key] = measure()
        except Exception as e:  # a failed measurement is reported and left out of the results
            failed[key] = f"{type(e).__name__}: {e}"
            print(f"{key:40s} FAILED: {failed[key]}")
            continue
        print(f"{key:40s} {results[key]:.3f}", flush=True)
    figures.save(args.json, {"brush": args.brush, "n64": args.n64, "n512": args.n512, "n_dataset": args.n_dataset,
                             "repeats": args.repeats, "torch_threads": torch.get_num_threads(),
                             "results": results, "failed": failed},
                 timing=figures.INNER + f"; render times the median of {args.repeats} calls; make-dataset "
                 "strokes/s as make_dataset reports them")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
