"""Benchmark: ``neuralpaint compose``, whole commands, on edited label maps of two shipped paintings.

    python scripts/bench_compose.py                                    # 512 px maps, 800 strokes (the defaults)
    python scripts/bench_compose.py --figure docs/compose_cases.jpg --methods-figure docs/compose_methods.jpg
    python scripts/bench_compose.py --size 96 --strokes 40 --steps 10 --methods pixels --json /tmp/c.json  # quick check

The label maps of Wheat Field with Cypresses (4 regions) and of The Starry Night (4 regions, its
colours after Wheat Field's: ``--first-colour 4``) are made by ``neuralpaint labels``; then four
edited maps, as a user would draw them:

* ``mirrored``: Wheat Field's map mirrored left to right;
* ``taller_sky``: Wheat Field's map re-proportioned: its upper half (the sky) stretched to 1.6x
  its height, the canvas portrait;
* ``mixed``: The Starry Night's sky over Wheat Field's fields (its upper 55 % over the lower 45 % of
  Wheat Field's map): two paintings in one map;
* ``wide``: The Starry Night's map on a canvas 1.5x as wide (the map, then its left half mirrored).

Each is composed by ``neuralpaint compose --labels MAP --style wheat_field:W --style
starry_night:S`` (every output written, the animation included) in a fresh process, timed whole
(``figures.run_timed``: wall time, peak RSS). From the strokes file's metadata come, per region,
the sliced Wasserstein colour distances (Lab) of the painting's region to its source region and to
the whole source painting (target: ratio at most 0.5) and the relative Gram distances per layer.
``--methods pixels strokes`` also composes the ``mirrored`` map with ``--method strokes``
(strokes optimised directly), for the comparison in docs/compose.md. Targets: a 512 px map, 800
strokes, at most 90 s. Run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

import figures

ROOT = Path(__file__).resolve().parent.parent
NEURALPAINT = [sys.executable, "-m", "neuralpaint"]
CASES = ("mirrored", "taller_sky", "mixed", "wide")
STYLES = {"wheat_field": 0, "starry_night": 4}  # painting -> its map's first label colour
REGIONS = 4


def read_png(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


def write_png(path: Path, picture: np.ndarray) -> Path:
    from PIL import Image

    Image.fromarray(np.ascontiguousarray(picture)).save(path)
    return path


def resize_nearest(picture: np.ndarray, height: int, width: int) -> np.ndarray:
    import cv2

    return cv2.resize(picture, (width, height), interpolation=cv2.INTER_NEAREST)


def edited_maps(wheat: np.ndarray, starry: np.ndarray, work: Path) -> dict[str, Path]:
    """The four edited label maps (module docstring), written into ``work``."""
    H, W = wheat.shape[:2]
    top = resize_nearest(wheat[: H // 2], round(H // 2 * 1.6), W)
    taller = np.concatenate([top, wheat[H // 2:]])
    sH, sW = starry.shape[:2]
    sky = resize_nearest(starry[: round(0.55 * sH)], round(0.55 * H), W)
    mixed = np.concatenate([sky, wheat[round(0.55 * H):]])
    wide = np.concatenate([starry, starry[:, : sW // 2][:, ::-1]], axis=1)
    maps = {"mirrored": wheat[:, ::-1], "taller_sky": taller, "mixed": mixed, "wide": wide}
    return {name: write_png(work / f"{name}.png", picture) for name, picture in maps.items()}


def compose_case(name: str, labels: Path, style_args: list[str], out: Path, args, method: str) -> dict:
    argv = [*NEURALPAINT, "compose", "--labels", str(labels), *style_args, "--max-strokes", str(args.strokes),
            "--steps", str(args.steps), "--method", method, "--out", str(out), "-q"]
    run = figures.run_timed(argv, ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if run["status"] != 0:
        raise SystemExit(f"bench_compose: {name} failed ({run['status']}):\n{run['stderr'][-2000:]}")
    import neuralpaint.strokesfile as strokesfile

    strokes = strokesfile.load_strokes(out / f"{labels.stem}_strokes.npz")
    regions = strokes.metadata["compose"]["regions"]
    for row in regions:
        row["ratio"] = row["colour_to_source"] / max(row["colour_to_painting"], 1e-9)
        grams = [v for v in row["gram"].values() if v is not None]
        row["gram_mean"] = statistics.fmean(grams) if grams else None
    return {"case": name, "method": method, "command": " ".join(argv[2:]), "width": strokes.width,
            "height": strokes.height, "strokes": strokes.n, "seconds": run["seconds"], "rss_mb": run["rss_mb"],
            "user_s": run["user_s"], "regions": regions,
            "styles": sorted({row["source"].split(" region ")[0] for row in regions})}


def figure(path: Path, work: Path, out: Path, cases: list[dict]) -> None:
    """One row per case: the style painting(s), their label map(s), the edited map, the synthesis,
    the stroke painting; every picture 200 px high."""
    import cv2

    from neuralpaint.style.stylize import style_image_path

    def fit(picture: np.ndarray, height: int = 200) -> np.ndarray:
        h, w = picture.shape[:2]
        return cv2.resize(picture[..., :3], (round(w * height / h), height), interpolation=cv2.INTER_AREA)

    rows = []
    for case in cases:
        if case["method"] != "pixels":
            continue
        name = case["case"]
        styles = case["styles"]
        cells = [fit(read_png(style_image_path(s))) for s in styles]
        cells += [fit(read_png(work / f"{s}.png")) for s in styles]
        cells += [fit(read_png(work / f"{name}.png")), fit(read_png(out / name / f"{name}_synth.png")),
                  fit(read_png(out / name / f"{name}_final.png"))]
        gap = np.full((200, 6, 3), 255, np.uint8)
        row = np.concatenate([c for cell in cells for c in (cell, gap)][:-1], axis=1)
        rows.append(row)
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 6), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    picture = np.concatenate(rows)[:-6]
    cv2.imwrite(str(path), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {path}")


def methods_figure(path: Path, out: Path) -> None:
    """The mirrored map painted by ``--method pixels`` (left) and ``strokes`` (right), 320 px high."""
    import cv2

    cells = []
    for folder in ("mirrored", "mirrored_strokes"):
        picture = read_png(out / folder / "mirrored_final.png")
        h, w = picture.shape[:2]
        cells += [cv2.resize(picture, (round(w * 320 / h), 320), interpolation=cv2.INTER_AREA),
                  np.full((320, 6, 3), 255, np.uint8)]
    picture = np.concatenate(cells[:-1], axis=1)
    cv2.imwrite(str(path), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {path}")


def tables(results: dict) -> dict[str, figures.Table]:
    cases = results["cases"]
    summary = figures.Table(
        ["map", "method", "canvas", "strokes", "whole command s", "peak RSS MB", "worst colour ratio",
         "mean Gram distance"], [])
    for c in cases:
        worst = max(r["ratio"] for r in c["regions"])
        grams = [r["gram_mean"] for r in c["regions"] if r["gram_mean"] is not None]
        summary.rows.append([c["case"], c["method"], f"{c['width']}×{c['height']}", str(c["strokes"]),
                             f"{c['seconds']:.1f}", f"{c['rss_mb']:.0f}", f"{worst:.2f}",
                             f"{statistics.fmean(grams):.3f}"])
    regions = figures.Table(
        ["map", "method", "region", "source", "area", "colour → source", "colour → painting", "ratio",
         "Gram (mean of layers)"], [], "lllllrrrr")
    for c in cases:
        for r in c["regions"]:
            regions.rows.append([c["case"], c["method"], str(r["region"]), r["source"], f"{r['area']:.0%}",
                                 f"{r['colour_to_source']:.1f}", f"{r['colour_to_painting']:.1f}",
                                 f"{r['ratio']:.2f}",
                                 "–" if r["gram_mean"] is None else f"{r['gram_mean']:.3f}"])
    return {"summary": summary, "regions": regions}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=512, help="longer side of the style label maps (default: 512)")
    p.add_argument("--strokes", type=int, default=800, help="strokes per painting (default: 800)")
    p.add_argument("--steps", type=int, default=200, help="synthesis steps (default: compose's, 200)")
    p.add_argument("--methods", nargs="+", choices=("pixels", "strokes"), default=["pixels", "strokes"],
                   help="pixels: every map; strokes: the mirrored map again with --method strokes")
    p.add_argument("--figure", type=Path, default=None, help="also write the docs' figure here (JPEG)")
    p.add_argument("--methods-figure", type=Path, default=None,
                   help="also write the mirrored map's paintings by --method pixels and strokes side by side")
    p.add_argument("--json", type=Path, default=ROOT / "bench_results" / "compose.json")
    args = p.parse_args()

    work = Path(tempfile.mkdtemp(prefix="neuralpaint-bench-compose-"))
    style_args = []
    label_runs = []
    for painting, first in STYLES.items():
        path = work / f"{painting}.png"
        argv = [*NEURALPAINT, "labels", "--style", painting, "--regions", str(REGIONS), "--size", str(args.size),
                "--first-colour", str(first), "-o", str(path)]
        run = figures.run_timed(argv, ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        if run["status"] != 0:
            raise SystemExit(f"bench_compose: labels failed:\n{run['stderr'][-2000:]}")
        label_runs.append({"painting": painting, "seconds": run["seconds"], "rss_mb": run["rss_mb"]})
        style_args += ["--style", f"{painting}:{path}"]
    maps = edited_maps(read_png(work / "wheat_field.png"), read_png(work / "starry_night.png"), work)
    out = work / "out"
    cases = []
    for name in CASES:
        if "pixels" in args.methods:
            cases.append(compose_case(name, maps[name], style_args, out / name, args, "pixels"))
            print(json.dumps({k: cases[-1][k] for k in ("case", "method", "seconds", "rss_mb")}), flush=True)
    if "strokes" in args.methods:
        cases.append(compose_case("mirrored", maps["mirrored"], style_args, out / "mirrored_strokes", args, "strokes"))
        print(json.dumps({k: cases[-1][k] for k in ("case", "method", "seconds", "rss_mb")}), flush=True)
    results = {"size": args.size, "strokes": args.strokes, "steps": args.steps, "labels": label_runs, "cases": cases,
               "work": str(work)}
    figures.save(args.json, results, timing=figures.WHOLE)
    for name, table in tables(results).items():
        print(f"\n{name}\n{table.markdown()}")
    if args.figure is not None:
        figure(args.figure, work, out, cases)
    if args.methods_figure is not None:
        methods_figure(args.methods_figure, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
