"""SVG export: a painting as a scalable vector drawing, one element per stroke in painting order.

Layout of the document::

    <svg width="W" height="H" viewBox="0 0 Wc Hc" preserveAspectRatio="none">
      <defs> gradients, masks, brush shapes (each shared def written once) </defs>
      <rect id="canvas" .../>                  the bare canvas colour
      <g id="strokes"> one drawable element per stroke, row 0 first (id s0, s1, ...) </g>
    </svg>

User units (the ``viewBox``) are pixels of the canvas the strokes file was made at (``Wc x Hc``);
``width``/``height`` are the export size in pixels (``--width W``, height from the aspect ratio),
so the drawing scales to any size. Each stroke is one element, written by its stroke type's
``svg_element(doc, i)`` hook to match its engine's geometry (in the stroke type's module; shared
building blocks in ``neuralpaint.strokes.vector``). The built-in types:

* ``rectangle``: a ``<rect>`` rotated by ``theta * 180`` degrees (clockwise on screen).
* ``markerpen``: one ``<path>`` filled with the nonzero rule: the union of the discs of radius
  ``r(t) = r0 + (r2 - r0) t`` centred on the quadratic Bezier, drawn as a chain of tapered
  capsules (the convex hull of two consecutive discs, arcs and tangent lines) at values of ``t``
  close enough that the chords stay within ``vector.FLATNESS`` output pixels of the curve.
* ``watercolor``: the same outline, filled with a ``<linearGradient>`` along the chord whose
  stops sit where the centre line's ``t`` projects (colour ``R0 G0 B0 -> R2 G2 B2`` as in the
  engine), with a ``<mask>`` of ``watercolor.SVG_BANDS`` nested outlines (radius scaled down) that
  reproduces the edge darkening (density ``0.6 -> 1`` from centre line to rim) in steps.
* ``oilpaintbrush``: the brush is embedded once per mip level used: its outline (rounded heel,
  per-bristle ragged end, in the stroke's unit frame) as a ``<path>`` and its bristle density
  across the brush as a ``<linearGradient>`` used as a ``<mask>``. Each stroke is a ``<use>`` of
  that outline with the stroke's affine transform, its own start -> end colour gradient and
  opacity. The bristles' luminance modulation (colour times ``0.78 + 0.22 * density``) cannot be
  multiplied into a fill portably, so its density-weighted mean is folded into the colours.
* any other type (``svg_element`` returns ``None``: no vector form, e.g. a raster engine such as
  MyPaint): the stroke rendered by its engine at the export size, cropped to its bounding box, as a PNG data URI ``<image>``
  (colour and straight alpha). ``strokes_to_svg(..., raster=True)`` does this for every type.

Composition is the engines': each element is painted over the ones before it with its opacity,
``canvas = colour * alpha + canvas * (1 - alpha)``. Colours are written as 8-bit ``#rrggbb``.
"""
from __future__ import annotations

import base64
import os
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from ..errors import NeuralPaintError
from ..fileutil import write_text_atomic
from ..strokes.registry import stroke_type_class, stroke_type_names
from ..strokes.vector import SvgDocument, hex_colour, num
from ..strokesfile import Strokes


def vector_types() -> list[str]:
    """Registered stroke types written as vector shapes (their ``svg_element`` hook)."""
    return [name for name in stroke_type_names() if stroke_type_class(name).implements("svg_element")]


def raster_types() -> list[str]:
    """Registered stroke types without a vector form: each stroke becomes an embedded PNG."""
    return [name for name in stroke_type_names() if not stroke_type_class(name).implements("svg_element")]




