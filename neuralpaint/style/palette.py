"""Colour-distribution transfer onto stroke colours, without a network.

``transfer_colours(colours, weights, target)`` moves a weighted set of colours so that its
distribution in Lab matches ``target``'s, by iterated sliced optimal transport (Pitie et al.'s
iterative distribution transfer, weighted): along random 3-D rotations, each sample moves to the
target's quantile at its own (weighted) quantile level. With the strokes' visible areas as
weights, the painting's pixel colours follow the style image's distribution while every stroke
keeps its place, shape and order.

Palettes (``kmeans_palette``, ``snap_to_palette``) and Lab live in ``neuralpaint.colour``.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .losses import random_directions, weighted_quantiles


def transfer_colours(colours: Tensor, weights: Tensor, target: Tensor, iterations: int = 30,
                     step: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
    """Move ``colours (N, 3)`` (Lab) so that their ``weights (N,)``-weighted distribution matches
    the samples ``target (M, 3)`` (Lab): ``iterations`` rounds of 1-D quantile matching along the
    axes of a random rotation, each sample moving ``step`` of the way. Returns ``(N, 3)`` Lab."""
    x = colours.clone()
    if x.shape[0] == 0 or float(weights.sum()) <= 0:
        return x
    levels_cache = {}
    for _ in range(iterations):
        basis = torch.linalg.qr(random_directions(3, generator, x.device).T.double())[0].float()  # (3, 3)
        px, pt = x @ basis, target @ basis  # (N, 3), (M, 3)
        order = px.argsort(dim=0)
        w = weights.clamp_min(0)[order]  # (N, 3)
        cum = w.cumsum(0)
        level = (cum - 0.5 * w) / cum[-1:].clamp_min(1e-12)  # (N, 3): each sorted sample's level
        moved = torch.empty_like(px)
        for d in range(3):
            q = weighted_quantiles(pt[:, d : d + 1], level[:, d].clamp(1e-6, 1 - 1e-6))[:, 0]
            moved[order[:, d], d] = q
        x = x + step * (moved - px) @ basis.T
        levels_cache.clear()
    return x
