"""Figures for the README (docs/*.jpg): one random painting per stroke type, and the same oil
stroke at 1x and 16x to show that the bristles stay sharp.

    python scripts/make_readme_figures.py
"""
from __future__ import annotations

import pathlib

import numpy as np
import torch

from neuralpaint.canvas import render_painting
from neuralpaint.images import write_image
from neuralpaint.render import random_painting
from neuralpaint.strokes import get_stroke_type, stroke_type_names

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"


def main() -> None:
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
