"""Fit the differentiable model of MyPaint brushes (``neuralpaint.strokes.dabmodel``) and write the
table the package ships, ``checkpoints/mypaint_brushes.json``.

    python scripts/fit_brush_models.py [--brushes classic/dry_brush classic/brush ...] [--out FILE]

Each brush is fitted to libmypaint's own renders (``fit_brush_model``: 1200 strokes at 64 x 64, half
drawn as the painter draws them, half uniform; 600 Adam steps; deterministic), keyed by the
fit's version and the brush file's contents (``model_key``), so a brush file that changes, or a
new fit, is fitted again at first use instead of read from the table. Brushes not in the table are
fitted at first use and cached (``dabmodel.cache_dir``). Prints each brush's alpha PSNR against
libmypaint on held-out strokes and the time the fit took (inner timing: a library call).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
BRUSHES = ("classic/dry_brush", "classic/charcoal", "classic/brush", "deevad/pen", "deevad/brush", "tanda/acrylic-04-paint")


def main() -> None:
    from neuralpaint.fileutil import write_text_atomic
    from neuralpaint.strokes.dabmodel import FIT_VERSION, fit_brush_model, model_key
    from neuralpaint.strokes.mypaint import MyPaint

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--brushes", nargs="+", default=list(BRUSHES))
    p.add_argument("--out", type=pathlib.Path, default=ROOT / "checkpoints" / "mypaint_brushes.json")
    args = p.parse_args()
    models = {}
    for brush in args.brushes:
        stroke = MyPaint(brush)
        started = time.perf_counter()
        model = fit_brush_model(stroke)
        print(f"{brush}: alpha PSNR {model.psnr:.2f} dB against libmypaint (held-out strokes), "
              f"fitted in {time.perf_counter() - started:.1f} s")
        models[model_key(stroke)] = dataclasses.asdict(model)
    table = {"fit_version": FIT_VERSION, "note": "written by scripts/fit_brush_models.py; keys: "
             "neuralpaint.strokes.dabmodel.model_key", "models": models}
    write_text_atomic(args.out, json.dumps(table, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
