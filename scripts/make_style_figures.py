"""Figures of stylised and painterly paintings for the README and docs (docs/style_*.jpg).

Every painting is made through the library (``neuralpaint.paint_image``, ``neuralpaint.style.stylize``)
from the bundled photos (centre-cropped square, ``--size`` pixels), with seed 0, and cached as a
strokes file + PNG in ``--work``; each picture is the stroke engine's render of the strokes file
(libmypaint for MyPaint), so it is what ``render-hires`` would draw. The wall time of each run is
printed and written to ``--work/times.json``.

* ``stylize``: rows are (photo, stroke type); columns the photo, its painting, then the painting
  stylised (``--mode colour``) after each style image; a header row shows the style images.
* ``intrinsic``: the marker pen and a MyPaint brush painting one photo under ``--loss pixel``,
  ``feature`` and ``pixel+feature`` (Nakano's intrinsic style: features instead of pixels).
* ``painterly``: the oil brush by default, ``--opaque``, ``--opaque --min-stroke-size``, ``--palette 6``.

    .venv/bin/python scripts/make_style_figures.py                 # all three (about 15 min on 2 cores)
    .venv/bin/python scripts/make_style_figures.py --only painterly
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import cv2
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT / "scripts"))

STYLE_ROWS = [("astronaut", "oilpaintbrush"), ("chelsea", "markerpen"), ("coffee", "rectangle"),
              ("chelsea", "mypaint")]
STYLES = ["starry_night", "wheat_field", "seurat_grande_jatte"]
INTRINSIC = {"photo": "astronaut", "strokes": ["markerpen", "mypaint"], "losses": ["pixel", "feature", "pixel+feature"]}
PAINTERLY = [("default", {}), ("--opaque", {"opaque": True}),
             ("--opaque --min-stroke-size 12", {"opaque": True, "min_stroke_size": 12.0}),
             ("--palette 6", {"palette": 6})]


class Runs:
    """Paintings and stylisations, cached in ``work`` and timed."""

    def __init__(self, work: pathlib.Path, size: int):
        self.work, self.size = work, size
        work.mkdir(parents=True, exist_ok=True)
        self.times_path = work / "times.json"
        self.times = json.loads(self.times_path.read_text()) if self.times_path.is_file() else {}

    def photo(self, name: str) -> np.ndarray:
        from bench_paint import load_square

        return load_square(name, self.size)

    def _cached(self, key: str, make) -> np.ndarray:
        from neuralpaint.canvas.render import render_painting
        from neuralpaint.imagefiles import read_image, write_image
        from neuralpaint.strokesfile import load_strokes, save_strokes

        npz, png = self.work / f"{key}.npz", self.work / f"{key}.png"
        if not png.is_file():
            start = time.perf_counter()
            strokes = make()
            picture = render_painting(strokes.stroke(), strokes.params_tensor(), strokes.height, strokes.width,
                                      strokes.canvas_colour)
            self.times[key] = round(time.perf_counter() - start, 1)
            save_strokes(strokes, npz)
            write_image(png, picture)
            self.times_path.write_text(json.dumps(self.times, indent=1))
            print(f"{key}: {self.times[key]} s", flush=True)
        return read_image(png)

    def painting(self, photo: str, stroke: str, tag: str = "default", **settings) -> np.ndarray:
        from neuralpaint import PaintConfig
        from neuralpaint.painter import paint_image

        def make():
            cfg = PaintConfig(stroke=stroke, size=self.size, seed=0, device="cpu", **settings)
            return paint_image(self.photo(photo), cfg)[0]

        return self._cached(f"{photo}_{stroke}_{tag}", make)

    def stylised(self, photo: str, stroke: str, style: str, mode: str = "colour") -> np.ndarray:
        from neuralpaint.strokesfile import load_strokes
        from neuralpaint.style import stylize

        self.painting(photo, stroke)
        source = self.work / f"{photo}_{stroke}_default.npz"
        return self._cached(f"{photo}_{stroke}_{style}_{mode}",
                            lambda: stylize(load_strokes(source), ROOT / "style_images" / f"{style}.jpg",
                                            content=self.photo(photo), mode=mode, seed=0, device="cpu"))


def label(tile: np.ndarray, text: str, height: int = 22) -> np.ndarray:
    """``tile (H, W, 3)`` with ``text`` written on a white strip above it."""
    strip = np.full((height, tile.shape[1], 3), 255, np.uint8)
    cv2.putText(strip, text, (4, height - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([strip, tile], axis=0)


def to_uint8(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape[:2] != (size, size):  # style images: centre square, resized
        h, w = image.shape[:2]
        s = min(h, w)
        image = image[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


def grid(rows: list[list[tuple[str, np.ndarray]]], size: int, out: pathlib.Path) -> None:
    """Rows of labelled tiles (``None`` leaves a blank) as one JPEG (quality 80)."""
    gap = 6
    lines = []
    for row in rows:
        tiles = [label(to_uint8(img, size) if img is not None else np.full((size, size, 3), 255, np.uint8), text)
                 for text, img in row]
        sep = np.full((tiles[0].shape[0], gap, 3), 255, np.uint8)
        lines.append(np.concatenate(sum(([t, sep] for t in tiles), [])[:-1], axis=1))
    sep = np.full((gap, lines[0].shape[1], 3), 255, np.uint8)
    picture = np.concatenate(sum(([r, sep] for r in lines), [])[:-1], axis=0)
    cv2.imwrite(str(out), picture[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 80])
    print(f"wrote {out}")


def stylize_figure(runs: Runs, rows: list[tuple[str, str]]) -> None:
    from neuralpaint.imagefiles import read_image

    header = [("", None), ("style images:", None)]
    header += [(style, read_image(ROOT / "style_images" / f"{style}.jpg")) for style in STYLES]
    body = []
    for photo, stroke in rows:
        line = [(photo, runs.photo(photo)), (f"{stroke}, 500 strokes", runs.painting(photo, stroke))]
        line += [(f"after {style}", runs.stylised(photo, stroke, style)) for style in STYLES]
        body.append(line)
    grid([header] + body, runs.size, DOCS / "style_stylize_grid.jpg")


def intrinsic_figure(runs: Runs, strokes: list[str]) -> None:
    photo = INTRINSIC["photo"]
    body = []
    for stroke in strokes:
        line = [(photo, runs.photo(photo))]
        for loss in INTRINSIC["losses"]:
            tag = "default" if loss == "pixel" else loss.replace("+", "_")
            line.append((f"{stroke} --loss {loss}", runs.painting(photo, stroke, tag, loss=loss)))
        body.append(line)
    grid(body, runs.size, DOCS / "style_intrinsic.jpg")


def painterly_figure(runs: Runs) -> None:
    line = [("astronaut", runs.photo("astronaut"))]
    for text, settings in PAINTERLY:
        tag = "default" if not settings else "_".join(f"{k}{v}" for k, v in settings.items())
        line.append((text, runs.painting("astronaut", "oilpaintbrush", tag, **settings)))
    grid([line], runs.size, DOCS / "style_painterly.jpg")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=("stylize", "intrinsic", "painterly"), action="append")
    ap.add_argument("--size", type=int, default=256, help="painting size in pixels (default: %(default)s)")
    ap.add_argument("--work", type=pathlib.Path, default=pathlib.Path("/tmp/neuralpaint_style_figures"))
    ap.add_argument("--no-mypaint", action="store_true", help="leave out the MyPaint rows (no libmypaint)")
    args = ap.parse_args()
    runs = Runs(args.work, args.size)
    only = set(args.only or ("stylize", "intrinsic", "painterly"))
    if "painterly" in only:
        painterly_figure(runs)
    if "stylize" in only:
        stylize_figure(runs, [r for r in STYLE_ROWS if not (args.no_mypaint and r[1] == "mypaint")])
    if "intrinsic" in only:
        intrinsic_figure(runs, [s for s in INTRINSIC["strokes"] if not (args.no_mypaint and s == "mypaint")])


if __name__ == "__main__":
    main()
