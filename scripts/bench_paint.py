"""Benchmark: painting quality and speed, whole ``neuralpaint paint`` commands.

    python scripts/bench_paint.py [--types rectangle oilpaintbrush ... mypaint] [--renderers auto neural]
                                  [--images astronaut chelsea coffee] [--size 256] [--strokes 500]
                                  [--paint-args "--no-animation"] [--variant "opaque=--opaque" ...]
                                  [--rounds 1] [--save DIR] [--json FILE]

Protocol: each photo is centre-cropped to a square, resized to ``--size`` (Lanczos) and saved as an
8-bit PNG; then the whole command ``neuralpaint paint --img PHOTO --size S --max-strokes N --stroke
TYPE --seed 0 -q --out DIR`` runs in a fresh process (start-up, painting, every default output:
final PNG, strokes file, MP4 and GIF), reaped with ``os.wait4`` for its wall time and peak RSS.
Its ``<name>_final.png`` is compared with the photo: PSNR and SSIM (kornia, 11x11 Gaussian
window). ``auto`` is what ``paint --renderer auto`` picks: the engine, or for engines that are not
differentiable their model (mypaint's dab model, with libmypaint in the loop by default), else the
neural renderer (the final picture is still the engine's); ``neural`` paints through the net
(``--renderer neural``). ``--paint-args`` adds options to every command; each ``--variant
LABEL=OPTIONS`` paints everything once more with those options (``--variant "OT=--ot-weight 1"``;
``default=`` is the defaults). ``--save DIR`` keeps the final pictures as
``<photo>_<type>_<renderer>[_<variant>].png``.

Order: photo by photo, and for each photo every type, renderer and variant in turn, so that the
rows of a table are timed side by side (interleaved) while the machine's speed drifts; ``--rounds
N`` repeats the whole set N times in that order, and the table gives the mean and largest wall
time over every run of a row (painting is deterministic: the pictures repeat).
"""
from __future__ import annotations

import argparse
import itertools
import math
import pathlib
import shlex
import shutil
import statistics
import sys
import tempfile

import figures

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load_square(name: str, size: int):
    """Test photo ``name`` centre-cropped to a square and resized to ``size`` (float ``(H, W, 3)``)."""
    import cv2

    from neuralpaint.imagefiles import read_image

    path = next((ROOT / "test_images").glob(f"{name}.*"))
    img = read_image(path)
    h, w = img.shape[:2]
    s = min(h, w)
    img = img[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_LANCZOS4).clip(0, 1)


def quality(final, photo) -> tuple[float, float]:
    """PSNR and SSIM of two float images ``(H, W, 3)`` in [0, 1]."""
    import kornia
    import torch

    a, b = (torch.from_numpy(x).permute(2, 0, 1)[None].float() for x in (final, photo))
    mse = torch.mean((a - b) ** 2).item()
    return 10 * math.log10(1 / max(mse, 1e-12)), kornia.metrics.ssim(a, b, 11).mean().item()


