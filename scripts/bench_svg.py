"""Benchmark: how closely the SVG export matches the engines, and how big it is.

    python scripts/bench_svg.py [--n 200] [--size 512] [--seed 0] [--threads 1] [--types ...] [--json bench_results/svg.json]

For each stroke type, a seeded random painting (``random_painting``: strokes sized 2-30 % of the
canvas, largest first) of ``--n`` strokes on a ``--size`` square canvas is exported as SVG
(vector, and with ``raster=True``: every stroke an embedded PNG), rendered by ``rsvg-convert`` at
``--size`` and compared with the engine's render rounded to 8 bits: PSNR over the whole image,
the SVG's size, and the seconds to export and to rasterise it.
"""
from __future__ import annotations

import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import figures


def tables(results: dict) -> dict[str, figures.Table]:
    """``svg``: per stroke type, the vector SVG's and the raster fallback's PSNR and size, and
    rsvg-convert's time on the vector one."""
    rows = results["results"]
    table = []
    for name in dict.fromkeys(r["stroke"] for r in rows):
        vector = next((r for r in rows if r["stroke"] == name and r["mode"] == "vector"), None)
        raster = next((r for r in rows if r["stroke"] == name and r["mode"] == "raster"), None)
        table.append([name,
                      f"{vector['psnr_db']:.2f} dB" if vector else "–", f"{vector['svg_kb']:,.0f} KB" if vector else "–",
                      f"{raster['psnr_db']:.2f} dB" if raster else "–", f"{raster['svg_kb']:,.0f} KB" if raster else "–",
                      f"{vector['rsvg_s']:.2f} s" if vector else "–"])
    first = f"stroke type ({rows[0]['n']} strokes, {rows[0]['size']}², seed {rows[0]['seed']})" if rows else "stroke type"
    return {"svg": figures.Table([first, "vector PSNR", "vector SVG", "raster fallback PSNR", "raster SVG",
                                  "rsvg render (vector)"], table)}


def rsvg_version(rsvg: str) -> str:
    return subprocess.run([rsvg, "--version"], capture_output=True, text=True).stdout.strip()


def measure(stroke_type: str, n: int, size: int, seed: int, raster: bool, rsvg: str, work: pathlib.Path,
            reference, strokes) -> dict:
    import numpy as np

    from neuralpaint.export.svg import strokes_to_svg
    from neuralpaint.imagefiles import read_image

    start = time.perf_counter()
    text = strokes_to_svg(strokes, raster=raster)
    export_s = time.perf_counter() - start
    src, png = work / f"{stroke_type}.svg", work / f"{stroke_type}.png"
    src.write_text(text)
    start = time.perf_counter()
    subprocess.run([rsvg, "-o", str(png), str(src)], check=True)
    rsvg_s = time.perf_counter() - start
    rendered = read_image(png)
    mse = float(np.mean((rendered.astype(np.float64) - reference) ** 2))
    return {"stroke": stroke_type, "mode": "raster" if raster else "vector", "n": n, "size": size, "seed": seed,
            "psnr_db": round(10 * np.log10(1.0 / mse), 2), "svg_kb": round(len(text.encode()) / 1024, 1),
            "export_s": round(export_s, 2), "rsvg_s": round(rsvg_s, 2)}


def main() -> int:
    import numpy as np
    import torch

    from neuralpaint.canvas.render import render_painting
    from neuralpaint.export.svg import vector_types
    from neuralpaint.random_strokes import random_painting

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--types", nargs="+", default=None)
    ap.add_argument("--no-raster", action="store_true", help="skip the raster-fallback rows")
    ap.add_argument("--json", default="bench_results/svg.json")
    args = ap.parse_args()
    rsvg = shutil.which("rsvg-convert")
    if rsvg is None:
        sys.exit("bench_svg: rsvg-convert not found (Debian: apt-get install librsvg2-bin)")
    torch.set_num_threads(args.threads)

    rows, failed = [], []
    print(f"{args.n} random strokes, {args.size}x{args.size}, seed {args.seed}; {rsvg_version(rsvg)}")
    print(f"{'stroke type':<15}{'mode':<8}{'PSNR dB':>9}{'SVG KB':>10}{'export s':>10}{'rsvg s':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for stroke_type in args.types or vector_types():
            strokes = random_painting(stroke_type, args.n, args.size, args.size, seed=args.seed)
            canvas = render_painting(strokes.stroke(), strokes.params_tensor(), args.size, args.size,
                                     strokes.canvas_colour)
            reference = np.round(canvas.permute(1, 2, 0).numpy().astype(np.float64) * 255) / 255
            for raster in (False,) if args.no_raster else (False, True):
                try:
                    r = measure(stroke_type, args.n, args.size, args.seed, raster, rsvg, pathlib.Path(tmp),
                                reference, strokes)
                except Exception as e:  # a failed run is reported and left out of the results
                    failed.append({"stroke": stroke_type, "raster": raster, "error": f"{type(e).__name__}: {e}"})
                    print(f"{stroke_type:<15}{'raster' if raster else 'vector':<8}FAILED: {type(e).__name__}: {e}")
                    continue
                rows.append(r)
                print(f"{r['stroke']:<15}{r['mode']:<8}{r['psnr_db']:>9.2f}{r['svg_kb']:>10,.1f}"
                      f"{r['export_s']:>10.2f}{r['rsvg_s']:>8.2f}")
    figures.save(args.json, {"rsvg": rsvg_version(rsvg), "threads": args.threads, "results": rows,
                             "failed": failed},
                 timing="export and rsvg-convert seconds: one inner timing of the export call and one "
                 "rsvg-convert process per SVG")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
