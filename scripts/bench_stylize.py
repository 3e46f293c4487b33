"""Benchmark of ``neuralpaint stylize``: time, style distance, colour distance, content kept.

For each photo x style image x mode, a 500-stroke painting of the photo (``neuralpaint paint``,
512 px on the longer side, painted once and cached in ``--paintings``) is stylised in a fresh
subprocess and timed as a whole:

* ``--runner cli`` (default): the command ``neuralpaint stylize STROKES --style S --mode M
  --no-animation -q`` (wall time of the whole command: start-up, reading, stylising, writing
  the PNG and the strokes file);
* ``--runner library``: ``python -c`` calling ``neuralpaint.style.stylize_run`` and writing the
  same two files (for settings the command has no option for, ``--set KEY=VALUE``).

Then, outside the timing, each result is measured against the painting it started from:

* ``style``: Gram style loss of the painting vs the style image (``losses.StyleLoss``: relative
  Gram distance, texture layers, 256 px) under the backbone the run used (``efficientnet_lite0``
  for palette runs when no VGG is installed);
* ``colour``: weights-free sliced Wasserstein distance of Lab colours (``losses.colour_distance``);
* ``ssim``: SSIM of the luminance vs the photo (kornia, window 11), at the painting's size;
* ``rerender_db``: PSNR of the stylised strokes file re-rendered vs the PNG the run wrote.

    .venv/bin/python scripts/bench_stylize.py                       # 3 photos x 3 styles x 3 modes
    .venv/bin/python scripts/bench_stylize.py --photos astronaut --styles starry_night --modes palette colour
    .venv/bin/python scripts/bench_stylize.py --runner library --set softmax=false --json bench_results/x.json

Prints a table and writes JSON (default ``bench_results/stylize.json``); ``tables`` makes
docs/style.md's two tables (``modes`` per mode, ``runs`` every run) from it.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import figures

ROOT = Path(__file__).resolve().parent.parent
LIBRARY_RUN = r"""
import json, sys
from neuralpaint.strokesfile import load_strokes, save_strokes
from neuralpaint.style import stylize_run
from neuralpaint.imagefiles import write_image
from neuralpaint import render_painting
strokes_path, style, mode, out, settings = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
strokes = load_strokes(strokes_path)
result = stylize_run(strokes, style, mode=mode, **settings)
s = result.strokes
save_strokes(s, out + "_strokes.npz")
write_image(out + ".png", render_painting(s.stroke(), s.params_tensor(), s.height, s.width, s.canvas_colour))
print(json.dumps({"seconds": result.seconds, "backbone": result.backbone}))
"""


# the targets per mode (not measurements): wall seconds, and the colour distance at least halved
TARGET_SECONDS = {"palette": 10, "colour": 60, "texture": 60}
TARGET_COLOUR_RATIO = 0.5


def tables(results: dict) -> dict[str, figures.Table]:
    """``modes``: per mode, the worst and mean wall time, the ratios after/before of the colour
    and Gram distances, SSIM and the re-render check, against the targets; ``runs``: every run."""
    rows = results["rows"]
    summary = []
    for mode in dict.fromkeys(r["mode"] for r in rows):
        sel = [r for r in rows if r["mode"] == mode]
        wall_max, wall_mean = max(r["wall_s"] for r in sel), sum(r["wall_s"] for r in sel) / len(sel)
        colour_worst = max(r["colour_after"] / r["colour_before"] for r in sel)
        target = []
        if mode in TARGET_SECONDS:
            target.append(f"≤ {TARGET_SECONDS[mode]} s: {'met' if wall_max <= TARGET_SECONDS[mode] else 'missed'}")
        target.append(f"colour distance at least halved: {'met' if colour_worst <= TARGET_COLOUR_RATIO else 'missed'}")
        summary.append([mode, len(sel), f"{wall_max:.1f} s ({wall_mean:.1f} s)", f"{colour_worst:.2f}",
                        f"{sum(r['style_after'] / r['style_before'] for r in sel) / len(sel):.2f}",
                        f"{sum(r['ssim_before'] for r in sel) / len(sel):.3f} → {sum(r['ssim_after'] for r in sel) / len(sel):.3f}",
                        f"{min(r['rerender_db'] for r in sel):.1f} dB", "; ".join(target)])
    runs = [[r["photo"], r["style"], r["mode"], f"{r['wall_s']:.1f} s", r["backbone"],
             f"{r['style_before']:.3f} → {r['style_after']:.3f}", f"{r['colour_before']:.2f} → {r['colour_after']:.2f}",
             f"{r['ssim_before']:.3f} → {r['ssim_after']:.3f}"] for r in rows]
    return {"modes": figures.Table(["mode", "runs", "wall, max (mean)", "colour distance after/before, worst",
                                      "Gram distance after/before, mean", "SSIM vs photo, mean",
                                      "re-render, min", "target"], summary, "lrrrrrrl"),
            "runs": figures.Table(["photo", "style", "mode", "wall", "backbone", "Gram style distance",
                                   "Lab colour distance", "SSIM vs photo"], runs, "lllrllll")}


def ensure_painting(photo: str, folder: Path, strokes: int, size: int, threads: int) -> Path:
    """The cached painting of ``test_images/<photo>.*``, painted with ``neuralpaint paint`` if missing."""
    path = folder / f"{photo}_strokes.npz"
    if path.is_file():
        return path
    image = next((ROOT / "test_images").glob(f"{photo}.*"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"painting {image.name} ({strokes} strokes, {size} px) into {folder} ...", flush=True)
    subprocess.run([sys.executable, "-m", "neuralpaint", "paint", "--img", str(image), "--max-strokes", str(strokes),
                    "--size", str(size), "--no-animation", "-q", "--out", str(folder)], check=True,
                   env=thread_env(threads), cwd=ROOT)
    return path


def thread_env(threads: int) -> dict:
    env = dict(os.environ)
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[key] = str(threads)
    return env


def run_one(runner: str, strokes: Path, style: Path, mode: str, out_dir: Path, settings: dict,
            threads: int) -> tuple[float, Path, Path, dict]:
    """Stylise in a fresh subprocess; returns wall seconds, the PNG, the strokes file, extra info."""
    name = f"{strokes.stem.removesuffix('_strokes')}_{style.stem}_{mode}"
    folder = out_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    if runner == "cli":
        cmd = [sys.executable, "-m", "neuralpaint", "stylize", str(strokes), "--style", str(style), "--mode", mode,
               "--no-animation", "-q", "--out", str(folder)]
        png = folder / f"{strokes.stem.removesuffix('_strokes')}_stylized.png"
    else:
        base = folder / f"{strokes.stem.removesuffix('_strokes')}_stylized"
        cmd = [sys.executable, "-c", LIBRARY_RUN, str(strokes), str(style), mode, str(base), json.dumps(settings)]
        png = base.with_suffix(".png")
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=thread_env(threads), cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])} failed:\n{done.stderr[-2000:]}")
    info = {}
    if runner == "library":
        info = json.loads(done.stdout.strip().splitlines()[-1])
    return seconds, png, png.with_name(png.stem + "_strokes.npz"), info


def measure(painting, photo, style_img, backbone_name: str, size: int = 256) -> dict:
    """Style (Gram), colour and SSIM figures of ``painting (3, H, W)`` against the style and photo."""
    import kornia
    import torch

    from neuralpaint.backbones import load_backbone
    from neuralpaint.style.losses import StyleLoss, colour_distance, luminance
    from neuralpaint.photo import resize_image as resize
    from neuralpaint.style.stylize import resize_long_side

    backbone = load_backbone(backbone_name)
    small = resize_long_side(painting, size)
    with torch.no_grad():
        style = StyleLoss(backbone, resize_long_side(style_img, size), backbone.style_layers["texture"])
        gram = float(style(small))
        ssim = float(kornia.metrics.ssim(luminance(painting)[None],
                                         luminance(resize(photo, *painting.shape[1:]))[None], 11).mean())
    return {"style": gram, "colour": colour_distance(painting, style_img), "ssim": ssim}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", nargs="+", default=["astronaut", "chelsea", "coffee"])
    p.add_argument("--styles", nargs="+", default=["starry_night", "wheat_field", "brick"])
    p.add_argument("--modes", nargs="+", default=["palette", "colour", "texture"])
    p.add_argument("--runner", choices=("cli", "library"), default="cli")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a StylizeConfig setting (library runner), JSON value: --set softmax=false")
    p.add_argument("--threads", type=int, default=2, help="OMP/MKL threads of each run (default: 2)")
    p.add_argument("--paintings", type=Path, default=Path("/tmp/neuralpaint_bench_stylize/paintings"))
    p.add_argument("--out", type=Path, default=Path("/tmp/neuralpaint_bench_stylize/runs"))
    p.add_argument("--json", type=Path, default=ROOT / "bench_results" / "stylize.json")
    args = p.parse_args(argv)
    settings = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    if settings and args.runner == "cli":
        raise SystemExit("--set needs --runner library")

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from neuralpaint import render_painting
    from neuralpaint.imagefiles import read_image
    from neuralpaint.strokesfile import load_strokes
    from neuralpaint.backbones import resolve_backbone
    from neuralpaint.style.stylize import as_image

    default_backbone = resolve_backbone("auto")[0]
    rows, failed = [], []
    header = (f"{'photo':10} {'style':14} {'mode':8} {'wall s':>7} {'backbone':18} {'style before→after':>20} "
              f"{'colour before→after':>20} {'SSIM before→after':>18} {'re-render dB':>12}")
    print(f"runner: {args.runner} ({'neuralpaint stylize command' if args.runner == 'cli' else 'library call in a fresh subprocess'}), "
          f"{args.threads} threads, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(header)
    for photo_name in args.photos:
        strokes_path = ensure_painting(photo_name, args.paintings, 500, 512, args.threads)
        strokes = load_strokes(strokes_path)
        photo = as_image(next((ROOT / "test_images").glob(f"{photo_name}.*")), "photo")
        before = render_painting(strokes.stroke(), strokes.params_tensor(), strokes.height, strokes.width,
                                 strokes.canvas_colour)
        for style_name in args.styles:
            style_path = ROOT / "style_images" / f"{style_name}.jpg"
            style_img = as_image(style_path, "style")
            for mode in args.modes:
                try:
                    seconds, png, npz, info = run_one(args.runner, strokes_path, style_path, mode, args.out, settings,
                                                      args.threads)
                except RuntimeError as e:  # a failed run is reported and left out of the results
                    failed.append({"photo": photo_name, "style": style_name, "mode": mode, "error": str(e)})
                    print(f"{photo_name:10} {style_name:14} {mode:8} FAILED: {e}", flush=True)
                    continue
                styled = load_strokes(npz)
                backbone = styled.metadata.get("stylize", {}).get("backbone") or default_backbone
                after = render_painting(styled.stroke(), styled.params_tensor(), styled.height, styled.width,
                                        styled.canvas_colour)
                written = torch.from_numpy(read_image(png)).permute(2, 0, 1)
                mse = float((after - written).double().square().mean())
                rerender = 10 * np.log10(1 / mse) if mse > 0 else float("inf")
                m0, m1 = measure(before, photo, style_img, backbone), measure(after, photo, style_img, backbone)
                row = {"photo": photo_name, "style": style_name, "mode": mode, "runner": args.runner,
                       "settings": settings, "wall_s": round(seconds, 2), "backbone": backbone,
                       "phases_s": info.get("seconds"),
                       "style_before": m0["style"], "style_after": m1["style"],
                       "colour_before": m0["colour"], "colour_after": m1["colour"],
                       "ssim_before": m0["ssim"], "ssim_after": m1["ssim"], "rerender_db": rerender}
                rows.append(row)
                print(f"{photo_name:10} {style_name:14} {mode:8} {seconds:7.1f} {backbone:18} "
                      f"{m0['style']:9.3f}→{m1['style']:<9.3f} {m0['colour']:9.2f}→{m1['colour']:<9.2f} "
                      f"{m0['ssim']:8.3f}→{m1['ssim']:<8.3f} {rerender:12.1f}", flush=True)
    summary = {}
    for mode in args.modes:
        sel = [r for r in rows if r["mode"] == mode]
        if sel:
            summary[mode] = {"wall_s_max": max(r["wall_s"] for r in sel),
                             "wall_s_mean": round(sum(r["wall_s"] for r in sel) / len(sel), 2),
                             "colour_ratio_max": max(r["colour_after"] / r["colour_before"] for r in sel),
                             "style_ratio_mean": sum(r["style_after"] / r["style_before"] for r in sel) / len(sel),
                             "ssim_after_mean": sum(r["ssim_after"] for r in sel) / len(sel),
                             "rerender_db_min": min(r["rerender_db"] for r in sel)}
    for mode, s in summary.items():
        print(f"{mode:8} wall max {s['wall_s_max']:.1f} s (mean {s['wall_s_mean']:.1f}), colour after/before max "
              f"{s['colour_ratio_max']:.3f}, style after/before mean {s['style_ratio_mean']:.3f}, "
              f"SSIM after mean {s['ssim_after_mean']:.3f}, re-render min {s['rerender_db_min']:.1f} dB")
    figures.save(args.json, {"runner": args.runner, "threads": args.threads,
                             "torch_threads": torch.get_num_threads(), "rows": rows, "summary": summary,
                             "failed": failed},
                 timing=figures.WHOLE if args.runner == "cli" else
                 "each run a library call in a fresh subprocess (start-up included)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
