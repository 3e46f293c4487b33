"""Where new strokes start: sampled from an error map, in the photo's colour there."""
from __future__ import annotations

import torch
from torch import Tensor

from ..strokes import StrokeType


def strokes_from_error(stroke: StrokeType, weight: Tensor, photo: Tensor, n: int, size: float, opacity: float,
                       generator: torch.Generator, longest_first: bool = True) -> Tensor:
    """``(B, n, d)`` new strokes on each of ``B`` canvases: centres drawn with probability
    ``weight (B, 1, h, w)`` (non-negative, e.g. the squared blurred error), colour from ``photo
    (B, 3, h, w)`` at the centre, lengths ``size`` times 1/3..2/3 (fractions of the canvas's
    longer side; sorted longest first with ``longest_first``, so that small strokes paint over big
    ones), and opacity ``opacity`` where the stroke type has one (an
    opaque start sits on the bound A = 1, where the gradient cannot move it, and hides everything
    under it)."""
    B, _, h, w = weight.shape
    device = photo.device
    idx = torch.multinomial(weight.reshape(B, -1).cpu(), n, replacement=True, generator=generator).to(device)
    ys, xs = (idx // w).to(photo.dtype) + 0.5, (idx % w).to(photo.dtype) + 0.5  # (B, n) pixels
    colours = photo.flatten(2).gather(2, idx[:, None, :].expand(B, 3, n)).transpose(1, 2)  # (B, n, 3)
    u = torch.rand(B, n, generator=generator).to(device, photo.dtype)
    sizes = size * (0.33 + 0.34 * u)
    if longest_first:
        sizes = sizes.sort(dim=1, descending=True).values
    centres = torch.stack([xs / w, ys / h], dim=-1)
    params = stroke.init_strokes(centres.view(-1, 2), colours.reshape(-1, 3), sizes.reshape(-1), generator)
    if stroke.alpha is not None:
        params[:, stroke.alpha] = opacity
    return params.view(B, n, -1)
