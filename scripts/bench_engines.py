"""Benchmark: stroke engine throughput (strokes/s), forward and forward+backward.

    python scripts/bench_engines.py [--sizes 128 512] [--batch 64] [--threads 2] [--json out.json]

Strokes are drawn from each type's training sampler (every parameter uniform in [0, 1]); each
measurement renders full canvases of ``size x size`` for at least ``--seconds`` after a few
warm-up calls, and the median of ``--repeats`` such runs is reported. Inner timings (the torch
engines called in this process). ``tables`` makes the docs' table (docs/stroke-types.md) from the
results file.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import figures


def tables(results: dict) -> dict[str, figures.Table]:
    """``engines``: strokes per second, a column pair (forward, forward+backward) per size."""
    rows = results["results"]
    sizes = sorted({r["size"] for r in rows})
    header = ["stroke type"]
    for size in sizes:
        header += [f"{size}² forward", f"{size}² fwd+bwd"]
    table = []
    for name in dict.fromkeys(r["stroke"] for r in rows):
        cells = [name]
        for size in sizes:
            r = next((r for r in rows if r["stroke"] == name and r["size"] == size), None)
            cells += ["–", "–"] if r is None else [f"{r['forward_per_s']:,.0f}", f"{r['forward_backward_per_s']:,.0f}"]
        table.append(cells)
    return {"engines": figures.Table(header, table)}


def strokes_per_second(stroke, size: int, batch: int, backward: bool, seconds: float, repeats: int) -> float:
    """Median over ``repeats`` timed runs of at least ``seconds`` each."""
    return statistics.median(_timed_run(stroke, size, batch, backward, seconds) for _ in range(repeats))


def _timed_run(stroke, size: int, batch: int, backward: bool, seconds: float) -> float:
    import torch

    gen = torch.Generator().manual_seed(0)
    params = stroke.sample(batch, gen)

    def step():
        p = params.clone().requires_grad_(backward)
        colour, alpha = stroke.render(p, size, size)
        if backward:
            (colour * alpha).mean().backward()

    for _ in range(3):  # warm-up (first calls pay for page faults)
        step()
    n, start = 0, time.perf_counter()
    while True:
        step()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and n >= 3:
            return n * batch / elapsed


def main() -> int:
    import torch

    from neuralpaint.strokes import get_stroke_type, stroke_type_names

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 512])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per cell; the median is reported")
    ap.add_argument("--types", nargs="+", help="default: every type with a differentiable engine",
                    default=[n for n in stroke_type_names() if get_stroke_type(n).differentiable])
    ap.add_argument("--json", default="bench_results/engines.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    for name in args.types:  # warm up every engine once (first calls pay for page faults)
        get_stroke_type(name).render(torch.rand(args.batch, get_stroke_type(name).n_params), 128, 128)
    rows, failed = [], []
    print(f"torch {torch.__version__}, {args.threads} threads, batch {args.batch}, {platform.processor() or platform.machine()}")
    print(f"{'stroke type':<15}{'size':>6}{'forward/s':>12}{'fwd+bwd/s':>12}")
    for name in args.types:
        stroke = get_stroke_type(name)
        for size in args.sizes:
            try:
                fwd = strokes_per_second(stroke, size, args.batch, False, args.seconds, args.repeats)
                bwd = strokes_per_second(stroke, size, args.batch, True, args.seconds, args.repeats)
            except Exception as e:  # a failed run is reported and left out of the results
                failed.append({"stroke": name, "size": size, "error": f"{type(e).__name__}: {e}"})
                print(f"{name:<15}{size:>6}  FAILED: {type(e).__name__}: {e}", flush=True)
                continue
            rows.append({"stroke": name, "size": size, "batch": args.batch, "forward_per_s": round(fwd, 1),
                         "forward_backward_per_s": round(bwd, 1)})
            print(f"{name:<15}{size:>6}{fwd:>12.0f}{bwd:>12.0f}", flush=True)
    if args.json:
        figures.save(args.json, {"threads": args.threads, "batch": args.batch, "seconds": args.seconds,
                                 "repeats": args.repeats, "results": rows, "failed": failed},
                     timing=figures.INNER + f"; median of {args.repeats} run(s) of at least {args.seconds:g} s "
                     f"per cell, {args.threads} threads")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
