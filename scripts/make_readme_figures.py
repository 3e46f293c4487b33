"""Figures for the README (docs/*.jpg): one random painting per stroke type, and the same oil
stroke at 1x and 16x to show that the bristles stay sharp; with ``--paintings DIR`` (the
paintings ``scripts/bench_paint.py --save DIR`` kept) also the benchmark's paintings beside the
photos, one row per photo.

    python scripts/make_readme_figures.py
    python scripts/bench_paint.py --types rectangle oilpaintbrush markerpen watercolor mypaint --save runs/paintings
    python scripts/make_readme_figures.py --paintings runs/paintings
"""
from __future__ import annotations

import argparse
import pathlib

import numpy as np
import torch

from neuralpaint.canvas.render import render_painting
from neuralpaint.imagefiles import write_image
from neuralpaint.random_strokes import random_painting
from neuralpaint.strokes import get_stroke_type, stroke_type_names

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"


def painting_grid(paintings: pathlib.Path, columns: list[str], out: pathlib.Path, size: int = 256) -> None:
    """Rows: the benchmark photos; columns: the photo, then its painting with each of ``columns``
    (``<stroke>_<renderer>`` as bench_paint saved them)."""
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    from bench_paint import load_square
    from neuralpaint.imagefiles import read_image

    rows = []
    for name in ("astronaut", "chelsea", "coffee"):
        tiles = [load_square(name, size)] + [read_image(paintings / f"{name}_{c}.png") for c in columns]
        gap = np.ones((size, 6, 3), np.float32)
        rows.append(np.concatenate(sum(([t, gap] for t in tiles), [])[:-1], axis=1))
    gap = np.ones((6, rows[0].shape[1], 3), np.float32)
    grid = np.concatenate(sum(([r, gap] for r in rows), [])[:-1], axis=0)
    import cv2  # JPEG quality 80 keeps the file small in the repository

    cv2.imwrite(str(out), (grid[..., ::-1] * 255).round().astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 80])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paintings", type=pathlib.Path, default=None)
    args = ap.parse_args()
    if args.paintings:
        painting_grid(args.paintings, [f"{t}_engine" for t in ("rectangle", "oilpaintbrush", "markerpen", "watercolor")],
                      DOCS / "paintings_256.jpg")
        painting_grid(args.paintings, ["mypaint_model"], DOCS / "paintings_mypaint_256.jpg")
        return
    tiles = []
    for name in stroke_type_names():
        strokes = random_painting(name, 120, 256, 256, seed=1)
        tiles.append(render_painting(strokes.stroke(), strokes.params_tensor(), 256, 256).permute(1, 2, 0).numpy())
    gap = np.ones((256, 8, 3), np.float32)
    write_image(DOCS / "stroke_types.jpg", np.concatenate(sum(([t, gap] for t in tiles), [])[:-1], axis=1))

    oil = get_stroke_type("oilpaintbrush")
    p = torch.tensor([[0.5, 0.5, 0.85, 0.32, 0.08, 0.85, 0.35, 0.15, 0.25, 0.35, 0.75, 1.0]])
    small = render_painting(oil, p, 64, 64)  # 1x
    big = render_painting(oil, p, 1024, 1024)  # 16x
    up = torch.nn.functional.interpolate(small[None], scale_factor=16, mode="nearest")[0]
    crop = slice(256, 768)
    panel = torch.cat([up[:, crop, crop], torch.ones(3, 512, 8), big[:, crop, crop]], dim=2)
    write_image(DOCS / "oil_1x_vs_16x.jpg", panel)


if __name__ == "__main__":
    main()
