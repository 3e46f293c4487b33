"""Random paintings: a strokes file's worth of random strokes, sized like a real painting
(``neuralpaint random-strokes``; tests and demos)."""
from __future__ import annotations

import torch

from . import __version__
from .errors import NeuralPaintError
from .strokes import get_stroke_type
from .strokesfile import MAX_CANVAS_SIDE, Strokes


def random_painting(
    stroke_type: str,
    n: int,
    width: int,
    height: int,
    seed: int,
    canvas_colour: tuple[float, float, float] = (1.0, 1.0, 1.0),
    stroke_options: dict | None = None,
) -> Strokes:
    """``n`` random strokes of ``stroke_type`` on a ``width x height`` canvas.

    The strokes come from the type's ``sample_painting`` (sized like a real painting, larger
    ones first), drawn from a ``torch.Generator`` seeded with ``seed``: the same arguments give
    the same strokes. ``stroke_options`` are passed to the stroke type (e.g. ``{"brush": "dry"}``).
    The metadata records the generator and the seed.
    """
    if n < 0:
        raise NeuralPaintError(f"the number of strokes must be 0 or more, got {n}")
    for name, side in (("width", width), ("height", height)):
        if not 1 <= side <= MAX_CANVAS_SIDE:
            raise NeuralPaintError(f"canvas {name} must be in 1..{MAX_CANVAS_SIDE} pixels, got {side}")
    stroke = get_stroke_type(stroke_type, **(stroke_options or {}))
    generator = torch.Generator().manual_seed(seed)
    params = stroke.sample_painting(n, generator)
    metadata = {"generator": "random-strokes", "seed": seed, "neuralpaint_version": __version__}
    return Strokes.from_stroke(stroke, params, width, height, canvas_colour, metadata)