def tables(results: dict) -> dict[str, figures.Table]:
    """``paint``: one row per stroke type, renderer and variant; PSNR per photo, and with several
    photos the means, the mean and largest wall time."""
    rows = [r for r in results["results"] if r["status"] == 0]
    images = list(dict.fromkeys(r["image"] for r in rows))
    several = len(images) > 1
    out = []
    for stroke, renderer, variant in dict.fromkeys((r["stroke"], r["renderer"], r.get("variant", "")) for r in rows):
        runs = [r for r in rows if (r["stroke"], r["renderer"], r.get("variant", "")) == (stroke, renderer, variant)]
        per = {r["image"]: r for r in reversed(runs)}  # the first run of each photo (PSNR, SSIM)
        kind = {"neural": "renderer net", "model": "dab model"}.get(renderer)
        label = f"{stroke} ({f'{kind}; final picture by the engine' if kind else renderer})"
        if variant:
            options = per[next(iter(per))]["variant_args"]
            label += f", {variant}" + (f" (`{options}`)" if options and options != variant else "")
        mean = lambda k: statistics.mean(r[k] for r in per.values())  # noqa: E731
        psnrs = [f"{per[i]['psnr']:.2f}" if i in per else "–" for i in images]
        wall = statistics.mean(r["wall_s"] for r in runs)
        out.append([label, *psnrs, *([f"**{mean('psnr'):.2f}**"] if several else []), f"{mean('ssim'):.3f}",
                    f"{wall:.1f}", *([f"{max(r['wall_s'] for r in runs):.1f}"] if several else []),
                    f"{max(r['rss_mb'] for r in runs):.0f}"])
    header = ["stroke type (renderer)", *(images if several else [f"PSNR ({images[0]})"] if images else []),
              *(["mean PSNR", "mean SSIM", "wall s, mean", "wall s, max"] if several else ["SSIM", "wall s"]),
              "peak RSS MB"]
    for r in results["results"]:
        if r["status"] != 0:
            out.append([f"{r['stroke']} ({r['renderer']}) {r['image']}: failed, exit {r['status']}",
                        *[""] * (len(header) - 1)])
    return {"paint": figures.Table(header, out)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--types", nargs="+", default=["rectangle", "oilpaintbrush", "markerpen", "watercolor", "mypaint"])
    ap.add_argument("--renderers", nargs="+", default=["auto"], choices=["auto", "neural"])
    ap.add_argument("--images", nargs="+", default=["astronaut", "chelsea", "coffee"])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--strokes", type=int, default=500)
    ap.add_argument("--paint-args", default="", help="more options for every paint command, as one string")
    ap.add_argument("--variant", action="append", default=[], metavar="LABEL=OPTIONS",
                    help="paint everything once more with these options, labelled LABEL (repeatable)")
    ap.add_argument("--rounds", type=int, default=1, help="run everything this many times, interleaved")
    ap.add_argument("--save", type=pathlib.Path, default=None)
    ap.add_argument("--json", default="bench_results/paint_256.json")
    args = ap.parse_args()

    from neuralpaint.imagefiles import read_image, write_image
    from neuralpaint.renderers import MODELS
    from neuralpaint.strokes import get_stroke_type

    rows = []
    extra = shlex.split(args.paint_args)
    variants = [tuple(v.split("=", 1)) if "=" in v else ap.error(f"--variant {v!r}: expected LABEL=OPTIONS")
                for v in args.variant] or [("", "")]
    print(f"{args.strokes} strokes, {args.size}x{args.size}, extra options: {args.paint_args or 'none'}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench_paint_") as tmp:
        tmp = pathlib.Path(tmp)
        photos = {}
        for name in args.images:
            photos[name] = tmp / f"{name}.png"
            write_image(photos[name], load_square(name, args.size))
        def picked(stroke: str, renderer: str) -> str:  # what paint --renderer auto picks
            if renderer != "auto":
                return renderer
            st = get_stroke_type(stroke)
            return "engine" if st.differentiable else "model" if st.name in MODELS else "neural"

        setups = [(stroke, picked(stroke, renderer)) for stroke in args.types for renderer in args.renderers]
        for round_, name, (stroke, renderer), (variant, options) in itertools.product(
                range(args.rounds), args.images, setups, variants):
            out = tmp / f"{stroke}-{renderer}-{len(rows)}"
            argv = ["paint", "--img", str(photos[name]), "--size", str(args.size), "--max-strokes",
                    str(args.strokes), "--stroke", stroke, "--seed", "0", "-q", "--out", str(out),
                    "--renderer", renderer, *extra, *shlex.split(options)]
            run = figures.run_timed([sys.executable, "-m", "neuralpaint", *argv], ROOT)
            row = {"stroke": stroke, "renderer": renderer, "variant": variant, "variant_args": options,
                   "image": name, "round": round_, "size": args.size, "strokes": args.strokes, "argv": argv,
                   "status": run["status"], "wall_s": round(run["seconds"], 2), "rss_mb": round(run["rss_mb"])}
            if run["status"] == 0:
                final = read_image(out / f"{name}_final.png")
                psnr, ssim = quality(final, read_image(photos[name]))
                row.update(psnr=round(psnr, 2), ssim=round(ssim, 4))
                if args.save and round_ == 0:
                    args.save.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(out / f"{name}_final.png", args.save / f"{name}_{stroke}_{renderer}{'_' + variant if variant else ''}.png")
                print(f"  {stroke} {renderer} {variant} {name}: {psnr:.2f} dB, SSIM {ssim:.3f}, "
                      f"{row['wall_s']:.1f} s, {row['rss_mb']} MB", file=sys.stderr, flush=True)
            else:
                print(f"  {stroke} {renderer} {name}: exit {run['status']}: {run['stderr'].strip()[-400:]}",
                      file=sys.stderr, flush=True)
            rows.append(row)
    results = {"size": args.size, "strokes": args.strokes, "paint_args": args.paint_args, "rounds": args.rounds,
               "results": rows}
    figures.save(args.json, results, timing=figures.WHOLE)
    print(tables(results)["paint"].markdown())
    failed = [f"{r['stroke']} {r['image']}" for r in rows if r["status"] != 0]
    if failed:
        raise SystemExit(f"failed runs (left out of the figures): {', '.join(failed)}")


if __name__ == "__main__":
    main()