# ---- the raster fallback ----------------------------------------------------------------------
def raster_element(doc: SvgDocument, i: int) -> str:
    """Stroke ``i`` rendered by its engine at the export size, cropped to its bounding box, as a
    PNG ``<image>`` (straight alpha); an empty ``<g>`` when it lies outside the canvas."""
    import cv2

    from ..strokes.base import pixel_ranges

    one = np.asarray(doc.params[i : i + 1], np.float32)
    H, W = doc.out_height, doc.out_width
    (top, left, bottom, right), = pixel_ranges(doc.stroke.bounding_boxes(one, H, W), H, W).tolist()
    if bottom <= top or right <= left:
        return f'<g id="s{i}"/>'
    colour, alpha = doc.stroke.render_window(one, H, W, top, left, bottom - top, right - left)
    rgba = np.rint(np.clip(np.concatenate([colour[0], alpha[0]]), 0, 1) * 255).astype(np.uint8)
    pixels = rgba.transpose(1, 2, 0)[:, :, [2, 1, 0, 3]]  # OpenCV wants BGRA
    ok, png = cv2.imencode(".png", np.ascontiguousarray(pixels))
    if not ok:  # pragma: no cover - OpenCV always encodes PNG
        raise NeuralPaintError(f"could not encode stroke {i} as PNG")
    s = 1.0 / doc.scale
    data = base64.b64encode(png.tobytes()).decode("ascii")
    return (f'<image id="s{i}" x="{num(left * s, 4)}" y="{num(top * s, 4)}" width="{num((right - left) * s, 4)}" '
            f'height="{num((bottom - top) * s, 4)}" preserveAspectRatio="none" '
            f'xlink:href="data:image/png;base64,{data}"/>')


# ---- the document -----------------------------------------------------------------------------
def svg_size(strokes: Strokes, width: int | None = None) -> tuple[int, int]:
    """``(width, height)`` in pixels of the SVG: the strokes file's canvas, or ``width`` wide with
    the height from the aspect ratio. ``NeuralPaintError`` for a width outside 1..65536."""
    from ..canvas.render import output_size

    height, out_width = output_size(strokes, 1.0, width)
    return out_width, height


def strokes_to_svg(strokes: Strokes, width: int | None = None, *, raster: bool = False) -> str:
    """The SVG document of ``strokes`` (see the module docstring).

    Args:
        strokes: the painting (validated again here).
        width: export width in pixels (default: the strokes file's canvas width); the height
            keeps the aspect ratio. It sets the SVG's ``width``/``height`` and the detail of the
            approximations (Bezier flatness, brush mip level, raster resolution); the user units
            stay canvas pixels.
        raster: embed every stroke as a PNG rendered by its engine (exact at this width, large,
            not editable) instead of vector shapes.

    Returns:
        The document as text (UTF-8 XML).
    """
    from ..strokesfile import validate

    validate(strokes, "strokes")
    out_width, out_height = svg_size(strokes, width)
    stroke = strokes.stroke()
    doc = SvgDocument(stroke, strokes.params.astype(np.float64), strokes.width, strokes.height, out_width, out_height)
    vector = not raster and stroke.implements("svg_element")
    elements = []
    for i in range(strokes.n):
        element = stroke.svg_element(doc, i) if vector else None
        elements.append(raster_element(doc, i) if element is None else element)
    title = f"neuralpaint: {strokes.n} {strokes.stroke_type} strokes"
    source = strokes.metadata.get("source")
    mode = "vector" if vector else "raster"
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" '
        f'width="{out_width}" height="{out_height}" viewBox="0 0 {strokes.width} {strokes.height}" '
        'preserveAspectRatio="none">',
        f"<title>{escape(title + (f' from {source}' if source else ''))}</title>",
        "<defs>", *doc.defs, "</defs>",
        f'<rect id="canvas" width="{strokes.width}" height="{strokes.height}" fill="{hex_colour(strokes.canvas_colour)}"/>',
        f'<g id="strokes" data-stroke-type={quoteattr(strokes.stroke_type)} data-mode="{mode}">',
        *elements,
        "</g>",
        "</svg>",
        "",
    ]
    return "\n".join(lines)


def write_svg(strokes: Strokes, path: str | os.PathLike, width: int | None = None, *,
              raster: bool = False) -> Path:
    """Write ``strokes_to_svg(strokes, width, raster=raster)`` to ``path`` atomically (parent
    directories created). Returns ``path``; ``NeuralPaintError`` when it cannot be written."""
    return write_text_atomic(path, strokes_to_svg(strokes, width, raster=raster))
