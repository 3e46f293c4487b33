"""Benchmark: the compiled paint kernels, their speed at 16x and the curve kernel's accuracy.

    python scripts/bench_kernels.py [--n 500] [--seed 7] [--size 512] [--scale 16] [--repeat 3]
        [--accuracy-scales 1 4] [--accuracy-n 500] [--json bench_results/kernels.json]

The strokes are ``neuralpaint random-strokes --stroke TYPE --n 500 --seed 7`` (``random_painting``:
sized like a real painting, largest first) on a ``--size`` square canvas, as float32 (a strokes file).

* **timing** (every type with a compiled paint kernel: rectangle, oilpaintbrush, markerpen,
  watercolor): the painting rendered at ``--scale`` times the canvas in bands, as ``render-hires``
  does (``canvas.render.render_bands``: ``band_rows`` rows a band, each band painted with the
  strokes whose boxes reach it by ``StrokeType.paint_onto``). Only the ``paint_onto`` calls are
  timed (not filling the band, clipping, 8-bit conversion or encoding); one run is the sum over
  the bands; after one untimed warm-up run, the median of ``--repeat`` runs. Inner timing.
* **accuracy** (markerpen, watercolor: ``neuralpaint/kernels/curves.py``): the whole painting
  from the kernel at each of ``--accuracy-scales`` against a brute force (``brute_force``) that
  gives every pixel of every stroke's box the deepest point of the curve found by dense sampling
  (``--dense-samples`` evenly spaced ``t``, then ``DENSE_NEWTON`` Newton steps, keeping the deeper
  of the two), with no block skipping, interpolation or early exit; both composite in painting
  order. PSNR over the whole picture, the largest difference, and pixels off by more than 1/255.
  ``--accuracy-n`` paints the first strokes only, for a quicker brute force.

``tables`` makes docs/stroke-types.md's ``timing`` and ``accuracy`` tables from the results file.
"""
from __future__ import annotations

import argparse
import statistics
import time

import figures

TIMED_TYPES = ("rectangle", "oilpaintbrush", "markerpen", "watercolor")
CURVE_TYPES = ("markerpen", "watercolor")
DENSE_SAMPLES = 129  # on 200 strokes at 512², the same picture as 1025 samples (to 1e-9); 65 missed a narrow basin
DENSE_NEWTON = 8


def tables(results: dict) -> dict[str, figures.Table]:
    """``timing``: per stroke type, the kernel's seconds for the painting at ``scale``; ``accuracy``:
    per curve type and scale, the kernel's picture against the brute force."""
    size, scale = results["size"], results["scale"]
    rows = []
    for r in results["speed"]:
        side = size * scale
        runs = r["seconds"]
        rows.append([r["stroke"], f"{side}×{side}", f"{r['bands']} × {r['band_rows']} rows",
                     f"{r['strokes_painted']}", f"{statistics.median(runs):.2f} s",
                     f"{min(runs):.2f}–{max(runs):.2f} s", f"{1e3 * statistics.median(runs) / results['n']:.1f} ms",
                     f"{side * side / statistics.median(runs) / 1e6:,.0f}"])
    timing = figures.Table(["stroke type", "canvas", "bands", "stroke pieces painted",
                            f"kernel, median of {results['repeat']}", "range", "per stroke", "Mpixel/s"], rows)
    rows = []
    for r in results["accuracy"]:
        side = size * r["scale"]
        rows.append([r["stroke"], f"×{r['scale']}", f"{side}×{side}", f"{r['n']}", f"{r['psnr_db']:.1f} dB",
                     f"{r['max_abs']:.2e}", f"{r['pixels_off']:,} of {side * side:,}"])
    accuracy = figures.Table(["stroke type", "scale", "canvas", "strokes",
                              f"PSNR vs brute force ({results['dense_samples']} samples + {results['dense_newton']} Newton)",
                              "largest difference",
                              "pixels off by > 1/255"], rows)
    return {"timing": timing, "accuracy": accuracy}


def bands_of(stroke, values, height: int, width: int):
    """``render_bands``' plan: rows per band and, per band, its top row and the strokes reaching it."""
    from neuralpaint.canvas.render import band_rows
    from neuralpaint.strokes.base import pixel_ranges

    band = band_rows(width, stroke=stroke)
    boxes = pixel_ranges(stroke.bounding_boxes(values, height, width), height, width)
    plan = []
    for y0 in range(0, height, band):
        y1 = min(height, y0 + band)
        reach = (boxes[:, 2] > y0) & (boxes[:, 0] < y1) & (boxes[:, 3] > boxes[:, 1])
        plan.append((y0, values[reach]))
    return band, plan


