"""Painterly constraints on strokes, held after every optimiser step.

* ``opaque``: every stroke fully opaque (as the published oil painter draws them);
* ``min_size``: no stroke narrower or shorter than this many pixels of the painting;
* ``palette``: every colour one of K paints (``paint --palette K``: k-means colours of the photo);
* always, in a block: what the stroke type needs for the block's strokes to look the same on the
  canvas (``StrokeType.keep_for_canvas_``: mypaint's sizes).

``StrokeConstraints.apply_`` projects parameters onto these sets in place; the painter calls it on
new strokes and after each Adam step, so the optimiser moves only what the constraints leave free.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..colour import kmeans_palette, rgb_to_lab, snap_colours
from ..errors import NeuralPaintError
from ..extras import require
from ..strokes import StrokeType


@dataclass
class StrokeConstraints:
    """``min_size``: pixels of a painting whose longer side is ``long_side`` pixels; ``palette``:
    ``(K, 3)`` RGB in [0, 1] or ``None``."""

    stroke: StrokeType
    opaque: bool = False
    min_size: float = 0.0
    long_side: int = 1
    palette: Tensor | None = None

    def __post_init__(self) -> None:
        if self.opaque and self.stroke.alpha is None:
            raise NeuralPaintError(f"--opaque: {self.stroke.name} strokes have no opacity parameter "
                                   "(their opacity comes from the brush)")
        if self.min_size > 0 and not self.stroke.length_indices:
            raise NeuralPaintError(f"--min-stroke-size: {self.stroke.name} strokes have no size parameter to bound")
        if self.palette is not None:
            self._palette_lab = rgb_to_lab(self.palette)

    @property
    def active(self) -> bool:
        return (self.opaque or self.min_size > 0 or self.palette is not None
                or self.stroke.implements("keep_for_canvas_"))

    @torch.no_grad()
    def apply_(self, params: Tensor, region_side: float | None = None) -> Tensor:
        """Project ``params (..., d)`` in place and return it. ``region_side``: the longer side, in
        painting pixels, of the region the parameters are relative to (a block's window during the
        levels); ``None``: the whole painting."""
        if not self.active:
            return params
        s = self.stroke
        if region_side is not None:
            s.keep_for_canvas_(params, region_side / self.long_side)
        if self.opaque:
            params[..., s.alpha] = 1.0
        if self.min_size > 0:
            side = self.long_side if region_side is None else region_side
            floor = min(1.0, self.min_size / (side * s.length_scale))
            idx = list(s.length_indices)
            params[..., idx] = params[..., idx].clamp_min(floor)
        if self.palette is not None:
            cols = params[..., s.colour]  # (..., 3k)
            triples = cols.reshape(-1, cols.shape[-1] // 3, 3)  # (M, k, 3)
            params[..., s.colour] = snap_colours(triples, self.palette, palette_lab=self._palette_lab).reshape(cols.shape)
        return params


def photo_palette(photo: Tensor, k: int, seed: int) -> Tensor:
    """The ``k`` main colours of ``photo (3, H, W)`` (k-means in Lab): ``(k', 3)``, ``k' <= k``."""
    require("sklearn", "--palette")
    return torch.from_numpy(kmeans_palette(photo.detach().cpu(), k, seed=seed))