def kernel_seconds(stroke, values, height: int, width: int, canvas_colour) -> tuple[float, int]:
    """Seconds of the ``paint_onto`` calls that paint the picture band by band; bands painted."""
    from neuralpaint.canvas.render import PATCH, blank

    band, plan = bands_of(stroke, values, height, width)
    total = 0.0
    for y0, part in plan:  # each band's canvas as render_bands makes it: whole patches
        rows = min(band, height - y0)
        canvas = blank(-(-rows // PATCH) * PATCH, -(-width // PATCH) * PATCH, canvas_colour, values.dtype)
        start = time.perf_counter()
        if not stroke.paint_onto(part, canvas, y0, height, width):
            raise RuntimeError(f"no compiled kernel paints {stroke.name} strokes here")
        total += time.perf_counter() - start
    return total, len(plan)


def brute_force(stroke, values, height: int, width: int, canvas_colour, samples: int = DENSE_SAMPLES,
                chunk: int = 1 << 21):
    """The curve stroke type's definition, pixel by pixel: ``(3, height, width)`` float64.

    For each stroke in order, each pixel of its box gets the deepest point ``t`` of the tapered
    curve (minimising ``|B(t) - p| - r(t)``) from ``samples`` evenly spaced samples of ``t`` refined by
    ``DENSE_NEWTON`` Newton steps; then the type's coverage, density (watercolor's edge
    darkening), colour along the curve, and the compositing ``canvas += alpha (colour - canvas)``.
    The fields are read in the kernel layout (``StrokeType.kernel_columns``: the marker pen's one
    colour at both ends), clipped to [0, 1] as ``paint_onto`` does."""
    import numpy as np

    from neuralpaint.kernels import curves
    from neuralpaint.strokes.base import pixel_ranges
    from neuralpaint.strokes.bezier import MAX_RADIUS
    from neuralpaint.strokes.watercolor import CENTRE_DENSITY

    watercolor = stroke.name == "watercolor"
    fields = np.clip(np.asarray(values, np.float64), 0.0, 1.0)[:, stroke.kernel_columns]
    boxes = pixel_ranges(stroke.bounding_boxes(np.clip(values, 0.0, 1.0), height, width), height, width)
    canvas = np.empty((3, height, width))
    canvas[:] = np.asarray(canvas_colour, np.float64).reshape(3, 1, 1)
    S = max(height, width)
    ts = np.linspace(0.0, 1.0, samples)
    for q, (top, left, bottom, right) in zip(fields, boxes.tolist()):
        if bottom <= top or right <= left:
            continue
        x0, y0 = q[curves.P0X] * width, q[curves.P0Y] * height
        x1, y1 = q[curves.P1X] * width, q[curves.P1Y] * height
        x2, y2 = q[curves.P2X] * width, q[curves.P2Y] * height
        ax, ay = 2 * (x1 - x0), 2 * (y1 - y0)
        cx, cy = x0 - 2 * x1 + x2, y0 - 2 * y1 + y2
        r0, r2 = q[curves.RADIUS0] * MAX_RADIUS * S, q[curves.RADIUS2] * MAX_RADIUS * S
        k = r2 - r0
        c_start = q[[curves.RED, curves.GREEN, curves.BLUE]].reshape(3, 1, 1)
        c_end = q[[curves.RED_END, curves.GREEN_END, curves.BLUE_END]].reshape(3, 1, 1)
        xs = np.arange(left, right) + 0.5
        step = max(1, chunk // ((right - left) * samples))
        for row in range(top, bottom, step):
            ys = np.arange(row, min(bottom, row + step))[:, None] + 0.5
            dx, dy = x0 - xs[None, :], y0 - ys  # (h, w), (h, 1)
            # g(t) = |B(t) - p|^2 = c0 + c1 t + c2 t^2 + c3 t^3 + c4 t^4
            c0 = dx * dx + dy * dy
            c1 = 2 * (dx * ax + dy * ay)
            c2 = ax * ax + ay * ay + 2 * (dx * cx + dy * cy)
            c3, c4 = 2 * (ax * cx + ay * cy), cx * cx + cy * cy

            def g(t):
                return (((c4 * t + c3) * t + c2) * t + c1) * t + c0

            def depth(t):
                return np.sqrt(np.maximum(g(t), 0.0)) - k * t

            depths = depth(ts[:, None, None] + np.zeros((1,) + c0.shape))  # (T, h, w)
            best = ts[depths.argmin(0)]
            t = best
            for _ in range(DENSE_NEWTON):
                gt = np.maximum(g(t), 1e-12)
                inv = 1.0 / np.sqrt(gt)
                slope = ((4 * c4 * t + 3 * c3) * t + 2 * c2) * t + c1
                curv = (12 * c4 * t + 6 * c3) * t + 2 * c2
                df = np.maximum(np.abs(curv - k * slope * inv), 1e-3)
                t = np.clip(t - (slope - 2 * k * gt * inv) / df, 0.0, 1.0)
            t = np.where(depth(t) <= depth(best), t, best)
            distance = np.sqrt(np.maximum(g(t), 0.0))
            radius = r0 + k * t
            hw = np.maximum(radius, 0.0)
            cover = np.clip(hw + 0.5 - distance, 0.0, 1.0) - np.clip(0.5 - hw - distance, 0.0, 1.0)
            if watercolor:
                rim = np.minimum(distance / (radius + 1e-3), 1.0)
                cover = cover * (CENTRE_DENSITY + (1 - CENTRE_DENSITY) * rim * rim)
            alpha = cover * q[curves.ALPHA]
            window = canvas[:, row : row + ys.shape[0], left:right]
            window += alpha * (c_start + (c_end - c_start) * t - window)
    return canvas


def main() -> int:
    import numpy as np

    from neuralpaint.canvas.render import render_painting
    from neuralpaint.random_strokes import random_painting
    from neuralpaint.strokes import get_stroke_type

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500, help="random strokes (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--size", type=int, default=512, help="canvas of the strokes (default: %(default)s)")
    ap.add_argument("--scale", type=int, default=16, help="timing: render at this times the canvas")
    ap.add_argument("--repeat", type=int, default=3, help="timing: runs after the warm-up; the median is reported")
    ap.add_argument("--types", nargs="+", default=list(TIMED_TYPES), choices=TIMED_TYPES)
    ap.add_argument("--accuracy-scales", type=int, nargs="*", default=[1, 4])
    ap.add_argument("--accuracy-n", type=int, default=None, help="accuracy: the first N strokes (default: --n)")
    ap.add_argument("--dense-samples", type=int, default=DENSE_SAMPLES,
                    help="accuracy: samples of t per pixel in the brute force (default: %(default)s)")
    ap.add_argument("--json", default="bench_results/kernels.json")
    args = ap.parse_args()

    speed, accuracy, failed = [], [], []
    side = args.size * args.scale
    print(f"{args.n} random strokes (seed {args.seed}) of a {args.size}² canvas; kernel time at {side}², "
          f"median of {args.repeat}")
    for name in args.types:
        stroke = get_stroke_type(name)
        strokes = random_painting(name, args.n, args.size, args.size, seed=args.seed)
        values = strokes.params
        try:
            kernel_seconds(stroke, values, args.size, args.size, strokes.canvas_colour)  # compile / load
            band, plan = bands_of(stroke, values, side, side)
            kernel_seconds(stroke, values, side, side, strokes.canvas_colour)  # warm-up
            runs = [kernel_seconds(stroke, values, side, side, strokes.canvas_colour)[0] for _ in range(args.repeat)]
        except Exception as e:  # a failed run is reported and left out of the results
            failed.append({"stroke": name, "part": "timing", "error": f"{type(e).__name__}: {e}"})
            print(f"{name:<15}timing FAILED: {type(e).__name__}: {e}", flush=True)
            continue
        speed.append({"stroke": name, "bands": len(plan), "band_rows": band,
                       "strokes_painted": int(sum(part.shape[0] for _, part in plan)),
                       "seconds": [round(s, 4) for s in runs]})
        print(f"{name:<15}{len(plan)} bands of {band} rows: {statistics.median(runs):.2f} s "
              f"({', '.join(f'{s:.2f}' for s in runs)})", flush=True)

    n_acc = args.accuracy_n or args.n
    for name in CURVE_TYPES:
        stroke = get_stroke_type(name)
        strokes = random_painting(name, args.n, args.size, args.size, seed=args.seed)
        values = strokes.params[:n_acc]
        for scale in args.accuracy_scales:
            h = w = args.size * scale
            try:
                start = time.perf_counter()
                kernel = render_painting(stroke, values, h, w, strokes.canvas_colour).astype(np.float64)
                reference = np.clip(brute_force(stroke, values, h, w, strokes.canvas_colour, args.dense_samples),
                                    0.0, 1.0)
                seconds = time.perf_counter() - start
            except Exception as e:  # a failed run is reported and left out of the results
                failed.append({"stroke": name, "part": f"accuracy x{scale}", "error": f"{type(e).__name__}: {e}"})
                print(f"{name:<15}accuracy ×{scale} FAILED: {type(e).__name__}: {e}", flush=True)
                continue
            diff = np.abs(kernel - reference)
            mse = float(np.mean(diff**2))
            r = {"stroke": name, "scale": scale, "n": int(values.shape[0]),
                 "psnr_db": round(10 * np.log10(1.0 / mse), 2) if mse > 0 else float("inf"),
                 "max_abs": float(diff.max()), "pixels_off": int((diff.max(0) > 1 / 255).sum())}
            accuracy.append(r)
            print(f"{name:<15}accuracy ×{scale} ({h}²): {r['psnr_db']:.1f} dB, largest difference {r['max_abs']:.2e}, "
                  f"{r['pixels_off']} pixels off by > 1/255 ({seconds:.0f} s)", flush=True)

    figures.save(args.json, {"n": args.n, "seed": args.seed, "size": args.size, "scale": args.scale,
                             "repeat": args.repeat, "dtype": "float32", "dense_samples": args.dense_samples,
                             "dense_newton": DENSE_NEWTON, "speed": speed, "accuracy": accuracy,
                             "failed": failed},
                 timing=figures.INNER + "; the paint kernel's calls only, summed over the bands, median of "
                 f"{args.repeat} runs after a warm-up")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
